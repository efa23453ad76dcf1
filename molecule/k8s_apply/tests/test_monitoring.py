"""The monitoring stack in the local cluster, as converge (deploy.yml -i inventories/local) left it.

Prometheus finds the app's pods by discovery (no target list), scrapes the kubelet's cAdvisor
through the API server and kube-state-metrics, and reports every target up; the namespace and its
workloads are as restricted as the app's; and a real fault (ChromaDB scaled to zero, so the
backend's readiness fails) takes ServiceNotReady for the backend from pending to firing,
Alertmanager delivers it to the alert receiver, and the resolution follows once ChromaDB is back.
Everything is read through the API server's service proxy, as an operator would. These run in
this scenario's verify, on the stack converge deployed, rather than after a deploy of their own.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import INGRESS, KUBECONFIG, PROJECT, kubectl

sys.path.insert(0, str(PROJECT / ".collections"))
# The alert waits and the receiver's log reader, shared with the Compose drill's tests.
sys.path.insert(0, str(PROJECT / "tests/integration/monitoring"))
from perses import assert_dashboard_renders
from waiting import received_since, wait_for

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog

VARS = yaml.safe_load((PROJECT / "inventories/local/group_vars/clusters/monitoring.yml").read_text())
APP_NS = VARS["monitoring_namespace"]
NS = f"{APP_NS}-monitoring"
SERVICES = catalog.build(
    copy.deepcopy(yaml.safe_load((PROJECT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"])
)
INGRESS_HOST = yaml.safe_load((PROJECT / "inventories/local/group_vars/clusters/main.yml").read_text())[
    "k8s_ingress_host"
]
# The workload the drill scales to zero: a StatefulSet or a Deployment, as the catalog says.
CHROMADB = f"{'statefulset' if SERVICES['chromadb']['stateful'] else 'deployment'}/chromadb"


def proxy(service: str, path: str):
    return json.loads(kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/{service}/proxy{path}").stdout)


def _running_pods(service: str) -> set[str]:
    pods = json.loads(
        kubectl("-n", APP_NS, "get", "pods", "-l", f"app.kubernetes.io/name={service}", "-o", "json").stdout
    )["items"]
    return {p["metadata"]["name"] for p in pods if p["status"]["phase"] == "Running"}


@pytest.fixture(scope="module")
def stack():
    """The stack converge deployed, settled after whatever ran before (drills, a restarted cluster):
    the app's Deployments rolled out, and Prometheus has found their pods and scrapes every active
    target (as the role waits for at the end of its apply)."""
    for service in ("backend", "frontend"):
        kubectl("-n", APP_NS, "rollout", "status", f"deployment/{service}", "--timeout=300s", timeout=330)

    def settled():
        targets = proxy("prometheus:9090", "/api/v1/targets?state=active")["data"]["activeTargets"]
        if not targets or any(t["health"] != "up" for t in targets):
            return None
        for service in ("backend", "frontend"):
            if {t["labels"].get("pod") for t in targets if t["labels"]["job"] == service} != _running_pods(service):
                return None
        return targets

    return wait_for("every Prometheus target up, one per running app pod", settled, 300, step=5)


def test_every_target_is_up_and_found_by_discovery(stack):
    targets = proxy("prometheus:9090", "/api/v1/targets?state=active")["data"]["activeTargets"]
    jobs = {}
    for t in targets:
        jobs.setdefault(t["labels"]["job"], []).append(t)
    assert set(jobs) == {
        "backend",
        "frontend",
        "postgres-exporter",
        "kubelet",
        "kubelet-cadvisor",
        "kube-state-metrics",
        "prometheus",
    }
    down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, down
    for service in ("backend", "frontend"):
        assert {t["labels"]["pod"] for t in jobs[service]} == _running_pods(service), service
        assert all(t["labels"]["namespace"] == APP_NS for t in jobs[service])


def _query(expr: str) -> list[dict]:
    return proxy("prometheus:9090", f"/api/v1/query?query={urllib.parse.quote(expr, safe='')}")["data"]["result"]


def test_series_the_rules_read_are_there(stack):
    assert _query(f'kube_deployment_status_replicas_available{{namespace="{APP_NS}",deployment="backend"}}')
    assert _query(f'container_memory_working_set_bytes{{namespace="{APP_NS}",container="backend"}}')
    assert _query(f'kube_pod_container_resource_limits{{namespace="{APP_NS}",resource="memory"}}')
    assert _query(f'http_requests_total{{namespace="{APP_NS}",job="backend"}}')
    # postgres_exporter logged in through the database's NetworkPolicy, as the app.
    assert [r["value"][1] for r in _query('pg_up{job="postgres-exporter"}')] == ["1"]
    rules = [r for g in proxy("prometheus:9090", "/api/v1/rules")["data"]["groups"] for r in g["rules"]]
    assert rules and all(r["health"] == "ok" for r in rules), [r for r in rules if r["health"] != "ok"]


def test_a_bounded_load_through_the_ingress_moves_the_request_and_latency_series(stack):
    """200 GETs of /api/goals through Traefik on loopback: Prometheus counts them on the backend's
    pods (found by discovery) and the backend's histogram gives a p95 latency."""
    route = "/api/goals"
    selector = f'namespace="{APP_NS}",job="backend",method="GET",route="{route}",status="200"'

    def get():
        request = urllib.request.Request(f"{INGRESS}{route}", headers={"Host": INGRESS_HOST})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def total():
        result = _query(f"sum(http_requests_total{{{selector}}})")
        return float(result[0]["value"][1]) if result else None

    running = _running_pods("backend")
    # rate() sees no increase in a series born with the whole load in its first sample: first a
    # few requests (round-robin reaches every pod), scraped on every pod before the load.
    for _request in range(4 * len(running)):
        get()
    wait_for(
        "a scraped GET /api/goals series on every backend pod",
        lambda: {r["metric"]["pod"] for r in _query(f"http_requests_total{{{selector}}}")} == running,
        90,
    )
    before = total()
    requests = 200
    for _request in range(requests):
        get()
    wait_for(f"Prometheus to count {requests} more GET /api/goals", lambda: (total() or 0) >= before + requests, 90)

    def p95_seconds():
        result = _query(
            f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[5m])))"
        )
        return result if result and result[0]["value"][1] not in ("NaN", "+Inf") else None

    p95 = wait_for("a p95 latency of GET /api/goals", p95_seconds, 90)
    assert 0 < float(p95[0]["value"][1]) < 10, p95


