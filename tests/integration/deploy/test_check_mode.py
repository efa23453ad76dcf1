"""deploy.yml --check --diff is a true dry run: it completes, reports, and changes nothing.

dev: this host's engine and the rendered Compose project (whatever state a `make deploy` or a
fresh host left); prod: the render-only path. Proven by snapshots of the files the roles write,
the engine's containers, images and volumes, taken before and after.
"""

from __future__ import annotations

import json
import sys

from ..conftest import ROOT, release_digests

sys.path.insert(0, str(ROOT / "molecule" / "shared"))
import check_mode

VAULT = ROOT / "molecule" / "k8s" / "vault-pass.txt"
RELEASE = release_digests("d")
DIGESTS = RELEASE["k8s_images"]
WATCHED = ["/srv/goaltrajectory", "/etc/docker", "/var/lib/goaltrajectory/images", str(ROOT / "build")]


def test_dev_check_mode_changes_nothing(run_playbook):
    files, engine = check_mode.files_state(*WATCHED), check_mode.engine_state()
    result = run_playbook(ROOT / "deploy.yml", "-i", "inventories/dev", "--check", "--diff")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "PLAY [Deploy the GoalTrajectory.AI Compose stack]" in output
    assert check_mode.files_state(*WATCHED) == files
    assert check_mode.engine_state() == engine


def test_prod_render_only_check_mode_reports_and_writes_nothing(run_playbook, tmp_path):
    out = tmp_path / "rendered"
    files = check_mode.files_state(*WATCHED)
    result = run_playbook(
        ROOT / "deploy.yml", "-i", "inventories/prod", "--check", "--diff", "--vault-id", f"test@{VAULT}",
        "-e", "k8s_apply=false", "-e", f"k8s_output_dir={out}", "-e", json.dumps(RELEASE),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "+kind: Deployment" in output, "the diff shows what would be written"
    assert "strict schema validation for Kubernetes" in output, "validation ran on the objects in memory"
    assert check_mode.changed_count(output) >= 1
    assert not out.exists()
    assert check_mode.files_state(*WATCHED) == files
