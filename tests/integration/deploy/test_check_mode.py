"""deploy.yml --check --diff is a true dry run: it completes, reports, and changes nothing.

dev: this host's engine and the rendered Compose project (whatever state a `make deploy` or a
fresh host left); prod: the render-only path. Proven by snapshots of the files the roles write,
the engine's containers, images and volumes, taken before and after.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

from ..conftest import ROOT

VAULT = ROOT / "molecule" / "k8s" / "vault-pass.txt"
DIGESTS = {name: f"registry.example.com/goaltrajectory/{name}@sha256:{'d' * 64}" for name in
           ("backend", "frontend", "chromadb", "postgres")}  # fmt: skip
WATCHED = ["/srv/goaltrajectory", "/etc/docker", "/var/lib/goaltrajectory/images", str(ROOT / "build")]


def files_state() -> dict:
    state = {}
    for root in WATCHED:
        for path in sorted(Path(root).rglob("*")) if Path(root).exists() else []:
            if path.is_file() and not path.is_symlink():
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def engine_state() -> dict:
    def lines(*args):
        return sorted(subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.split())

    ids = lines("ps", "-aq", "--no-trunc")
    started = lines("inspect", "--format", "{{.Id}}={{.State.StartedAt}}", *ids) if ids else []
    return {
        "containers": started,
        "images": lines("images", "-aq", "--no-trunc"),
        "volumes": lines("volume", "ls", "-q"),
    }


def changed(output: str) -> int:
    counts = re.findall(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output, re.MULTILINE)
    assert counts, output[-3000:]
    return sum(map(int, counts))


def test_dev_check_mode_changes_nothing(run_playbook):
    files, engine = files_state(), engine_state()
    result = run_playbook(ROOT / "deploy.yml", "-i", "inventories/dev", "--check", "--diff")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "PLAY [Deploy the GoalTrajectory.AI Compose stack]" in output
    assert files_state() == files
    assert engine_state() == engine


def test_prod_render_only_check_mode_reports_and_writes_nothing(run_playbook, tmp_path):
    out = tmp_path / "rendered"
    files = files_state()
    result = run_playbook(
        ROOT / "deploy.yml", "-i", "inventories/prod", "--check", "--diff", "--vault-id", f"test@{VAULT}",
        "-e", "k8s_apply=false", "-e", f"k8s_output_dir={out}", "-e", json.dumps({"k8s_images": DIGESTS}),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "+kind: Deployment" in output, "the diff shows what would be written"
    assert "strict schema validation for Kubernetes" in output, "validation ran on the objects in memory"
    assert changed(output) >= 1
    assert not out.exists()
    assert files_state() == files