def test_the_namespace_is_restricted_and_only_two_accounts_get_tokens(stack):
    ns = json.loads(kubectl("get", "namespace", NS, "-o", "json").stdout)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = json.loads(kubectl("-n", NS, "get", "pods", "-o", "json").stdout)["items"]
    tokens = {}
    for pod in pods:
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        tokens[pod["metadata"]["labels"]["app.kubernetes.io/name"]] = spec.get("automountServiceAccountToken")
    assert tokens == {
        "prometheus": True,
        "kube-state-metrics": True,
        "alertmanager": False,
        "alert-receiver": False,
        "perses": False,
        "postgres-exporter": False,
    }
    claim = json.loads(kubectl("-n", NS, "get", "pvc", "prometheus-data", "-o", "json").stdout)
    assert claim["status"]["phase"] == "Bound"
    policies = {
        p["metadata"]["name"]
        for p in json.loads(kubectl("-n", NS, "get", "networkpolicy", "-o", "json").stdout)["items"]
    }
    assert {
        "default-deny-all",
        "allow-dns-egress",
        "prometheus",
        "kube-state-metrics",
        "alertmanager",
        "perses",
    } <= policies
    # Prometheus may read pods in the app's namespace, and nothing in another.
    can = kubectl(
        "auth", "can-i", "list", "pods", "-n", APP_NS, f"--as=system:serviceaccount:{NS}:prometheus", check=False
    )
    cannot = kubectl(
        "auth", "can-i", "list", "secrets", "-n", APP_NS, f"--as=system:serviceaccount:{NS}:prometheus", check=False
    )
    assert can.stdout.strip() == "yes" and cannot.stdout.strip() == "no"


# Run in a pod of a namespace without policies of its own, so a refusal can only come from the
# monitoring namespace's: a TCP connect to every port of every monitoring pod, and to CoreDNS as
# the control that the probe pod itself has a network.
PROBE = """
import json, socket, sys
result = {}
for target in json.loads(sys.argv[1]):
    try:
        socket.create_connection((target[0], target[1]), timeout=4).close()
        result[f"{target[0]}:{target[1]}"] = "open"
    except OSError as exc:
        result[f"{target[0]}:{target[1]}"] = type(exc).__name__
print(json.dumps(result))
"""


