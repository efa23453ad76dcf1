"""Verify roles/k8s_cluster on this host: a real single-node cluster, one test per promise.

Every check runs against the real API server, kubelet, containerd, CoreDNS, kube-router,
local-path-provisioner, Traefik, metrics-server and etcd the role started; pods run the role's
toolbox image (a static HTTP server/client) pulled from the local registry by digest. Each
negative check has a positive control, so it fails when the mechanism does not work.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://localhost"]

CONFIG = Path("/etc/k8s-cluster")
PKI = CONFIG / "pki"
KUBECONFIG = CONFIG / "kubeconfigs/admin.conf"
KUBECTL = "/usr/local/bin/kubectl"
CTR = ["ctr", "--address", "/run/k8s-containerd/containerd.sock", "--namespace", "k8s.io"]
VERSION = "v1.37.2"
NS = "k8s-cluster-verify"
INGRESS = "http://127.0.0.1:30080/"
REGISTRY = "127.0.0.1:5000"
PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: int = 120):
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(KUBECONFIG), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    return proc


def apply(obj: dict, check: bool = True):
    return kubectl("apply", "-f", "-", stdin=json.dumps(obj), check=check)


def get(kind: str, name: str, ns: str = NS) -> dict:
    return json.loads(kubectl("get", kind, name, "-n", ns, "-o", "json").stdout)


def until(what: str, probe, timeout: float = 90, interval: float = 2):
    """Poll ``probe`` until it returns a truthy value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s; last seen: {last!r}")


def toolbox_pod(name: str, image: str, labels: dict | None = None, volumes=None, mounts=None, port: int = 8080):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {"app": name}},
        "spec": {
            "securityContext": RESTRICTED,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "toolbox",
                    "image": image,
                    "args": ["serve", "-listen", f":{port}", "-data", "/data"],
                    "ports": [{"containerPort": port, "name": "http"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 2},
                    "securityContext": HARDENED,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                    "volumeMounts": mounts or [],
                }
            ],
            "volumes": volumes or [],
        },
    }


def wait_ready(name: str, timeout: int = 120):
    kubectl("wait", "-n", NS, "--for=condition=Ready", f"pod/{name}", f"--timeout={timeout}s", timeout=timeout + 10)


def exec_toolbox(pod: str, *args: str, check: bool = False):
    return kubectl("exec", "-n", NS, pod, "--", "/toolbox", *args, check=check)


@pytest.fixture(scope="module")
def images() -> dict:
    return json.loads((CONFIG / "images.json").read_text())


@pytest.fixture(scope="module")
def toolbox(images) -> str:
    return images["toolbox"]


@pytest.fixture(scope="module")
def namespace():
    """A fresh namespace that enforces Pod Security "restricted"."""
    kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", timeout=180)
    apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NS,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
        }
    )
    until("default service account", lambda: kubectl("get", "sa", "default", "-n", NS, check=False).returncode == 0)
    yield NS


@pytest.fixture(scope="module")
def web(namespace, toolbox):
    """A toolbox server pod behind Service "web" (port 80 -> 8080), Ready by its probe."""
    apply(toolbox_pod("web", toolbox))
    apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]},
        }
    )
    wait_ready("web")
    return "web"


@pytest.fixture(scope="module")
def client(namespace, toolbox):
    apply(toolbox_pod("client", toolbox, port=8081))
    wait_ready("client")
    return "client"


# --- the node -------------------------------------------------------------------------------------
def test_api_server_ready_and_reports_the_built_version():
    assert kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == VERSION
    assert version["clientVersion"]["gitVersion"] == VERSION


def test_node_is_ready_on_the_clusters_own_containerd():
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    node = nodes[0]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True", node["status"]["conditions"]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == VERSION
    assert info["containerRuntimeVersion"].startswith("containerd://1.")
    assert os.path.exists("/run/k8s-containerd/containerd.sock")
    docker_ns = subprocess.run(
        ["docker", "ps", "-q", "--filter", "name=k8s_"], capture_output=True, text=True, check=False
    )
    assert docker_ns.stdout.strip() == "", "cluster containers showed up in Docker"


