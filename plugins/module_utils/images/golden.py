# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden bases: which are needed, their recipe keys, and building the missing ones.

A base carries the hash of its recipe (bootstrap script or Dockerfile, parent image ID,
downloaded package, suite, mirrors) as the label ``org.goaltrajectory.golden.recipe``; a run
reuses every base whose label matches and rebuilds it, and so everything above it, otherwise.
The hash is the one the role computed before these modules existed, so bases built by an
earlier version are reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

from ansible.module_utils.urls import open_url

RECIPE_LABEL = "org.goaltrajectory.golden.recipe"


class GoldenError(RuntimeError):
    """A golden base cannot be provided; the message names it."""


def needed(catalog: list[dict], keys: list[str]) -> list[dict]:
    """The bases for ``keys`` and their ancestors, in catalog (dependency) order."""
    by_key = {base["key"]: base for base in catalog}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise GoldenError(
            f"base image(s) {', '.join(unknown)} named in the service catalog (image.bases/runtime_base) are not "
            f"golden bases (known: {', '.join(by_key)}); set images_base_mode: upstream or use a known base"
        )
    want = set()
    for key in keys:
        while key and key not in want:
            want.add(key)
            key = by_key[key].get("parent", "")
    return [base for base in catalog if base["key"] in want]


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        raise GoldenError(f"golden base recipe {path}: {exc}") from exc


def recipe(base: dict, parent_id: str, suite: str, mirrors: list[str]) -> str:
    """The recipe hash (same JSON as Ansible's to_json of the same inputs)."""
    inputs = {
        "recipe": _sha256(base["recipe_file"]),
        "parent": parent_id,
        "download": base.get("download") or {},
        "suite": suite,
        "mirrors": mirrors,
    }
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def reason(
    base: dict, current: dict | None, parent_id: str, rebuilt: list[str], refresh: bool, suite: str, mirrors: list[str]
) -> str:
    """Why ``base`` needs a build, "" when its image ``current`` is reusable.

    ``parent_id``: the image ID of its (reused) parent; ``rebuilt``: the bases this run rebuilds
    before it. The recipe hash is computed only when the image label has to be compared with it.
    """
    parent = base.get("parent") or ""
    if parent and parent in rebuilt:
        reason = f"its parent {parent} is rebuilt"
    elif refresh:
        reason = "images_golden_refresh is true"
    elif current is None:
        reason = f"no image tagged {base['tag']}"
    else:
        reason = ""
    if reason:
        return reason
    labels = ((current or {}).get("Config") or {}).get("Labels") or {}
    if labels.get(RECIPE_LABEL) != recipe(base, parent_id, suite, mirrors):
        return "its recipe changed (script/Dockerfile, parent, download, suite or mirrors)"
    return ""


def plan(catalog: list[dict], keys: list[str], suite: str, mirrors: list[str], refresh: bool, inspect) -> dict:
    """Which golden bases need a build, without building (image_golden's check mode; image_build's plan).

    ``inspect``: refs -> `docker image inspect` objects of those present (one engine call).
    Returns ``bases`` (key -> tag), ``plan`` (key -> action and reason), ``built`` (keys, parents
    first), ``bootstrap`` (whether a Debian rootfs must be bootstrapped) and ``ids`` (key -> image
    ID of each reused base).
    """
    result: dict = {"bases": {}, "plan": {}, "built": [], "bootstrap": False, "ids": {}}
    bases = needed(catalog, keys)
    found = inspect([base["tag"] for base in bases])
    ids = result["ids"]
    for base in bases:
        key, parent = base["key"], base.get("parent") or ""
        result["bases"][key] = base["tag"]
        why = reason(base, found.get(base["tag"]), ids.get(parent, ""), result["built"], refresh, suite, mirrors)
        if not why:
            ids[key] = found[base["tag"]]["Id"]
            result["plan"][key] = {"action": "reuse", "reason": "recipe label matches"}
            continue
        result["plan"][key] = {"action": "build", "reason": why}
        result["built"].append(key)
        result["bootstrap"] = result["bootstrap"] or not parent
    return result


def download(base: dict, registry: str, dest_dir: str) -> str:
    """Fetch the npm package tarball of ``base['download']`` into ``dest_dir``, sha1-checked."""
    spec = base["download"]
    meta_url = f"{registry.rstrip('/')}/{spec['package']}/{spec['version']}"
    try:
        with open_url(meta_url, timeout=60) as resp:
            meta = json.loads(resp.read())
        tarball, shasum = meta["dist"]["tarball"], meta["dist"]["shasum"]
        os.makedirs(dest_dir, exist_ok=True)
        path = os.path.join(dest_dir, spec["file"])
        digest = hashlib.sha1()  # noqa: S324 (the npm registry publishes sha1 shasums)
        with open_url(tarball, timeout=300) as resp, open(path, "wb") as out:
            for block in iter(lambda: resp.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except (OSError, ValueError, KeyError) as exc:
        raise GoldenError(
            f"{base['tag']}: cannot download {spec['package']}@{spec['version']} from {registry}: {exc}"
        ) from exc
    if digest.hexdigest() != shasum:
        raise GoldenError(f"{base['tag']}: {tarball} has sha1 {digest.hexdigest()}, the registry says {shasum}")
    return path


def bootstrap(base: dict, cli: str, suite: str, mirror: str, security_mirror: str, key: str) -> dict:
    """Run the debootstrap script (roles/images/files/golden-debian.sh); {rc, output}."""
    argv = ["sh", base["recipe_file"], cli, suite, mirror, security_mirror, base["tag"], key]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return {"rc": proc.returncode, "output": (proc.stdout + proc.stderr)[-3000:]}
