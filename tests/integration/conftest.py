"""Helpers shared by integration tests: run real ansible-playbook against this host."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def release_digests(fill):
    """A made-up release by digest, as the render-only tests pass it instead of running the images
    play: the app's images (k8s_images) and the Kubernetes monitoring stack's (monitoring_images)."""

    def refs(names):
        return {name: f"registry.example.com/goaltrajectory/{name}@sha256:{fill * 64}" for name in names}

    return {
        "k8s_images": refs(("backend", "frontend", "chromadb", "postgres")),
        "monitoring_images": refs(("prometheus", "alertmanager", "alert-receiver", "kube-state-metrics",
                                   "postgres-exporter", "perses")),
    }  # fmt: skip


def assert_failed_unchanged(result, named):
    """The play failed, its output names the variable, and its recap shows changed=0."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert named in output, output
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", output)
    assert recap and recap.group(1) == "0", output
    return output


@pytest.fixture(scope="session")
def run_playbook():
    """Run a playbook with the project's ansible.cfg; return the CompletedProcess."""

    def _run(playbook, *args, extra_vars=None, timeout=900):
        cmd = ["ansible-playbook", str(playbook), *args]
        for key, value in (extra_vars or {}).items():
            cmd += ["-e", f"{key}={value}"]
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)

    return _run


@pytest.fixture(scope="session")
def make_deploy():
    """Run `make deploy` (the README's command: the dev inventory) with ANSIBLE_ARGS and a strategy."""

    def _run(*ansible_args, strategy="linear", timeout=2400):
        cmd = ["make", "--no-print-directory", "deploy", f"STRATEGY={strategy}"]
        if ansible_args:
            cmd.append("ANSIBLE_ARGS=" + " ".join(ansible_args))
        env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)

    return _run


@pytest.fixture(scope="session")
def dev_stack(make_deploy):
    """The dev stack as `make deploy` leaves it (app and monitoring stacks on this engine).

    Idempotent: on a host where `make deploy` ran it changes nothing; on a fresh one it builds.
    """
    result = make_deploy()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result
