"""osv-scanner output, severities, the threshold gate, the database layout and the check's wiring.

data/osv-scanner-image.json is real osv-scanner v2.2.4 output (`scan image --archive --offline
--all-packages --experimental-plugins sbom/cdx --format json`) of an image holding a dpkg database,
a Python dist-info and a CycloneDX SBOM with an npm component, scanned against a small test
database; packages without findings were trimmed to two per source.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import checks, osv

OUTPUT = (Path(__file__).parent / "data" / "osv-scanner-image.json").read_text()


def _findings():
    return {f["advisory"]: f for f in osv.parse(json.loads(OUTPUT))["findings"]}


def test_real_output_names_package_version_advisory_and_severity():
    parsed = osv.parse(json.loads(OUTPUT))
    assert set(parsed["packages"]) == {"Debian:12", "PyPI", "npm"}
    found = _findings()
    assert set(found) == {"GT-TEST-DEB-1", "GT-TEST-DEB-2", "GT-TEST-PY-1", "GT-TEST-NPM-1", "GT-TEST-NPM-2"}
    deb = found["GT-TEST-DEB-1"]
    # Debian advisories are per source package: every binary package of it is named once.
    assert (deb["package"], deb["ecosystem"]) == ("glibc", "Debian:12")
    assert deb["version"].startswith("2.36-") and "libc6" in deb["os_packages"] and len(deb["os_packages"]) > 1
    assert (deb["severity"], deb["severity_source"]) == ("UNKNOWN", "no severity in the advisory")
    assert found["GT-TEST-DEB-2"]["unimportant"] is True and found["GT-TEST-DEB-2"]["package"] == "zlib"
    assert (found["GT-TEST-PY-1"]["package"], found["GT-TEST-PY-1"]["version"]) == ("fastapi", "0.115.6")
    assert (found["GT-TEST-PY-1"]["severity"], found["GT-TEST-PY-1"]["severity_source"]) == ("CRITICAL", "CVSS 9.8")
    assert (found["GT-TEST-NPM-1"]["severity"], found["GT-TEST-NPM-1"]["severity_source"]) == (
        "MEDIUM",
        "database_specific.severity",
    )
    assert (found["GT-TEST-NPM-2"]["severity"], found["GT-TEST-NPM-2"]["fixed"]) == ("LOW", ["15.1.1"])
    assert found["GT-TEST-NPM-2"]["source"] == "/usr/share/sbom/frontend.cdx.json"


@pytest.mark.parametrize(
    ("threshold", "unknown_as", "gating"),
    [
        ("LOW", "CRITICAL", ["GT-TEST-DEB-1", "GT-TEST-NPM-1", "GT-TEST-NPM-2", "GT-TEST-PY-1"]),
        ("MEDIUM", "CRITICAL", ["GT-TEST-DEB-1", "GT-TEST-NPM-1", "GT-TEST-PY-1"]),
        ("HIGH", "CRITICAL", ["GT-TEST-DEB-1", "GT-TEST-PY-1"]),
        ("CRITICAL", "CRITICAL", ["GT-TEST-DEB-1", "GT-TEST-PY-1"]),
        ("HIGH", "LOW", ["GT-TEST-PY-1"]),
        ("LOW", "LOW", ["GT-TEST-DEB-1", "GT-TEST-NPM-1", "GT-TEST-NPM-2", "GT-TEST-PY-1"]),
    ],
)
def test_the_threshold_gates_at_or_above_and_unimportant_never(threshold, unknown_as, gating):
    hits = osv.gating(list(_findings().values()), threshold, unknown_as)
    assert sorted(f["advisory"] for f in hits) == gating


def test_describe_names_package_version_advisory_and_why():
    found = _findings()
    assert osv.describe(found["GT-TEST-PY-1"]) == "fastapi 0.115.6 (PyPI) GT-TEST-PY-1 CRITICAL (CVSS 9.8)"
    text = osv.describe(found["GT-TEST-DEB-1"], "CRITICAL")
    assert text.startswith("glibc 2.36-") and "(Debian:12: " in text and "libc6" in text
    assert text.endswith(
        "GT-TEST-DEB-1 UNKNOWN (no severity in the advisory, counted as CRITICAL (images_scan_unknown_severity))"
    )


@pytest.mark.parametrize(
    ("score", "label"), [(0.0, "NONE"), (0.1, "LOW"), (3.9, "LOW"), (4.0, "MEDIUM"), (7.0, "HIGH"), (9.0, "CRITICAL")]
)
def test_cvss_ratings(score, label):
    assert osv.rating(score) == label


def test_severity_takes_the_highest_source():
    vuln = {
        "database_specific": {"severity": "LOW"},
        "affected": [{"ecosystem_specific": {"severity": "important"}}],
    }
    assert osv.severity(vuln, "5.0") == ("HIGH", "affected.ecosystem_specific.severity")
    assert osv.severity(vuln, "9.1") == ("CRITICAL", "CVSS 9.1")
    assert osv.severity({}, "") == ("UNKNOWN", "no severity in the advisory")


def test_interpret_requires_a_database_for_every_ecosystem_of_the_image(tmp_path):
    files = {"Debian": str(tmp_path / "Debian/all.zip")}
    out = osv.interpret(1, OUTPUT, "", files, "/srv/osv")
    assert out["status"] == "not scanned"
    assert out["reason"] == (
        "the image holds PyPI, npm packages but the advisory database /srv/osv has no PyPI/all.zip, npm/all.zip"
    )
    assert out["findings"]  # still reported
    full = {eco: f"/srv/osv/{eco}/all.zip" for eco in ("Debian", "PyPI", "npm")}
    good = osv.interpret(1, OUTPUT, "", full, "/srv/osv")
    assert (
        good["status"] == "scanned"
        and good["reason"] == "osv-scanner offline, advisory database /srv/osv (Debian, PyPI, npm)"
    )
    assert osv.interpret(128, "", "No package sources found", full, "/x")["status"] == "not scanned"
    errs = osv.interpret(127, OUTPUT, "could not load db for npm ecosystem: zip: not a valid zip file\n", full, "/x")
    assert errs["status"] == "not scanned" and "could not load db for npm ecosystem" in errs["reason"]
    with pytest.raises(osv.ScanError, match="exited 2: boom"):
        osv.interpret(2, "", "boom", full, "/x")


def _db(root: Path, ecosystems=("Debian", "PyPI")) -> Path:
    for eco in ecosystems:
        (root / eco).mkdir(parents=True)
        with zipfile.ZipFile(root / eco / "all.zip", "w") as archive:
            archive.writestr("X-1.json", json.dumps({"id": "X-1", "modified": "2026-01-01T00:00:00Z"}))
    return root


def test_database_layouts_and_digest(tmp_path):
    flat = _db(tmp_path / "flat")
    assert sorted(osv.db_files(str(flat))) == ["Debian", "PyPI"]
    nested = _db(tmp_path / "cache/osv-scanner", ("npm",))
    assert osv.db_root(str(tmp_path / "cache")) == str(nested)
    assert list(osv.db_files(str(tmp_path / "cache"))) == ["npm"]
    memo: dict = {}
    first = osv.db_digest(osv.db_files(str(flat)), memo)
    assert osv.db_digest(osv.db_files(str(flat)), memo) == first and len(memo) == 2
    with zipfile.ZipFile(flat / "PyPI/all.zip", "a") as archive:
        archive.writestr("X-2.json", "{}")
    assert osv.db_digest(osv.db_files(str(flat)), memo) != first


def test_prepare_says_why_it_cannot_scan(tmp_path):
    memo = str(tmp_path / "checks/osv-digests.json")
    assert osv.prepare("", "/nonexistent", memo, check_mode=False)["error"] == ""
    (tmp_path / "empty").mkdir()
    assert "holds no <Ecosystem>/all.zip" in osv.prepare(str(tmp_path / "empty"), "", memo, check_mode=False)["error"]
    db = str(_db(tmp_path / "db"))
    missing = osv.prepare(db, str(tmp_path / "osv-scanner"), memo, check_mode=False)
    assert missing["error"].startswith(f"osv-scanner is not at {tmp_path}/osv-scanner")
    assert osv.prepare(db, str(tmp_path / "osv-scanner"), memo, check_mode=True)["error"] == ""
    scanner = tmp_path / "osv-scanner"
    scanner.write_text("#!/bin/sh\n")
    os.chmod(scanner, 0o700)
    ready = osv.prepare(db, str(scanner), memo, check_mode=False)
    assert ready["error"] == "" and ready["digest"] and ready["scanner_digest"]
    assert sorted(json.loads(Path(memo).read_text())) == sorted([*osv.db_files(db).values(), str(scanner)])


class _NoDocker:
    def save(self, image):
        raise AssertionError("nothing may be saved")


SETTINGS = {"scan": True, "cache_dir": "", "scan_required": True, "fail_on_vulnerabilities": False}


def test_no_database_is_not_scanned_and_says_which_variable(tmp_path):
    used: dict = {}
    out = checks.vuln_scan(
        "sha256:1",
        _NoDocker(),
        {**SETTINGS, "cache_dir": str(tmp_path), "scan_db": osv.prepare("", "", "", check_mode=False)},
        check_mode=False,
        now=0,
        used=used,
        writes=[],
    )
    assert out == {
        "status": "not scanned",
        "reason": "no advisory database given (images_scan_db_dir)",
        "findings": [],
        "packages": {},
    }
    assert used == {}


def test_check_mode_reuses_a_cached_scan_and_runs_nothing(tmp_path):
    db = {"dir": "/srv/osv", "files": {}, "digest": "d", "scanner": "/s", "scanner_digest": "s", "error": ""}
    settings = {**SETTINGS, "cache_dir": str(tmp_path), "scan_db": db}
    used: dict = {}
    out = checks.vuln_scan("sha256:1", _NoDocker(), settings, check_mode=True, now=0, used=used, writes=[])
    assert out["reason"] == "check mode: would scan with osv-scanner" and used == {"vuln_scan": "would run"}
    key = osv.cache_key("sha256:1", "d", "s")
    cached = {"status": "scanned", "reason": "r", "findings": [], "packages": {"PyPI": 3}}
    (tmp_path / f"osv-{key}.json").write_text(json.dumps({"key": key, "checked_at": 0, "result": cached}))
    again = checks.vuln_scan("sha256:1", _NoDocker(), settings, check_mode=True, now=1e9, used=used, writes=[])
    assert again == cached and used == {"vuln_scan": "cached"}


def _result(vuln):
    return {
        "policy": {"violations": []},
        "scan": {"status": "not scanned", "reason": "PyPI JSON API answered 404", "findings": []},
        "ecosystems": ["pypi"],
        "debian_security": {"checked": True, "pending": [], "error": ""},
        "vuln_scan": vuln,
    }


def _gate(**overrides) -> dict:
    """The gate settings image_check hands checks.failures, scan required at HIGH."""
    return {
        "policy_enforce": True,
        "scan": True,
        "scan_required": True,
        "fail_on_vulnerabilities": False,
        "security_check": "warn",
        "severity_threshold": "HIGH",
        "unknown_severity": "CRITICAL",
        **overrides,
    }


def test_the_gate_fails_naming_package_version_and_advisory():
    parsed = osv.parse(json.loads(OUTPUT))
    scanned = {"status": "scanned", "reason": "r", **parsed}
    base = _gate(scan_db={"dir": "/srv/osv"}, unknown_severity="LOW")
    out = checks.failures("backend", "gt/backend:1", _result(scanned), base)
    # The offline scan covers the Python packages: the online lookup's 404 no longer fails the run.
    assert out == [
        "gt/backend:1: 1 advisories at or above HIGH (images_scan_severity_threshold): "
        "fastapi 0.115.6 (PyPI) GT-TEST-PY-1 CRITICAL (CVSS 9.8)"
    ]
    assert checks.failures("backend", "gt/backend:1", _result(scanned), {**base, "scan_required": False}) == []
    assert (
        len(
            checks.failures(
                "b", "r", _result(scanned), {**base, "scan_required": False, "fail_on_vulnerabilities": True}
            )
        )
        == 1
    )
    clean = {**scanned, "findings": []}
    assert checks.failures("backend", "gt/backend:1", _result(clean), base) == []


def test_the_gate_fails_when_a_given_database_could_not_be_used():
    base = _gate()
    missing = osv.not_scanned("the image holds npm packages but the advisory database /srv/osv has no npm/all.zip")
    out = checks.failures("f", "gt/f:1", _result(missing), {**base, "scan_db": {"dir": "/srv/osv"}})
    assert out[-1] == (
        "gt/f:1: not scanned for vulnerabilities (the image holds npm packages but the advisory database /srv/osv "
        "has no npm/all.zip) and images_scan_required is true"
    )
    # No database given: as before, only the online lookups' status counts.
    none = osv.not_scanned("no advisory database given (images_scan_db_dir)")
    out = checks.failures("f", "gt/f:1", _result(none), {**base, "scan_db": {"dir": ""}})
    assert out == ["gt/f:1: not scanned (PyPI JSON API answered 404) and images_scan_required is true"]
    # Check mode runs no scanner and queries nothing: that alone fails nothing.
    would = osv.not_scanned("check mode: would scan with osv-scanner")
    checked = {**_result(would), "scan": {"status": "not scanned", "reason": "check mode: would query", "findings": []}}
    assert checks.failures("f", "gt/f:1", checked, {**base, "scan_db": {"dir": "/srv/osv"}}) == []
