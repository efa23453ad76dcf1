# Copyright: (c) 2026, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Docker host already has, in one call (goaltrajectory.platform.docker_host_status).

Each check answers the question the docker_host role's task for it would ask, so the role runs a
task only where the answer is "not yet": a host that has everything costs this one module run
(about 0.6 s on our build hosts) instead of one per package set, file, service and CLI (5-6 s).
"""

from __future__ import annotations

import os
import subprocess

from ansible.module_utils.service import sysv_is_enabled

from ansible_collections.goaltrajectory.platform.plugins.module_utils import dpkg_status


def file_matches(path: str, content: str, mode: int = 0o644) -> bool:
    """True when path holds exactly content, owned by root with mode (what the copy task writes)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        stat = os.stat(path)
    except FileNotFoundError:
        return False
    return data == content.encode() and stat.st_uid == 0 and stat.st_gid == 0 and stat.st_mode & 0o7777 == mode


def block_present(path: str, begin: str, end: str, block: str) -> bool:
    """True when path holds block between its begin and end marker lines, once (what blockinfile keeps)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return False
    if lines.count(begin) != 1 or lines.count(end) != 1:
        return False
    start, stop = lines.index(begin), lines.index(end)
    return lines[start + 1 : stop] == block.splitlines()


def run(argv: list[str]) -> dict:
    """rc and stripped stdout/stderr of argv; a missing program is rc 127, as in a shell."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError as exc:
        return {"rc": 127, "stdout": "", "stderr": str(exc)}
    return {"rc": result.returncode, "stdout": result.stdout.strip(), "stderr": result.stderr.strip()}


def status(
    packages: list[str],
    dpkg_query: str,
    docker: str,
    daemon_json: str = "",
    daemon_json_path: str = "/etc/docker/daemon.json",
    clamp: dict | None = None,
    service: str = "",
    service_cmd: str = "service",
) -> dict:
    """Every answer the docker_host role needs before it changes anything.

    service (sysvinit only; "" skips it) is asked for its status through service_cmd. The API and
    Compose answers come from the docker CLI as the role's tasks would get them; the role asks
    again only after it changed something.
    """
    answer: dict = {"missing": dpkg_status.missing(packages, dpkg_query)}
    answer["daemon_json_current"] = not daemon_json or file_matches(daemon_json_path, daemon_json)
    answer["clamp_current"] = clamp is None or block_present(
        clamp["path"], clamp["begin"], clamp["end"], clamp["block"]
    )
    if service:
        answer["service_running"] = run([service_cmd, service, "status"])["rc"] == 0
        # The sysvinit module's own test: a start link in some runlevel.
        answer["service_enabled"] = sysv_is_enabled(service)
    answer["api"] = run([docker, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"])
    answer["compose"] = run([docker, "compose", "version", "--short"])
    return answer
