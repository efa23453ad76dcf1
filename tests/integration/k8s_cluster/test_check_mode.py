"""--check --diff of the whole cluster playbook on a host without a cluster writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_check_mode_on_a_new_host_predicts_changes_and_writes_nothing(run_playbook, tmp_path):
    state = tmp_path / "state"
    args = []
    for var, sub in [
        ("k8s_cluster_config_dir", "etc"),
        ("k8s_cluster_state_dir", "lib"),
        ("k8s_cluster_log_dir", "log"),
        ("k8s_cluster_local_path_dir", "volumes"),
        ("k8s_cluster_build_dir", "cache"),
        ("k8s_cluster_binaries_dir", "opt"),
        ("k8s_cluster_run_dir", "run"),
        ("k8s_cluster_kubectl_link", "bin/kubectl"),
    ]:
        args += ["-e", f"{var}={state / sub}"]
    result = run_playbook(
        ROOT / "playbooks/k8s_cluster.yml", "-i", str(ROOT / "inventories/local"), "--check", "--diff", *args
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    changed = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", output)
    assert changed and int(changed.group(1)) > 0, output[-3000:]
    assert "would be built (not built yet)" in output
    assert not state.exists(), sorted(str(p) for p in state.rglob("*"))
