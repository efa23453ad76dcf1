"""The offline vulnerability gate with the real osv-scanner on our real backend and frontend images.

The images role's tools.yml builds osv-scanner (goaltrajectory.platform.k8s_cluster_go_build,
github.com/google/osv-scanner/v2) into its tools dir, or finds it current; image_check then scans
the images (built by molecule/images or make deploy) against small advisory databases in osv.dev's
own format (<Ecosystem>/all.zip of OSV JSON) written here, each advisory against a package version
read from the image itself: glibc (libc6's source package) from the backend's dpkg database,
fastapi from its Python site-packages, next from the frontend's SBOM.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker, imagefs

from ..conftest import ROOT, assert_failed_unchanged

PLAYBOOK = Path(__file__).with_name("osv_scan.yml")
REPOSITORY = "goaltrajectory/backend"
PYTHON_BASE = "gt-golden/python:3.11-bookworm"
DEB_ID, PY_ID, LOW_ID = "GT-OSV-TEST-0001", "GT-OSV-TEST-0002", "GT-OSV-TEST-0003"
CRITICAL_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
LOW_VECTOR = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"  # 1.8


def _dpkg_source(status: str, package: str) -> tuple[str, str]:
    """(source package, version) of an installed binary package from a dpkg status file."""
    for stanza in status.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.M))
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            source = fields.get("Source", package)
            match = re.match(r"^(\S+)(?: \((.*)\))?$", source)
            return match.group(1), match.group(2) or fields["Version"]
    raise AssertionError(f"{package} is not installed in the image")


def _newest(repository: str) -> tuple[str, dict]:
    """The newest tag of one of our images and its inspect object."""
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=False
    ).stdout.split()
    # make deploy tags goaltrajectory/<name>, molecule/images 127.0.0.1:5000/goaltrajectory/<name>.
    refs = [r for r in listed if re.match(rf"^([^/]+/)?{repository}:", r) and not r.endswith(":<none>")]
    if not refs:
        pytest.fail(f"no {repository} image: run molecule/images or make deploy first")
    return refs[0], docker.Docker().inspect([refs[0]])[refs[0]]


@pytest.fixture(scope="module")
def backend():
    """The newest backend image and the versions osv-scanner must find in it."""
    engine = docker.Docker()
    ref, image = _newest(REPOSITORY)
    wanted = {"/var/lib/dpkg/status", "/etc/os-release", "/usr/lib/os-release"}  # the first links to the last
    with engine.save(image["Id"]) as stream:
        tree = imagefs.read_saved(stream, wanted)
    source, version = _dpkg_source(tree.read("/var/lib/dpkg/status").decode(), "libc6")
    os_release = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', tree.read("/etc/os-release").decode(), re.M))
    fastapi = [m.group(1) for p in tree.entries if (m := re.search(r"/site-packages/fastapi-([^/]+)\.dist-info$", p))]
    assert len(fastapi) == 1, f"fastapi dist-info in {ref}: {fastapi}"
    return {
        "ref": ref,
        "images": {
            "backend": {"id": image["Id"], "ref": ref, "base": PYTHON_BASE, "budget_mb": 1000, "service": "backend"}
        },
        "debian": f"Debian:{os_release['VERSION_ID']}",
        "glibc": (source, version),
        "fastapi": fastapi[0],
    }


def _advisory(vid: str, ecosystem: str, name: str, version: str, vector: str = "") -> dict:
    doc = {
        "schema_version": "1.6.0",
        "id": vid,
        "modified": "2026-11-26T00:00:00Z",
        "published": "2026-11-26T00:00:00Z",
        "summary": f"test advisory against {name} {version}",
        "affected": [{"package": {"ecosystem": ecosystem, "name": name}, "versions": [version]}],
    }
    if vector:
        doc["severity"] = [{"type": "CVSS_V3", "score": vector}]
    return doc


def _database(root: Path, advisories: dict[str, list[dict]]) -> Path:
    """<root>/<Ecosystem>/all.zip, one OSV JSON file per advisory (an empty zip for none)."""
    for ecosystem, docs in advisories.items():
        (root / ecosystem).mkdir(parents=True)
        with zipfile.ZipFile(root / ecosystem / "all.zip", "w") as archive:
            for doc in docs:
                archive.writestr(f"{doc['id']}.json", json.dumps(doc))
    return root


def _scan(run_playbook, image, work: Path, db: str, *, required: bool = True, threshold: str = "HIGH"):
    work.mkdir(parents=True, exist_ok=True)
    extra = {
        "osv_test_images": image["images"],
        "osv_test_work": str(work),
        "images_scan_db_dir": db,
        "images_scan_required": required,
        "images_scan_severity_threshold": threshold,
    }
    result = run_playbook(PLAYBOOK, "-i", str(ROOT / "inventories/dev"), "-e", json.dumps(extra), timeout=1800)
    return result, json.loads((work / "result.json").read_text())


def test_the_gate_fails_on_an_advisory_against_a_package_in_the_image(run_playbook, backend, tmp_path):
    (glibc, glibc_version), fastapi = backend["glibc"], backend["fastapi"]
    db = _database(
        tmp_path / "db",
        {
            "Debian": [_advisory(DEB_ID, backend["debian"], glibc, glibc_version)],
            "PyPI": [_advisory(PY_ID, "PyPI", "fastapi", fastapi, CRITICAL_VECTOR)],
            "npm": [],
        },
    )
    result, out = _scan(run_playbook, backend, tmp_path / "work", str(db))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    scan = out["images"]["backend"]["vuln_scan"]
    assert scan["status"] == "scanned", scan
    # The distroless backend records only the Debian packages whose files it holds (26 on bookworm).
    assert scan["packages"][backend["debian"]] > 20 and scan["packages"]["PyPI"] > 10, scan["packages"]
    assert {(f["package"], f["version"], f["advisory"]) for f in scan["findings"]} == {
        (glibc, glibc_version, DEB_ID),
        ("fastapi", fastapi, PY_ID),
    }
    # The failure names package, version, advisory and severity of each.
    assert f"{backend['ref']}: 2 advisories at or above HIGH (images_scan_severity_threshold): " in out["msg"]
    assert f"{glibc} {glibc_version} ({backend['debian']}: " in out["msg"] and "libc6" in out["msg"]
    assert (
        f"{DEB_ID} UNKNOWN (no severity in the advisory, counted as CRITICAL (images_scan_unknown_severity))"
        in out["msg"]
    )
    assert f"fastapi {fastapi} (PyPI) {PY_ID} CRITICAL (CVSS 9.8)" in out["msg"]
    assert f"fastapi {fastapi} (PyPI) {PY_ID}" in output


def test_the_gate_passes_without_that_advisory_and_reuses_the_scan(run_playbook, backend, tmp_path):
    db = _database(
        tmp_path / "db",
        {
            "Debian": [_advisory(DEB_ID, backend["debian"], backend["glibc"][0], "0.0-0")],
            "PyPI": [_advisory(LOW_ID, "PyPI", "fastapi", backend["fastapi"], LOW_VECTOR)],
            "npm": [],
        },
    )
    result, out = _scan(run_playbook, backend, tmp_path / "work", str(db))
    assert result.returncode == 0, result.stdout + result.stderr
    scan = out["images"]["backend"]["vuln_scan"]
    assert scan["status"] == "scanned" and out["failures"] == []
    # Below the threshold: reported, not gating.
    assert [(f["advisory"], f["severity"]) for f in scan["findings"]] == [(LOW_ID, "LOW")]
    assert scan["gating"] == []
    assert out["images"]["backend"]["cache"]["vuln_scan"] == "ran"
    again, out = _scan(run_playbook, backend, tmp_path / "work", str(db))
    assert again.returncode == 0 and out["images"]["backend"]["cache"]["vuln_scan"] == "cached"
    # The same database at LOW: now it gates.
    low, out = _scan(run_playbook, backend, tmp_path / "work", str(db), threshold="LOW")
    assert low.returncode != 0 and out["images"]["backend"]["cache"]["vuln_scan"] == "cached"
    assert f"fastapi {backend['fastapi']} (PyPI) {LOW_ID} LOW (CVSS 1.8)" in out["msg"]


def test_an_ecosystem_without_its_database_is_not_scanned(run_playbook, backend, tmp_path):
    db = _database(tmp_path / "db", {"Debian": []})
    result, out = _scan(run_playbook, backend, tmp_path / "work", str(db))
    assert result.returncode != 0
    assert (
        f"{backend['ref']}: not scanned for vulnerabilities (the image holds PyPI packages but the advisory "
        f"database {db} has no PyPI/all.zip) and images_scan_required is true"
    ) in out["msg"]


def test_no_database_given_is_not_scanned_and_says_why(run_playbook, backend, tmp_path):
    result, out = _scan(run_playbook, backend, tmp_path / "work", "", required=False)
    assert result.returncode == 0, result.stdout + result.stderr
    scan = out["images"]["backend"]["vuln_scan"]
    assert scan == {
        "status": "not scanned",
        "reason": "no advisory database given (images_scan_db_dir)",
        "findings": [],
        "packages": {},
        "gating": [],
    }
    assert "vulnerabilities not scanned (no advisory database given (images_scan_db_dir))" in out["report"][0]


def test_the_frontends_npm_packages_are_scanned_from_its_sbom(run_playbook, tmp_path):
    """Next.js standalone output has no node_modules/.package-lock.json: the SBOM the image ships is what is read."""
    ref, image = _newest("goaltrajectory/frontend")
    sbom_path = image["Config"]["Labels"]["org.goaltrajectory.sbom"]
    with docker.Docker().save(image["Id"]) as stream:
        tree = imagefs.read_saved(stream, {sbom_path})
    components = json.loads(tree.read(sbom_path))["components"]
    next_version = next(c["version"] for c in components if c.get("purl", "").startswith("pkg:npm/next@"))
    advisory = _advisory("GT-OSV-TEST-0004", "npm", "next", next_version)
    advisory["database_specific"] = {"severity": "HIGH"}
    db = _database(tmp_path / "db", {"Debian": [], "PyPI": [], "npm": [advisory]})
    frontend = {"images": {"frontend": {"id": image["Id"], "ref": ref, "base": "", "budget_mb": 1000}}}
    result, out = _scan(run_playbook, frontend, tmp_path / "work", str(db))
    assert result.returncode != 0
    scan = out["images"]["frontend"]["vuln_scan"]
    npm = {c["purl"] for c in components if c.get("purl", "").startswith("pkg:npm/")}
    assert scan["status"] == "scanned" and scan["packages"]["npm"] == len(npm), scan["packages"]
    assert f"next {next_version} (npm) GT-OSV-TEST-0004 HIGH (database_specific.severity)" in out["msg"]
    assert scan["findings"][0]["source"] == sbom_path


BAD_INPUT = {
    "relative database path": ({"images_scan_db_dir": "osv-db"}, "images_scan_db_dir=osv-db must be an absolute path"),
    "no database there": ({"images_scan_db_dir": "/nonexistent/osv"}, "images_scan_db_dir=/nonexistent/osv is not a"),
    "unknown threshold": ({"images_scan_severity_threshold": "SEVERE"}, "images_scan_severity_threshold must be"),
    "unknown severity": ({"images_scan_unknown_severity": "NONE"}, "images_scan_unknown_severity must be one of"),
    "bad scanner version": ({"images_osv_scanner_version": "2.2.4"}, "images_osv_scanner_version=2.2.4 is not"),
}  # fmt: skip


@pytest.mark.parametrize(("extra_vars", "named"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_scan_settings_fail_before_any_change(run_playbook, extra_vars, named):
    result = run_playbook(
        ROOT / "playbooks/images.yml", "-i", str(ROOT / "inventories/dev"), "-e", json.dumps(extra_vars)
    )
    assert_failed_unchanged(result, named)
