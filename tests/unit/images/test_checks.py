"""Policy evaluation, SBOM ecosystems, advisory scans (against a real local HTTP server), apt output."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import checks

FACTS = {"user": "10001:10001", "uid": 10001, "tools": [], "caches": [], "has_apt": True, "sbom": None}
CONFIG = {"Healthcheck": {"Test": ["CMD", "true"]}}


def _policy(facts=None, config=None, size=150_000_000, budget=60, distroless=False):
    return checks.policy(
        facts or FACTS,
        config or CONFIG,
        size=size,
        base_size=120_000_000,
        base_ref="gt-golden/python:x",
        budget_mb=budget,
        min_uid=10000,
        where="backend",
        distroless=distroless,
    )


def test_policy_passes_and_reports_figures():
    out = _policy()
    assert out["passed"] and out["bytes_over_base"] == 30_000_000 and out["healthcheck"] == ["CMD", "true"]


def test_policy_violations_name_what_and_where():
    facts = {**FACTS, "user": "", "uid": 0, "tools": ["/usr/bin/gcc"], "caches": ["/root/.npm"]}
    out = _policy(facts, {"Healthcheck": {"Test": ["NONE"]}}, size=200_000_000, budget=60)
    assert out["violations"] == [
        "runs as root (no USER), uid 0: needs a non-root uid >= 10000",
        "no HEALTHCHECK",
        "compiler or build tool present: /usr/bin/gcc",
        "package cache not empty: /root/.npm",
        "80.0 MB over the base gt-golden/python:x, budget 60 MB (catalog field backend.image.budget_mb)",
    ]


def test_distroless_policy_rejects_shells_and_package_managers():
    facts = {**FACTS, "shells": ["/bin/sh"], "package_managers": ["/usr/bin/dpkg", "/opt/venv/bin/pip"]}
    assert _policy(facts)["passed"], "only a distroless service is held to it"
    out = _policy(facts, distroless=True)
    assert out["violations"] == [
        "shell present in a distroless image: /bin/sh (catalog field backend.image.distroless)",
        "package manager present in a distroless image: /usr/bin/dpkg (catalog field backend.image.distroless)",
        "package manager present in a distroless image: /opt/venv/bin/pip (catalog field backend.image.distroless)",
    ]
    assert out["distroless"] and out["shells"] == ["/bin/sh"]
    assert _policy({**FACTS, "shells": [], "package_managers": []}, distroless=True)["passed"]


def test_policy_size_under_the_base_is_negative_and_passes():
    """A scratch-assembled image may be smaller than the base it is measured against."""
    out = _policy(size=80_000_000, distroless=True)
    assert out["passed"] and out["bytes_over_base"] == -40_000_000


def test_fs_key_changes_with_the_distroless_lists():
    assert checks.fs_key([], [], "") != checks.fs_key([], [], "", ["sh"], [])
    assert checks.fs_key([], [], "", ["sh"], []) != checks.fs_key([], [], "", ["sh"], ["dpkg"])


def test_ecosystems_from_purl_types():
    comps = [{"purl": "pkg:pypi/a@1"}, {"purl": "pkg:deb/debian/b@2"}, {"purl": "pkg:npm/%40s/c@3"}]
    assert checks.ecosystems(comps) == ["pypi", "npm"]
    assert checks.sbom_components('{"components": [{"purl": "pkg:pypi/a@1"}, {"name": "x"}]}') == [
        {"purl": "pkg:pypi/a@1"}
    ]
    assert checks.sbom_components("not json") == []


class _Advisories(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/pypi/bad/1.0/json":
            self._send(200, {"vulnerabilities": [{"id": "PYSEC-1"}]})
        elif self.path.startswith("/pypi/"):
            self._send(200, {"vulnerabilities": []})
        else:
            self._send(404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posted.append(body)
        self._send(200, {"@scope/c": [{"url": "https://advisory/1"}]} if "@scope/c" in body else {})


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Advisories)
    srv.posted = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_scan_finds_pypi_and_npm_advisories(server):
    srv, url = server
    comps = [
        {"name": "good", "version": "1.0", "purl": "pkg:pypi/good@1.0"},
        {"name": "bad", "version": "1.0", "purl": "pkg:pypi/bad@1.0"},
        {"name": "c", "version": "3", "purl": "pkg:npm/%40scope/c@3"},
    ]
    out = checks.scan(comps, ["pypi", "npm"], pypi_url=f"{url}/pypi", npm_url=f"{url}/npm")
    assert out["status"] == "scanned"
    assert out["findings"] == ["bad 1.0 PYSEC-1", "https://advisory/1"]
    assert srv.posted == [{"@scope/c": ["3"]}]


def test_scan_not_answered_says_why(server):
    _srv, url = server
    comps = [{"name": "a", "version": "1", "purl": "pkg:pypi/a@1"}]
    out = checks.scan(comps, ["pypi"], pypi_url=f"{url}/elsewhere", npm_url=url)
    assert out["status"] == "not scanned" and "answered 404" in out["reason"]
    assert checks.scan([], [], pypi_url=url, npm_url=url)["reason"].startswith("no language packages")


def test_apt_simulation_output():
    out = checks.parse_debsec(
        "pending libc6 2.36-9 2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]\n"
        "pending tzdata 2024a 2025b Debian:12.9/stable [all]\nend\n"
    )
    assert out == {
        "checked": True,
        "pending": ["libc6 2.36-9 2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]"],
        "other_updates": 1,
        "error": "",
    }
    assert checks.parse_debsec("error apt-get update failed\n")["checked"] is False


def test_failures_follow_the_settings():
    result = {
        "policy": {"violations": ["no HEALTHCHECK"]},
        "scan": {"status": "not scanned", "reason": "x", "findings": []},
        "ecosystems": ["pypi"],
        "debian_security": {"checked": True, "pending": ["libc6"], "error": ""},
    }
    lax = {"policy_enforce": False, "scan_required": False, "fail_on_vulnerabilities": False, "security_check": "warn"}
    assert checks.failures("b", "gt/b:1", result, lax) == []
    strict = {"policy_enforce": True, "scan_required": True, "fail_on_vulnerabilities": True, "security_check": "fail"}
    out = checks.failures("b", "gt/b:1", result, strict)
    assert len(out) == 3 and out[0].startswith("Image policy violated by gt/b:1")


def test_apt_simulation_limited_to_packages():
    out = checks.parse_debsec(
        "pending libc6 2.36-9 2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]\n"
        "pending perl 5.36 5.36+deb12u1 Debian-Security:12/stable-security [amd64]\n"
        "pending tzdata 2024a 2025b Debian:12.9/stable [all]\nend\n",
        ["libc6", "tzdata"],
    )
    assert out["pending"] == ["libc6 2.36-9 2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]"]
    assert out["other_updates"] == 1, "perl is in the base only"


class _Proc:
    def __init__(self, stdout):
        self.stdout, self.stderr, self.returncode = stdout, "", 0


class _Docker:
    """save() gives a distroless tree; run_once() answers apt's simulation, for the base only."""

    def __init__(self, saved):
        self.saved, self.runs = saved, []

    def save(self, image_id):
        import contextlib

        return contextlib.nullcontext(self.saved)

    def run_once(self, image_id, options, argv, timeout):
        self.runs.append(image_id)
        return _Proc(
            "pending libc6 2.36-9 2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]\n"
            "pending perl 5.36 5.36+deb12u1 Debian-Security:12/stable-security [amd64]\nend\n"
        )


