# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod templates indexed by namespace and label, built once per lint run.

Rules that ask "which pods does this Service (NetworkPolicy, HPA) select" look the answer up here
instead of matching every selector against every workload: a selector's ``key=value`` pairs pick
the shortest posting list of the index and only those candidates are matched in full, so a run
costs about one pass over the workloads plus one short lookup per selector.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import k8s as kube
from .loader import K8sObject


class WorkloadIndex:
    """Workloads (objects with a pod template) by namespace, by ``(key, value)`` label and by name."""

    def __init__(self, workloads: Iterable[K8sObject], labels: dict[int, dict]):
        self.labels = labels
        self.by_ns: dict[str, list[K8sObject]] = {}
        self._by_label: dict[tuple[str, str, str], list[K8sObject]] = {}
        self._by_key: dict[tuple[str, str], list[K8sObject]] = {}
        self.by_name: dict[tuple[str, str, str], K8sObject] = {}
        for obj in workloads:
            ns = obj.namespace
            self.by_ns.setdefault(ns, []).append(obj)
            self.by_name.setdefault((ns, obj.kind, obj.name), obj)
            for key, value in labels.get(id(obj), {}).items():
                self._by_label.setdefault((ns, str(key), _text(value)), []).append(obj)
                self._by_key.setdefault((ns, str(key)), []).append(obj)

    def _candidates(self, namespace: str, pairs: dict, expressions: list) -> list[K8sObject]:
        """The shortest list of workloads a selector can possibly match (a superset of the answer)."""
        best: list[K8sObject] | None = None
        for key, value in pairs.items():
            posting = self._by_label.get((namespace, str(key), _text(value)), [])
            if best is None or len(posting) < len(best):
                best = posting
            if not best:
                return []
        for expr in expressions:
            if not isinstance(expr, dict):
                continue
            key, op = str(expr.get("key")), expr.get("operator")
            if op == "In":
                seen: dict[int, K8sObject] = {}
                for value in expr.get("values") or []:
                    for obj in self._by_label.get((namespace, key, _text(value)), []):
                        seen[id(obj)] = obj
                posting = list(seen.values())
            elif op == "Exists":
                posting = self._by_key.get((namespace, key), [])
            else:
                continue
            if best is None or len(posting) < len(best):
                best = posting
        return self.by_ns.get(namespace, []) if best is None else best

    def select_map(self, namespace: str, selector) -> list[K8sObject]:
        """A Service-style map selector; empty or missing selects nothing."""
        if not isinstance(selector, dict) or not selector:
            return []
        return [
            obj
            for obj in self._candidates(namespace, selector, [])
            if kube.map_selector_matches(selector, self.labels[id(obj)])
        ]

    def select(self, namespace: str, selector) -> list[K8sObject]:
        """A LabelSelector (matchLabels + matchExpressions); an empty one selects the whole namespace."""
        if not isinstance(selector, dict):
            return []
        pairs = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        if not isinstance(pairs, dict) or not isinstance(expressions, list):
            return []
        return [
            obj
            for obj in self._candidates(namespace, pairs, expressions)
            if kube.selector_matches(selector, self.labels[id(obj)])
        ]


def _text(value) -> str:
    """Label values as the API server sees them (YAML may give 1 or true for "1" or "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
