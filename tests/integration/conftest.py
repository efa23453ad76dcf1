"""Helpers shared by integration tests: run real ansible-playbook against this host."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
