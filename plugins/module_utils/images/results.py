# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documents the images role writes: the results file per environment, build-results-<environment>.json.

The results file (``<images_results_dir>/<environment>.json`` on the controller) is the
interface read by the compose and k8s roles; its format is documented in
``module_utils/image_results.py``. Only facts that change when an image changes go in, so
a no-op run rewrites nothing.
"""

from __future__ import annotations

STABLE_BUILD_KEYS = (
    "service",
    "dev",
    "ref",
    "tags",
    "id",
    "inputs_digest",
    "context",
    "dockerfile",
    "target",
    "build_args",
    "base",
    "budget_mb",
    "size",
    "labels",
)


def image_details(build: dict, check: dict | None, digest_ref: str, sbom_file: str) -> dict:
    out = {key: build[key] for key in STABLE_BUILD_KEYS if key in build}
    out["digest_ref"] = digest_ref
    if check:
        out["bytes_over_base"] = check["policy"]["bytes_over_base"]
        out["policy"] = {"passed": check["policy"]["passed"], "violations": check["policy"]["violations"]}
        out["sbom"] = sbom_file
        out["sbom_components"] = check["sbom_components"]
        out["ecosystems"] = check["ecosystems"]
    return out


def document(build: dict, checks: dict, published: dict, *, environment: str, registry: str) -> dict:
    """The results file's content: refs (by digest once pushed) and the details per image.

    ``build``: the image_build module's result; ``checks``: image_check's ``images``;
    ``published``: image_publish's ``refs`` (name -> digest reference), empty when nothing was pushed.
    """
    images, refs = {}, {}
    for name, item in build["images"].items():
        check = checks.get(name)
        sbom = (check or {}).get("sbom", "")
        digest_ref = published.get(name, "")
        images[name] = image_details(item, check, digest_ref, sbom)
        refs[name] = digest_ref or item["ref"]
    return {
        "environment": environment,
        "tag": build["tag"],
        "revision": build["revision"],
        "registry": registry,
        "refs": refs,
        "images": images,
    }


def build_results(doc: dict, checks: dict) -> dict:
    """build-results-<environment>.json on the build host: the results document plus the supply-chain facts."""
    out = {key: value for key, value in doc.items() if key != "refs"}
    out["images"] = {}
    for name, details in doc["images"].items():
        extra = {}
        if name in checks:
            extra = {key: checks[name][key] for key in ("scan", "vuln_scan", "debian_security") if key in checks[name]}
        out["images"][name] = {**details, **extra}
    out["refs"] = doc["refs"]
    return out


def promoted(published: dict, *, environment: str, registry: str, source: str, source_doc: dict | None) -> dict:
    """The results file of a promotion: the promoted digest references (the tag of the source's results file)."""
    return {
        "environment": environment,
        "tag": (source_doc or {}).get("tag", environment),
        "registry": registry,
        "promoted_from": source,
        "refs": dict(published["refs"]),
        "images": {name: {"digest_ref": ref} for name, ref in published["refs"].items()},
    }
