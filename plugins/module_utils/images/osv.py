# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline vulnerability scan of an image with osv-scanner against an operator's advisory database.

The database is a directory holding ``<Ecosystem>/all.zip`` files, exactly as osv.dev publishes
them (``https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip``: ``Debian``,
``PyPI``, ``npm``, ...), each a zip of OSV JSON advisories. osv-scanner v2 reads
``<OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY>/osv-scanner/<Ecosystem>/all.zip`` in offline mode, so the
scan points that variable at a directory whose ``osv-scanner`` entry links to the database.

What is scanned: ``osv-scanner scan image --archive`` of the image's ``docker save`` archive,
which reads the dpkg database (Debian packages, by source package), Python ``dist-info`` /
``egg-info`` metadata and ``node_modules/.package-lock.json``, plus, with its ``sbom/cdx``
plugin, the CycloneDX SBOM the image ships (``*.cdx.json``): a Next.js standalone tree has no
``.package-lock.json``, so the frontend's npm packages come from its SBOM.

osv-scanner does not fail when a database for an ecosystem is missing: it logs an error and
matches nothing for those packages. Every ecosystem the image holds must therefore have its
``all.zip``, or the result is "not scanned" naming the missing file.

The result depends only on the image, the database and the scanner, so it is cached under a key
made of the three (no expiry). Severities are kept in the cached findings; the threshold is
applied on every run (:func:`gating`), so changing it needs no rescan.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

