"""Drills on the local cluster, each with the data check: a goal and its similarity results are
written before (the `goal` fixture) and read after every drill."""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time
import uuid

import yaml

from conftest import (
    NS,
    PROJECT,
    assert_goal_intact,
    get,
    http,
    kubectl,
    pods,
    pushed_variant,
    quota_refusals,
    refs,
    role,
    until,
    utc_now,
    wait_all_ready,
)

testinfra_hosts = ["ansible://localhost"]


def test_data_survives_deleting_the_postgres_and_chromadb_pods(goal):
    for app in ("postgres", "chromadb"):
        for pod in pods(app):
            kubectl("delete", "pod", pod["metadata"]["name"], "-n", NS, "--wait=true", timeout=240)
    wait_all_ready()
    assert_goal_intact(goal)


class RequestLoop(threading.Thread):
    """GET /api/goals through the ingress every 50 ms until stopped; counts every failure."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, _body = http("GET", "/api/goals", timeout=5)
                if status == 200:
                    self.ok += 1
                else:
                    self.failures.append(f"HTTP {status}")
            except OSError as exc:
                self.failures.append(str(exc))
            time.sleep(0.05)


def test_rolling_update_of_the_backend_under_load_drops_no_request(goal):
    new = pushed_variant(refs()["backend"], f"rolling-{uuid.uuid4().hex[:6]}", "LABEL ai.goaltrajectory.drill=rolling")
    loop = RequestLoop()
    loop.start()
    try:
        result = role("-e", json.dumps({"k8s_images": {"backend": new}}))
    finally:
        time.sleep(2)
        loop.stop.set()
        loop.join()
    assert result.returncode == 0, result.stdout[-4000:]
    assert get("deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["image"] == new
    assert loop.ok > 50, "the loop ran through the whole rollout"
    assert loop.failures == [], f"{len(loop.failures)} failed of {loop.ok + len(loop.failures)}: {loop.failures[:5]}"
    assert_goal_intact(goal)


def _restart(component: str) -> None:
    subprocess.run(
        ["daemon", f"--name=k8s-cluster-{component}", "--pidfiles=/run/k8s-cluster", "--restart"], check=True
    )


def _live_pods() -> set[str]:
    """The backend's and postgres' pods, once none is terminating: the rollout test before this one
    leaves its old backend pod in its preStop sleep for a while."""
    found = [p for app in ("backend", "postgres") for p in pods(app)]
    assert not [p for p in found if p["metadata"].get("deletionTimestamp")], "a pod is still terminating"
    return {p["metadata"]["name"] for p in found}


def test_workloads_come_back_after_restarting_the_kubelet_and_containerd(goal):
    before = until("no backend or postgres pod terminating", _live_pods, timeout=120)
    _restart("containerd")
    _restart("kubelet")
    until("the node Ready again", lambda: "True" in kubectl(
        "get", "nodes", "-o", "jsonpath={.items[0].status.conditions[?(@.type=='Ready')].status}", check=False).stdout,
        timeout=180)  # fmt: skip
    wait_all_ready()
    assert_goal_intact(goal)
    after = until("no backend or postgres pod terminating", _live_pods, timeout=120)
    assert before == after, "running pods were kept across the restarts, not replaced"


def test_broken_backend_release_fails_naming_the_deployment_and_rolls_back(goal):
    good = get("deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["image"]
    broken = pushed_variant(
        good,
        f"broken-{uuid.uuid4().hex[:6]}",
        'ENTRYPOINT ["python3", "-c", "import sys; print(\'boom: broken release\', flush=True); sys.exit(3)"]',
    )
    result = role("-e", json.dumps({"k8s_images": {"backend": broken}, "k8s_wait_timeout": 240}))
    output = " ".join((result.stdout + result.stderr).split()).replace("''", "'")
    assert result.returncode != 0, output[-3000:]
    assert "Deployment 'backend' did not roll out" in output, output[-3000:]
    assert "boom: broken release" in output, "the container's last log lines are quoted"
    assert "event BackOff" in output or "CrashLoopBackOff" in output, "the pod's events are quoted"
    assert "Rolled back to the previous revision, which is ready again" in output, output[-3000:]
    wait_all_ready()
    assert get("deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["image"] == good
    assert_goal_intact(goal)


def replicas(kind: str, field: str) -> int:
    return int(get(kind, "backend")["status"].get(field) or 0)


def hpa_scale_down_seconds(spec: dict, current: int) -> int:
    """How long the HPA's own behavior takes from `current` replicas down to its minimum once the
    load is gone: the stabilization window, one policy period per step (selectPolicy Min: the
    slowest policy; a Percent policy counted as one pod a step), and a minute for metrics-server's
    scrape and the HPA's sync."""
    down = (spec.get("behavior") or {}).get("scaleDown") or {}
    excess = max(current - spec["minReplicas"], 0)
    policies = down.get("policies") or [{"type": "Pods", "value": 1, "periodSeconds": 15}]
    steps = max(math.ceil(excess / (p["value"] if p["type"] == "Pods" else 1)) * p["periodSeconds"] for p in policies)
    return down.get("stabilizationWindowSeconds", 300) + steps + 60


