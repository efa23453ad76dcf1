# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rendered tree as kubectl, Argo CD and Flux take it, and what the role says about drift.

* :func:`kustomization`: the tree's ``kustomization.yaml``: every object the tree holds, in the
  role's apply order (``sortOptions: fifo`` keeps it: namespace and guard rails first), written by
  :func:`kustomization_file`, which the monitoring stack's tree uses too;
* :func:`drift_report`: per object, whether the live object differs from the rendered one
  (k8s_tree_drift's result), as lines for the role's output;
* :func:`drift_repaired`: which objects the role's apply changed although their rendered file did
  not change in this run: the live object had drifted, and the apply put it back.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

from ansible_collections.goaltrajectory.platform.plugins.module_utils import yaml_dump

KUSTOMIZATION = "kustomization.yaml"
STATES = ("in sync", "drifted", "missing", "error")


def in_tree(objects: list[dict]) -> list[dict]:
    """The objects written to the tree (the Secret is applied from memory and is not)."""
    return [o for o in objects if o.get("file")]


def kustomization(objects: list[dict], header: dict) -> dict:
    """``{path, content}`` of the tree's kustomization.yaml."""
    files = [o["file"] for o in in_tree(objects)]
    kept_out = [f"{o['kind']} {o['name']}" for o in objects if not o.get("file")]
    lines = [
        f"Kustomization of the {header['environment']!r} tree (namespace {header['namespace']!r}): every object",
        "of this directory in the order the k8s role applies them (namespace and guard rails first).",
        "Rendered by the goaltrajectory.platform k8s role; change the catalog or the role variables, not this file.",
        "  kubectl apply --server-side --field-manager=<yours> -k <this directory>",
        "or point an Argo CD Application or a Flux Kustomization at it (README: GitOps).",
    ]
    if kept_out:
        lines += [
            f"Not in the tree: {', '.join(kept_out)}. Its values come from the inventory's vault:",
            "  ansible-playbook playbooks/k8s_secrets.yml -i inventories/<env> --vault-id ...",
        ]
    return kustomization_file(files, lines)


def kustomization_file(resources: list[str], header: list[str]) -> dict:
    """``{path, content}`` of a kustomization.yaml listing ``resources`` in this order (``sortOptions: fifo``)."""
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "sortOptions": {"order": "fifo"},
        "resources": list(resources),
    }
    return {"path": KUSTOMIZATION, "content": yaml_dump.document(body, header)}


def _ref(row: dict) -> str:
    return f"{row['kind']}/{row['name']}"


def drift_report(result: dict, tree: str = "") -> list[str]:
    """One line per object (state), the drifted ones followed by their diff; then a total."""
    if not result.get("reachable", False):
        return [f"Drift not checked: {result.get('reason') or 'the cluster cannot be reached'}."]
    lines = []
    for row in result.get("objects", []):
        where = "" if row.get("in_tree", True) else " (not in the tree: from the vault)"
        line = f"{_ref(row)}{where}: {row['state']}"
        if row.get("reason"):
            line += f": {row['reason']}"
        lines.append(line)
        lines.extend(f"    {text}" for text in (row.get("diff") or "").splitlines())
    counts = {state: sum(r["state"] == state for r in result.get("objects", [])) for state in STATES}
    drifted = result.get("drifted", [])
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    lines.append(
        f"{len(result.get('objects', []))} objects{' of ' + tree if tree else ''}: {summary}."
        + (f" Out of sync: {', '.join(drifted)}." if drifted else " The cluster matches the tree.")
    )
    return lines


def drift_repaired(applied: dict, objects: list[dict], written: list[str]) -> list[str]:
    """``Kind/name`` of the objects the apply changed whose rendered file is unchanged in this run.

    Their live object differed from a tree that did not change: it had drifted (edited by hand or by
    another field manager), and the apply put it back. The Secret has no file; when it changed, the
    vault or the live values changed, and it is named as such.
    """
    files = {(o["kind"], o["name"]): o.get("file") for o in objects}
    changed = set(written)
    out = []
    for row in applied.get("objects", []):
        if row.get("action") != "update":
            continue
        file = files.get((row["kind"], row["name"]))
        if file is None:
            out.append(f"{_ref(row)} (values from the vault; changed there or by hand)")
        elif file not in changed:
            ownership = row.get("values_changed") is False
            out.append(_ref(row) + (" (field ownership only: the values were the tree's)" if ownership else ""))
    return out
