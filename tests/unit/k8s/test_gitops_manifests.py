"""The README's Argo CD Application and Flux Kustomization against their CRDs, offline (issue 17).

Neither controller runs here. The manifests are read from README.md as written there and validated
against the openAPIV3Schema of the served version in the CRDs under tests/fixtures/crds (fetched from
the Go module proxy; sources and checksums in SOURCES.md), with unknown fields refused the way the
API server's strict field validation (kubectl --validate=strict) refuses them.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "tests" / "fixtures" / "crds"
CRD_FILES = {
    ("argoproj.io", "Application"): "argoproj.io_applications.v3.5.7.yaml",
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): "kustomize.toolkit.fluxcd.io_kustomizations.v1.9.6.yaml",
}


def strict(schema):
    """The schema with unknown fields refused wherever the CRD lists the fields and keeps no others."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_schema(api_version: str, kind: str) -> dict:
    group, version = api_version.split("/")
    crd = yaml.safe_load((CRDS / CRD_FILES[(group, kind)]).read_text())
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    assert version in served, f"{kind} {api_version} is not served by {CRD_FILES[(group, kind)]}: {sorted(served)}"
    return strict(served[version]["schema"]["openAPIV3Schema"])


def errors(manifest: dict) -> list[str]:
    schema = crd_schema(manifest["apiVersion"], manifest["kind"])
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(manifest)
    )


def readme_manifests() -> dict[str, dict]:
    """The YAML blocks of the README's GitOps section, by kind."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### GitOps: kubectl, Argo CD, Flux") :]
    section = section[: section.index("\n## ")]
    docs = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]
    return {doc["kind"]: doc for doc in docs}


def test_the_crds_are_the_vendored_upstream_files():
    table = (CRDS / "SOURCES.md").read_text()
    for name in CRD_FILES.values():
        digest = hashlib.sha256((CRDS / name).read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(name)}`.*`{digest}`", table), f"{name}: sha256 {digest} is not in SOURCES.md"


def test_the_readme_shows_both_manifests():
    assert sorted(readme_manifests()) == ["Application", "Kustomization"]


@pytest.mark.parametrize("kind", ["Application", "Kustomization"])
def test_readme_manifest_is_valid_for_its_crd(kind):
    manifest = readme_manifests()[kind]
    assert errors(manifest) == []


def test_both_point_at_the_rendered_prod_tree():
    manifests = readme_manifests()
    application, kustomization = manifests["Application"], manifests["Kustomization"]
    assert application["spec"]["source"]["path"] == "build/rendered/prod/k8s"
    assert application["spec"]["destination"]["namespace"] == "goaltrajectory-prod"
    assert "ServerSideApply=true" in application["spec"]["syncPolicy"]["syncOptions"]
    assert kustomization["spec"]["path"] == "./build/rendered/prod/k8s"
    assert application["spec"]["source"]["repoURL"].endswith(".git")
    # The tree names its namespace in every object: no namespace rewrite by either controller.
    assert "targetNamespace" not in kustomization["spec"]


def test_the_validation_bites_on_typos_and_missing_fields():
    manifests = readme_manifests()
    bad_app = copy.deepcopy(manifests["Application"])
    bad_app["spec"]["source"]["pathh"] = bad_app["spec"]["source"].pop("path")
    bad_app["spec"]["syncPolicy"]["automated"]["prune"] = "yes"
    assert errors(bad_app) == [
        "spec.source: Additional properties are not allowed ('pathh' was unexpected)",
        "spec.syncPolicy.automated.prune: 'yes' is not of type 'boolean'",
    ]
    bad_flux = copy.deepcopy(manifests["Kustomization"])
    del bad_flux["spec"]["sourceRef"]
    bad_flux["spec"]["sourceRef "] = {}
    assert errors(bad_flux) == [
        "spec: 'sourceRef' is a required property",
        "spec: Additional properties are not allowed ('sourceRef ' was unexpected)",
    ]
    bad_version = {**manifests["Kustomization"], "apiVersion": "kustomize.toolkit.fluxcd.io/v9"}
    with pytest.raises(AssertionError, match="v9 is not served"):
        errors(bad_version)
