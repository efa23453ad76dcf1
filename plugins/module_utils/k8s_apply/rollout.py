# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout state of Deployments and StatefulSets from their status, as `kubectl rollout status` reads it.

:func:`state` returns ``(done, failed_reason, progress_text)``; :func:`pod_trouble` spots pods
that will not become ready (crash loops, image pulls that fail, probes failing for good) so a
broken release fails in seconds instead of at the deadline.
"""

from __future__ import annotations

CRASH_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
)


def _int(value) -> int:
    return int(value or 0)


def deployment_state(obj: dict) -> tuple[bool, str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj.get("metadata") or {}
    desired = _int(spec.get("replicas", 1))
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return False, f"progress deadline exceeded: {cond.get('message', '')}", ""
    if _int(status.get("observedGeneration")) < _int(meta.get("generation")):
        return False, "", "waiting for the controller to see the new spec"
    updated, total = _int(status.get("updatedReplicas")), _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    progress = f"{updated}/{desired} updated, {available}/{desired} available, {total} total"
    done = updated >= desired and total == desired and available >= desired
    return done, "", progress


def statefulset_state(obj: dict) -> tuple[bool, str, str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj.get("metadata") or {}
    desired = _int(spec.get("replicas", 1))
    if _int(status.get("observedGeneration")) < _int(meta.get("generation")):
        return False, "", "waiting for the controller to see the new spec"
    ready, updated = _int(status.get("readyReplicas")), _int(status.get("updatedReplicas"))
    progress = f"{updated}/{desired} updated, {ready}/{desired} ready"
    revision_done = status.get("updateRevision") in (None, status.get("currentRevision"))
    done = ready >= desired and updated >= desired and revision_done
    return done, "", progress


def state(obj: dict) -> tuple[bool, str, str]:
    if obj.get("kind") == "StatefulSet":
        return statefulset_state(obj)
    return deployment_state(obj)


def restart_counts(pods: list[dict]) -> dict[tuple[str, str], int]:
    """(pod, container) -> restart count: what the pods had restarted before a wait began."""
    return {
        ((p.get("metadata") or {}).get("name", "?"), cs.get("name")): _int(cs.get("restartCount"))
        for p in pods
        for cs in (p.get("status") or {}).get("containerStatuses") or []
    }


def pod_trouble(pod: dict, restarts: int = 3, before: dict | None = None) -> str:
    """Why this pod will not become ready by waiting, or '' while it still may.

    ``before`` (restart_counts when the wait began): restarts from before the wait (a node or
    cluster restart counts one for every container, ContainerStatusUnknown) are not held against
    a pod that is now running; a crash loop now is.
    """
    name = (pod.get("metadata") or {}).get("name", "?")
    before = before or {}
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CRASH_REASONS and (
            waiting.get("reason") != "CrashLoopBackOff" or _int(cs.get("restartCount")) >= restarts
        ):
            return (
                f"pod {name} container {cs.get('name')}: {waiting.get('reason')}: {waiting.get('message', '')}".strip()
            )
        if _int(cs.get("restartCount")) - before.get((name, cs.get("name")), 0) >= restarts:
            last = ((cs.get("lastState") or {}).get("terminated") or {}).get("reason", "restarted")
            return f"pod {name} container {cs.get('name')}: restarted {cs.get('restartCount')} times (last: {last})"
    return ""


def pod_ready(pod: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )
