# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image checks, once per image ID: policy, SBOM, advisory scans, Debian security archive.

What an image is does not change while its ID does not, so the filesystem facts (user,
tools, caches, the SBOM) are read once per image ID, from the host (`docker save`, see
:mod:`imagefs`), and kept in ``<cache_dir>/<id>.json``. The policy is evaluated from those
facts on every run (it is cheap and its settings may change). The advisory scans and the
Debian security-archive check depend on the outside world, which moves on without us: their
results are reused only while younger than ``max_age`` seconds. The offline vulnerability scan
(osv-scanner against the operator's advisory database, :mod:`osv`) depends only on the image, the
database and the scanner: it is kept for as long as those three are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.parse

from ansible.module_utils.urls import open_url

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import build as build_mod
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker as dk
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import imagefs, osv

SBOM_LABEL = "org.goaltrajectory.sbom"
EXTRA_PATH = ("/usr/bin", "/usr/local/bin", "/bin")
# Where a shell or a package manager is looked for besides the PATH (a distroless image has none).
SYSTEM_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
IGNORED_CACHE_ENTRIES = ("partial", "lock")
FS_VERSION = 5
DPKG_FILES = ("/var/lib/dpkg/status", "/etc/apt/sources.list", "/etc/apt/sources.list.d/debian.sources")
DEBSEC_SCRIPT = (
    'apt-get update -qq >/dev/null 2>&1 || { echo "error apt-get update failed"; exit 0; }; '
    "apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>/dev/null | "
    r"sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\) \(.*\))$/pending \1 \2 \3 \4/p'; "
    "echo end"
)


# --- filesystem facts ------------------------------------------------------------------------------
def fs_facts(
    tree: imagefs.Tree,
    config: dict,
    forbidden: list[str],
    cache_dirs: list[str],
    sbom_path: str,
    shells: tuple[str, ...] | list[str] = (),
    package_managers: tuple[str, ...] | list[str] = (),
) -> dict:
    """What the policy and the supply chain need from an image's filesystem."""
    user = (config.get("User") or "").split(":")[0]
    if not user:
        uid = 0
    elif user.isdigit():
        uid = int(user)
    else:
        uid = -1
        for line in (tree.read("/etc/passwd") or b"").decode(errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[0] == user and fields[2].isdigit():
                uid = int(fields[2])
    path = next((e.split("=", 1)[1] for e in config.get("Env") or [] if e.startswith("PATH=")), "")
    dirs = [d for d in [*path.split(":"), *EXTRA_PATH] if d]
    tools = _executables(tree, forbidden, dirs)
    everywhere = list(dict.fromkeys([*dirs, *SYSTEM_DIRS]))
    caches = [d for d in cache_dirs if [c for c in tree.children(d) if c not in IGNORED_CACHE_ENTRIES]]
    sbom = tree.read(sbom_path) if sbom_path else None
    has_apt = tree.is_executable("/usr/bin/apt-get") and tree.is_executable("/bin/sh")
    dpkg = hashlib.sha256()
    for path in DPKG_FILES:
        dpkg.update(path.encode() + b"\0" + (tree.read(path) or b"") + b"\0")
    return {
        "user": config.get("User") or "",
        "uid": uid,
        "tools": tools,
        "shells": _executables(tree, shells, everywhere),
        "package_managers": _executables(tree, package_managers, everywhere),
        "caches": caches,
        "has_apt": has_apt,
        # Without apt (a distroless image): the packages its dpkg status records, for the security check.
        "dpkg_packages": [] if has_apt else dpkg_packages(tree.read(DPKG_FILES[0])),
        "sbom_path": sbom_path,
        # What apt's answer depends on: the installed packages and the sources.
        "dpkg_key": dpkg.hexdigest() if tree.read(DPKG_FILES[0]) is not None else "",
        "sbom": sbom.decode(errors="replace") if sbom is not None else None,
    }


def dpkg_packages(status: bytes | None) -> list[str]:
    """The installed packages a dpkg status file names."""
    names = set()
    for stanza in (status or b"").decode(errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.M))
        if fields.get("Package") and fields.get("Status", "install ok installed").endswith(" installed"):
            names.add(fields["Package"])
    return sorted(names)


def _executables(tree: imagefs.Tree, names, dirs: list[str]) -> list[str]:
    """The first executable of each name found in ``dirs`` (symlinks resolved inside the image)."""
    found = []
    for name in names:
        for directory in dirs:
            candidate = f"{directory.rstrip('/')}/{name}"
            if tree.is_executable(candidate):
                found.append(candidate)
                break
    return found


def fs_key(forbidden: list[str], cache_dirs: list[str], sbom_path: str, shells=(), package_managers=()) -> str:
    doc = {
        "v": FS_VERSION,
        "forbidden": forbidden,
        "cache_dirs": cache_dirs,
        "sbom": sbom_path,
        "shells": list(shells),
        "package_managers": list(package_managers),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


# --- policy ------------------------------------------------------------------------------------------
def policy(
    facts: dict,
    config: dict,
    *,
    size: int,
    base_size: int,
    base_ref: str,
    budget_mb: int,
    min_uid: int,
    where: str,
    distroless: bool = False,
) -> dict:
    """Violations (empty: passed) and the figures the report shows."""
    violations = []
    user = facts["user"]
    if user.split(":")[0] in ("", "root", "0") or facts["uid"] < min_uid:
        violations.append(f"runs as {user or 'root (no USER)'}, uid {facts['uid']}: needs a non-root uid >= {min_uid}")
    test = ((config.get("Healthcheck") or {}).get("Test")) or []
    if not test or test[0] == "NONE":
        violations.append("no HEALTHCHECK")
    violations += [f"compiler or build tool present: {tool}" for tool in facts["tools"]]
    violations += [f"package cache not empty: {cache}" for cache in facts["caches"]]
    if distroless:
        why = f"(catalog field {where}.image.distroless)"
        violations += [f"shell present in a distroless image: {path} {why}" for path in facts.get("shells", [])]
        violations += [
            f"package manager present in a distroless image: {path} {why}" for path in facts.get("package_managers", [])
        ]
    over = size - base_size
    if over > budget_mb * 1_000_000:
        violations.append(
            f"{over / 1e6:.1f} MB over the base {base_ref}, budget {budget_mb} MB "
            f"(catalog field {where}.image.budget_mb)"
        )
    return {
        "passed": not violations,
        "violations": violations,
        "user": user,
        "uid": facts["uid"],
        "healthcheck": test,
        "size": size,
        "bytes_over_base": over,
        "budget_mb": budget_mb,
        "base": base_ref,
        "distroless": distroless,
        "shells": facts.get("shells", []),
        "package_managers": facts.get("package_managers", []),
    }


# --- SBOM and advisory scans -------------------------------------------------------------------------
def sbom_components(text: str | None) -> list[dict]:
    if not text:
        return []
    try:
        return [c for c in json.loads(text).get("components", []) if isinstance(c, dict) and c.get("purl")]
    except (ValueError, AttributeError):
        return []


def ecosystems(components: list[dict]) -> list[str]:
    """Language ecosystems (purl types) whose advisories we query: pypi, npm."""
    found = []
    for comp in components:
        kind = comp["purl"][4:].split("/", 1)[0] if comp["purl"].startswith("pkg:") else ""
        if kind in ("pypi", "npm") and kind not in found:
            found.append(kind)
    return found


def _npm_pairs(components: list[dict]) -> dict[str, list[str]]:
    body: dict[str, list[str]] = {}
    for comp in components:
        match = re.match(r"^pkg:npm/(.*)@([^@?#]+)", comp["purl"])
        if match:
            body.setdefault(urllib.parse.unquote(match.group(1)), []).append(match.group(2))
    return body


def _http(url: str, *, data: bytes | None = None, timeout: float = 15) -> tuple[int, object, str]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if not url.startswith(("https://", "http://")):
        return -1, None, f"{url} is not an http(s) URL"
    method = "POST" if data is not None else "GET"
    try:
        with open_url(url, data=data, headers=headers, method=method, timeout=timeout) as resp:
            body = resp.read()
            try:
                return resp.status, json.loads(body or b"null"), ""
            except ValueError:
                return resp.status, None, "not JSON"
    except urllib.error.HTTPError as exc:
        return exc.code, None, str(exc.reason)
    except (urllib.error.URLError, OSError) as exc:
        return -1, None, str(getattr(exc, "reason", exc))


def scan(components: list[dict], kinds: list[str], *, pypi_url: str, npm_url: str, http=_http) -> dict:
    """Advisory scan of the SBOM's language packages: scanned, or not scanned with the reason."""
    if not kinds:
        return {
            "status": "not scanned",
            "reason": "no language packages in this image (Debian packages only)",
            "findings": [],
        }
    statuses, reasons, findings = [], [], []
    if "pypi" in kinds:
        pkgs = [c for c in components if c["purl"].startswith("pkg:pypi/")]
        first = pkgs[0]
        probe = f"{pypi_url}/{first['name']}/{first['version']}/json"
        status, _body, msg = http(probe)
        if status != 200:
            statuses.append(False)
            reasons.append(f"PyPI JSON API (pip-audit's advisory service) answered {status} for {probe}: {msg}")
        else:
            for comp in pkgs:
                code, body, _error = http(f"{pypi_url}/{comp['name']}/{comp['version']}/json")
                vulns = (body or {}).get("vulnerabilities") if code == 200 and isinstance(body, dict) else None
                if vulns:
                    findings.append(f"{comp['name']} {comp['version']} " + ",".join(v.get("id", "?") for v in vulns))
            statuses.append(True)
            reasons.append("PyPI JSON API")
    if "npm" in kinds:
        status, body, msg = http(npm_url, data=json.dumps(_npm_pairs(components)).encode(), timeout=30)
        if status != 200:
            statuses.append(False)
            reasons.append(f"npm bulk advisory endpoint (npm audit's service) answered {status}: {msg}")
        else:
            for advisories in (body or {}).values() if isinstance(body, dict) else []:
                findings += [a.get("url", "") for a in advisories or []]
            statuses.append(True)
            reasons.append("npm bulk advisory endpoint")
    return {
        "status": "scanned" if all(statuses) else "not scanned",
        "reason": "; ".join(reasons),
        "findings": findings,
    }


# --- Debian security archive ------------------------------------------------------------------------
def parse_debsec(output: str, packages: list[str] | None = None) -> dict:
    """``packages``: count only these (a distroless image checked through its runtime base)."""
    lines = output.splitlines()
    pending = [line[len("pending ") :] for line in lines if line.startswith("pending ")]
    if packages is not None:
        pending = [p for p in pending if p.split(" ", 1)[0] in packages]
    return {
        "checked": "end" in lines,
        "pending": [p for p in pending if "Security" in p],
        "other_updates": len([p for p in pending if "Security" not in p]),
        "error": "; ".join(line for line in lines if line.startswith("error ")),
    }


def debian_security(docker, image_id: str, has_apt: bool, packages: list[str] | None = None) -> dict:
    """Pending security updates per `apt-get -s dist-upgrade` in a throwaway root container.

    ``packages``: only these count (``image_id`` is then a distroless image's runtime base).
    """
    if not has_apt:
        return {
            "checked": False,
            "pending": [],
            "other_updates": 0,
            "error": "no /bin/sh and apt-get in the image: not a Debian-based image, nothing to check",
        }
    proc = docker.run_once(image_id, ["--user", "0:0", "--entrypoint", "/bin/sh"], ["-c", DEBSEC_SCRIPT], timeout=300)
    result = parse_debsec(proc.stdout, packages)
    if proc.returncode != 0 and not result["error"]:
        result["error"] = f"docker run failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
    return result


# --- offline vulnerability scan (osv-scanner) --------------------------------------------------------
def vuln_scan(image_id: str, docker, settings: dict, *, check_mode: bool, now: float, used: dict, writes: list) -> dict:
    """osv-scanner's offline scan of the image against settings["scan_db"] (see :func:`osv.prepare`)."""
    db = settings.get("scan_db") or {}
    if not settings["scan"]:
        return osv.not_scanned("images_scan is false")
    if not db.get("dir"):
        return osv.not_scanned("no advisory database given (images_scan_db_dir)")
    if db.get("error"):
        return osv.not_scanned(db["error"])
    key = osv.cache_key(image_id, db["digest"], db["scanner_digest"])
    shared = _shared(settings["cache_dir"], "osv", key)
    if shared and shared.get("key") == key and db["scanner_digest"]:
        used["vuln_scan"] = "cached"
        return shared["result"]
    if check_mode:
        used["vuln_scan"] = "would run"
        return osv.not_scanned("check mode: would scan with osv-scanner")
    used["vuln_scan"] = "ran"
    try:
        result = osv.scan_image(
            docker, image_id, db["scanner"], db["dir"], db["files"], os.path.join(settings["cache_dir"], ".osv")
        )
    except (osv.ScanError, dk.DockerError, OSError) as exc:
        return osv.not_scanned(f"osv-scanner failed: {exc}")
    writes.append(("osv", key, {"key": key, "checked_at": now, "result": result}))
    return result


# --- one image, with the cache ----------------------------------------------------------------------
def _fresh(entry: dict | None, key: str, now: float, max_age: float) -> bool:
    return bool(entry) and entry.get("key") == key and now - entry.get("checked_at", 0) <= max_age


def _shared(cache_dir: str, kind: str, key: str) -> dict | None:
    try:
        with open(os.path.join(cache_dir, f"{kind}-{key}.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def check_image(
    name: str,
    spec: dict,
    image: dict,
    base: dict | None,
    docker,
    settings: dict,
    *,
    check_mode: bool,
    now: float | None = None,
) -> dict:
    """Policy, SBOM, scan and security facts of one image; ``cache`` says what was reused."""
    now = time.time() if now is None else now
    cache_dir = settings["cache_dir"]
    hexid = image["Id"].split(":")[-1]
    cache_path = os.path.join(cache_dir, f"{hexid}.json")
    try:
        with open(cache_path, encoding="utf-8") as handle:
            cache = json.load(handle)
    except (OSError, ValueError):
        cache = {}
    config = image.get("Config") or {}
    sbom_path = (config.get("Labels") or {}).get(SBOM_LABEL, "")
    used = {}
    shared_writes = []
    shells, managers = settings.get("shells", []), settings.get("package_managers", [])
    key = fs_key(settings["forbidden"], settings["cache_dirs"], sbom_path, shells, managers)
    if (cache.get("fs") or {}).get("key") == key:
        facts = cache["fs"]["facts"]
        used["fs"] = "cached"
    else:
        wanted = {"/etc/passwd", *DPKG_FILES, *([sbom_path] if sbom_path else [])}
        with docker.save(image["Id"]) as stream:
            tree = imagefs.read_saved(stream, wanted)
        facts = fs_facts(tree, config, settings["forbidden"], settings["cache_dirs"], sbom_path, shells, managers)
        cache["fs"] = {"key": key, "facts": facts}
        used["fs"] = "read"
    result = {
        "name": name,
        "id": image["Id"],
        "policy": policy(
            facts,
            config,
            size=image.get("Size", 0),
            base_size=(base or {}).get("Size", 0),
            base_ref=spec["base"],
            budget_mb=spec["budget_mb"],
            min_uid=settings["min_uid"],
            where=spec.get("service", name),
            distroless=bool(spec.get("distroless", False)),
        ),
    }
    components = sbom_components(facts["sbom"])
    kinds = ecosystems(components)
    result["sbom_components"] = len(components)
    result["ecosystems"] = kinds
    result["sbom_label"] = sbom_path
    max_age = settings["max_age"]
    if not settings["scan"]:
        result["scan"] = {"status": "not scanned", "reason": "images_scan is false", "findings": []}
    elif facts["sbom"] is None:
        result["scan"] = {
            "status": "not scanned",
            "findings": [],
            "reason": f"no SBOM in the image (label {SBOM_LABEL}: {sbom_path or 'absent'})",
        }
    else:
        # Keyed by the SBOM's content: a rebuild that changes no dependency reuses the scan.
        scan_key = hashlib.sha256(f"{settings['pypi_url']} {settings['npm_url']} {facts['sbom']}".encode()).hexdigest()
        shared = _shared(cache_dir, "scan", scan_key)
        if _fresh(shared, scan_key, now, max_age):
            result["scan"] = shared["result"]
            used["scan"] = "cached"
        elif check_mode:
            result["scan"] = {
                "status": "not scanned",
                "findings": [],
                "reason": "check mode: would query the advisories",
            }
            used["scan"] = "would run"
        else:
            result["scan"] = scan(components, kinds, pypi_url=settings["pypi_url"], npm_url=settings["npm_url"])
            shared_writes.append(("scan", scan_key, {"key": scan_key, "checked_at": now, "result": result["scan"]}))
            used["scan"] = "ran"
    result["vuln_scan"] = vuln_scan(
        image["Id"], docker, settings, check_mode=check_mode, now=now, used=used, writes=shared_writes
    )
    debsec_key, debsec_image, only = facts["dpkg_key"], image["Id"], None
    if not facts["has_apt"] and facts.get("dpkg_packages") and (base or {}).get("Id"):
        # A distroless image has no apt: its Debian files come from its runtime base, so apt in the
        # base answers for the packages the image records (and only those count).
        only, debsec_image = facts["dpkg_packages"], base["Id"]
        debsec_key = hashlib.sha256(f"{base['Id']} {' '.join(only)}".encode()).hexdigest()
    if settings["security_check"] == "skip":
        result["debian_security"] = {"checked": False, "pending": [], "other_updates": 0, "error": ""}
    elif debsec_key and _fresh(_shared(cache_dir, "debsec", debsec_key), debsec_key, now, max_age):
        # Keyed by the package database and apt sources: images sharing them share the answer.
        result["debian_security"] = _shared(cache_dir, "debsec", debsec_key)["result"]
        used["debian_security"] = "cached"
    elif check_mode:
        result["debian_security"] = {
            "checked": False,
            "pending": [],
            "other_updates": 0,
            "error": "check mode: would check against the security archive",
        }
        used["debian_security"] = "would run"
    else:
        result["debian_security"] = debian_security(docker, debsec_image, facts["has_apt"] or only is not None, only)
        if only is not None:
            result["debian_security"]["checked_in"] = spec["base"]
        if result["debian_security"]["checked"] and debsec_key:
            entry = {"key": debsec_key, "checked_at": now, "result": result["debian_security"]}
            shared_writes.append(("debsec", debsec_key, entry))
        used["debian_security"] = "ran"
    if not check_mode:
        build_mod.write_file(cache_path, json.dumps(cache, indent=1, sort_keys=True) + "\n")
        for kind, shared_key, entry in shared_writes:
            build_mod.write_file(
                os.path.join(cache_dir, f"{kind}-{shared_key}.json"), json.dumps(entry, indent=1) + "\n"
            )
    result["cache"] = used
    result["sbom_text"] = facts["sbom"]
    return result


def failures(name: str, ref: str, result: dict, settings: dict) -> list[str]:
    """Why this image fails the run (empty: it passes)."""
    out = []
    if settings["policy_enforce"] and result["policy"]["violations"]:
        out.append(f"Image policy violated by {ref}: " + "; ".join(result["policy"]["violations"]))
    scan_res, sec = result["scan"], result["debian_security"]
    vuln = result.get("vuln_scan") or osv.not_scanned("")
    offline = vuln["status"] == "scanned"
    # Check mode does not query or scan: "would" is not a failure (the real run decides).
    would_query = scan_res["reason"].startswith("check mode") or vuln["reason"].startswith("check mode")
    unscanned = scan_res["status"] != "scanned" and not offline and not would_query
    if settings["scan_required"] and result["ecosystems"] and unscanned:
        out.append(f"{ref}: not scanned ({scan_res['reason']}) and images_scan_required is true")
    if settings["fail_on_vulnerabilities"] and scan_res["findings"]:
        out.append(f"{ref}: known vulnerabilities {scan_res['findings']}")
    db_given = bool((settings.get("scan_db") or {}).get("dir"))  # empty when images_scan is false
    would_scan = vuln["reason"].startswith("check mode")
    if settings["scan_required"] and db_given and not offline and not would_scan:
        out.append(f"{ref}: not scanned for vulnerabilities ({vuln['reason']}) and images_scan_required is true")
    threshold = settings.get("severity_threshold", "HIGH")
    hits = osv.gating(vuln["findings"], threshold, settings.get("unknown_severity", "CRITICAL"))
    if hits and (settings["scan_required"] or settings["fail_on_vulnerabilities"]):
        out.append(
            f"{ref}: {len(hits)} advisories at or above {threshold} (images_scan_severity_threshold): "
            + "; ".join(osv.describe(f, settings.get("unknown_severity", "CRITICAL")) for f in hits)
        )
    would_check = sec["error"].startswith("check mode")
    if settings["security_check"] == "fail" and (sec["pending"] or not sec["checked"]) and not would_check:
        out.append(f"{ref}: Debian security updates pending {sec['pending']} {sec['error']}".rstrip())
    return out


def sbom_document(text: str) -> str:
    """The SBOM as stored next to the build results (pretty JSON, sorted keys)."""
    return json.dumps(json.loads(text), indent=4, sort_keys=True) + "\n"
