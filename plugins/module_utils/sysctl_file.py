# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel parameters kept in one /etc/sysctl.d file and set live, in one pass.

Used by the ``sysctl_file`` module: ansible.posix.sysctl runs once per parameter (a module run
each); this writes the file when it differs and writes only the live values that differ under
/proc/sys. Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ansible_collections.goaltrajectory.platform.plugins.module_utils import file_tree


class SysctlError(ValueError):
    """A parameter that cannot be read or set; the message names it."""


@dataclass
class Result:
    file_changed: bool = False
    live: dict[str, dict[str, str]] = field(default_factory=dict)
    diffs: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.file_changed or bool(self.live)


def render(values: dict[str, str], header: str) -> str:
    return f"# {header}\n" + "".join(f"{name} = {value}\n" for name, value in values.items())


def _proc_path(proc_root: str, name: str) -> str:
    if not name or name.startswith(".") or "/" in name or ".." in name:
        raise SysctlError(f"values: {name!r} is not a kernel parameter name")
    return os.path.join(proc_root, name.replace(".", "/"))


def apply(
    path: str,
    values: dict[str, str],
    header: str,
    proc_root: str = "/proc/sys",
    check: bool = False,
    diff: bool = False,
) -> Result:
    """Make ``path`` hold ``values`` and the running kernel use them.

    Every parameter must exist under ``proc_root`` (a missing one fails, named, before anything
    is written); in check mode a missing one (its kernel module not loaded yet) counts as to be set.
    Values compare whitespace-normalised, as /proc/sys prints tabs between fields.
    """
    values = {str(k): str(v) for k, v in values.items()}
    current = {}
    for name in values:
        proc = _proc_path(proc_root, name)
        try:
            with open(proc, encoding="ascii") as handle:
                current[name] = " ".join(handle.read().split())
        except OSError as exc:
            if not check:
                raise SysctlError(f"values: {name}: cannot read {proc}: {exc.strerror}") from exc
            current[name] = "(absent)"
    result = Result()
    tree = file_tree.sync(
        os.path.dirname(path),
        [{"path": os.path.basename(path), "content": render(values, header)}],
        check=check,
        diff=diff,
    )
    result.file_changed = tree.changed
    result.diffs = tree.diffs
    for name, value in values.items():
        if current[name] == " ".join(value.split()):
            continue
        result.live[name] = {"before": current[name], "after": value}
        if diff:
            running = f"{name} (running)"
            result.diffs.append({"before_header": running, "after_header": running, "before": current[name] + "\n",
                                 "after": value + "\n"})  # fmt: skip
        if not check:
            try:
                with open(_proc_path(proc_root, name), "w", encoding="ascii") as handle:
                    handle.write(value)
            except OSError as exc:
                raise SysctlError(f"values: {name}: cannot set {value!r}: {exc.strerror}") from exc
    return result
