"""probe_lint and probe_check through a real ansible-playbook run, normal and in check mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from .conftest import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(ROOT, "tests", "unit", "probes", "fixtures", "good")
BAD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "bad", "namespace": "gt"},
    "spec": {
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80}],
                "livenessProbe": {"httpGet": {"port": 80}, "successThreshold": 2},
                "readinessProbe": {"httpGet": {"port": 80}},
            }
        ]
    },
}


def ansible_playbook() -> str:
    venv = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
    return venv if os.path.exists(venv) else shutil.which("ansible-playbook")


@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_playbook(tmp_path, http_server, tcp_server, check_mode):
    good = tmp_path / "good"
    shutil.copytree(GOOD, good)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(BAD))
    port, behaviour = http_server()
    extra = {
        "probes_good_dir": str(good),
        "probes_bad_file": str(bad),
        "probes_http_port": port,
        "probes_tcp_port": tcp_server,
        # The modules need PyYAML (and kubernetes-validate for schemas): run them with this interpreter.
        "ansible_python_interpreter": sys.executable,
    }
    argv = [ansible_playbook(), os.path.join(HERE, "playbook.yml"), "-i", "localhost,", "-e", json.dumps(extra)]
    if check_mode:
        argv.append("--check")
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "changed=0" in proc.stdout
    assert "rescued=2" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert behaviour.requests, "probe_check never reached the server"
