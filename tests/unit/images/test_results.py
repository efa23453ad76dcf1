"""The results file the images role writes is what image_results.py (the compose/k8s side) reads."""

from __future__ import annotations

import json

from ansible_collections.goaltrajectory.platform.plugins.module_utils import image_results
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import golden, registry, results

ITEM = {
    "service": "backend",
    "dev": False,
    "ref": "r:5000/gt/backend:0.1.0-a",
    "tags": ["r:5000/gt/backend:0.1.0-a", "r:5000/gt/backend:dev"],
    "id": "sha256:1",
    "inputs_digest": "sha256:2",
    "action": "unchanged",
    "started": "now",
    "seconds": 1.0,
}
BUILD = {
    "tag": "0.1.0-a",
    "revision": "a" * 40,
    "images": {"backend": ITEM, "frontend-dev": {**ITEM, "dev": True, "ref": "r:5000/gt/frontend-dev:0.1.0-a"}},
}
CHECK = {
    "policy": {"passed": True, "violations": [], "bytes_over_base": 5},
    "sbom": "/x/backend.cdx.json",
    "sbom_components": 3,
    "ecosystems": ["pypi"],
    "scan": {"status": "scanned"},
    "vuln_scan": {"status": "scanned", "findings": [], "gating": []},
    "debian_security": {"checked": True},
}
DIGEST = "r:5000/gt/backend@sha256:" + "b" * 64


def test_document_refs_by_digest_when_pushed_and_stable_details():
    doc = results.document(BUILD, {"backend": CHECK}, {"backend": DIGEST}, environment="dev", registry="r:5000")
    assert doc["refs"] == {"backend": DIGEST, "frontend-dev": "r:5000/gt/frontend-dev:0.1.0-a"}
    assert "started" not in doc["images"]["backend"] and "action" not in doc["images"]["backend"]
    parsed = image_results.parse(json.dumps(doc), "dev.json")
    refs = image_results.choose(
        parsed, {}, ["backend"], source="dev.json", variable="k8s_images", environment="dev", require_digest=True
    )
    assert refs == {"backend": DIGEST}
    full = results.build_results(doc, {"backend": CHECK})
    assert full["images"]["backend"]["scan"] == {"status": "scanned"}
    assert full["images"]["backend"]["vuln_scan"]["status"] == "scanned"


def test_promotion_document():
    doc = results.promoted(
        {"refs": {"backend": DIGEST}}, environment="staging", registry="r:5000", source="dev", source_doc={"tag": "t"}
    )
    assert doc["refs"] == {"backend": DIGEST} and doc["tag"] == "t" and doc["promoted_from"] == "dev"


def test_golden_needed_adds_ancestors_in_order():
    cat = [{"key": "debian"}, {"key": "python", "parent": "debian"}, {"key": "python_build", "parent": "python"}]
    assert [b["key"] for b in golden.needed(cat, ["python_build"])] == ["debian", "python", "python_build"]


def test_golden_recipe_matches_the_former_to_json_hash(tmp_path):
    recipe = tmp_path / "Dockerfile"
    recipe.write_text("FROM x\n")
    base = {"recipe_file": str(recipe), "download": {"package": "npm", "version": "1", "file": "npm.tgz"}}
    key = golden.recipe(base, "sha256:p", "bookworm", ["m", "s"])
    # Ansible's to_json: json.dumps defaults, insertion order.
    import hashlib

    doc = {
        "recipe": hashlib.sha256(b"FROM x\n").hexdigest(),
        "parent": "sha256:p",
        "download": base["download"],
        "suite": "bookworm",
        "mirrors": ["m", "s"],
    }
    assert key == hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def test_registry_scheme_and_refs():
    assert registry.Registry("127.0.0.1:5000").scheme == "http"
    assert registry.Registry("localhost:5000").scheme == "http"
    assert registry.Registry("[::1]:5000").scheme == "http"
    assert registry.Registry("registry.example.com").scheme == "https"
    assert registry.Registry("registry.example.com", insecure=True).scheme == "http"
    assert registry.split_ref("r:5000/gt/backend:dev") == ("r:5000", "gt/backend", "dev")


def test_monitoring_images_are_recorded_and_promoted_with_the_apps():
    tags = ["r:5000/gt/prometheus:v3-a", "r:5000/gt/prometheus:dev"]
    monitoring = {"prometheus": {"service": "monitoring", "dev": False, "ref": tags[0], "tags": tags, "id": "sha256:9"}}
    build = {**BUILD, "images": {**BUILD["images"], **monitoring}}
    pushed = {"backend": DIGEST, "prometheus": "r:5000/gt/prometheus@sha256:" + "f" * 64}
    doc = results.document(build, {"backend": CHECK}, pushed, environment="dev", registry="r:5000")
    assert doc["refs"]["prometheus"] == pushed["prometheus"]
    assert doc["images"]["prometheus"]["tags"][1].endswith(":dev") and "policy" not in doc["images"]["prometheus"]
