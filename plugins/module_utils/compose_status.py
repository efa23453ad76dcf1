# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine runs of one Compose project, read in one call.

The project's containers (``docker inspect`` of every container with its project label), which
of the given image references the engine holds, and the project's last healthy release (the
JSON file the role writes after a healthy ``up``). From these the roles decide whether ``up``
has anything to do (``compose_project.settled``) and which images need a build, without a
module call per question.

Importable by plain pytest; the docker CLI is the only thing it runs.
"""

from __future__ import annotations

import json
import subprocess


class StatusError(RuntimeError):
    """The engine or the release file could not be read; the message says which."""


def image_ids(images: dict[str, str], docker: str = "docker") -> tuple[dict[str, str], list[str]]:
    """Image reference -> ID for each reference the engine has; and ``name: ref`` of the missing ones."""
    refs = sorted(set(images.values()))
    proc = subprocess.run([docker, "image", "inspect", *refs], capture_output=True, text=True, check=False)
    found: dict[str, str] = {}
    for info in json.loads(proc.stdout or "[]"):
        for ref in refs:
            if ref in (info.get("RepoTags") or []) or ref in (info.get("RepoDigests") or []) or ref == info.get("Id"):
                found[ref] = info["Id"]
    missing = [f"{name}: {ref}" for name, ref in sorted(images.items()) if ref not in found]
    return found, missing


def containers(project: str, docker: str = "docker") -> list[dict]:
    """``docker inspect`` of the project's containers, running or not."""
    ps = subprocess.run(
        [docker, "ps", "--all", "--quiet", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if ps.returncode != 0:
        raise StatusError(f"docker ps: {(ps.stderr or ps.stdout).strip()}")
    ids = ps.stdout.split()
    if not ids:
        return []
    # A container removed between the two calls: inspect prints the others and exits 1.
    inspect = subprocess.run([docker, "inspect", *ids], capture_output=True, text=True, check=False)
    return json.loads(inspect.stdout or "[]")


def release(path: str) -> dict:
    """The last healthy release recorded in ``path``; {} when there is none yet."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise StatusError(f"{path}: not the JSON of a release ({exc}); delete it and deploy again") from exc
    if not isinstance(data, dict):
        raise StatusError(f"{path}: not the JSON of a release (a {type(data).__name__}); delete it and deploy again")
    return data


def status(project: str | None, images: list[str], release_file: str | None, docker: str = "docker") -> dict:
    """``{containers, images_present, image_ids, release}`` of ``project``; without a project, of ``images`` only
    (no containers: an engine lookup of image references, one ``docker image inspect``).

    ``image_ids`` maps each of ``images`` and each reference a container was created from to
    the ID the engine holds for it now: a tag rebuilt in place (same tag, new ID) shows as a
    container whose ``Image`` is not that ID.
    """
    found = containers(project, docker) if project else []
    used = {(c.get("Config") or {}).get("Image") or "" for c in found} - {""}
    refs = set(images) | used
    ids, _missing = image_ids({ref: ref for ref in refs}, docker) if refs else ({}, [])
    return {
        "containers": found,
        "images_present": sorted(ref for ref in images if ref in ids),
        "image_ids": ids,
        "release": release(release_file) if release_file else {},
    }
