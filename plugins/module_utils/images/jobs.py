# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build jobs from the service catalog: one per service image, one per dev stage.

Everything here derives from the checked catalog (``service_catalog`` filter): the build
context and Dockerfile (placeholders ``{app}`` and ``{docker}``), the base images, the
build args, the target, the size budget and the HEALTHCHECK. No service is named here.
"""

from __future__ import annotations

import os

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import dockerfile

LABEL_ARGS = ("VERSION", "REVISION", "CREATED", "SOURCE")


class JobError(ValueError):
    """A catalog entry the images role cannot build; the message names the field."""


def _path(template: str, app_dir: str, dockerfiles_dir: str) -> str:
    return os.path.normpath(template.format(app=app_dir, docker=dockerfiles_dir))


def health_for(service: dict, command: list[str]) -> dict:
    """What dockerfile.effective appends: the command, its timeout and the start period."""
    return {
        "command": command,
        "timeout": service["health"]["timeout"],
        "start_period": service["health"]["startup_seconds"],
    }


def jobs(
    services: dict,
    *,
    app_dir: str,
    dockerfiles_dir: str,
    bases: dict,
    base_variable: str,
    repository: str,
    labels: dict,
    extra_args: dict,
    dev_stages: bool = True,
) -> list[dict]:
    """The build jobs, services in catalog order, each dev stage after its service.

    ``bases``: base key -> image reference; ``labels``: VERSION/REVISION/CREATED/SOURCE;
    ``extra_args``: image name -> extra build args (images_build_args). The HEALTHCHECK is the
    catalog's liveness command (``catalog.health_command``).
    """
    unknown = sorted(set(extra_args) - set(services) - {f"{n}-dev" for n in services})
    if unknown:
        raise JobError(
            f"images_build_args: {', '.join(unknown)} is not an image of the catalog ({', '.join(services)})"
        )
    out = []
    for name, svc in services.items():
        image = svc["image"]
        where = f"{name}.image"
        base_args = {}
        for arg, key in [*image["bases"].items(), ("", image["runtime_base"])]:
            if key not in bases:
                field = f"{where}.bases.{arg}" if arg else f"{where}.runtime_base"
                raise JobError(f"{field}: base {key!r} is not in {base_variable} (known: {', '.join(bases)})")
            if arg:
                base_args[arg] = bases[key]
        args = {**base_args, **image["args"], **labels, **{k: str(v) for k, v in extra_args.get(name, {}).items()}}
        common = {
            "service": name,
            "context": _path(image["context"], app_dir, dockerfiles_dir),
            "dockerfile": _path(image["dockerfile"], app_dir, dockerfiles_dir),
            "bases": sorted(set(base_args.values())),
            "runtime_base": bases[image["runtime_base"]],
        }
        out.append(
            {
                **common,
                "name": name,
                "dev": False,
                "ref": f"{repository}/{name}",
                "target": image["target"],
                "build_args": args,
                "health": health_for(svc, catalog.health_command(svc, "liveness")),
                "budget_mb": image["budget_mb"],
                "distroless": image["distroless"],
            }
        )
        if dev_stages and svc["dev"] and svc["dev"]["target"]:
            dev_args = {**args, **{k: str(v) for k, v in extra_args.get(f"{name}-dev", {}).items()}}
            out.append(
                {
                    **common,
                    "name": f"{name}-dev",
                    "dev": True,
                    "ref": f"{repository}/{name}-dev",
                    "target": svc["dev"]["target"],
                    "build_args": dev_args,
                    # Compose sets the dev stage's healthcheck.
                    "health": None,
                    "budget_mb": 0,
                    "distroless": False,
                }
            )
    return out


def effective_dockerfile(job: dict) -> str:
    try:
        with open(job["dockerfile"], encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise JobError(f"{job['service']}.image.dockerfile: cannot read {job['dockerfile']}: {exc}") from exc
    try:
        return dockerfile.effective(text, job["dockerfile"], job["target"], job["health"], job["service"])
    except dockerfile.DockerfileError as exc:
        raise JobError(str(exc)) from exc