def test_the_network_policies_refuse_every_other_client(stack):
    pods = json.loads(kubectl("-n", NS, "get", "pods", "-o", "json").stdout)["items"]
    targets = [
        [p["status"]["podIP"], port["containerPort"]]
        for p in pods
        for c in p["spec"]["containers"]
        for port in c.get("ports", [])
    ]
    assert len(targets) >= len(pods), targets
    dns = json.loads(kubectl("-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o", "json").stdout)
    control = [dns["items"][0]["status"]["podIP"], 53]
    backend = json.loads(kubectl("-n", APP_NS, "get", "deployment", "backend", "-o", "json").stdout)
    image = backend["spec"]["template"]["spec"]["containers"][0]["image"]
    probe_ns = f"{NS}-probe"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "netpol-probe", "namespace": probe_ns},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "command": ["python3", "-c", PROBE, json.dumps([*targets, control])],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }
    kubectl("create", "namespace", probe_ns)
    try:
        created = subprocess.run(
            ["kubectl", "--kubeconfig", KUBECONFIG, "create", "-f", "-"],
            input=json.dumps(pod), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        kubectl("-n", probe_ns, "wait", "pod/netpol-probe", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=3m")
        run = kubectl("-n", probe_ns, "logs", "netpol-probe")
    finally:
        kubectl("delete", "namespace", probe_ns, "--wait=false", check=False)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.pop(f"{control[0]}:{control[1]}") == "open", "the probe pod has no network: the test proves nothing"
    opened = sorted(k for k, v in result.items() if v == "open")
    assert not opened, f"reachable from outside the monitoring paths: {opened}"
    assert len(result) == len(targets)


def _alert_state(alertname: str, service: str) -> str | None:
    for a in proxy("prometheus:9090", "/api/v1/alerts")["data"]["alerts"]:
        if a["labels"].get("alertname") == alertname and a["labels"].get("service") == service:
            return a["state"]
    return None


def test_backend_unready_fires_service_not_ready_to_the_receiver_and_resolves(stack, capsys):
    start = time.time()
    kubectl("-n", APP_NS, "scale", CHROMADB, "--replicas=0")
    try:
        wait_for("ServiceNotReady{service=backend} pending", lambda: _alert_state("ServiceNotReady", "backend"), 180)
        pending_after = time.time() - start
        wait_for(
            "ServiceNotReady{service=backend} firing",
            lambda: _alert_state("ServiceNotReady", "backend") == "firing",
            300,
        )
        firing_after = time.time() - start
        wait_for(
            "the firing notification at the alert receiver",
            lambda: received_since(
                proxy("alert-receiver:9095", "/alerts"), "ServiceNotReady", "backend", "firing", start
            ),
            120,
        )
        delivered_after = time.time() - start
    finally:
        kubectl("-n", APP_NS, "scale", CHROMADB, "--replicas=1")
    restored = time.time()
    wait_for(
        "the resolved ServiceNotReady notification",
        lambda: received_since(
            proxy("alert-receiver:9095", "/alerts"), "ServiceNotReady", "backend", "resolved", restored
        ),
        420,
    )
    # The fault-to-delivery times, in the run's own output (not captured).
    with capsys.disabled():
        print(
            f"k8s drill: pending after {pending_after:.0f} s, firing after {firing_after:.0f} s, delivered after "
            f"{delivered_after:.0f} s; resolved notification {time.time() - restored:.0f} s after ChromaDB came back"
        )


@contextlib.contextmanager
def port_forward(service: str, port: int):
    """kubectl port-forward to the Service on a free loopback port, as an operator opens a web UI."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
    proc = subprocess.Popen(
        ["kubectl", "--kubeconfig", KUBECONFIG, "-n", NS, "port-forward", f"svc/{service}", f"{local}:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def listening():
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), timeout=2):
                return True
            assert proc.poll() is None, proc.stderr.read()
            return False

        wait_for(f"kubectl port-forward svc/{service}", listening, 60, step=1)
        yield f"http://127.0.0.1:{local}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_perses_dashboard_draws_every_service_in_chromium(stack, tmp_path, capsys):
    with port_forward("perses", 8080) as base:
        seconds = assert_dashboard_renders(
            base, VARS["monitoring_environment"], SERVICES, tmp_path / "profile", tmp_path / "dashboard.png"
        )
    with capsys.disabled():
        print(f"\nPerses dashboard services-{VARS['monitoring_environment']}: every panel drawn in {seconds:.1f} s")
