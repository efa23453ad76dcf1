# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What of a live object is ours to compare: no status, no server bookkeeping, no managed fields.

Server-side apply answers with the whole object the server would store; comparing it with the
live one after both went through :func:`comparable` says whether applying changes anything and
what (a diff that hides managed fields and values only the server sets).
"""

from __future__ import annotations

import copy
import difflib

try:
    import yaml
except ImportError:  # PyYAML comes with the kubernetes client, whose absence runner.load_client() reports
    yaml = None

# metadata the server writes; never part of what we render.
SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
SERVER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)


def comparable(obj: dict | None) -> dict | None:
    """A copy without status and server-side bookkeeping (None stays None)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return out


def hide_secret_data(obj: dict | None) -> dict | None:
    """A Secret with every value replaced by a marker saying whether it is empty."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {k: ("<empty>" if not v else "<hidden>") for k, v in out[field].items()}
    return out


def diff(before: dict | None, after: dict | None, name: str) -> str:
    """A unified diff of the two objects as YAML (secrets hidden)."""

    def text(obj):
        if obj is None:
            return []
        return yaml.safe_dump(hide_secret_data(obj), sort_keys=True, default_flow_style=False).splitlines(keepends=True)

    return "".join(difflib.unified_diff(text(before), text(after), f"{name} (live)", f"{name} (applied)"))
