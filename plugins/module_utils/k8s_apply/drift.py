# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: does the live cluster hold what the rendered tree says (Argo CD's OutOfSync)?

Each object goes through :meth:`runner.Applier.apply` in check mode: a server-side apply with
``dryRun=All`` under the role's field manager, conflicts forced, compared with the live object
after both went through :func:`normalize.comparable` (no managed fields, no status, no server
bookkeeping; values the server defaults are in both). So an object is

* ``in sync``: applying it would change nothing;
* ``drifted``: applying it would change a field the tree sets (edited by hand, or by another field
  manager), with the diff;
* ``missing``: not in the cluster;
* ``error``: the API server refuses it (an immutable field changed, for instance).

Fields the tree does not set (a label another manager added) are not drift: applying the tree
leaves them alone, as server-side apply does.
"""

from __future__ import annotations

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import runner

STATE = {"create": "missing", "update": "drifted", "unchanged": "in sync"}


def check(applier: runner.Applier, objects: list[dict]) -> dict:
    """Per object its state and diff, in order; ``drifted``: ``Kind/name`` of every one not in sync."""
    if not (applier.check and applier.want_diff):
        raise ValueError("drift.check needs an Applier in check mode with diffs")
    rows = []
    for item in objects:
        obj = item["object"]
        row = {
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"].get("namespace"),
            "in_tree": item.get("file") is not None,
        }
        try:
            entry = applier.apply(obj)
        except runner.ApplyError as exc:
            rows.append({**row, "state": "error", "reason": str(exc)})
            continue
        row["state"] = STATE[entry["action"]]
        if row["state"] == "drifted":
            row["diff"] = entry.get("diff", "")
            if obj["kind"] == "Secret" and not row["diff"].strip():
                row["reason"] = "its values differ from the vault's (not shown)"
        rows.append(row)
    return {"objects": rows, "drifted": [f"{r['kind']}/{r['name']}" for r in rows if r["state"] != "in sync"]}
