"""k8s_cluster rejects bad input before it changes anything, naming the variable."""

import json
from pathlib import Path

import pytest

from ..conftest import assert_failed_unchanged

PLAYBOOK = Path(__file__).with_name("role.yml")

BAD_INPUT = [
    # argument_specs
    ("k8s_cluster_state", '"running"', "k8s_cluster_state"),
    ("k8s_cluster_source", '"git"', "k8s_cluster_source"),
    ("k8s_cluster_apiserver_port", '"https"', "k8s_cluster_apiserver_port"),
    ("k8s_cluster_encryption_provider", '"identity"', "k8s_cluster_encryption_provider"),
    # cross-field checks (module_utils/k8s_cluster/settings.py)
    ("k8s_cluster_kubernetes_version", '"1.37.2"', "k8s_cluster_kubernetes_version"),
    ("k8s_cluster_service_cidr", '"10.244.0.0/16"', "k8s_cluster_service_cidr"),
    ("k8s_cluster_dns_ip", '"10.97.0.10"', "k8s_cluster_dns_ip"),
    ("k8s_cluster_node_name", '"Not_A_DNS_Name"', "k8s_cluster_node_name"),
    ("k8s_cluster_ingress_http_node_port", "8080", "k8s_cluster_ingress_http_node_port"),
    ("k8s_cluster_registry", '"http://127.0.0.1:5000"', "k8s_cluster_registry"),
    ("k8s_cluster_component_sources", '{"kubelet": "url"}', "k8s_cluster_component_sources"),
    ("k8s_cluster_component_sources", '"kubernetes=url"', "k8s_cluster_component_sources"),
    ("k8s_cluster_kubelet_eviction_hard", '{"nodefs.available": "lots"}', "k8s_cluster_kubelet_eviction_hard"),
    ("k8s_cluster_source", '"url"', "k8s_cluster_download_urls"),
    ("k8s_cluster_go", '"/nonexistent/go"', "k8s_cluster_go"),
]


@pytest.mark.parametrize(("variable", "value", "named"), BAD_INPUT, ids=[f"{c[0]}={c[1]}" for c in BAD_INPUT])
def test_bad_value_fails_before_any_change(run_playbook, variable, value, named):
    result = run_playbook(PLAYBOOK, "-e", json.dumps({variable: json.loads(value)}))
    assert_failed_unchanged(result, named)


def test_path_source_missing_binaries_fails_naming_the_directory(run_playbook, tmp_path):
    (tmp_path / "kubectl").write_text("#!/bin/sh\n")
    result = run_playbook(
        PLAYBOOK, "-e", json.dumps({"k8s_cluster_source": "path", "k8s_cluster_path_dir": str(tmp_path)})
    )
    output = assert_failed_unchanged(result, "k8s_cluster_path_dir")
    assert "kube-apiserver" in output


def test_good_values_pass_validation_in_a_dry_run(run_playbook):
    """The same playbook with valid values gets through validation in check mode."""
    result = run_playbook(
        PLAYBOOK,
        "--check",
        "-e",
        json.dumps({"k8s_cluster_state": "absent", "k8s_cluster_ingress_http_node_port": 30081}),
    )
    assert result.returncode == 0, result.stdout + result.stderr
