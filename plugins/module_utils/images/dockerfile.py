# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Effective Dockerfiles: the file from docker/ plus the HEALTHCHECK the catalog derives.

The Dockerfiles carry no HEALTHCHECK of their own: the service catalog's ``health`` is the
one definition, and the build appends it to the target stage, which must therefore be the
file's last stage.
"""

from __future__ import annotations

import json
import re

INTERVAL_SECONDS = 30
RETRIES = 3
MARK = "# HEALTHCHECK from the service catalog (roles/catalog), appended by roles/images:"

_FROM = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)


class DockerfileError(ValueError):
    """A Dockerfile the images role cannot build as asked; the message names it."""


def _instructions(text: str) -> list[str]:
    """Logical lines (continuations joined, comments and blank lines dropped)."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def stages(text: str) -> list[str]:
    """The stage names in order (an unnamed stage is named by its index, as Docker does)."""
    names = []
    for line in _instructions(text):
        match = _FROM.match(line)
        if match:
            names.append(match.group(2) or str(len(names)))
    return names


def healthcheck_line(command: list[str], timeout: int, start_period: int) -> str:
    return (
        f"HEALTHCHECK --interval={INTERVAL_SECONDS}s --timeout={timeout}s --start-period={start_period}s "
        f"--retries={RETRIES} CMD {json.dumps(command)}"
    )


def effective(text: str, path: str, target: str, health: dict | None, where: str) -> str:
    """The Dockerfile to build ``target`` from, with the catalog's HEALTHCHECK appended.

    ``health``: ``{command, timeout, start_period}`` or None (no HEALTHCHECK, e.g. a dev stage
    whose healthcheck Compose sets). ``where`` names the catalog field for errors.
    """
    names = stages(text)
    if not names:
        raise DockerfileError(f"{path} (from {where}.image.dockerfile) has no FROM instruction")
    if target not in names:
        raise DockerfileError(f"{where}: target stage {target!r} is not in {path} (its stages: {', '.join(names)})")
    if health is None:
        return text
    if names[-1] != target:
        raise DockerfileError(
            f"{where}: target stage {target!r} must be the last stage of {path} (the last is {names[-1]!r}): "
            "the catalog's HEALTHCHECK is appended to the end of the file"
        )
    line = healthcheck_line(health["command"], health["timeout"], health["start_period"])
    return text.rstrip("\n") + f"\n\n{MARK}\n{line}\n"
