# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compose durations: Go ``time.ParseDuration`` syntax (``1m30s``, ``500ms``, ``0``)."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_WHOLE = re.compile(r"^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$")


class DurationError(ValueError):
    """A value is not a Compose duration."""


def parse_duration(value: object) -> float:
    """Return the duration in seconds; raise DurationError when Compose would reject it.

    The Compose specification types durations as strings; a bare YAML number is rejected
    (its unit would be ambiguous), except 0.
    """
    if isinstance(value, bool) or value is None:
        raise DurationError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise DurationError(f"{value!r} has no unit; write it as a string such as '{value}s'")
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a duration")
    text = value.strip()
    if text == "0":
        return 0.0
    if not _WHOLE.match(text):
        raise DurationError(f"{value!r} is not a duration (expected e.g. 10s, 1m30s, 500ms)")
    sign = -1.0 if text.startswith("-") else 1.0
    total = sum(float(num) * _UNITS[unit] for num, unit in _PART.findall(text))
    return sign * total


def format_duration(seconds: float) -> str:
    """Render whole seconds the way Compose files usually write them (``90s`` -> ``1m30s``)."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if secs else f"{minutes}m"
