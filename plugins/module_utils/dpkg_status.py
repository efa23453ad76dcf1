# Copyright: (c) 2026, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Debian packages are not installed, from one dpkg-query (goaltrajectory.platform.dpkg_missing).

The apt module opens the package cache and re-executes itself under the system Python even when
every package is there (7-8 s on our slowest hosts); dpkg-query answers in milliseconds, so the
roles run apt only for what is missing.
"""

from __future__ import annotations

import subprocess

QUERY_FORMAT = "${Package} ${db:Status-Status}\\n"


def installed(output: str) -> set[str]:
    """The package names dpkg-query -W -f QUERY_FORMAT reports as installed."""
    names = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            # Multi-arch packages answer as name:arch; apt takes the plain name.
            names.add(fields[0].split(":", 1)[0])
    return names


def missing(names: list[str], dpkg_query: str = "dpkg-query") -> list[str]:
    """The names (in their order, without duplicates) that are not installed.

    dpkg-query exits 1 when one of them is unknown to dpkg; that is an answer here, not an error.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    result = subprocess.run(
        [dpkg_query, "-W", f"-f={QUERY_FORMAT}", *wanted], capture_output=True, text=True, check=False
    )
    if result.returncode not in (0, 1):
        raise OSError(f"{dpkg_query} failed ({result.returncode}): {result.stderr.strip()}")
    have = installed(result.stdout)
    return [name for name in wanted if name not in have]
