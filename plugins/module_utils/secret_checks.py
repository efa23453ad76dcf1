# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of secret values that report names only, never values.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import re


class SecretError(ValueError):
    """The secrets variable is not a mapping; the message names it."""


def problems(values, keys: list[str], variable: str, strict: bool, patterns: list[str]) -> list[str]:
    """Every missing, unknown, non-string or (when ``strict``) placeholder secret, by name.

    ``patterns`` are regular expressions matched against the whole value, case-insensitively.
    """
    if not isinstance(values, dict):
        raise SecretError(f"{variable} must be a mapping of secret name to value, got a {type(values).__name__}")
    placeholder = re.compile("^(?:" + "|".join(patterns) + ")$", re.IGNORECASE) if patterns else None
    out = []
    for key in keys:
        if key not in values:
            out.append(f"{variable}.{key} is missing")
        elif not isinstance(values[key], str):
            out.append(f"{variable}.{key} must be a string")
        elif strict and placeholder is not None and placeholder.match(values[key].strip()):
            out.append(f"{variable}.{key} is empty or a placeholder")
    out.extend(f"{variable}.{key} is not a secret any service reads" for key in values if key not in keys)
    return out
