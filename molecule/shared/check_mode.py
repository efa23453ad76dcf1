"""Check mode after converge, for every scenario's verifier (community.docker's order:
check -> apply -> check (not changed) -> apply (not changed); molecule runs the first check,
converge and idempotence, this module the second check).

`converge_check()` runs the scenario's converge.yml in check+diff mode with molecule's own
inventory and ansible.cfg; `changed_count()` reads its recap; `engine_state()` and
`files_state()` snapshot what check mode must leave alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path


def converge_check(*extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    ephemeral = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(ephemeral / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    run_env.update(env or {})
    # The inventory directory: molecule keeps group_vars next to the hosts file.
    inventory = str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    argv = ["ansible-playbook", str(scenario / "converge.yml"), "-i", inventory]
    return subprocess.run(
        [*argv, "--check", "--diff", *extra],
        cwd=os.environ["MOLECULE_PROJECT_DIRECTORY"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def changed_count(output: str) -> int:
    counts = re.findall(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output, re.MULTILINE)
    assert counts, f"no successful PLAY RECAP in:\n{output[-3000:]}"
    return sum(int(c) for c in counts)


def _docker(*args: str) -> list[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return sorted(result.stdout.split())


# The images a deploy could touch: ours and the golden bases (other work on a shared build
# host may build unrelated images meanwhile).
OUR_IMAGES = ("goaltrajectory/*", "*/goaltrajectory/*", "gt-golden/*", "gt-molecule/*")


def engine_state() -> dict:
    """Containers (id, start time), our images and the volumes on this host's engine."""
    containers = _docker("ps", "-aq", "--no-trunc")
    started = (
        subprocess.run(
            ["docker", "inspect", "--format", "{{.Id}}={{.State.StartedAt}}", *containers],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if containers
        else []
    )
    return {
        "containers": sorted(started),
        "images": _docker("images", "-aq", "--no-trunc"),
        "volumes": _docker("volume", "ls", "-q"),
    }


def files_state(*roots: str) -> dict:
    """sha256 of every file under the roots (missing roots count as empty)."""
    state = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")) if Path(root).exists() else []:
            if path.is_file() and not path.is_symlink():
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state
