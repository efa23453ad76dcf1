"""module_utils.k8s_cluster.settings: the role's input validation, locations, downloads and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import settings

ROLE = Path(__file__).resolve().parents[3] / "roles/k8s_cluster"
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
CATALOG = {
    "tools": {"version": "v0.1.0", "packages": {"pause": "x/pause", "toolbox": "x/toolbox"}},
    "kubernetes": {"version": "v1.37.2", "packages": {"kubectl": "k8s.io/kubernetes/cmd/kubectl"}},
    "metrics-server": {"version": "v0.8.0", "packages": {"metrics-server": "sigs.k8s.io/metrics-server/cmd/x"}},
}
UPSTREAM = {"kubectl": "https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl"}


def good() -> dict:
    values = dict(DEFAULTS)
    values["k8s_cluster_node_name"] = "devhost"
    values["k8s_cluster_node_ip"] = "192.0.2.2"
    return values


def errors_for(**change) -> list[str]:
    return settings.validate({**good(), **change}, CATALOG, UPSTREAM)


def test_the_defaults_are_valid():
    assert settings.validate(good(), CATALOG, UPSTREAM) == []


def test_the_catalog_in_vars_names_the_same_components_as_the_validation():
    catalog = yaml.safe_load((ROLE / "vars/main.yml").read_text())["__k8s_cluster_catalog"]
    assert set(catalog) == set(settings.VERSION_VARS)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("k8s_cluster_kubernetes_version", "1.37.2"),
        ("k8s_cluster_kubernetes_version", "v1.29.0"),
        ("k8s_cluster_etcd_version", "latest"),
        ("k8s_cluster_node_name", "Dev_Host"),
        ("k8s_cluster_node_ip", "not-an-ip"),
        ("k8s_cluster_pod_cidr", "10.244.0.1/24"),
        ("k8s_cluster_service_cidr", "10.244.0.0/16"),
        ("k8s_cluster_dns_ip", "10.97.0.10"),
        ("k8s_cluster_dns_ip", "10.96.0.1"),
        ("k8s_cluster_apiserver_port", 70000),
        ("k8s_cluster_etcd_client_port", 6443),
        ("k8s_cluster_ingress_http_node_port", 8080),
        ("k8s_cluster_node_port_range", "30000:32767"),
        ("k8s_cluster_registry", "http://127.0.0.1:5000"),
        ("k8s_cluster_registry_mirrors", {"docker.io": "http://127.0.0.1:5000"}),
        ("k8s_cluster_pod_security_default", "strict"),
        ("k8s_cluster_kubelet_eviction_hard", {"nodefs.available": "two gigs"}),
        ("k8s_cluster_kubelet_image_gc_low_percent", 99),
        ("k8s_cluster_source", "git"),
        ("k8s_cluster_component_sources", {"kubelet": "url"}),
        ("k8s_cluster_component_sources", "kubernetes=url"),
        ("k8s_cluster_download_urls", {"kube-apiserver-typo": "https://x/y"}),
        ("k8s_cluster_binaries_dir", "opt/k8s-cluster"),
        ("k8s_cluster_cni_bridge", "a-very-long-bridge-name"),
        ("k8s_cluster_kube_router_dependency_pins", {"golang.org/x/net": "newest"}),
        ("k8s_cluster_ingress_namespace", "Traefik"),
    ],
)
def test_each_bad_value_is_reported_naming_its_variable(variable, value):
    errors = errors_for(**{variable: value})
    assert errors, f"{variable}={value!r} passed"
    assert any(e.startswith(variable) for e in errors), errors


def test_node_address_inside_the_pod_range_is_refused():
    errors = errors_for(k8s_cluster_node_ip="10.244.0.7")
    assert any(e.startswith("k8s_cluster_pod_cidr") and "node address" in e for e in errors)


def test_url_source_needs_a_url_for_binaries_upstream_does_not_publish():
    errors = errors_for(k8s_cluster_source="url")
    assert any("metrics-server" in e and e.startswith("k8s_cluster_download_urls") for e in errors), errors
    ok = errors_for(
        k8s_cluster_source="url",
        k8s_cluster_download_urls={
            "metrics-server": "https://files.example/metrics-server",
            "pause": "https://files.example/pause",
            "toolbox": "https://files.example/toolbox",
        },
    )
    assert ok == []


def test_path_source_needs_a_directory():
    assert any(e.startswith("k8s_cluster_path_dir") for e in errors_for(k8s_cluster_source="path"))
    assert errors_for(k8s_cluster_source="path", k8s_cluster_path_dir="/srv/k8s-bin") == []


def test_binary_paths_follow_each_components_source():
    sources = settings.component_sources(CATALOG, "build", {"kubernetes": "path"})
    paths = settings.binary_paths(CATALOG, sources, "/opt/k8s-cluster", "/srv/bin")
    assert paths["kubectl"] == "/srv/bin/kubectl"
    assert paths["pause"] == "/opt/k8s-cluster/tools/v0.1.0/pause"
    assert [c["name"] for c in settings.build_components(CATALOG, sources)] == ["tools", "metrics-server"]


def test_downloads_split_archive_members_and_carry_checksums():
    catalog = {"etcd": {"version": "v3.6.6", "packages": {"etcd": "x", "etcdctl": "y"}}}
    urls = {"etcd": "https://h/etcd.tar.gz#etcd-v3.6.6/etcd", "etcdctl": "https://h/etcd.tar.gz#etcd-v3.6.6/etcdctl"}
    items = settings.downloads(catalog, {"etcd": "url"}, "/opt/k8s-cluster", urls, {"etcd": "sha256:abc"})
    assert items[0] == {
        "component": "etcd",
        "binary": "etcd",
        "url": "https://h/etcd.tar.gz",
        "member": "etcd-v3.6.6/etcd",
        "checksum": "sha256:abc",
        "dir": "/opt/k8s-cluster/etcd/v3.6.6",
        "dest": "/opt/k8s-cluster/etcd/v3.6.6/etcd",
    }
    assert items[1]["checksum"] == ""


def test_flags_render_booleans_lists_and_skip_empty_values():
    assert settings.flags({"a": True, "b": False, "c": ["x", "y"], "d": None, "e": "", "f": 0, "g": {"k": "v"}}) == [
        "--a=true",
        "--b=false",
        "--c=x,y",
        "--f=0",
        "--g=k=v",
    ]


def test_nth_ip():
    assert settings.nth_ip("10.96.0.0/16", 1) == "10.96.0.1"
    assert settings.nth_ip("10.96.0.0/16", 10) == "10.96.0.10"
    with pytest.raises(ValueError):
        settings.nth_ip("10.0.0.0/30", 4)


def test_build_report_says_built_cached_or_pending():
    statuses = [
        {"name": "kubernetes", "version": "v1.37.2", "current": False, "reason": "not built yet"},
        {"name": "etcd", "version": "v3.6.6", "current": True, "built_seconds": 43.6, "reason": "up to date"},
        {"name": "traefik", "version": "v3.6.12", "current": False, "reason": "not built yet"},
    ]
    builds = [
        {
            "name": "kubernetes",
            "built": True,
            "seconds": 412.0,
            "cpu_seconds": 700,
            "prepare_seconds": 9,
            "binaries": {"a": 1},
            "bytes": 5e8,
        }
    ]
    lines = settings.build_report(statuses, builds, 430)
    assert lines[0] == "kubernetes v1.37.2: built in 412 s (modules 9 s, CPU 700 s), 1 binaries, 500 MB"
    assert lines[1] == "etcd v3.6.6: cached (its build took 44 s)"
    assert lines[2] == "traefik v3.6.12: would be built (not built yet)"
    assert lines[3] == "wall time of the builds: 430 s"


def test_service_specs_of_one_phase_in_start_order():
    services = [
        {"component": "containerd", "phase": "control-plane", "binary": "/usr/bin/containerd", "kill_mode": "process",
         "flags": {"config": "/etc/c.toml"}, "files": ["/etc/c.toml"]},
        {"component": "kubelet", "phase": "node", "binary": "/opt/kubelet", "flags": {"v": None}, "files": []},
        {"component": "etcd", "phase": "control-plane", "binary": "/opt/etcd", "flags": {"name": "n1"}, "files": []},
    ]  # fmt: skip
    specs = settings.service_specs(services, "control-plane", "/var/log/k", "c1")
    assert [s["name"] for s in specs] == ["k8s-cluster-containerd", "k8s-cluster-etcd"]
    assert specs[0] == {"name": "k8s-cluster-containerd", "argv": ["/usr/bin/containerd", "--config=/etc/c.toml"],
                        "files": ["/etc/c.toml"], "log_file": "/var/log/k/containerd.log", "kill_mode": "process",
                        "description": "k8s_cluster containerd (c1)"}  # fmt: skip
    assert specs[1]["kill_mode"] == "control-group"
    (node,) = settings.service_specs(services, "node", "/var/log/k", "c1")
    assert node["argv"] == ["/opt/kubelet"]
