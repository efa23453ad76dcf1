"""module_utils.k8s_cluster.wait: the polling loop and the failure evidence.

The loop is driven by a scripted API (what the real API server answered in each situation) and a
manual clock; the real waits run against the real cluster in molecule/k8s_cluster.
"""

from __future__ import annotations

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import wait

READY_NODE = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
NOT_READY_NODE = {
    "status": {
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "cni plugin not initialized"}
        ]
    }
}


class ScriptedApi:
    """Answers GETs from a table of path prefix -> list of (status, body), one per call (last repeats)."""

    def __init__(self, script):
        self.script = {k: list(v) for k, v in script.items()}
        self.calls = []

    def get(self, path):
        self.calls.append(path)
        for prefix, answers in self.script.items():
            if path.startswith(prefix):
                return answers.pop(0) if len(answers) > 1 else answers[0]
        return 404, {}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(api, clock, **kwargs):
    return wait.wait(api, clock=clock, sleep=clock.sleep, interval=2, **kwargs)


def test_waits_for_readyz_then_the_node_and_records_when_each_passed():
    api = ScriptedApi(
        {
            "/readyz": [(0, "connection refused"), (500, "[-]etcd failed"), (200, "ok")],
            "/api/v1/nodes/vm": [(404, {}), (200, NOT_READY_NODE), (200, READY_NODE)],
        }
    )
    clock = Clock()
    result = run(api, clock, timeout=60, node="vm")
    assert result["ready"] is True
    assert result["passed"]["readyz"] == 4.0
    assert result["passed"]["node:vm"] == 8.0


def test_times_out_naming_the_first_failing_check_and_its_last_observation():
    api = ScriptedApi({"/readyz": [(200, "ok")], "/api/v1/nodes/vm": [(200, NOT_READY_NODE)]})
    clock = Clock()
    result = run(api, clock, timeout=10, node="vm")
    assert result["ready"] is False
    assert result["failing"]["check"] == "node"
    assert "cni plugin not initialized" in result["failing"]["observation"]
    assert result["seconds"] >= 10


def test_readyz_failure_lists_the_failed_checks():
    api = ScriptedApi({"/readyz": [(500, "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok")]})
    ok, seen = wait.check_readyz(api)
    assert not ok and seen == "/readyz answered 500: [-]etcd failed: reason withheld"


def test_deployment_needs_current_generation_and_all_replicas_available():
    stale = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "availableReplicas": 1, "updatedReplicas": 1},
    }
    done = {
        "metadata": {"generation": 2},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 2, "availableReplicas": 1, "updatedReplicas": 1},
    }
    assert not wait.check_deployment(ScriptedApi({"/apis/apps": [(200, stale)]}), "kube-system/coredns")[0]
    assert wait.check_deployment(ScriptedApi({"/apis/apps": [(200, done)]}), "kube-system/coredns")[0]


def test_evidence_quotes_the_logs_of_the_components_behind_the_check(tmp_path):
    log = tmp_path / "kube-apiserver.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    text = wait.evidence(
        ScriptedApi({}),
        {"check": "readyz", "target": "", "observation": "refused"},
        {"kube-apiserver": str(log), "kubelet": str(tmp_path / "kubelet.log")},
        {"kube-apiserver": False, "etcd": True},
        3,
    )
    assert text.startswith("not running: kube-apiserver")
    assert "line 97\nline 98\nline 99" in text and "line 96" not in text
    assert "kubelet" not in text


def test_log_tail_leads_with_the_error_lines(tmp_path):
    log = tmp_path / "kubelet.log"
    lines = [f"I1126 15:55:{i:02d}.0 noise {i}" for i in range(60)]
    lines[20] = 'E1126 15:55:20.778549 kubelet.go:1850] "Failed to start ContainerManager" err="systemd not running"'
    log.write_text("\n".join(lines) + "\n")
    text = wait.tail_file(str(log), 10)
    assert text.splitlines()[0].startswith("E1126 15:55:20.778549")
    assert text.splitlines()[-1].endswith("noise 59")


def test_evidence_for_an_add_on_reports_its_pods_events_and_logs():
    deployment = {"spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}}}
    pods = {
        "items": [
            {
                "metadata": {"name": "coredns-1"},
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "coredns",
                            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
                            "restartCount": 0,
                            "ready": False,
                        }
                    ],
                },
            }
        ]
    }
    events = {"items": [{"type": "Warning", "reason": "Failed", "message": "pull 127.0.0.1:5000/x: not found"}]}
    api = ScriptedApi(
        {
            "/apis/apps/v1/namespaces/kube-system/deployments/coredns": [(200, deployment)],
            "/api/v1/namespaces/kube-system/pods?": [(200, pods)],
            "/api/v1/namespaces/kube-system/events": [(200, events)],
            "/api/v1/namespaces/kube-system/pods/coredns-1/log": [(400, "waiting to start")],
        }
    )
    text = wait.evidence(api, {"check": "deployment", "target": "kube-system/coredns", "observation": ""}, {}, {}, 5)
    assert "pod kube-system/coredns-1: phase Pending" in text
    assert "waiting ImagePullBackOff not found" in text
    assert "event Warning Failed: pull 127.0.0.1:5000/x: not found" in text


def test_api_refuses_a_plain_http_server(tmp_path):
    try:
        wait.Api("http://127.0.0.1:6443", str(tmp_path / "ca"), str(tmp_path / "c"), str(tmp_path / "k"))
    except ValueError as exc:
        assert "https://" in str(exc)
    else:
        raise AssertionError("plain HTTP accepted")


def test_a_restarted_kubelet_must_post_a_fresh_heartbeat():
    stale = {
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-26T14:46:06Z"}]}
    }
    fresh = {
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-26T15:00:00Z"}]}
    }
    restart = wait.timestamp("2026-11-26T14:59:58Z")
    ok, seen = wait.check_node(ScriptedApi({"/api/v1/nodes/vm": [(200, stale)]}), "vm", since=restart)
    assert not ok and "no status from the restarted kubelet" in seen
    assert wait.check_node(ScriptedApi({"/api/v1/nodes/vm": [(200, fresh)]}), "vm", since=restart)[0]
    assert wait.check_node(ScriptedApi({"/api/v1/nodes/vm": [(200, stale)]}), "vm")[0]
