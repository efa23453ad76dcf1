"""module_utils.k8s_validate against the real kubernetes-validate schemas (no mocks)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "backend", "namespace": "ns"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "backend"}},
        "template": {
            "metadata": {"labels": {"app": "backend"}},
            "spec": {
                "containers": [
                    {
                        "name": "backend",
                        "image": "registry.example.com/backend@sha256:" + "0" * 64,
                        "resources": {
                            "requests": {"cpu": "250m", "memory": "512Mi"},
                            "limits": {"cpu": 1, "memory": "1Gi"},
                        },
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
    },
}


@pytest.fixture(scope="module")
def validator():
    return k8s_validate.SchemaValidator("1.31.0", strict=True)


def test_valid_deployment_has_no_findings(validator):
    assert validator.validate_document(copy.deepcopy(DEPLOYMENT), "d.yaml") == []


def test_unknown_field_is_named_with_its_path(validator):
    doc = copy.deepcopy(DEPLOYMENT)
    doc["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    findings = validator.validate_document(doc, "d.yaml")
    assert [(f.field, f.check) for f in findings] == [("spec.template.spec.containers[0].livenesProbe", "schema")]
    assert findings[0].text().startswith("d.yaml: Deployment/backend: spec.template.spec.containers[0].livenesProbe:")


def test_non_strict_mode_accepts_unknown_fields():
    doc = copy.deepcopy(DEPLOYMENT)
    doc["spec"]["bogus"] = 1
    assert k8s_validate.SchemaValidator("1.31", strict=False).validate_document(doc) == []


def test_every_error_is_reported_not_just_the_first(validator):
    doc = copy.deepcopy(DEPLOYMENT)
    doc["spec"]["replicas"] = "two"
    doc["metadata"]["labelz"] = {}
    fields = {f.field for f in validator.validate_document(doc)}
    assert fields == {"spec.replicas", "metadata.labelz"}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("512Mi", True),
        ("1Gi", True),
        ("250m", True),
        ("1", True),
        (2, True),
        ("1.5", True),
        ("1e3", True),
        ("512MB", False),
        ("1 Gi", False),
        ("Gi", False),
        ("", False),
        (True, False),
        ("1gi", False),
    ],
)
def test_quantity_grammar(value, ok):
    assert k8s_validate.quantity_is_valid(value) is ok


def test_malformed_quantity_names_the_field(validator):
    doc = copy.deepcopy(DEPLOYMENT)
    doc["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "512MB"
    doc["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimit"] = "1 GB"
    findings = validator.validate_document(doc, "d.yaml")
    assert {(f.field, f.check) for f in findings} == {
        ("spec.template.spec.containers[0].resources.limits.memory", "quantity"),
        ("spec.template.spec.volumes[0].emptyDir.sizeLimit", "quantity"),
    }


def test_unknown_kind_is_an_error(validator):
    findings = validator.validate_document(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    assert len(findings) == 1
    assert "no schema for kind Widget" in findings[0].message


def test_missing_name_and_kind(validator):
    findings = validator.validate_document({"apiVersion": "v1", "metadata": {}})
    assert {f.field for f in findings} == {"kind", "metadata.name"}


@pytest.mark.parametrize("version", ["1.20", "9.99", "latest", "1"])
def test_unsupported_or_malformed_versions_are_refused(version):
    with pytest.raises(k8s_validate.UnsupportedVersionError, match="kubernetes_version") as caught:
        k8s_validate.resolve_version(version)
    assert caught.value.supported == k8s_validate.supported_versions()
    assert "supported versions: 1.25, 1.26," in str(caught.value)
    assert str(caught.value).endswith(k8s_validate.supported_versions()[-1].rsplit(".", 1)[0])


def test_version_resolution_picks_the_shipped_minor():
    shipped = k8s_validate.supported_versions()
    assert shipped == sorted(set(shipped), key=lambda v: tuple(map(int, v.split("."))))
    assert k8s_validate.resolve_version("v1.31.4") == "1.31.0"
    assert k8s_validate.resolve_version(None) == shipped[-1]


def test_one_validator_per_version_per_process():
    first = k8s_validate.get_validator("1.31", strict=True)
    assert k8s_validate.get_validator("v1.31.2") is first
    assert k8s_validate.get_validator("1.31", strict=False) is not first
    assert k8s_validate.get_validator(None).version == k8s_validate.supported_versions()[-1]


def test_validate_paths_reports_files_and_summary(tmp_path):
    good = tmp_path / "a" / "cm.yaml"
    good.parent.mkdir()
    good.write_text("# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  K: v\n")
    bad = tmp_path / "b.yml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  portz: []\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n"
    )
    broken = tmp_path / "c.yaml"
    broken.write_text("apiVersion: v1\nkind: [\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("not: k8s\n")
    result = k8s_validate.validate_paths([str(tmp_path)], "1.31.0")
    assert result["summary"] == {"files": 3, "objects": 3, "errors": 2, "invalid_files": 2}
    by_file = {e["file"]: e for e in result["errors"]}
    assert by_file[str(bad)]["field"] == "spec.portz"
    assert by_file[str(broken)]["check"] == "parse"
    assert [o["valid"] for o in result["objects"]] == [True, False, True]
    assert [o["document"] for o in result["objects"]] == [0, 0, 1]
    assert set(result["errors"][0]) == {"file", "document", "kind", "name", "field", "message", "check", "line"}


def test_empty_file_and_non_mapping_documents_are_errors(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing here\n")
    (tmp_path / "scalar.yaml").write_text("just text\n")
    result = k8s_validate.validate([str(tmp_path)], kubernetes_version="1.31")
    assert [(e["file"].rsplit("/", 1)[-1], e["check"], e["message"]) for e in result["errors"]] == [
        ("empty.yaml", "parse", "file holds no Kubernetes object"),
        ("scalar.yaml", "parse", "document is not a mapping"),
    ]


def test_list_items_are_validated_one_by_one(validator):
    items = [copy.deepcopy(DEPLOYMENT), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "date": 1}]
    result = k8s_validate.validate(definitions=[{"apiVersion": "v1", "kind": "List", "items": items}])
    assert [(o["kind"], o["valid"]) for o in result["objects"]] == [("Deployment", True), ("ConfigMap", False)]
    assert [(e["field"], e["document"]) for e in result["errors"]] == [("date", 0)]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        k8s_validate.validate_paths([str(tmp_path / "nope")], "1.31.0")
