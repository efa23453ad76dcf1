#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_check
short_description: Check built images against the image policy, store their SBOMs, scan them, once per image ID
version_added: 0.2.0
description:
  - Reads each image's filesystem from the host (C(docker save) streamed through Python's tarfile; nothing runs
    inside the image, so images without a shell work) for the user's uid, forbidden executables on the PATH,
    non-empty package caches and the SBOM file named by the C(org.goaltrajectory.sbom) label.
  - Evaluates the policy on every run from those facts (non-root uid, a HEALTHCHECK, no build tools, empty caches,
    bytes over the runtime base within the catalog's C(image.budget_mb); for a service with C(image.distroless),
    none of O(shells) and O(package_managers)).
  - Scans the SBOM's language packages (ecosystems from the purl types) against the PyPI JSON API and the npm bulk
    advisory endpoint, and checks the Debian packages against the security archive (C(apt-get -s dist-upgrade) in a
    throwaway root container).
  - With O(scan_db_dir), scans each image offline with osv-scanner (O(scanner)) against that advisory database
    (C(<Ecosystem>/all.zip) files in osv.dev's format) - its Debian packages, Python distributions and npm packages
    (C(node_modules/.package-lock.json) and the image's CycloneDX SBOM). An ecosystem of the image without its
    C(all.zip) makes the result C(not scanned). Findings at or above O(severity_threshold) fail the run when
    O(scan_required) or O(scan_fail_on_vulnerabilities) is true, naming package, version and advisory.
  - Caches per image ID in O(cache_dir) -- the filesystem facts for as long as the image exists, the scan and the
    security-archive check for O(max_age_hours), since the outside world moves on; the offline scan per image ID,
    database content digest and scanner digest, with no expiry (nothing else changes its answer).
  - Fails, after checking every image, with the reasons and the partial result.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Evaluates the policy (reading the filesystem when it is not cached) and reuses cached results; runs no
      container and no scanner, queries no advisory service and writes no file.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  images:
    description: The C(images) of an M(goaltrajectory.platform.image_build) result; dev stages and images not built
      yet are left out.
    type: dict
    required: true
  tag:
    description: The version tag, part of the stored SBOM file names.
    type: str
    required: true
  cache_dir:
    description: Where the per-image-ID results are kept.
    type: path
    required: true
  sbom_dir:
    description: Where the SBOMs are stored as C(<name>-<tag>.cdx.json).
    type: path
    required: true
  max_age_hours:
    description: How long a scan or security-archive result is reused.
    type: float
    default: 24
  policy_enforce:
    description: Fail on policy violations (otherwise report them).
    type: bool
    default: true
  min_uid:
    description: Smallest acceptable uid of the image user.
    type: int
    default: 10000
  forbidden_files:
    description: Executables that must not be on the image's PATH.
    type: list
    elements: str
    default: []
  cache_dirs:
    description: Directories that must be absent or empty (C(partial) and C(lock) aside).
    type: list
    elements: str
    default: []
  shells:
    description:
      - Shells that must not be in an image whose catalog service says C(image.distroless) (looked for on the PATH
        and in C(/bin), C(/sbin), C(/usr/bin), C(/usr/sbin), C(/usr/local/bin), C(/usr/local/sbin)).
    type: list
    elements: str
    default: []
  package_managers:
    description:
      - Package managers that must not be in an image whose catalog service says C(image.distroless), looked for
        where O(shells) are.
    type: list
    elements: str
    default: []
  scan:
    description: Query the advisory services.
    type: bool
    default: true
  scan_required:
    description:
      - Fail when an image with Python or npm packages could not be scanned (by the online lookups or, with
        O(scan_db_dir), offline).
      - With O(scan_db_dir), also fail when the offline scan could not be done and on its findings at or above
        O(severity_threshold).
    type: bool
    default: false
  scan_fail_on_vulnerabilities:
    description: Fail when a scan reports known vulnerabilities (offline scan - at or above O(severity_threshold)).
    type: bool
    default: false
  scan_db_dir:
    description:
      - Advisory database for the offline scan, a directory of C(<Ecosystem>/all.zip) files as osv.dev publishes
        them (or osv-scanner's own C(osv-scanner/<Ecosystem>/all.zip) cache). Empty - no offline scan (its result
        says C(not scanned) and why).
    type: path
    default: ""
  scanner:
    description: The osv-scanner v2 binary (needed when O(scan_db_dir) is set).
    type: path
    default: ""
  severity_threshold:
    description: Lowest severity of an offline finding that fails the run (CVSS rating or the advisory's own).
    type: str
    choices: [LOW, MEDIUM, HIGH, CRITICAL]
    default: HIGH
  unknown_severity:
    description: What an advisory without any severity counts as (Debian's own advisories have none).
    type: str
    choices: [LOW, MEDIUM, HIGH, CRITICAL]
    default: CRITICAL
  pypi_url:
    description: PyPI JSON API base URL.
    type: str
    default: https://pypi.org/pypi
  npm_audit_url:
    description: npm bulk advisory endpoint.
    type: str
    default: https://registry.npmjs.org/-/npm/v1/security/advisories/bulk
  security_check:
    description: What pending Debian security updates do.
    type: str
    choices: [warn, fail, skip]
    default: warn
"""

EXAMPLES = r"""
- name: Check the images
  goaltrajectory.platform.image_check:
    images: "{{ __images_build.images }}"
    tag: "{{ __images_build.tag }}"
    cache_dir: /var/lib/goaltrajectory/images/checks
    sbom_dir: /var/lib/goaltrajectory/images/sbom
    forbidden_files: [gcc, make]
    cache_dirs: [/root/.npm]
"""

RETURN = r"""
images:
  description: Per image name, C(policy) (C(passed), C(violations), C(uid), C(size), C(bytes_over_base)), C(sbom)
    (stored path), C(sbom_components), C(ecosystems), C(scan), C(vuln_scan) (C(status), C(reason), C(packages) per
    ecosystem, C(findings) with C(package), C(version), C(advisory), C(severity), C(gating) - the findings at or above
    the threshold), C(debian_security) and C(cache) (what was reused).
  returned: always
  type: dict
report:
  description: One line per image for the console.
  returned: always
  type: list
  elements: str
failures:
  description: Why the run fails (empty when it passes).
  returned: always
  type: list
  elements: str
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import build as build_mod
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import checks, imagefs, osv
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker as dk


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "images": {"type": "dict", "required": True},
            "tag": {"type": "str", "required": True},
            "cache_dir": {"type": "path", "required": True},
            "sbom_dir": {"type": "path", "required": True},
            "max_age_hours": {"type": "float", "default": 24},
            "policy_enforce": {"type": "bool", "default": True},
            "min_uid": {"type": "int", "default": 10000},
            "forbidden_files": {"type": "list", "elements": "str", "default": []},
            "cache_dirs": {"type": "list", "elements": "str", "default": []},
            "shells": {"type": "list", "elements": "str", "default": []},
            "package_managers": {"type": "list", "elements": "str", "default": []},
            "scan": {"type": "bool", "default": True},
            "scan_required": {"type": "bool", "default": False},
            "scan_fail_on_vulnerabilities": {"type": "bool", "default": False},
            "pypi_url": {"type": "str", "default": "https://pypi.org/pypi"},
            "npm_audit_url": {"type": "str", "default": "https://registry.npmjs.org/-/npm/v1/security/advisories/bulk"},
            "security_check": {"type": "str", "choices": ["warn", "fail", "skip"], "default": "warn"},
            "scan_db_dir": {"type": "path", "default": ""},
            "scanner": {"type": "path", "default": ""},
            "severity_threshold": {"type": "str", "choices": list(osv.THRESHOLDS), "default": "HIGH"},
            "unknown_severity": {"type": "str", "choices": list(osv.THRESHOLDS), "default": "CRITICAL"},
        },
        supports_check_mode=True,
    )
    p = module.params
    settings = {
        "cache_dir": p["cache_dir"],
        "max_age": p["max_age_hours"] * 3600,
        "policy_enforce": p["policy_enforce"],
        "min_uid": p["min_uid"],
        "forbidden": p["forbidden_files"],
        "cache_dirs": p["cache_dirs"],
        "shells": p["shells"],
        "package_managers": p["package_managers"],
        "scan": p["scan"],
        "scan_required": p["scan_required"],
        "fail_on_vulnerabilities": p["scan_fail_on_vulnerabilities"],
        "pypi_url": p["pypi_url"],
        "npm_url": p["npm_audit_url"],
        "security_check": p["security_check"],
        "severity_threshold": p["severity_threshold"],
        "unknown_severity": p["unknown_severity"],
        "scan_db": osv.prepare(
            p["scan_db_dir"] if p["scan"] else "",
            p["scanner"],
            os.path.join(p["cache_dir"], "osv-digests.json"),
            check_mode=module.check_mode,
        ),
    }
    result = {"changed": False, "images": {}, "report": [], "failures": []}
    docker = dk.Docker()
    todo = {name: spec for name, spec in p["images"].items() if not spec.get("dev") and spec.get("id")}
    skipped = sorted(name for name, spec in p["images"].items() if not spec.get("dev") and not spec.get("id"))
    try:
        found = docker.inspect([spec["id"] for spec in todo.values()] + [spec["base"] for spec in todo.values()])
        if not module.check_mode:
            os.makedirs(p["cache_dir"], exist_ok=True)
            os.makedirs(p["sbom_dir"], exist_ok=True)

        def one(item):
            name, spec = item
            start = time.monotonic()
            out = checks.check_image(
                name, spec, found[spec["id"]], found.get(spec["base"]), docker, settings, check_mode=module.check_mode
            )
            out["seconds"] = round(time.monotonic() - start, 2)
            return name, out

        with ThreadPoolExecutor(max_workers=4) as pool:
            done = dict(pool.map(one, sorted(todo.items())))
    except (dk.DockerError, imagefs.ImageFsError, KeyError, OSError) as exc:
        module.fail_json(msg=f"checking the images failed: {exc}", **result)
    for name, out in done.items():
        spec = todo[name]
        sbom_text = out.pop("sbom_text")
        out["sbom"] = ""
        if sbom_text:
            out["sbom"] = os.path.join(p["sbom_dir"], f"{name}-{p['tag']}.cdx.json")
            try:
                document = checks.sbom_document(sbom_text)
            except ValueError:
                document = None
                out["policy"]["violations"].append(f"the SBOM {out['sbom_label']} is not JSON")
            if document is not None and not module.check_mode and build_mod.write_file(out["sbom"], document):
                result["changed"] = True
        result["images"][name] = out
        pol, scan, sec, vuln = out["policy"], out["scan"], out["debian_security"], out["vuln_scan"]
        vuln["gating"] = [
            osv.describe(f, p["unknown_severity"])
            for f in osv.gating(vuln["findings"], p["severity_threshold"], p["unknown_severity"])
        ]
        sec_text = (
            f"failed: {sec['error']}"
            if sec["error"]
            else f"{len(sec['pending'])} pending"
            if sec["checked"]
            else "skipped"
        )
        result["report"].append(
            f"{name}: {pol['size'] / 1e6:.1f} MB, {pol['bytes_over_base'] / 1e6:.1f} MB over {pol['base']} "
            f"(budget {pol['budget_mb']} MB); "
            + ("policy passed" if not pol["violations"] else "VIOLATIONS: " + "; ".join(pol["violations"]))
            + f"; SBOM {out['sbom_components']} components {out['ecosystems']}"
            + f"; scan {scan['status']} ({scan['reason']})"
            + f", findings {scan['findings']}"
            + f"; vulnerabilities {vuln['status']} ({vuln['reason']}"
            + (f"; packages {vuln['packages']}" if vuln.get("packages") else "")
            + (
                f"; {len(vuln['findings'])} findings, {len(vuln['gating'])} at or above {p['severity_threshold']}"
                + (": " + "; ".join(vuln["gating"]) if vuln["gating"] else "")
                if vuln["status"] == "scanned" or vuln["findings"]
                else ""
            )
            + f"); Debian security {sec_text}; cache {out['cache']}; {out['seconds']} s"
        )
        result["failures"] += checks.failures(name, spec["ref"], out, settings)
    for name in skipped:
        result["report"].append(f"{name}: not built yet (check mode): nothing to check")
    if result["failures"]:
        module.fail_json(msg="; ".join(result["failures"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
