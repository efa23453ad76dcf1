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


def _golden_catalog(tmp_path):
    for name in ("debian.sh", "python.Dockerfile", "postgres.Dockerfile"):
        (tmp_path / name).write_text(f"# {name}\n")
    return [
        {"key": "debian", "tag": "g/debian:b", "recipe_file": str(tmp_path / "debian.sh")},
        {"key": "python", "tag": "g/python:b", "parent": "debian", "recipe_file": str(tmp_path / "python.Dockerfile")},
        {"key": "postgres", "tag": "g/pg:b", "parent": "debian", "recipe_file": str(tmp_path / "postgres.Dockerfile")},
    ]


def _labelled(catalog, ids, suite="b", mirrors=("m", "s")):
    """`docker image inspect` objects of bases whose labels match their recipes (parents' IDs from ids)."""
    by_key = {base["key"]: base for base in catalog}
    found = {}
    for base in catalog:
        parent_id = ids.get(base.get("parent", ""), "")
        label = golden.recipe(by_key[base["key"]], parent_id, suite, list(mirrors))
        found[base["tag"]] = {"Id": ids[base["key"]], "Config": {"Labels": {golden.RECIPE_LABEL: label}}}
    return found


def test_golden_plan_reuses_current_bases_and_rebuilds_a_stale_one_with_its_children(tmp_path):
    catalog = _golden_catalog(tmp_path)
    ids = {"debian": "sha256:d", "python": "sha256:p", "postgres": "sha256:g"}
    found = _labelled(catalog, ids)
    seen = []

    def inspect(refs):
        seen.append(refs)
        return {ref: found[ref] for ref in refs if ref in found}

    current = golden.plan(catalog, ["python", "postgres"], "b", ["m", "s"], False, inspect)
    assert current["built"] == [] and not current["bootstrap"]
    assert current["bases"] == {"debian": "g/debian:b", "python": "g/python:b", "postgres": "g/pg:b"}
    assert current["ids"] == ids
    assert seen == [["g/debian:b", "g/python:b", "g/pg:b"]], "one engine call for every base"

    # The Debian script changed: Debian is rebuilt, so are both children; bootstrap is needed.
    (tmp_path / "debian.sh").write_text("# changed\n")
    stale = golden.plan(catalog, ["python", "postgres"], "b", ["m", "s"], False, inspect)
    assert stale["built"] == ["debian", "python", "postgres"] and stale["bootstrap"]
    assert stale["plan"]["debian"]["reason"].startswith("its recipe changed")
    assert stale["plan"]["python"]["reason"] == "its parent debian is rebuilt"


def test_golden_plan_names_a_missing_base_and_honours_refresh(tmp_path):
    catalog = _golden_catalog(tmp_path)
    found = _labelled(catalog, {"debian": "sha256:d", "python": "sha256:p", "postgres": "sha256:g"})
    del found["g/pg:b"]

    def inspect(refs):
        return {ref: found[ref] for ref in refs if ref in found}

    missing = golden.plan(catalog, ["postgres"], "b", ["m", "s"], False, inspect)
    assert missing["built"] == ["postgres"] and not missing["bootstrap"]
    assert missing["plan"]["postgres"]["reason"] == "no image tagged g/pg:b"
    assert "python" not in missing["bases"], "only the bases the keys need"
    refreshed = golden.plan(catalog, ["postgres"], "b", ["m", "s"], True, inspect)
    assert refreshed["built"] == ["debian", "postgres"]
    assert golden.reason(catalog[2], None, "", ["debian"], False, "b", ["m"]) == "its parent debian is rebuilt"
