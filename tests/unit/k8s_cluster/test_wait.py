"""module_utils.k8s_cluster.wait: the polling loop and the failure evidence.

The loop is driven by a scripted API (what the real API server answered in each situation) and a
manual clock; the HTTP clients talk to local servers (mutual TLS with certificates from the pki
module); the real waits run against the real cluster in molecule/k8s_cluster.
"""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import pki, wait

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


class _Healthz(BaseHTTPRequestHandler):
    """/healthz as the kubelet and the API server answer it; the API server's wants a client certificate."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        code, body = self.server.answer
        self.server.clients.append(self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None)
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def healthz():
    servers = []

    def start(answer, tls=None):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
        srv.answer, srv.clients = answer, []
        if tls:
            srv.socket = tls.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()


def test_check_kubelet_wants_ok_from_healthz(healthz):
    srv = healthz((200, b"ok"))
    assert wait.check_kubelet(f"http://127.0.0.1:{srv.server_address[1]}/healthz") == (True, "kubelet /healthz: 200 ok")
    srv.answer = (500, b"[-]syncloop failed")
    ok, why = wait.check_kubelet(f"http://127.0.0.1:{srv.server_address[1]}/healthz")
    assert not ok and why == "kubelet /healthz: 500 [-]syncloop failed"
    srv.shutdown()
    srv.server_close()
    ok, why = wait.check_kubelet(f"http://127.0.0.1:{srv.server_address[1]}/healthz")
    assert not ok and why.startswith("kubelet /healthz unreachable:")


def test_api_speaks_mutual_tls_with_the_cluster_ca(healthz, tmp_path):
    store = pki.PKI(str(tmp_path))
    server = pki.CertSpec(name="apiserver", ca="ca", common_name="kube-apiserver", ips=["127.0.0.1"], usages=["server"])
    client = pki.CertSpec(name="admin", ca="ca", common_name="admin", usages=["client"])
    store.ensure([pki.CertSpec(name="ca", common_name="test-ca")], [server, client], [], False)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "apiserver.crt", tmp_path / "apiserver.key")
    tls.load_verify_locations(tmp_path / "ca.crt")
    tls.verify_mode = ssl.CERT_REQUIRED
    srv = healthz((200, b'{"kind": "Node"}'), tls=tls)
    api = wait.Api(
        f"https://127.0.0.1:{srv.server_address[1]}",
        str(tmp_path / "ca.crt"),
        str(tmp_path / "admin.crt"),
        str(tmp_path / "admin.key"),
    )
    assert api.get("/api/v1/nodes/vm") == (200, {"kind": "Node"})
    assert dict(item[0] for item in srv.clients[0]["subject"]) == {"commonName": "admin"}
    srv.answer = (403, b"forbidden")
    assert api.get("/api/v1/nodes/vm") == (403, "forbidden")


def test_a_kubelet_that_answers_once_before_the_timeout_is_still_blamed(monkeypatch):
    """The kubelet respawns, answers /healthz once at the last poll and dies again: the failure names the
    kubelet (its log is the evidence), not the node check that the one answer let through."""
    answers = iter([(False, "kubelet /healthz unreachable: refused")] * 5 + [(True, "kubelet /healthz: 200 ok")])
    monkeypatch.setattr(wait, "check_kubelet", lambda _url: next(answers))
    api = ScriptedApi({"/readyz": [(200, "ok")], "/api/v1/nodes/vm": [(200, NOT_READY_NODE)]})
    clock = Clock()
    result = run(api, clock, timeout=10, node="vm", kubelet_healthz="http://127.0.0.1:10248/healthz")
    assert result["ready"] is False
    assert result["failing"] == {
        "check": "kubelet",
        "target": "",
        "observation": "kubelet /healthz unreachable: refused",
    }
    assert result["passed"]["kubelet"] == 10.0


def test_a_check_that_passed_two_polls_running_is_not_blamed(monkeypatch):
    monkeypatch.setattr(wait, "check_kubelet", lambda _url: (True, "kubelet /healthz: 200 ok"))
    api = ScriptedApi({"/readyz": [(200, "ok")], "/api/v1/nodes/vm": [(200, NOT_READY_NODE)]})
    result = run(api, Clock(), timeout=10, node="vm", kubelet_healthz="http://127.0.0.1:10248/healthz")
    assert result["failing"]["check"] == "node"
