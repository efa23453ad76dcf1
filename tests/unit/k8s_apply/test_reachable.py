"""runner.reachable: why k8s_tree_apply and k8s_tree_drift cannot talk to a cluster, before anything is applied."""

from __future__ import annotations

import socket

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import runner


def _kubeconfig(path, server: str):
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: here\n"
        f"clusters:\n- name: here\n  cluster:\n    server: {server}\n"
        "contexts:\n- name: here\n  context:\n    cluster: here\n    user: nobody\n"
        "users:\n- name: nobody\n  user:\n    token: not-a-token\n"
    )
    return str(path)


def test_a_missing_kubeconfig_is_named(tmp_path):
    assert runner.reachable(str(tmp_path / "absent"), None) == f"no kubeconfig at {tmp_path / 'absent'}"


def test_a_server_that_refuses_connections_is_unreachable(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = _kubeconfig(tmp_path / "config", f"https://127.0.0.1:{port}")
    reason = runner.reachable(kubeconfig, None, timeout=2)
    assert reason.startswith(f"cannot reach the API server of {kubeconfig} (context current): "), reason


def test_an_unknown_context_is_a_reason_not_a_crash(tmp_path):
    kubeconfig = _kubeconfig(tmp_path / "config", "https://127.0.0.1:6443")
    reason = runner.reachable(kubeconfig, "elsewhere", timeout=2)
    assert reason.startswith(f"cannot reach the API server of {kubeconfig} (context elsewhere): "), reason
