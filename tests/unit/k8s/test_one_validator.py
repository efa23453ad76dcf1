"""One validator: k8s_schema_validate and probe_lint share the schema validator, the Finding type,
the path expansion and the reading of definitions, so they agree on every input (issue 9, point 4)."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate
from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, findings, loader

GOOD = os.path.join(os.path.dirname(os.path.dirname(__file__)), "probes", "fixtures", "good", "k8s.yaml")
with open(GOOD, encoding="utf-8") as _handle:
    DEPLOY, SERVICE, POLICY, HPA = yaml.safe_load_all(_handle)


def _broken_tree(root) -> None:
    """Files with every kind of schema finding, one document per kind of mistake."""
    deploy = copy.deepcopy(DEPLOY)
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["limits"]["memory"] = "512MB"  # quantity
    container["livenesProbe"] = {}  # unknown field (strict)
    deploy["spec"]["replicas"] = "two"  # wrong type
    deploy["spec"]["template"]["spec"]["resources"] = {"limits": {"cpu": "1"}}  # pod-level resources: 1.32+
    (root / "apps").mkdir()
    (root / "apps" / "backend.yaml").write_text(yaml.safe_dump_all([deploy, SERVICE], sort_keys=False))
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}}
    listed = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [POLICY, {**HPA, "spec": {**HPA["spec"], "maxReplicas": "ten"}}],
    }
    (root / "misc.yml").write_text(yaml.safe_dump_all([widget, nameless, listed], sort_keys=False))
    (root / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: [\n")


def _ordered(items) -> list[findings.Finding]:
    return sorted(items, key=dataclasses.astuple)


def _schema_findings(result: dict) -> list[findings.Finding]:
    return _ordered(f for f in result["_findings"] if f.rule in ("schema-invalid", "yaml-invalid"))


@pytest.mark.parametrize("version", ["1.31", "1.37"])
def test_both_entry_points_report_identical_findings(tmp_path, version):
    _broken_tree(tmp_path)
    schema = k8s_validate.validate([str(tmp_path)], kubernetes_version=version)
    lint = engine.lint(paths=[str(tmp_path)], kubernetes_version=version, check_images=False)
    assert schema["kubernetes_version"] == lint["kubernetes_version"] == k8s_validate.resolve_version(version)
    assert _ordered(schema["_findings"]) == _schema_findings(lint)
    # Every kind of mistake is there, so the comparison is not between two empty lists.
    fields = {(f.kind, f.field, f.check) for f in schema["_findings"]}
    assert {
        ("Deployment", "spec.template.spec.containers[0].resources.limits.memory", "quantity"),
        ("Deployment", "spec.template.spec.containers[0].livenesProbe", "schema"),
        ("Deployment", "spec.replicas", "schema"),
        ("Widget", "apiVersion", "schema"),
        ("ConfigMap", "metadata.name", "schema"),
        ("HorizontalPodAutoscaler", "spec.maxReplicas", "schema"),
        ("", "", "parse"),
    } <= fields
    # The version matters in both: pod-level resources exist from Kubernetes 1.32 on.
    pod_resources = ("Deployment", "spec.template.spec.resources", "schema")
    assert (pod_resources in fields) is (version == "1.31")
    # k8s_schema_validate's errors are a view of the same Finding objects.
    assert schema["errors"] == [f.as_error() for f in schema["_findings"]]


def test_findings_are_one_type_with_both_views():
    assert k8s_validate.Finding is findings.Finding
    finding = k8s_validate.get_validator("1.31").validate_document(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "datum": 1},
        "base/cm.yaml",
        index=2,
        line=7,
    )[0]
    assert finding.as_dict() == {
        "rule": "schema-invalid",
        "severity": "error",
        "file": "base/cm.yaml",
        "object": "ConfigMap/ns/c",
        "container": "",
        "field": "datum",
        "message": "unknown field (strict schema)",
        "line": 7,
    }
    assert finding.as_error() == {
        "file": "base/cm.yaml",
        "document": 2,
        "kind": "ConfigMap",
        "name": "c",
        "field": "datum",
        "message": "unknown field (strict schema)",
        "check": "schema",
        "line": "base/cm.yaml: ConfigMap/c: datum: unknown field (strict schema)",
    }


def test_one_path_expansion(tmp_path):
    assert k8s_validate.expand_paths is loader.expand_paths
    (tmp_path / "b").mkdir()
    for name in ("b/z.yaml", "b/a.yml", "c.yaml", "b/notes.txt"):
        (tmp_path / name).write_text("{}\n")
    files, missing = loader.expand_paths([str(tmp_path / "c.yaml"), str(tmp_path), "nope/*.yaml"])
    # Entries in the order given, a directory's files sorted, each file once.
    assert [os.path.relpath(f, tmp_path) for f in files] == ["c.yaml", "b/a.yml", "b/z.yaml"]
    assert [(m.rule, m.file) for m in missing] == [("input-missing", "nope/*.yaml")]


def test_definitions_validate_like_the_files_they_stand_for(tmp_path):
    _broken_tree(tmp_path)
    files = sorted(str(p) for p in tmp_path.rglob("*.y*ml"))
    definitions = [{"source": f, "definition": Path(f).read_text(encoding="utf-8")} for f in files]
    from_files = k8s_validate.validate(files, kubernetes_version="1.31")
    in_memory = k8s_validate.validate(definitions=definitions, kubernetes_version="1.31")
    assert in_memory["_findings"] == from_files["_findings"]
    assert in_memory["objects"] == from_files["objects"]
    assert in_memory["summary"] == from_files["summary"]
    lint_files = engine.lint(paths=files, kubernetes_version="1.31", check_images=False)
    lint_memory = engine.lint(definitions=definitions, kubernetes_version="1.31", check_images=False)
    assert lint_memory["findings"] == lint_files["findings"]


def test_definition_forms():
    deploy = copy.deepcopy(DEPLOY)
    deploy["spec"]["replicas"] = "two"
    as_list = k8s_validate.validate(definitions=[{"source": "apps/all.yaml", "definition": [SERVICE, deploy]}])
    assert [(e["file"], e["document"], e["field"]) for e in as_list["errors"]] == [
        ("apps/all.yaml", 1, "spec.replicas")
    ]
    bare = k8s_validate.validate(definitions=[SERVICE, deploy])
    assert [(e["file"], e["document"]) for e in bare["errors"]] == [("<definitions[1]>", 0)]
    unnamed = k8s_validate.validate(definitions=[{"definition": deploy}])
    assert unnamed["errors"][0]["file"] == "<definitions[0]>"
    assert bare["summary"]["files"] == 2


@pytest.mark.parametrize("version", ["1.20", "9.99", "latest"])
def test_unsupported_version_fails_both_modules(version):
    supported = k8s_validate.supported_versions()
    listed = ", ".join(v.rsplit(".", 1)[0] for v in supported)
    ok, result = k8s_validate.run_module({"definitions": [SERVICE], "kubernetes_version": version})
    assert ok is False
    assert f"kubernetes_version {version!r}" in result["msg"] and listed in result["msg"]
    assert result["supported_versions"] == supported
    for params in (
        {"definitions": [SERVICE]},
        # Nothing to schema-validate, schema validation off: the version is refused all the same.
        {"definitions": [{"services": {"web": {"image": "nginx:1.27"}}}], "schema": False},
    ):
        ok, result = engine.run_module({**params, "kubernetes_version": version, "check_images": False})
        assert ok is False
        assert f"kubernetes_version {version!r}" in result["msg"] and listed in result["msg"]
        assert result["supported_versions"] == supported
    with pytest.raises(k8s_validate.UnsupportedVersionError):
        engine.lint(definitions=[SERVICE], kubernetes_version=version, check_images=False)


def test_probe_lint_defaults_to_the_newest_schemas():
    pod_resources = copy.deepcopy(DEPLOY)
    pod_resources["spec"]["template"]["spec"]["resources"] = {"limits": {"cpu": "1"}}
    newest = engine.lint(definitions=[pod_resources], check_images=False)
    assert newest["kubernetes_version"] == k8s_validate.supported_versions()[-1]
    assert "schema-invalid" not in {f["rule"] for f in newest["findings"]}
    old = engine.lint(definitions=[pod_resources], kubernetes_version="1.31", check_images=False)
    assert old["kubernetes_version"] == "1.31.0"
    assert [f["field"] for f in old["findings"] if f["rule"] == "schema-invalid"] == ["spec.template.spec.resources"]
    assert engine.lint(definitions=[SERVICE], schema=False, check_images=False)["kubernetes_version"] is None


def test_k8s_schema_validate_logic(tmp_path):
    deploy = copy.deepcopy(DEPLOY)
    deploy["spec"]["replicas"] = "two"
    params = {"definitions": [{"source": "d.yaml", "definition": deploy}], "kubernetes_version": "1.31"}
    ok, result = k8s_validate.run_module(params)
    assert ok is False
    assert result["msg"].startswith("1 schema error(s) in 1 file(s) for Kubernetes 1.31.0:\nd.yaml: Deployment/backend")
    assert "_findings" not in result and result["changed"] is False
    ok, result = k8s_validate.run_module({**params, "fail_on_error": False})
    assert ok is True and result["summary"]["errors"] == 1
    ok, result = k8s_validate.run_module({"paths": [str(tmp_path / "nope")], "kubernetes_version": "1.31"})
    assert ok is False and "nope" in result["msg"]


def test_schema_findings_keep_the_rule_severity():
    deploy = copy.deepcopy(DEPLOY)
    deploy["spec"]["replicas"] = "two"
    (finding,) = [f for f in engine.lint(definitions=[deploy], check_images=False)["_findings"] if f.check]
    assert dataclasses.astuple(finding)[:2] == ("schema-invalid", "error")
    assert (finding.document, finding.kind, finding.name) == (0, "Deployment", "backend")