# --- images ---------------------------------------------------------------------------------------
def test_pod_from_local_image_runs_non_root_and_ready_by_its_probe(web, toolbox):
    pod = get("pod", web)
    assert pod["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    identity = exec_toolbox(web, "id", check=True).stdout
    assert identity.startswith("uid=65532 gid=65532"), identity
    # The probe is real: the same pod probing a port nothing listens on never gets Ready.
    broken = toolbox_pod("web-unready", toolbox)
    broken["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = 9999
    apply(broken)
    try:
        until("web-unready running", lambda: get("pod", "web-unready")["status"].get("phase") == "Running")
        time.sleep(8)
        status = get("pod", "web-unready")["status"]
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "False"
        events = kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.name=web-unready").stdout
        assert "Readiness probe failed" in events, events
    finally:
        kubectl("delete", "pod", "web-unready", "-n", NS, "--wait=false", check=False)


def test_images_are_pulled_from_the_local_registry_by_digest(web, toolbox, images):
    assert toolbox.startswith(f"{REGISTRY}/k8s-cluster/toolbox@sha256:")
    status = get("pod", web)["status"]["containerStatuses"][0]
    digest = toolbox.split("@", 1)[1]
    assert status["imageID"].endswith(digest), status
    listed = subprocess.run([*CTR, "images", "ls", "-q"], capture_output=True, text=True, check=True).stdout.split()
    for name in ("pause", "toolbox", "coredns", "traefik", "metrics-server", "local-path-provisioner"):
        assert images[name] in listed, f"{images[name]} not pulled into containerd's k8s.io namespace"
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/k8s-cluster/toolbox/tags/list", timeout=10) as resp:
        assert json.load(resp)["tags"], "the registry holds no toolbox tag"
    config = (CONFIG / "containerd/config.toml").read_text()
    assert f'sandbox_image = "{images["pause"]}"' in config


# --- Pod Security ---------------------------------------------------------------------------------
def test_privileged_pod_rejected_by_pod_security_in_restricted_namespace(namespace, toolbox):
    pod = toolbox_pod("privileged", toolbox)
    pod["spec"]["securityContext"] = {}
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    result = apply(pod, check=False)
    assert result.returncode != 0, "a privileged pod was admitted into a restricted namespace"
    assert 'violates PodSecurity "restricted:latest"' in result.stderr, result.stderr
    assert "privileged" in result.stderr
    assert kubectl("get", "pod", "privileged", "-n", NS, check=False).returncode != 0


# --- DNS and Services -----------------------------------------------------------------------------
def test_service_name_resolves_through_coredns_and_answers(web, client):
    cluster_ip = get("service", "web")["spec"]["clusterIP"]
    resolv = exec_toolbox(client, "cat", "/etc/resolv.conf", check=True).stdout
    dns_ip = get("service", "kube-dns", "kube-system")["spec"]["clusterIP"]
    assert f"nameserver {dns_ip}" in resolv, resolv
    name = f"web.{NS}.svc.cluster.local"
    looked_up = exec_toolbox(client, "lookup", name, check=True).stdout.split()
    assert looked_up == [cluster_ip]
    assert exec_toolbox(client, "lookup", f"missing.{NS}.svc.cluster.local").returncode != 0
    answer = exec_toolbox(client, "get", f"http://{name}/", check=True).stdout
    assert answer.startswith("200\nhello from web"), answer


# --- NetworkPolicy --------------------------------------------------------------------------------
def test_default_deny_network_policy_blocks_a_connection_that_works_without_it(web, client):
    url = f"http://web.{NS}.svc.cluster.local/"

    def reach():
        return exec_toolbox(client, "get", "-timeout", "2s", url).returncode

    until("web reachable before the policy", lambda: reach() == 0, timeout=30)
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-ingress", "namespace": NS},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    apply(deny)
    try:
        until("web blocked by the default-deny policy", lambda: reach() == 2, timeout=60)
        assert reach() == 2
        # kubelet probes from the node still pass under the policy.
        time.sleep(4)
        assert {c["type"]: c["status"] for c in get("pod", web)["status"]["conditions"]}["Ready"] == "True"
    finally:
        kubectl("delete", "networkpolicy", "default-deny-ingress", "-n", NS, check=False)
    until("web reachable again after deleting the policy", lambda: reach() == 0, timeout=60)


# --- Storage --------------------------------------------------------------------------------------
def test_pvc_binds_and_its_data_survives_deleting_the_pod(namespace, toolbox):
    apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
        }
    )
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    mounts = [{"name": "data", "mountPath": "/data"}]
    token = secrets.token_hex(8)
    apply(toolbox_pod("writer", toolbox, volumes=volumes, mounts=mounts))
    wait_ready("writer", timeout=180)
    pvc = get("pvc", "data")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "local-path"
    exec_toolbox("writer", "write", "/data/proof", token, check=True)
    kubectl("delete", "pod", "writer", "-n", NS, "--wait=true", timeout=120)
    apply(toolbox_pod("reader", toolbox, volumes=volumes, mounts=mounts))
    wait_ready("reader", timeout=180)
    assert exec_toolbox("reader", "cat", "/data/proof", check=True).stdout == token
    pv = get("pv", pvc["spec"]["volumeName"], ns="")
    host_path = pv["spec"].get("hostPath", pv["spec"].get("local", {})).get("path", "")
    assert host_path.startswith("/var/lib/k8s-cluster/local-path/"), pv["spec"]
    assert (Path(host_path) / "proof").read_text() == token


