"""The app on the local cluster: deployed by digest, idempotent, dry-run honest, used through the
ingress by a browser, and its security observed on the running cluster rather than in files."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import (
    NS,
    exec_in,
    get,
    http,
    kubectl,
    pods,
    quota_refusals,
    recap_changed,
    refs,
    role,
    until,
    utc_now,
)

testinfra_hosts = ["ansible://localhost"]

WORKLOADS = {"postgres": "statefulset", "chromadb": "deployment", "backend": "deployment", "frontend": "deployment"}


# --- deployed -------------------------------------------------------------------------------------
def test_every_workload_runs_the_pushed_image_by_digest():
    expected = refs()
    for name, kind in WORKLOADS.items():
        obj = get(kind, name)
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        assert container["image"] == expected[name], name
        assert "@sha256:" in container["image"]
        ready = obj["status"].get("readyReplicas", 0)
        assert ready >= 1 and ready == obj["status"].get("replicas"), (name, obj["status"])
        for pod in pods(name):
            digest = container["image"].split("@")[1]
            assert all(cs["imageID"].endswith(digest) for cs in pod["status"]["containerStatuses"]), name


def _probe_failures_after_ready(pod: dict) -> list[str]:
    ready_at = next(c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "Ready")
    events = json.loads(
        kubectl(
            "get", "events", "-n", NS, "-o", "json",
            "--field-selector", f"involvedObject.name={pod['metadata']['name']},reason=Unhealthy",
        ).stdout
    )["items"]  # fmt: skip
    return [
        e["message"]
        for e in events
        if (e.get("lastTimestamp") or e.get("eventTime") or "") > ready_at and "Startup probe" not in e["message"]
    ]


def test_kubelet_runs_every_probe_and_they_pass():
    """Each container has startup, liveness and readiness probes; every pod is Ready, and no liveness
    or readiness probe failed after it became Ready (startup probes may fail while a service boots)."""
    for name in WORKLOADS:
        for pod in pods(name):
            (container,) = pod["spec"]["containers"]
            assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container), name
            conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
            assert conditions.get("Ready") == "True" and conditions.get("ContainersReady") == "True", (name, conditions)
            assert pod["status"]["containerStatuses"][0]["started"] is True
            assert _probe_failures_after_ready(pod) == [], name


def test_backend_reaches_postgres_and_chromadb_by_their_service_names():
    env = {e["name"]: e for e in get("deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["env"]}
    config = get("configmap", "app-config")["data"]
    assert config["POSTGRES_HOST"] == "postgres-service" and config["CHROMA_HOST"] == "chromadb-service"
    assert env["POSTGRES_HOST"]["valueFrom"]["configMapKeyRef"]["key"] == "POSTGRES_HOST"
    ready = exec_in(
        "backend",
        "python3",
        "-c",
        "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/ready').read().decode())",
    )
    assert ready.returncode == 0 and "ready" in ready.stdout, ready.stderr


def test_check_mode_is_a_server_side_dry_run_that_changes_nothing():
    """A changed setting shows in the diff of --check --diff; no object's spec or data moves.

    An object with a generation is compared by it, its labels and its annotations (controllers keep
    writing status: the HPA its metrics, the kubelet its pods); one without (ConfigMap, Secret,
    Service ...) by resourceVersion.
    """

    def versions():
        listing = kubectl("get", "all,configmap,secret,networkpolicy,ingress,pvc,sa,hpa,pdb", "-n", NS, "-o", "json")
        return {
            f"{o['kind']}/{o['metadata']['name']}": (
                (o["metadata"]["generation"], o["metadata"].get("labels"), o["metadata"].get("annotations"))
                if o["metadata"].get("generation")
                else o["metadata"]["resourceVersion"]
            )
            for o in json.loads(listing.stdout)["items"]
        }

    before = versions()
    result = role("--check", "--diff", "-e", "k8s_log_level=DEBUG")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "-  LOG_LEVEL: INFO" in output and "+  LOG_LEVEL: DEBUG" in output, "the ConfigMap's diff is shown"
    assert recap_changed(output) >= 1
    assert versions() == before
    assert get("configmap", "app-config")["data"]["LOG_LEVEL"] == "INFO"


# --- through the ingress, in a browser --------------------------------------------------------------
def test_browser_creates_a_goal_through_the_ingress_and_sees_it_listed(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}",
                 # The ingress host resolves to the NodePort on loopback.
                 "--host-resolver-rules=MAP goaltrajectory.localhost 127.0.0.1"):  # fmt: skip
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    title = f"Learn to sail {int(time.time())}"
    try:
        driver.get("http://goaltrajectory.localhost:30080/goals")
        wait = WebDriverWait(driver, 60)
        field = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[name='title']")))
        field.send_keys(title)
        driver.find_element(By.CSS_SELECTOR, "form button[type='submit'], form input[type='submit']").click()
        wait.until(lambda d: title in d.find_element(By.TAG_NAME, "body").text)
        driver.save_screenshot(str(Path("/var/lib/goaltrajectory/molecule-k8s-apply/goals.png")))
    finally:
        driver.quit()
    status, listing = http("GET", "/api/goals")
    assert status == 200 and any(g["title"] == title for g in listing["items"]), listing


# --- security, observed ------------------------------------------------------------------------------
ROOT_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "root-probe", "namespace": NS},
    "spec": {"containers": [{"name": "c", "image": "127.0.0.1:5000/k8s-cluster/toolbox:latest",
                             "securityContext": {"runAsUser": 0}}]},
}  # fmt: skip


def test_restricted_namespace_admits_our_pods_and_rejects_a_root_pod():
    labels = get("namespace", NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(pods(name) for name in WORKLOADS), "every pod of ours was admitted"
    refused = kubectl("apply", "-f", "-", stdin=json.dumps(ROOT_POD), check=False)
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr


NODE_CONNECT = (
    "const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});"
    "s.setTimeout(4000,()=>process.exit(2));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));"
)
PY_CONNECT = (
    "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4); print('connected')"
)


def test_network_policies_keep_the_frontend_from_the_data_stores_and_let_the_backend_in():
    for target, port in (("postgres-service", 5432), ("chromadb-service", 8000)):
        blocked = exec_in("frontend", "node", "-e", NODE_CONNECT, target, str(port))
        assert blocked.returncode != 0, f"the frontend reached {target}:{port}"
        allowed = exec_in("backend", "python3", "-c", PY_CONNECT, target, str(port))
        assert allowed.returncode == 0, f"the backend could not reach {target}:{port}: {allowed.stderr}"
    # DNS works from the frontend too (the allow-dns-egress policy): the names resolve.
    resolved = exec_in(
        "frontend",
        "node",
        "-e",
        "require('dns').lookup(process.argv[1],(e,a)=>{console.log(a);process.exit(e?1:0)})",
        "postgres-service",
    )
    assert resolved.returncode == 0 and resolved.stdout.strip(), resolved.stderr


def test_secret_is_encrypted_in_etcd_and_tokens_are_not_mounted():
    etcdctl = next(Path("/opt/k8s-cluster/etcd").glob("v*/etcdctl"))
    pki = "/etc/k8s-cluster/pki"
    raw = subprocess.run(
        [str(etcdctl), "--endpoints=https://127.0.0.1:2379", f"--cacert={pki}/etcd-ca.crt",
         f"--cert={pki}/etcd-admin-client.crt", f"--key={pki}/etcd-admin-client.key",
         "get", f"/registry/secrets/{NS}/app-secrets", "--print-value-only"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert raw.startswith(b"k8s:enc:secretbox:v1:"), raw[:40]
    assert b"POSTGRES_PASSWORD" not in raw
    for name in WORKLOADS:
        for pod in pods(name):
            assert pod["spec"].get("automountServiceAccountToken") is False, name
            mounts = [m["mountPath"] for c in pod["spec"]["containers"] for m in c.get("volumeMounts", [])]
            assert not any("serviceaccount" in m for m in mounts), (name, mounts)


def set_hpa_min(name: str, replicas: int) -> None:
    kubectl("patch", "hpa", name, "-n", NS, "--type=merge", "-p", json.dumps({"spec": {"minReplicas": replicas}}))


def test_quota_admits_a_rolling_update_with_every_autoscaler_at_its_max():
    """Pin each HPA at its max, roll both apps: every pod (max + one surge each) is admitted."""
    hpas = {h["metadata"]["name"]: h["spec"] for h in get("hpa")["items"]}
    since = utc_now()
    try:
        for name, spec in hpas.items():
            set_hpa_min(name, spec["maxReplicas"])
        for name, spec in hpas.items():

            def at_max(n=name, m=spec["maxReplicas"]):
                return get("deployment", n)["status"].get("readyReplicas") == m

            until(f"{name} at {spec['maxReplicas']} replicas", at_max, timeout=300)
        for name in hpas:
            kubectl("rollout", "restart", f"deployment/{name}", "-n", NS)
        for name in hpas:
            kubectl("rollout", "status", f"deployment/{name}", "-n", NS, "--timeout=300s", timeout=330)
        assert quota_refusals(since) == []
    finally:
        for name, spec in hpas.items():
            set_hpa_min(name, spec["minReplicas"])
            # Back to the minimum at once: the HPA alone would take its scale-down policy's time.
            kubectl("scale", "deployment", name, "-n", NS, f"--replicas={spec['minReplicas']}")