def test_distroless_image_checked_for_security_updates_through_its_base(tmp_path):
    from tests.unit.images.test_imagefs import saved

    tree = [
        ("etc", "d", None),
        ("etc/passwd", "f", b"app:x:10001:10001::/nonexistent:/sbin/nologin\n"),
        ("var", "d", None),
        ("var/lib", "d", None),
        ("var/lib/dpkg", "d", None),
        (
            "var/lib/dpkg/status",
            "f",
            b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n"
            b"Package: tzdata\nStatus: install ok installed\nVersion: 2024a\n\n"
            b"Package: gone\nStatus: deinstall ok config-files\n",
        ),
    ]
    docker = _Docker(saved([tree]))
    settings = {
        "cache_dir": str(tmp_path),
        "max_age": 3600,
        "min_uid": 10000,
        "forbidden": [],
        "cache_dirs": [],
        "shells": ["sh"],
        "package_managers": ["apt-get"],
        "scan": False,
        "security_check": "warn",
    }
    image = {"Id": "sha256:img", "Size": 80, "Config": {"User": "10001:10001", "Healthcheck": {"Test": ["CMD", "x"]}}}
    base = {"Id": "sha256:base", "Size": 120}
    spec = {"base": "gt-golden/python:x", "budget_mb": 0, "service": "backend", "distroless": True}
    out = checks.check_image("backend", spec, image, base, docker, settings, check_mode=False, now=1000.0)
    assert out["policy"]["passed"], out["policy"]["violations"]
    sec = out["debian_security"]
    assert docker.runs == ["sha256:base"], "apt runs in the base, never in the distroless image"
    assert sec["checked"] and sec["checked_in"] == "gt-golden/python:x"
    assert [p.split()[0] for p in sec["pending"]] == ["libc6"], "perl is not in the image"
    again = checks.check_image("backend", spec, image, base, docker, settings, check_mode=False, now=1001.0)
    assert again["cache"]["debian_security"] == "cached" and docker.runs == ["sha256:base"]
