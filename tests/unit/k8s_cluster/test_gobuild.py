"""module_utils.k8s_cluster.gobuild: wrapper go.mod, names, flags, stamps (plain pytest, no network)."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import gobuild

# `go mod edit -json` of a go.mod shaped like Kubernetes' (staging replaces) and Traefik's (remote ones).
UPSTREAM = {
    "Go": "1.26.0",
    "Godebug": [{"Key": "default", "Value": "go1.26"}],
    "Require": [
        {"Path": "k8s.io/api", "Version": "v0.0.0"},
        {"Path": "k8s.io/client-go", "Version": "v0.0.0"},
        {"Path": "golang.org/x/net", "Version": "v0.57.0"},
        {"Path": "go.etcd.io/etcd/api/v3", "Version": "v3.6.6"},
    ],
    "Replace": [
        {"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}},
        {"Old": {"Path": "k8s.io/client-go"}, "New": {"Path": "./staging/src/k8s.io/client-go"}},
        {"Old": {"Path": "k8s.io/sample-controller"}, "New": {"Path": "./staging/src/k8s.io/sample-controller"}},
        {"Old": {"Path": "go.etcd.io/etcd/api/v3"}, "New": {"Path": "../api"}},
        {"Old": {"Path": "github.com/gorilla/mux"}, "New": {"Path": "github.com/containous/mux", "Version": "v0.0.1"}},
        {
            "Old": {"Path": "github.com/abbot/go-http-auth", "Version": "v0.4.0"},
            "New": {"Path": "github.com/containous/go-http-auth", "Version": "v0.4.1"},
        },
    ],
    "Exclude": [{"Path": "github.com/tencentcloud/tencentcloud-sdk-go", "Version": "v3.0.83+incompatible"}],
}


def kubernetes(**extra) -> gobuild.Component:
    return gobuild.Component(
        name="kubernetes",
        version="v1.37.2",
        module="k8s.io/kubernetes",
        staging_version="v0.{minor}.{patch}",
        packages={"kubectl": "k8s.io/kubernetes/cmd/kubectl", "kubelet": "k8s.io/kubernetes/cmd/kubelet"},
        ldflags={"k8s.io/component-base/version.gitVersion": "{version}", "k8s.io/x.gitCommit": "{commit}"},
        **extra,
    )


def test_wrapper_maps_placeholder_staging_replaces_to_published_versions():
    gomod = gobuild.wrapper_gomod(kubernetes(), UPSTREAM)
    assert "module k8s-cluster.build/kubernetes" in gomod
    assert "go 1.26.0" in gomod
    assert "\tdefault=go1.26" in gomod
    assert "\tk8s.io/kubernetes v1.37.2" in gomod
    assert "\tk8s.io/api => k8s.io/api v0.37.2" in gomod
    assert "\tk8s.io/client-go => k8s.io/client-go v0.37.2" in gomod
    # Not required at v0.0.0 upstream: no replace (it would point at a version nobody asked for).
    assert "sample-controller" not in gomod
    assert "go.etcd.io/etcd/api/v3 =>" not in gomod


def test_wrapper_copies_remote_replaces_and_excludes():
    gomod = gobuild.wrapper_gomod(kubernetes(), UPSTREAM)
    assert "\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.1" in gomod
    assert "\tgithub.com/abbot/go-http-auth v0.4.0 => github.com/containous/go-http-auth v0.4.1" in gomod
    assert "exclude (\n\tgithub.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible\n)" in gomod


def test_wrapper_adds_extra_requires_to_raise_dependencies():
    comp = kubernetes(requires={"golang.org/x/net": "v0.59.0"})
    assert "\tgolang.org/x/net v0.59.0" in gobuild.wrapper_gomod(comp, UPSTREAM)


def test_tools_go_imports_each_package_once_behind_a_build_tag():
    text = gobuild.tools_go({"a": "example.com/x/cmd/a", "b": "example.com/x/cmd/a", "c": "example.com/y"})
    assert text.startswith("//go:build tools\n")
    assert text.count('_ "example.com/x/cmd/a"') == 1
    assert '_ "example.com/y"' in text


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("go.etcd.io/etcd/server/v3", "server"),
        ("go.etcd.io/etcd/etcdctl/v3", "etcdctl"),
        ("github.com/coredns/coredns", "coredns"),
        ("k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
        ("github.com/traefik/traefik/v3/cmd/traefik", "traefik"),
    ],
)
def test_default_binary_name_follows_go_build(package, name):
    assert gobuild.default_binary_name(package) == name


def test_ldflags_strip_and_fill_version_variables_and_skip_unknown_ones():
    flags = gobuild.ldflags(kubernetes(), {"date": "2026-10-27T12:01:04Z", "commit": ""})
    assert flags.startswith("-s -w ")
    assert "-X k8s.io/component-base/version.gitVersion=v1.37.2" in flags
    assert "gitCommit" not in flags


def test_expand_gives_version_parts():
    comp = kubernetes()
    assert comp.expand("v0.{minor}.{patch}") == "v0.37.2"
    assert comp.expand("{major}") == "1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "1.37"}, "version"),
        ({"module": "not a module"}, "module"),
        ({"packages": {}}, "packages is empty"),
        ({"packages": {"bad name": "x/y"}}, "binary name"),
        ({"source_dir": "/src"}, "exactly one of module and source_dir"),
        ({"requires": {"golang.org/x/net": "latest"}}, "requires entry"),
    ],
)
def test_validate_names_the_bad_field(change, message):
    data = {
        "name": "kubernetes",
        "version": "v1.37.2",
        "module": "k8s.io/kubernetes",
        "packages": {"kubectl": "k8s.io/kubernetes/cmd/kubectl"},
        **change,
    }
    errors = gobuild.Component.from_dict(data).validate()
    assert any(message in e for e in errors), errors


def test_spec_hash_changes_with_anything_that_decides_the_binaries():
    base = gobuild.spec_hash(kubernetes(), "go1.26.8")
    assert gobuild.spec_hash(kubernetes(), "go1.26.8") == base
    assert gobuild.spec_hash(kubernetes(), "go1.27.0") != base
    assert gobuild.spec_hash(kubernetes(cgo=True), "go1.26.8") != base
    assert gobuild.spec_hash(kubernetes(requires={"a.b/c": "v1.0.0"}), "go1.26.8") != base


def test_local_source_hash_follows_file_contents(tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    comp = gobuild.Component(name="tools", version="v0.1.0", source_dir=str(tmp_path), packages={"t": "x.y/t"})
    before = gobuild.spec_hash(comp, "go1.26.8")
    (tmp_path / "main.go").write_text("package main // changed\n")
    assert gobuild.spec_hash(comp, "go1.26.8") != before


def test_status_is_current_only_with_matching_stamp_and_every_binary(tmp_path):
    comp = kubernetes()
    dest = tmp_path / "kubernetes" / "v1.37.2"
    assert gobuild.status(comp, str(dest), "go1.26.8")["reason"] == "not built yet"
    dest.mkdir(parents=True)
    (dest / gobuild.STAMP).write_text(json.dumps({"hash": gobuild.spec_hash(comp, "go1.26.8"), "seconds": 12.5}))
    for name in comp.packages:
        (dest / name).write_text("#!/bin/true\n")
        os.chmod(dest / name, 0o755)  # noqa: S103 - an executable
    state = gobuild.status(comp, str(dest), "go1.26.8")
    assert state["current"] and state["built_seconds"] == 12.5
    assert gobuild.status(comp, str(dest), "go1.27.0")["reason"] == "build settings changed"
    (dest / "kubelet").unlink()
    assert gobuild.status(comp, str(dest), "go1.26.8")["reason"] == "binaries missing: kubelet"


def test_statuses_reads_every_component_under_dest_root_with_one_go_version(tmp_path):
    go = "/usr/local/go/bin/go"  # the hosts' Go (the images role's images_tools_go)
    comp = kubernetes()
    dest = tmp_path / "kubernetes" / "v1.37.2"
    dest.mkdir(parents=True)
    version = gobuild.go_version(go)
    (dest / gobuild.STAMP).write_text(json.dumps({"hash": gobuild.spec_hash(comp, version)}))
    for name in comp.packages:
        (dest / name).write_text("#!/bin/true\n")
        os.chmod(dest / name, 0o755)  # noqa: S103 - an executable
    other = {"name": "tools", "version": "v0.1.0", "source_dir": str(tmp_path), "packages": {"t": "x.y/t"}}
    data = dataclasses.asdict(comp)
    states = gobuild.statuses([data, other], str(tmp_path), go)
    assert [(s["name"], s["current"], s["reason"]) for s in states] == [
        ("kubernetes", True, "up to date"),
        ("tools", False, "not built yet"),
    ]
    assert states[0]["hash"] == gobuild.spec_hash(comp, version)
    # A bad description fails before anything runs, naming the field (no go needed).
    with pytest.raises(gobuild.BuildError, match="version"):
        gobuild.statuses([{**data, "version": "1.37"}], str(tmp_path), "/nonexistent/go")
    with pytest.raises(gobuild.BuildError, match="cannot run /nonexistent/go"):
        gobuild.statuses([data], str(tmp_path), "/nonexistent/go")