SEVERITIES = ("NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
THRESHOLDS = SEVERITIES[1:]
UNKNOWN = "UNKNOWN"
# GitHub's advisory database says MODERATE where CVSS says MEDIUM.
ALIASES = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH"}
FORMAT = 1
DB_FILE = "all.zip"
# One osv-scanner at a time: each unpacks an image and loads whole ecosystem databases.
_SCAN_LOCK = threading.Lock()


class ScanError(RuntimeError):
    """The scanner could not be run or its output not read."""


# --- severities --------------------------------------------------------------------------------------
def rating(score: float) -> str:
    """CVSS v3/v4 qualitative rating of a base score (0.0 NONE, 0.1-3.9 LOW, ... 9.0-10.0 CRITICAL)."""
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return "NONE"


def _label(text) -> str:
    word = str(text or "").strip().upper()
    word = ALIASES.get(word, word)
    return word if word in SEVERITIES else ""


def severity(vuln: dict, group_max: str) -> tuple[str, str]:
    """An advisory's severity and where it came from.

    Sources, the highest wins: osv-scanner's ``max_severity`` of the advisory's group (its CVSS
    base score, computed from the ``severity`` vectors), ``database_specific.severity`` (GitHub
    advisories) and ``affected[].ecosystem_specific`` / ``database_specific`` ``severity``.
    None of them: ``UNKNOWN`` (Debian's own advisories carry no severity).
    """
    found: list[tuple[str, str]] = []
    try:
        if group_max not in ("", None):
            score = float(group_max)
            found.append((rating(score), f"CVSS {score:.1f}"))
    except ValueError:
        pass
    label = _label((vuln.get("database_specific") or {}).get("severity"))
    if label:
        found.append((label, "database_specific.severity"))
    for affected in vuln.get("affected") or []:
        for where in ("ecosystem_specific", "database_specific"):
            label = _label((affected.get(where) or {}).get("severity"))
            if label:
                found.append((label, f"affected.{where}.severity"))
    if not found:
        return UNKNOWN, "no severity in the advisory"
    return max(found, key=lambda item: SEVERITIES.index(item[0]))


def _fixed(vuln: dict, name: str) -> list[str]:
    out = []
    for affected in vuln.get("affected") or []:
        if (affected.get("package") or {}).get("name") != name:
            continue
        for rng in affected.get("ranges") or []:
            out += [e["fixed"] for e in rng.get("events") or [] if e.get("fixed") and e["fixed"] not in out]
    return out


# --- osv-scanner's JSON output -----------------------------------------------------------------------
def parse(doc: dict) -> dict:
    """Packages per ecosystem and one finding per (package, version, advisory) of ``--format json`` output."""
    if not isinstance(doc, dict) or not isinstance(doc.get("results", []), list):
        raise ScanError("osv-scanner output is not its JSON results document")
    packages: dict[str, set] = {}
    findings: dict[tuple, dict] = {}
    for source in doc.get("results") or []:
        origin = (source.get("source") or {}).get("path", "")
        for entry in source.get("packages") or []:
            pkg = entry.get("package") or {}
            eco, name, version = pkg.get("ecosystem", ""), pkg.get("name", ""), pkg.get("version", "")
            os_name = pkg.get("os_package_name", "")
            packages.setdefault(eco, set()).add((name, version, os_name))
            groups = {}
            for group in entry.get("groups") or []:
                for vid in group.get("ids") or []:
                    groups[vid] = group
            for vuln in entry.get("vulnerabilities") or []:
                vid = vuln.get("id", "")
                key = (eco, name, version, vid)
                if key in findings:
                    # Debian: one source package (glibc), several binary ones (libc6, libc-bin).
                    if os_name and os_name not in findings[key]["os_packages"]:
                        findings[key]["os_packages"].append(os_name)
                    continue
                group = groups.get(vid, {})
                label, why = severity(vuln, group.get("max_severity", ""))
                analysis = (group.get("experimental_analysis") or {}).get(vid) or {}
                findings[key] = {
                    "ecosystem": eco,
                    "package": name,
                    "os_packages": [os_name] if os_name else [],
                    "version": version,
                    "advisory": vid,
                    "aliases": sorted(set(vuln.get("aliases") or []) | set(group.get("aliases") or []) - {vid}),
                    "summary": (vuln.get("summary") or "")[:200],
                    "severity": label,
                    "severity_source": why,
                    "unimportant": bool(analysis.get("unimportant")),
                    "fixed": _fixed(vuln, name),
                    "source": origin,
                }
    return {
        "packages": {eco: len(items) for eco, items in sorted(packages.items())},
        "findings": sorted(
            ({**f, "os_packages": sorted(f["os_packages"])} for f in findings.values()),
            key=lambda f: (f["ecosystem"], f["package"], f["advisory"]),
        ),
    }


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``: the directory osv.dev (and osv-scanner) file its database under."""
    return ecosystem.split(":", 1)[0]


# --- the gate ----------------------------------------------------------------------------------------
def gating(findings: list[dict], threshold: str, unknown_as: str) -> list[dict]:
    """Findings at or above ``threshold``; an UNKNOWN severity counts as ``unknown_as``.

    Debian advisories Debian rates ``unimportant`` (osv-scanner's own default) never gate.
    """
    floor = SEVERITIES.index(threshold)
    out = []
    for finding in findings:
        level = unknown_as if finding["severity"] == UNKNOWN else finding["severity"]
        if not finding.get("unimportant") and SEVERITIES.index(level) >= floor:
            out.append(finding)
    return out


def describe(finding: dict, unknown_as: str = "") -> str:
    """``glibc 2.36-9+deb12u13 (Debian:12: libc-bin, libc6) DSA-1234-1 CRITICAL (CVSS 9.8)``."""
    where = finding["ecosystem"] + (": " + ", ".join(finding["os_packages"]) if finding.get("os_packages") else "")
    why = finding["severity_source"]
    if finding["severity"] == UNKNOWN and unknown_as:
        why += f", counted as {unknown_as} (images_scan_unknown_severity)"
    if finding.get("unimportant"):
        why += ", Debian: unimportant"
    return f"{finding['package']} {finding['version']} ({where}) {finding['advisory']} {finding['severity']} ({why})"


# --- the database ------------------------------------------------------------------------------------
def db_root(db_dir: str) -> str:
    """The directory holding ``<Ecosystem>/all.zip`` (osv-scanner's own cache layout has an ``osv-scanner`` level)."""
    nested = os.path.join(db_dir, "osv-scanner")
    return nested if os.path.isdir(nested) else db_dir


def db_files(db_dir: str) -> dict[str, str]:
    """Ecosystem -> path of its ``all.zip`` in the database."""
    root = db_root(db_dir)
    out = {}
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry, DB_FILE)
        if os.path.isfile(path):
            out[entry] = path
    return out


def file_digest(path: str, memo: dict) -> str:
    """sha256 of a file, remembered in ``memo`` by (size, mtime, inode) so a warm run does not reread it."""
    info = os.stat(path)
    stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
    known = memo.get(path)
    if known and known.get("stat") == stamp:
        return known["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    memo[path] = {"stat": stamp, "sha256": digest.hexdigest()}
    return memo[path]["sha256"]


def db_digest(files: dict[str, str], memo: dict) -> str:
    """One digest of the database's content: every ecosystem's name and all.zip digest."""
    doc = {eco: file_digest(path, memo) for eco, path in sorted(files.items())}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def cache_key(image_id: str, db: str, scanner: str) -> str:
    return hashlib.sha256(f"{FORMAT} {image_id} {db} {scanner}".encode()).hexdigest()


# --- running it --------------------------------------------------------------------------------------
def argv(scanner: str, archive: str) -> list[str]:
    return [
        scanner,
        "scan",
        "image",
        "--archive",
        "--offline",
        "--offline-vulnerabilities",
        "--all-packages",
        "--experimental-plugins",
        "sbom/cdx",
        "--format",
        "json",
        archive,
    ]


def run(scanner: str, archive: str, db_dir: str, work_dir: str, *, timeout: float = 1800) -> tuple[int, str, str]:
    """osv-scanner on a saved image, offline; (exit code, stdout, stderr)."""
    link_dir = os.path.join(work_dir, "db")
    os.makedirs(link_dir, exist_ok=True)
    os.symlink(os.path.abspath(db_root(db_dir)), os.path.join(link_dir, "osv-scanner"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": work_dir,
        "TMPDIR": work_dir,
        "OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY": link_dir,
    }
    try:
        proc = subprocess.run(
            argv(scanner, archive), capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanError(f"cannot run {scanner}: {exc}") from exc
    return proc.returncode, proc.stdout, proc.stderr


def interpret(code: int, stdout: str, stderr: str, files: dict[str, str], db_dir: str) -> dict:
    """The scan result from osv-scanner's exit code and output (0: clean, 1: findings, 127: errors logged)."""
    errors = [line.strip() for line in stderr.splitlines() if "could not load db" in line or "rror" in line]
    if code == 128:
        return not_scanned("osv-scanner found no packages in the image")
    try:
        doc = json.loads(stdout) if code in (0, 1, 127) and stdout.strip() else None
    except ValueError:
        doc = None
    if doc is None:
        detail = "; ".join(errors[-3:]) or stderr.strip()[-500:] or "no output"
        raise ScanError(f"osv-scanner exited {code}: {detail}")
    parsed = parse(doc)
    missing = sorted({base_ecosystem(e) for e in parsed["packages"] if e} - set(files))
    if missing:
        wanted = ", ".join(f"{eco}/{DB_FILE}" for eco in missing)
        reason = f"the image holds {', '.join(missing)} packages but the advisory database {db_dir} has no {wanted}"
        return {"status": "not scanned", "reason": reason, **parsed}
    if code == 127:
        return {"status": "not scanned", "reason": "osv-scanner reported errors: " + "; ".join(errors[-3:]), **parsed}
    reason = f"osv-scanner offline, advisory database {db_dir} ({', '.join(sorted(files))})"
    return {"status": "scanned", "reason": reason, **parsed}


def scan_image(docker, image_id: str, scanner: str, db_dir: str, files: dict[str, str], work_root: str) -> dict:
    """Save the image to a temporary archive, scan it offline, remove the archive."""
    os.makedirs(work_root, exist_ok=True)
    with _SCAN_LOCK:
        work = tempfile.mkdtemp(prefix="osv-", dir=work_root)
        try:
            start = time.monotonic()
            archive = os.path.join(work, "image.tar")
            with docker.save(image_id) as stream, open(archive, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
            saved = time.monotonic()
            code, stdout, stderr = run(scanner, archive, db_dir, work)
            result = interpret(code, stdout, stderr, files, db_dir)
            result["seconds"] = {"save": round(saved - start, 1), "scan": round(time.monotonic() - saved, 1)}
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)


def not_scanned(reason: str) -> dict:
    return {"status": "not scanned", "reason": reason, "findings": [], "packages": {}}


def prepare(db_dir: str, scanner: str, memo_path: str, *, check_mode: bool) -> dict:
    """The database's files and digest and the scanner's digest, once per run (``error``: why not).

    File digests are remembered in ``memo_path`` by size, mtime and inode (written unless check mode).
    """
    out = {"dir": db_dir, "files": {}, "digest": "", "scanner": scanner, "scanner_digest": "", "error": ""}
    if not db_dir:
        return out
    try:
        out["files"] = db_files(db_dir)
    except OSError as exc:
        out["error"] = f"cannot read the advisory database {db_dir} (images_scan_db_dir): {exc}"
        return out
    if not out["files"]:
        out["error"] = (
            f"the advisory database {db_dir} (images_scan_db_dir) holds no <Ecosystem>/{DB_FILE} "
            "(e.g. Debian/all.zip, PyPI/all.zip, npm/all.zip)"
        )
        return out
    try:
        with open(memo_path, encoding="utf-8") as handle:
            memo = json.load(handle)
    except (OSError, ValueError):
        memo = {}
    before = json.dumps(memo, sort_keys=True)
    try:
        out["digest"] = db_digest(out["files"], memo)
        if os.access(scanner, os.X_OK):
            out["scanner_digest"] = file_digest(scanner, memo)
        elif not check_mode:
            out["error"] = f"osv-scanner is not at {scanner} (built by the images role when images_scan_db_dir is set)"
    except OSError as exc:
        out["error"] = f"cannot read the advisory database {db_dir} (images_scan_db_dir): {exc}"
        return out
    if not check_mode and json.dumps(memo, sort_keys=True) != before:
        os.makedirs(os.path.dirname(memo_path), exist_ok=True)
        with open(memo_path, "w", encoding="utf-8") as handle:
            json.dump(memo, handle, indent=1, sort_keys=True)
    return out
