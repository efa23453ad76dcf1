"""Rollout state and pod trouble, from status objects as the API server returns them."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import normalize, rollout


def deployment(generation=2, observed=2, replicas=2, updated=2, total=2, available=2, conditions=()):
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": list(conditions),
        },
    }


@pytest.mark.parametrize(
    ("obj", "done", "failed"),
    [
        (deployment(), True, ""),
        (deployment(observed=1), False, ""),
        (deployment(updated=1, total=3), False, ""),  # old pod still there
        (deployment(available=1), False, ""),
        (
            deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}]),
            False,
            "progress deadline exceeded: x",
        ),
    ],
)
def test_deployment_state(obj, done, failed):
    assert rollout.state(obj)[:2] == (done, failed)


def test_statefulset_waits_for_the_update_revision():
    sts = {
        "kind": "StatefulSet",
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
            "currentRevision": "a",
            "updateRevision": "b",
        },
    }
    assert rollout.state(sts)[0] is False
    sts["status"]["currentRevision"] = "b"
    assert rollout.state(sts)[0] is True


def pod(reason=None, restarts=0, ready=False):
    state = {"waiting": {"reason": reason, "message": "back-off"}} if reason else {"running": {}}
    return {
        "metadata": {"name": "backend-1"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "backend", "state": state, "restartCount": restarts}],
        },
    }


def test_pod_trouble_names_the_pod_and_reason():
    assert rollout.pod_trouble(pod()) == ""
    assert rollout.pod_trouble(pod("CrashLoopBackOff", restarts=1)) == "", "one restart may still recover"
    assert "CrashLoopBackOff" in rollout.pod_trouble(pod("CrashLoopBackOff", restarts=3))
    assert "ErrImagePull" in rollout.pod_trouble(pod("ErrImagePull"))
    assert "restarted 4 times" in rollout.pod_trouble(pod(restarts=4))
    assert rollout.pod_ready(pod(ready=True)) and not rollout.pod_ready(pod())


def test_restarts_from_before_the_wait_do_not_count():
    """A cluster restart counts one restart per container (ContainerStatusUnknown); a pod running
    again after three of them is waited for, not failed. Three more during the wait fail it."""
    earlier = pod(restarts=3)
    before = rollout.restart_counts([earlier])
    assert before == {("backend-1", "backend"): 3}
    assert rollout.pod_trouble(pod(restarts=3), before=before) == ""
    assert rollout.pod_trouble(pod(restarts=5), before=before) == ""
    assert "restarted 6 times" in rollout.pod_trouble(pod(restarts=6), before=before)
    # A crash loop now is trouble however old its restarts are.
    assert "CrashLoopBackOff" in rollout.pod_trouble(pod("CrashLoopBackOff", restarts=3), before=before)


def test_comparable_drops_what_the_server_sets_and_diff_hides_secrets():
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "resourceVersion": "5", "uid": "u", "managedFields": [{}], "annotations": {}},
        "data": {"A": "c2VjcmV0", "B": ""},
        "status": {},
    }
    assert normalize.comparable(live) == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                          "data": {"A": "c2VjcmV0", "B": ""}}  # fmt: skip
    applied = {**normalize.comparable(live), "data": {"A": "b3RoZXI=", "B": ""}}
    text = normalize.diff(normalize.comparable(live), applied, "Secret/s")
    assert "c2VjcmV0" not in text and "b3RoZXI" not in text
    assert normalize.diff(applied, applied, "x") == ""


def test_only_the_newest_revisions_live_pods_are_judged():
    from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import runner

    applier = object.__new__(runner.Applier)  # no API needed for a StatefulSet's revision
    live = {"kind": "StatefulSet", "metadata": {"generation": 3}, "status": {"observedGeneration": 3,
                                                                             "updateRevision": "pg-new"}}  # fmt: skip

    def pod(name, revision, deleting=False):
        meta = {"name": name, "labels": {"controller-revision-hash": revision}}
        return {"metadata": {**meta, **({"deletionTimestamp": "2026-11-26T00:00:00Z"} if deleting else {})}}

    pods = [pod("old", "pg-old"), pod("new", "pg-new"), pod("going", "pg-new", deleting=True)]
    assert [p["metadata"]["name"] for p in applier.current_pods(live, pods)] == ["new"]
    assert runner._observed(live)
    assert not runner._observed({**live, "status": {"observedGeneration": 2}})
