"""The rendered tree as kubectl/Argo CD/Flux take it, and the drift lines (issue 17)."""

from __future__ import annotations

import yaml

from ansible_collections.goaltrajectory.platform.plugins.filter import catalog as catalog_filters
from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_gitops, k8s_tree
from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import runner

HEADER = {"environment": "prod", "namespace": "goaltrajectory-prod", "kubernetes_version": "1.31.0"}


def test_files_are_the_objects_in_apply_order_plus_a_kustomization_and_no_secret(services, k8s_settings):
    objects = k8s_tree.build(services, k8s_settings)
    files = catalog_filters.k8s_files(objects, HEADER)
    paths = [f["path"] for f in files]
    assert len(paths) == 29 and paths[-1] == "kustomization.yaml"
    assert not [p for p in paths if "secret" in p]
    assert all("kind: Secret" not in f["content"] for f in files)
    kustomization = yaml.safe_load(files[-1]["content"])
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    # fifo keeps the listed order; kustomize's default (legacy) would sort network policies after the workloads.
    assert kustomization["sortOptions"] == {"order": "fifo"}
    assert kustomization["resources"] == [o["file"] for o in objects if o["file"]] == paths[:-1]
    assert kustomization["resources"][:3] == ["base/namespace.yaml", "base/resourcequota.yaml", "base/limitrange.yaml"]
    assert "playbooks/k8s_secrets.yml" in files[-1]["content"] and "Secret app-secrets" in files[-1]["content"]


def test_definitions_name_the_secret_as_not_written(services, k8s_settings):
    objects = k8s_tree.build(services, k8s_settings)
    sources = [d["source"] for d in catalog_filters.k8s_definitions(objects, "/t")]
    assert "Secret app-secrets (memory, not in /t)" in sources
    assert "/t/base/namespace.yaml" in sources and len(sources) == 29


def test_secret_objects_need_no_images(services, k8s_settings):
    minimal = {
        k: k8s_settings[k]
        for k in (
            "environment",
            "namespace",
            "app_version",
            "pod_security_level",
            "pod_security_version",
            "secret_keys",
        )
    }
    objects = k8s_tree.secret_objects(services, minimal)
    assert [(o["kind"], o["file"]) for o in objects] == [("Namespace", "base/namespace.yaml"), ("Secret", None)]
    full = {(o["kind"], o["name"]): o["object"] for o in k8s_tree.build(services, k8s_settings)}
    # The same objects the role applies with the tree: the playbook and the role never fight over them.
    for obj in objects:
        assert obj["object"] == full[(obj["kind"], obj["name"])]


def test_with_secrets_fills_only_the_named_secret(services, k8s_settings):
    objects = k8s_tree.build(services, k8s_settings)
    filled = runner.with_secrets(objects, {"app-secrets": {"GEMINI_API_KEY": "eA=="}})
    secret = next(o for o in filled if o["kind"] == "Secret")["object"]
    assert secret["data"] == {"GEMINI_API_KEY": "eA=="}
    assert next(o for o in objects if o["kind"] == "Secret")["object"]["data"]["GEMINI_API_KEY"] == ""
    assert [o["object"] for o in filled if o["kind"] != "Secret"] == [
        o["object"] for o in objects if o["kind"] != "Secret"
    ]


def row(kind, name, state, **extra):
    return {"kind": kind, "name": name, "namespace": "ns", "in_tree": True, "state": state, **extra}


def test_drift_report_says_each_object_and_the_total():
    result = {
        "reachable": True,
        "objects": [
            row("Namespace", "ns", "in sync"),
            row("ConfigMap", "app-config", "drifted", diff="--- a\n+++ b\n-  LOG_LEVEL: DEBUG\n+  LOG_LEVEL: INFO\n"),
            row("Secret", "app-secrets", "drifted", in_tree=False, reason="its values differ from the vault's"),
            row("Ingress", "goaltrajectory", "missing"),
        ],
        "drifted": ["ConfigMap/app-config", "Secret/app-secrets", "Ingress/goaltrajectory"],
    }
    lines = k8s_gitops.drift_report(result, "/t")
    assert lines[:2] == ["Namespace/ns: in sync", "ConfigMap/app-config: drifted"]
    assert "    -  LOG_LEVEL: DEBUG" in lines
    assert "Secret/app-secrets (not in the tree: from the vault): drifted: its values differ from the vault's" in lines
    assert lines[-1] == (
        "4 objects of /t: 1 in sync, 2 drifted, 1 missing. "
        "Out of sync: ConfigMap/app-config, Secret/app-secrets, Ingress/goaltrajectory."
    )
    clean = {"reachable": True, "objects": [row("Namespace", "ns", "in sync")], "drifted": []}
    assert k8s_gitops.drift_report(clean)[-1] == "1 objects: 1 in sync. The cluster matches the tree."


def test_drift_report_without_a_cluster_says_why():
    assert k8s_gitops.drift_report({"reachable": False, "reason": "no kubeconfig at /x (k8s_kubeconfig)"}) == [
        "Drift not checked: no kubeconfig at /x (k8s_kubeconfig)."
    ]


def test_drift_repaired_names_updates_whose_file_did_not_change(services, k8s_settings):
    objects = k8s_tree.build(services, k8s_settings)
    applied = {
        "objects": [
            {"kind": "ConfigMap", "name": "app-config", "action": "update", "values_changed": True},
            {"kind": "Deployment", "name": "backend", "action": "update", "values_changed": True},
            {"kind": "StatefulSet", "name": "postgres", "action": "update", "values_changed": False},
            {"kind": "Secret", "name": "app-secrets", "action": "update", "values_changed": True},
            {"kind": "Service", "name": "backend-service", "action": "unchanged"},
            {"kind": "Ingress", "name": "goaltrajectory", "action": "create"},
        ]
    }
    # backend/deployment.yaml was rewritten in this run: its update is the new render, not drift.
    repaired = k8s_gitops.drift_repaired(applied, objects, ["backend/deployment.yaml", "kustomization.yaml"])
    assert repaired == [
        "ConfigMap/app-config",
        "StatefulSet/postgres (field ownership only: the values were the tree's)",
        "Secret/app-secrets (values from the vault; changed there or by hand)",
    ]
    assert k8s_gitops.drift_repaired({"objects": []}, objects, []) == []


def test_the_written_tree_validates_strictly_with_its_kustomization(services, k8s_settings, tmp_path):
    from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate

    for f in catalog_filters.k8s_files(k8s_tree.build(services, k8s_settings), HEADER):
        (tmp_path / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f["path"]).write_text(f["content"])
    result = k8s_validate.validate_paths([str(tmp_path)], "1.31.0", strict=True)
    # kustomization.yaml is kustomize's input, not an object: 29 files, 28 objects, no error.
    assert result["summary"] == {"files": 29, "objects": 28, "errors": 0, "invalid_files": 0}
    # A Flux Kustomization is a real object: still validated (no schema offline for it).
    (tmp_path / "flux.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x, namespace: y}\n"
    )
    flux = k8s_validate.validate_paths([str(tmp_path / "flux.yaml")], "1.31.0", strict=True)
    assert flux["summary"]["objects"] == 1 and "no schema for kind Kustomization" in flux["errors"][0]["message"]