def test_backend_hpa_scales_up_under_cpu_load_and_back_down(goal):
    hpa = get("hpa", "backend")["spec"]
    low = hpa["minReplicas"]
    assert hpa["maxReplicas"] > low
    # Start from the minimum: the quota drill pinned the HPA at its max, and it scales down slowly.
    until(
        "the backend at its minimum before the load",
        lambda: replicas("deployment", "replicas") == low,
        hpa_scale_down_seconds(hpa, replicas("deployment", "replicas")),
        10,
    )
    since = utc_now()
    pod = pods("backend")[0]["metadata"]["name"]
    # Bounded load that stops as soon as /tmp/burn is gone (a killed `kubectl exec` leaves it running).
    burn = (
        "import os, time\nopen('/tmp/burn', 'w').close()\nt = time.time() + 300\n"
        "while time.time() < t and os.path.exists('/tmp/burn'): pass"
    )
    workers = [
        subprocess.Popen(
            ["kubectl", "--kubeconfig", "/etc/k8s-cluster/kubeconfigs/admin.conf", "exec", "-n", NS, pod, "--",
             "python3", "-c", burn],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _burner in range(2)
    ]  # fmt: skip
    try:
        until("the HPA scales the backend up", lambda: replicas("hpa", "desiredReplicas") > low, 240, 5)
        until("the new backend pods are Ready", lambda: replicas("deployment", "readyReplicas") > low, 240, 5)
        assert get("deployment", "backend")["status"]["replicas"] <= hpa["maxReplicas"]
    finally:
        stop = "import os\nif os.path.exists('/tmp/burn'): os.remove('/tmp/burn')"
        kubectl("exec", "-n", NS, pod, "--", "python3", "-c", stop, check=False)
        for worker in workers:
            worker.kill()
    until(
        "the HPA scales the backend back down",
        lambda: replicas("deployment", "replicas") == low,
        hpa_scale_down_seconds(hpa, replicas("deployment", "replicas")),
        10,
    )
    assert quota_refusals(since) == [], "the quota admitted every scaled pod"
    assert_goal_intact(goal)


def test_pruning_deletes_what_left_the_tree_but_never_claims_or_the_namespace(goal):
    # The local inventory's sizing, with the frontend taken out of the catalog.
    overrides = yaml.safe_load((PROJECT / "inventories/local/group_vars/clusters/main.yml").read_text())[
        "catalog_overrides"
    ]
    result = role("-e", json.dumps({"k8s_prune": True, "catalog_overrides": {**overrides, "frontend": None}}))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for kind, name in (("deployment", "frontend"), ("service", "frontend-service"), ("hpa", "frontend"),
                       ("serviceaccount", "frontend"), ("networkpolicy", "frontend")):  # fmt: skip
        assert kubectl("get", kind, name, "-n", NS, check=False).returncode != 0, f"{kind}/{name} was not pruned"
    assert get("pvc", "chromadb-data")["status"]["phase"] == "Bound", "claims are never pruned"
    assert get("namespace", NS)["status"]["phase"] == "Active"
    # Back to the full tree.
    restored = role()
    assert restored.returncode == 0, restored.stdout[-4000:]
    wait_all_ready()
    assert http("GET", "/goals")[0] == 200
    assert_goal_intact(goal)
