# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker_host role's input checks, all at once: one sentence per problem, naming the variable.

The role asserts that the list is empty before anything on the host changes (one task instead of
one per check). Importable by plain pytest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Lists and mappings the role iterates or merges: argument_specs would turn "a,b" into a list and
# "k=v" into a dict, so a string given for one is named here instead.
KINDS = {
    "docker_host_users": "list",
    "docker_host_extra_packages": "list",
    "docker_host_registry_mirrors": "list",
    "docker_host_insecure_registries": "list",
    "docker_host_daemon_options": "mapping",
}
LOG_SIZE = re.compile(r"^([0-9]+[kmg])?$")
MIRROR = re.compile(r"^https?://[^\s/]+(/\S*)?$")
INSECURE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?(/[0-9]{1,3})?$")
VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")


def _is_kind(value, kind: str) -> bool:
    if kind == "mapping":
        return isinstance(value, Mapping)
    return isinstance(value, (list, tuple))


def problems(settings: Mapping, platforms: Mapping, facts: Mapping) -> list[str]:
    """Every problem with ``settings`` (the role's variables by name) and with this host's platform
    (``facts``: ansible_facts, its distribution) against ``platforms`` (distribution -> major version)."""
    found = []
    distribution = facts.get("distribution", "")
    if not (platforms.get(distribution) or {}).get(str(facts.get("distribution_major_version", ""))):
        found.append(
            "docker_host supports Debian 12/13 and Ubuntu 22.04/24.04; this host is "
            f"{distribution} {facts.get('distribution_version', '')}."
        )
    for name, kind in KINDS.items():
        value = settings.get(name)
        if not _is_kind(value, kind):
            found.append(f"{name} must be a YAML {kind}, got a {_kind_of(value)}: {value}.")
    size = str(settings.get("docker_host_log_max_size", ""))
    if not LOG_SIZE.match(size):
        found.append(
            f'docker_host_log_max_size must be a number with a k, m or g suffix (for example "10m"), got "{size}".'
        )
    for item in _items(settings.get("docker_host_registry_mirrors")):
        if not isinstance(item, str) or not MIRROR.match(item):
            found.append(f"docker_host_registry_mirrors entries must be http:// or https:// URLs, got {item}.")
    for item in _items(settings.get("docker_host_insecure_registries")):
        if not isinstance(item, str) or not INSECURE.match(item):
            found.append(f"docker_host_insecure_registries entries must look like host:port or a CIDR, got {item}.")
    version = str(settings.get("docker_host_compose_min_version", ""))
    if not VERSION.match(version):
        found.append(f"docker_host_compose_min_version must look like 2.18.0, got {version}.")
    return found


def _kind_of(value) -> str:
    """The YAML kind of a value, as an operator wrote it (Ansible wraps the Python types)."""
    for kind, types in (("boolean", bool), ("number", (int, float)), ("string", str), ("mapping", Mapping)):
        if isinstance(value, types):
            return kind
    return "list" if isinstance(value, (list, tuple)) else "null" if value is None else type(value).__name__


def _items(value) -> list:
    """The entries of a list setting; none when it is not a list (that is reported on its own)."""
    return list(value) if isinstance(value, (list, tuple)) else []
