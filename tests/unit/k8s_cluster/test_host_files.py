"""The kubeconfigs and containerd registry hosts the k8s_cluster role writes with one file_tree call."""

from __future__ import annotations

import tomllib

import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import host_files


def test_one_kubeconfig_per_component_names_its_own_certificate():
    files = host_files.kubeconfigs(
        {"admin": "admin", "kubelet": "kubelet-client"}, "c1", "https://127.0.0.1:6443", "/p"
    )
    assert [f["path"] for f in files] == ["admin.conf", "kubelet.conf"]
    config = yaml.safe_load(files[1]["content"])
    assert config["clusters"] == [
        {"name": "c1", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": "/p/ca.crt"}}
    ]
    assert config["users"] == [
        {
            "name": "c1-kubelet",
            "user": {"client-certificate": "/p/kubelet-client.crt", "client-key": "/p/kubelet-client.key"},
        }
    ]
    assert config["contexts"] == [{"name": "c1", "context": {"cluster": "c1", "user": "c1-kubelet"}}]
    assert config["current-context"] == "c1"


def test_containerd_hosts_for_the_local_registry_and_each_mirrored_one():
    mirrors = {"docker.io": ["http://127.0.0.1:5000", "https://mirror.example"], "127.0.0.1:5000": ["ignored"]}
    files = host_files.containerd_hosts("127.0.0.1:5000", True, mirrors)
    assert [f["path"] for f in files] == [
        "containerd/certs.d/127.0.0.1:5000/hosts.toml",
        "containerd/certs.d/docker.io/hosts.toml",
    ]
    local = tomllib.loads(files[0]["content"])
    assert local == {
        "server": "http://127.0.0.1:5000",
        "host": {"http://127.0.0.1:5000": {"capabilities": ["pull", "resolve"]}},
    }
    mirrored = tomllib.loads(files[1]["content"])
    assert list(mirrored["host"]) == ["http://127.0.0.1:5000", "https://mirror.example"]
    assert "server" not in mirrored
    secure = tomllib.loads(host_files.containerd_hosts("reg.example:443", False, {})[0]["content"])
    assert secure["server"] == "https://reg.example:443"


def test_add_on_images_are_pushed_under_the_prefix_keyed_by_name():
    images = [{"name": "coredns", "tag": "v1", "files": [{"dest": "/coredns", "src": "/b/coredns"}],
               "entrypoint": ["/coredns"], "user": "65532:65532"}]  # fmt: skip
    (spec,) = host_files.push_specs(images, "k8s-cluster")
    assert spec["name"] == "coredns" and spec["repository"] == "k8s-cluster/coredns" and spec["tag"] == "v1"
    assert spec["labels"] == {"org.opencontainers.image.title": "coredns", "org.opencontainers.image.version": "v1"}
    assert spec["files"] == images[0]["files"] and spec["user"] == "65532:65532"