# --- Ingress --------------------------------------------------------------------------------------
def _ingress_get(host: str) -> tuple[int, str]:
    req = urllib.request.Request(INGRESS, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


def test_ingress_routes_a_host_header_to_a_service(web):
    apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {
                "ingressClassName": "traefik",
                "rules": [
                    {
                        "host": "web.example.test",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
    )
    _status, body = until(
        "the Ingress routes web.example.test", lambda: (s := _ingress_get("web.example.test"))[0] == 200 and s
    )
    assert body.startswith("hello from web (host web.example.test)"), body
    assert _ingress_get("other.example.test")[0] == 404


# --- metrics --------------------------------------------------------------------------------------
def test_metrics_api_answers_with_node_and_pod_usage(web):
    def node_metrics():
        proc = kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", check=False)
        items = json.loads(proc.stdout).get("items", []) if proc.returncode == 0 else []
        return items

    nodes = until("node metrics", node_metrics, timeout=150, interval=5)
    assert nodes[0]["usage"]["cpu"] and nodes[0]["usage"]["memory"]

    def pod_metrics():
        proc = kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods/{web}", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    pod = until("pod metrics of web", pod_metrics, timeout=150, interval=5)
    assert pod["containers"][0]["usage"]["memory"]


# --- encryption at rest ---------------------------------------------------------------------------
def _etcd_value(key: str) -> bytes:
    etcdctl = next(Path("/opt/k8s-cluster/etcd").glob("v*/etcdctl"))
    proc = subprocess.run(
        [
            str(etcdctl),
            "--endpoints=https://127.0.0.1:2379",
            f"--cacert={PKI}/etcd-ca.crt",
            f"--cert={PKI}/etcd-admin-client.crt",
            f"--key={PKI}/etcd-admin-client.key",
            "get",
            key,
            "--print-value-only",
        ],
        capture_output=True,
        check=True,
    )
    return proc.stdout


def test_secret_is_not_plaintext_in_etcd(namespace):
    token = f"gt-plaintext-{secrets.token_hex(12)}"
    kubectl("create", "secret", "generic", "at-rest", "-n", NS, f"--from-literal=value={token}")
    kubectl("create", "configmap", "at-rest", "-n", NS, f"--from-literal=value={token}")
    secret_raw = _etcd_value(f"/registry/secrets/{NS}/at-rest")
    configmap_raw = _etcd_value(f"/registry/configmaps/{NS}/at-rest")
    # Control: the same value in a ConfigMap (not encrypted) is readable in etcd.
    assert token.encode() in configmap_raw
    assert secret_raw.startswith(b"k8s:enc:secretbox:v1:"), secret_raw[:40]
    assert token.encode() not in secret_raw
    # The API still returns the value decrypted.
    data = get("secret", "at-rest")["data"]["value"]
    assert __import__("base64").b64decode(data).decode() == token


def test_private_keys_and_encryption_key_are_private():
    for path in [*PKI.glob("*.key"), CONFIG / "encryption-config.yaml", *(CONFIG / "kubeconfigs").glob("*.conf")]:
        mode = path.stat().st_mode & 0o777
        assert mode == 0o600, f"{path} has mode {oct(mode)}"
    assert (PKI.stat().st_mode & 0o077) == 0


# --- the role itself ------------------------------------------------------------------------------
def test_check_mode_is_a_dry_run_on_the_running_cluster():
    """--check --diff on the converged host changes nothing and reports nothing to change."""
    proc = _converge("--check", "--diff")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "changed=0" in output, output[-4000:]


def _converge(*extra: str) -> subprocess.CompletedProcess:
    inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(PROJECT / "playbooks/k8s_cluster.yml"), *extra],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg")},
        timeout=900,
        check=False,
    )


def test_a_kubelet_that_cannot_start_fails_the_role_with_its_log_lines():
    """Last: breaks the kubelet (systemd cgroup driver on a host without systemd), then converges it back."""
    broken = _converge(
        "-e",
        json.dumps({"k8s_cluster_kubelet_extra_config": {"cgroupDriver": "systemd"}, "k8s_cluster_ready_timeout": 30}),
    )
    output = broken.stdout + broken.stderr
    try:
        assert broken.returncode != 0, output[-3000:]
        assert "kubelet not ready after" in output, output[-3000:]
        assert "kubelet (/var/log/k8s-cluster/kubelet.log), last errors and lines" in output
        assert "Failed to start ContainerManager" in output, output[-3000:]
    finally:
        restored = _converge()
        assert restored.returncode == 0, (restored.stdout + restored.stderr)[-3000:]
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"] == "True"
