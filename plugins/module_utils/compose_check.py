# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate a rendered Compose project before it replaces the live files, once per input.

The files are written into a fresh staging directory and checked there: Compose's own parser
(``docker compose config --quiet``), ``probe_lint`` (healthchecks, dependencies, binaries in the
images) and the presence of every image (Compose runs with ``pull: never``).  The result is
recorded under a key made of the files' contents and the images' IDs; the same key later skips
the parser and the lint, whose answers cannot have changed (the image lookup always runs: it
is what the key is made of).

Importable by plain pytest; the docker CLI is the only thing it runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from ansible_collections.goaltrajectory.platform.plugins.module_utils import file_tree
from ansible_collections.goaltrajectory.platform.plugins.module_utils.compose_status import image_ids

TOOL_VERSION = "1"  # bump when the checks change, so earlier answers are not reused


class CheckError(ValueError):
    """The project is not valid; the message says what failed."""


def cache_key(files: list[dict], ids: dict[str, str]) -> str:
    payload = json.dumps({"files": sorted((f["path"], f["content"]) for f in files), "images": ids, "v": TOOL_VERSION})
    return hashlib.sha256(payload.encode()).hexdigest()


def check(
    files: list[dict],
    compose_files: list[str],
    project_name: str,
    images: dict[str, str],
    cache_file: str,
    unbuilt: list[str] | None = None,
    docker: str = "docker",
    check_mode: bool = False,
) -> dict:
    """Validate; return ``{"cached": bool, "key": str, "lint": summary}`` or raise CheckError."""
    unbuilt = set(unbuilt or [])
    wanted = {name: ref for name, ref in images.items() if ref not in unbuilt}
    ids, missing = image_ids(wanted, docker)
    if missing:
        raise CheckError(
            f"Images not found on this host: {', '.join(missing)}. Build them with the images role "
            "(deploy.yml does) or set compose_images to references present here."
        )
    key = cache_key(files, ids)
    try:
        with open(cache_file, encoding="utf-8") as handle:
            if json.load(handle).get("key") == key:
                return {"cached": True, "key": key, "lint": {}}
    except (OSError, ValueError):
        pass
    # The lint's rules and schemas take longer to import than a cached answer takes to read.
    from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine

    staging = tempfile.mkdtemp(prefix=f"compose-{project_name}-")
    try:
        file_tree.sync(staging, files)
        argv = [docker, "compose", "--project-name", project_name, *[f"--file={f}" for f in compose_files]]
        config = subprocess.run([*argv, "config", "--quiet"], cwd=staging, capture_output=True, text=True, check=False)
        if config.returncode != 0:
            raise CheckError(f"docker compose config: {(config.stderr or config.stdout).strip()}")
        inspector = engine.ImageInspector(docker)
        try:
            result = engine.lint(
                compose_projects=[[os.path.join(staging, f) for f in compose_files]],
                fail_on="error",
                images=inspector,
            )
        finally:
            # The containers it created to read the images (never started) go with it.
            inspector.close()
        if result["failed"]:
            errors = [f"{f['rule']}: {f['message']}" for f in result["findings"] if f["severity"] == "error"]
            raise CheckError("probe_lint found errors in the staged files: " + "; ".join(errors))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not check_mode:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        with open(cache_file, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "images": ids}, handle)
    return {"cached": False, "key": key, "lint": result["summary"]}
