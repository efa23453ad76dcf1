# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API versions that were removed, the release that removed them and what replaces them.

From the Kubernetes deprecated API migration guide
(https://kubernetes.io/docs/reference/using-api/deprecation-guide/).  Keyed by apiVersion, then kind;
the kind ``*`` stands for every other kind of that apiVersion.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Removal:
    api_version: str
    kind: str
    # The minor release that stopped serving it, e.g. "1.16".
    removed_in: str
    # The apiVersion to migrate to; empty when the kind has no successor.
    replacement: str
    note: str = ""

    def advice(self) -> str:
        return f"use {self.replacement}" if self.replacement else self.note or "it has no replacement"

    def message(self) -> str:
        return f"{self.api_version} {self.kind} was removed in Kubernetes {self.removed_in}; {self.advice()}"


_APPS = ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "ControllerRevision")
_STORAGE = ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment")
_TABLE: list[tuple[str, tuple[str, ...], str, str, str]] = [
    # apiVersion, kinds, removed in, replacement, note
    ("extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet"), "1.16", "apps/v1", ""),
    ("extensions/v1beta1", ("NetworkPolicy",), "1.16", "networking.k8s.io/v1", ""),
    ("extensions/v1beta1", ("PodSecurityPolicy",), "1.16", "policy/v1beta1", "itself removed in 1.25"),
    ("extensions/v1beta1", ("Ingress",), "1.22", "networking.k8s.io/v1", ""),
    ("extensions/v1beta1", ("*",), "1.22", "", "the extensions group is no longer served"),
    ("apps/v1beta1", _APPS, "1.16", "apps/v1", ""),
    ("apps/v1beta2", _APPS, "1.16", "apps/v1", ""),
    ("networking.k8s.io/v1beta1", ("Ingress", "IngressClass"), "1.22", "networking.k8s.io/v1", ""),
    ("admissionregistration.k8s.io/v1beta1", ("*",), "1.22", "admissionregistration.k8s.io/v1", ""),
    ("apiextensions.k8s.io/v1beta1", ("*",), "1.22", "apiextensions.k8s.io/v1", ""),
    ("apiregistration.k8s.io/v1beta1", ("*",), "1.22", "apiregistration.k8s.io/v1", ""),
    ("authentication.k8s.io/v1beta1", ("*",), "1.22", "authentication.k8s.io/v1", ""),
    ("authorization.k8s.io/v1beta1", ("*",), "1.22", "authorization.k8s.io/v1", ""),
    ("certificates.k8s.io/v1beta1", ("*",), "1.22", "certificates.k8s.io/v1", ""),
    ("coordination.k8s.io/v1beta1", ("*",), "1.22", "coordination.k8s.io/v1", ""),
    ("rbac.authorization.k8s.io/v1beta1", ("*",), "1.22", "rbac.authorization.k8s.io/v1", ""),
    ("scheduling.k8s.io/v1beta1", ("*",), "1.22", "scheduling.k8s.io/v1", ""),
    ("storage.k8s.io/v1beta1", _STORAGE, "1.22", "storage.k8s.io/v1", ""),
    ("storage.k8s.io/v1beta1", ("CSIStorageCapacity",), "1.27", "storage.k8s.io/v1", ""),
    ("batch/v1beta1", ("CronJob",), "1.25", "batch/v1", ""),
    ("discovery.k8s.io/v1beta1", ("EndpointSlice",), "1.25", "discovery.k8s.io/v1", ""),
    ("events.k8s.io/v1beta1", ("Event",), "1.25", "events.k8s.io/v1", ""),
    ("autoscaling/v2beta1", ("HorizontalPodAutoscaler",), "1.25", "autoscaling/v2", ""),
    ("autoscaling/v2beta2", ("HorizontalPodAutoscaler",), "1.26", "autoscaling/v2", ""),
    ("policy/v1beta1", ("PodDisruptionBudget",), "1.25", "policy/v1", ""),
    (
        "policy/v1beta1",
        ("PodSecurityPolicy",),
        "1.25",
        "",
        "PodSecurityPolicy has no replacement API: use Pod Security admission (namespace labels)",
    ),
    ("node.k8s.io/v1beta1", ("RuntimeClass",), "1.25", "node.k8s.io/v1", ""),
    ("flowcontrol.apiserver.k8s.io/v1beta1", ("*",), "1.26", "flowcontrol.apiserver.k8s.io/v1", ""),
    ("flowcontrol.apiserver.k8s.io/v1beta2", ("*",), "1.29", "flowcontrol.apiserver.k8s.io/v1", ""),
    ("flowcontrol.apiserver.k8s.io/v1beta3", ("*",), "1.32", "flowcontrol.apiserver.k8s.io/v1", ""),
]

REMOVED: dict[str, dict[str, Removal]] = {}
for _api, _kinds, _release, _replacement, _note in _TABLE:
    for _kind in _kinds:
        REMOVED.setdefault(_api, {})[_kind] = Removal(_api, _kind, _release, _replacement, _note)


def removal(api_version: str, kind: str) -> Removal | None:
    """The removal record of an apiVersion and kind, or None when it is still served (as far as we know)."""
    kinds = REMOVED.get(api_version)
    if not kinds:
        return None
    return kinds.get(kind) or kinds.get("*")


def minor(version: str) -> tuple[int, int]:
    """``1.31.0``, ``v1.31``, ``1.31`` -> (1, 31)."""
    parts = str(version).strip().lstrip("v").split(".")
    return int(parts[0]), int(parts[1])
