# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images role's results file: the interface between building images and deploying them.

The images role writes one JSON file per environment on the controller
(``<images_results_dir>/<environment>.json``)::

    {"environment": "prod", "tag": "0.1.0-abc1234", "registry": "127.0.0.1:5000",
     "refs": {"backend": "127.0.0.1:5000/goaltrajectory/backend@sha256:...", ...},
     "images": {"backend": {...build details...}, ...}}

``refs`` holds the reference to deploy per image: by digest once the image is in a
registry, the local tag otherwise (dev without a registry).  The compose and k8s roles read
it through a path their playbook passes (``compose_images_file``, ``k8s_images_file``).

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import json

DIGEST_MARK = "@sha256:"
# Stands for an image a check-mode run of the images play would build (nothing exists yet).
UNBUILT_PREFIX = "not-built-yet.invalid/"


class ImageRefError(ValueError):
    """An image the deploy needs has no usable reference; the message names it."""


def parse(text: str | None, source: str) -> dict | None:
    """The results file's content, or None when there is none."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImageRefError(f"{source}: not the images role's JSON results ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("refs"), dict):
        raise ImageRefError(f"{source}: has no `refs` mapping; was it written by the images role?")
    return data


def choose(
    results: dict | None,
    explicit: dict,
    names: list[str],
    *,
    source: str,
    variable: str,
    environment: str,
    require_digest: bool,
    missing_ok: bool = False,
) -> dict[str, str]:
    """The reference per image name: ``explicit`` first, then the results file.

    Fails naming the image when neither has it (unless ``missing_ok``, for check mode before
    the first build: then it stands in ``UNBUILT_PREFIX<name>:check-mode``), or when
    ``require_digest`` and it is not pinned by digest.
    """
    found = (results or {}).get("refs", {})
    refs, problems = {}, []
    for name in names:
        ref = explicit.get(name) or found.get(name)
        if not ref and missing_ok:
            refs[name] = f"{UNBUILT_PREFIX}{name}:check-mode"
        elif not ref:
            where = f"{source} has none" if results is not None else f"{source} does not exist"
            problems.append(
                f"{name}: no image reference ({where} and {variable} does not set it): was it built or promoted for "
                f"{environment}? Run playbooks/images.yml (deploy.yml does)"
            )
        elif require_digest and DIGEST_MARK not in ref:
            origin = variable if explicit.get(name) else source
            problems.append(
                f"{name}: {ref} (from {origin}) is not pinned by digest; outside dev images deploy by digest: "
                "push them to images_registry and promote them to this environment"
            )
        else:
            refs[name] = ref
    if problems:
        raise ImageRefError("; ".join(problems))
    return refs
