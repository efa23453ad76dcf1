"""`make deploy STRATEGY=mitogen_linear` (the README's opt-in for repeat deploys) on the host the
dev stack fixture set up: idempotent and a true dry run.

The other integration tests run Ansible's own strategy; these prove the same roles behave the
same under Mitogen's (bench/playbooks.py times both).
"""

from __future__ import annotations

import re
import subprocess
import sys

from ..conftest import ROOT

sys.path.insert(0, str(ROOT / "molecule" / "shared"))
import check_mode

from .test_check_mode import WATCHED

RECAP = re.compile(r"^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", re.MULTILINE)


def test_make_deploy_under_mitogen_changes_nothing_on_the_deployed_stack(dev_stack, make_deploy):
    dry = subprocess.run(["make", "-n", "deploy", "STRATEGY=mitogen_linear"], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert "ANSIBLE_STRATEGY=mitogen_linear" in dry.stdout, dry.stdout
    result = make_deploy(strategy="mitogen_linear")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert RECAP.findall(output) == [("0", "0")], output[-4000:]


def test_make_deploy_check_diff_under_mitogen_changes_nothing(dev_stack, make_deploy):
    files, engine = check_mode.files_state(*WATCHED), check_mode.engine_state()
    result = make_deploy("--check", "--diff", strategy="mitogen_linear")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "PLAY [Deploy the GoalTrajectory.AI Compose stack]" in output
    assert check_mode.files_state(*WATCHED) == files
    assert check_mode.engine_state() == engine
