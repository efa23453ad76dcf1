"""The render-only (GitOps) path on the local cluster (issue 17), in namespaces of its own.

* gt-gitops-role: the k8s role renders and applies (as deploy.yml does);
* gt-gitops-kube: the role renders only (k8s_apply: false), ``kubectl apply --server-side -k`` applies
  the tree and playbooks/k8s_secrets.yml creates the Secret from the inventory's values.

Both get the same live objects; applying the tree over the running deployment never touches the
Secret (every pod restarted comes back Ready, the app works); a hand edit is reported as drift per
object and put back by the role. Both namespaces are deleted at the end (and before, if left over).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

import conftest
from conftest import http, kubectl, role, until

testinfra_hosts = ["ansible://localhost"]

ROLE_NS, KUBE_NS = "gt-gitops-role", "gt-gitops-kube"
# Kinds the tree holds (and the Secret); what `kubectl get` compares in both namespaces.
KINDS = (
    "resourcequota,limitrange,serviceaccount,configmap,secret,networkpolicy,service,statefulset,"
    "persistentvolumeclaim,deployment,horizontalpodautoscaler,poddisruptionbudget,ingress"
)
OURS = "app.kubernetes.io/part-of=goaltrajectory"
# Metadata the API server and controllers write: not part of what either path applies.
GENERATED_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")
GENERATED_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
)
# Values the cluster allocates per object (Service IPs, the bound volume).
ALLOCATED = {"Service": ("clusterIP", "clusterIPs"), "PersistentVolumeClaim": ("volumeName",)}
# Test values for every Secret key, new per run: greppable in output, temp files and the tree.
SECRETS = {
    key: f"gitops-{key.lower()}-{uuid.uuid4().hex}"
    for key in ("POSTGRES_PASSWORD", "SUPABASE_SERVICE_ROLE_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY")
}


def settings(namespace: str, out: Path, **extra) -> str:
    return json.dumps(
        {
            "k8s_namespace": namespace,
            "k8s_ingress_host": f"{namespace}.localhost",
            "k8s_ingress_url": f"http://{namespace}.localhost:30080",
            "k8s_output_dir": str(out),
            "k8s_secrets": SECRETS,
            **extra,
        }
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout


def flat(text: str) -> str:
    """The output with the YAML callback's line wrapping undone."""
    return " ".join(text.split())


def delete_namespaces() -> None:
    kubectl("delete", "namespace", ROLE_NS, KUBE_NS, "--ignore-not-found", "--wait=true", timeout=600)


def secret_data(namespace: str) -> dict:
    return json.loads(kubectl("get", "secret", "app-secrets", "-n", namespace, "-o", "json").stdout)["data"]


def wait_ready(namespace: str, timeout: int = 420) -> None:
    for kind in ("statefulset", "deployment"):
        for name in kubectl("get", kind, "-n", namespace, "-o", "name").stdout.split():
            kubectl("rollout", "status", name, "-n", namespace, f"--timeout={timeout}s", timeout=timeout + 30)


def live_objects(namespace: str) -> dict:
    """Our objects in a namespace, without generated metadata and allocated values, the namespace's
    name (which is also in the ingress host) replaced by NS."""
    items = json.loads(kubectl("get", KINDS, "-n", namespace, "-l", OURS, "-o", "json").stdout)["items"]
    items.append(json.loads(kubectl("get", "namespace", namespace, "-o", "json").stdout))
    out = {}
    for obj in items:
        meta = obj["metadata"]
        for key in GENERATED_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations") or {}
        for key in GENERATED_ANNOTATIONS:
            annotations.pop(key, None)
        if not annotations:
            meta.pop("annotations", None)
        obj.pop("status", None)
        for key in ALLOCATED.get(obj["kind"], ()):
            obj["spec"].pop(key, None)
        obj = json.loads(json.dumps(obj).replace(namespace, "NS"))
        out[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
    return out


def app_works(namespace: str, monkeypatch) -> None:
    """Through the ingress and the Services: every secret configured, a goal written and read back."""
    monkeypatch.setattr(conftest, "HOST", f"{namespace}.localhost")

    def status():
        code, body = http("GET", "/api/config/status")
        return body if code == 200 else None

    config = until(f"{namespace}: /api/config/status through the ingress", status, timeout=240)
    assert all(config["secrets_configured"].values()), config
    title = f"GitOps goal {uuid.uuid4().hex[:8]}"
    status, created = http("POST", "/api/goals", {"title": title, "description": "through the tree"})
    assert status == 201, created
    status, fetched = http("GET", f"/api/goals/{created['id']}")
    assert status == 200 and fetched["title"] == title, fetched


@pytest.fixture(scope="module", autouse=True)
def yaml_results():
    """The reports are read as the project's ansible.cfg prints them (molecule's own config prints JSON)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.builtin.default")
        mp.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", "yaml")
        yield


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    delete_namespaces()
    yield tmp_path_factory.mktemp("gitops")
    delete_namespaces()


@pytest.fixture(scope="module")
def deployed(work):
    """gt-gitops-role, deployed by the role; its tree."""
    ok(role("-e", settings(ROLE_NS, work / "role")))
    return work / "role" / "dev" / "k8s"


@pytest.fixture(scope="module")
def kube_tree(work):
    """gt-gitops-kube's tree, rendered only (nothing applied by the role)."""
    out = ok(role("-e", settings(KUBE_NS, work / "kube", k8s_apply=False)))
    assert "Drift not checked" not in out, out[-3000:]
    return work / "kube" / "dev" / "k8s"


def test_the_tree_is_kustomize_ready_in_the_roles_order_without_a_secret(kube_tree):
    kustomization = yaml.safe_load((kube_tree / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    on_disk = sorted(str(p.relative_to(kube_tree)) for p in kube_tree.rglob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(resources) == on_disk and len(resources) == 28
    assert resources[:3] == ["base/namespace.yaml", "base/resourcequota.yaml", "base/limitrange.yaml"]
    assert kustomization["sortOptions"] == {"order": "fifo"}
    built = [d for d in yaml.safe_load_all(kubectl("kustomize", str(kube_tree)).stdout) if d]
    in_order = [yaml.safe_load((kube_tree / f).read_text()) for f in resources]
    assert [(d["kind"], d["metadata"]["name"]) for d in built] == [(d["kind"], d["metadata"]["name"]) for d in in_order]
    assert "Secret" not in {d["kind"] for d in built}
    text = "\n".join(p.read_text() for p in kube_tree.rglob("*.yaml"))
    for value in SECRETS.values():
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


def test_kubectl_apply_k_gives_the_objects_the_role_applies(deployed, kube_tree, monkeypatch):
    applied = kubectl("apply", "--server-side", "-k", str(kube_tree))
    assert applied.stdout.count("serverside-applied") == 28, applied.stdout
    created = ok(role("-e", settings(KUBE_NS, kube_tree.parents[1]), playbook="playbooks/k8s_secrets.yml"))
    assert re.search(r"app-secrets: create", created), created[-2000:]
    by_role, by_kubectl = live_objects(ROLE_NS), live_objects(KUBE_NS)
    assert len(by_role) == 30, sorted(by_role)  # 28 in the tree, the Secret, the Namespace
    assert sorted(by_role) == sorted(by_kubectl)
    differ = [key for key in by_role if by_role[key] != by_kubectl[key]]
    assert not differ, {k: (by_role[k], by_kubectl[k]) for k in differ}
    # The kubectl path alone gives a working app (the pods waited for the Secret).
    wait_ready(KUBE_NS)
    app_works(KUBE_NS, monkeypatch)
    kubectl("delete", "namespace", KUBE_NS, "--wait=false")  # its CPU back for the tests below


def test_secrets_playbook_keeps_the_values_off_disk_and_out_of_the_output(deployed, work, monkeypatch):
    tmp = work / "ansible-tmp"
    monkeypatch.setenv("ANSIBLE_REMOTE_TMP", str(tmp / "remote"))
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp / "local"))
    # -vvv names every module file Ansible writes before running it. The control: a plain module on
    # the same hosts, with the same settings, is written (PUT ... AnsiballZ_stat.py).
    control = work / "control.yml"
    control.write_text("- hosts: clusters\n  gather_facts: false\n  tasks:\n    - ansible.builtin.stat: {path: /}\n")
    control_run = role("-vvv", playbook=str(control))
    control_out = ok(control_run) + control_run.stderr
    assert re.search(r"PUT .* TO .*/AnsiballZ_stat\.py", control_out), control_out[-3000:]
    for extra in (["--check", "--diff"], []):
        result = role("-vvv", *extra, "-e", settings(ROLE_NS, work / "role"), playbook="playbooks/k8s_secrets.yml")
        out = ok(result) + result.stderr
        assert "app-secrets: unchanged" in out, out[-3000:]
        # The module that gets the values is not written (pipelined: its arguments go through stdin only).
        # (ANSIBLE_KEEP_REMOTE_FILES would turn pipelining off, so the files are not kept and searched.)
        assert re.search(r"EXEC .*python", out), out[-3000:]
        assert "AnsiballZ_k8s_tree_apply.py" not in out
        files = [p for p in tmp.rglob("*") if p.is_file()]
        for value in SECRETS.values():
            for form in (value, base64.b64encode(value.encode()).decode()):
                assert form not in out
                assert not [str(p) for p in files if form.encode() in p.read_bytes()]


def test_applying_the_tree_over_the_running_app_never_touches_the_secret(deployed, monkeypatch):
    before = secret_data(ROLE_NS)
    assert {k: base64.b64decode(v).decode() for k, v in before.items()} == SECRETS
    # The role's own field manager: no conflict, nothing to take over.
    same = kubectl("apply", "--server-side", "--field-manager=goaltrajectory-platform", "-k", str(deployed))
    assert same.stdout.count("serverside-applied") == 28
    # Another manager (a GitOps controller) takes the fields over, as Flux does and Argo CD's SSA does.
    other = kubectl("apply", "--server-side", "--field-manager=gitops-test", "--force-conflicts", "-k", str(deployed))
    assert other.stdout.count("serverside-applied") == 28
    assert secret_data(ROLE_NS) == before
    kubectl("rollout", "restart", "deployment", "-n", ROLE_NS)
    kubectl("rollout", "restart", "statefulset", "-n", ROLE_NS)
    wait_ready(ROLE_NS)
    assert secret_data(ROLE_NS) == before
    app_works(ROLE_NS, monkeypatch)
    # The role takes its fields back; values were the tree's, so the objects say ownership only.
    taken_back = flat(ok(role("-e", settings(ROLE_NS, deployed.parents[1]))))
    assert (
        "Put back (drifted from the unchanged tree): Service/postgres-service (field ownership only: "
        "the values were the tree''s), StatefulSet/postgres (field ownership only" in taken_back
    ), taken_back[-3000:]
    assert secret_data(ROLE_NS) == before


def test_a_hand_edit_is_reported_as_drift_per_object_and_put_back(deployed):
    kubectl("patch", "configmap", "app-config", "-n", ROLE_NS, "--type=merge", "-p", '{"data":{"LOG_LEVEL":"DEBUG"}}')
    kubectl("patch", "hpa", "backend", "-n", ROLE_NS, "--type=merge", "-p", '{"spec":{"maxReplicas":2}}')
    managers = json.loads(kubectl("get", "configmap", "app-config", "-n", ROLE_NS, "-o", "json",
                                  "--show-managed-fields").stdout)["metadata"]["managedFields"]  # fmt: skip
    assert any(m["manager"] == "kubectl-patch" and "f:LOG_LEVEL" in json.dumps(m) for m in managers)

    render_only = settings(ROLE_NS, deployed.parents[1], k8s_apply=False)
    report = ok(role("-e", render_only))
    print(report[report.index("Report drift per object") :][:6000])
    assert "'ConfigMap/app-config: drifted'" in report
    assert "-  LOG_LEVEL: DEBUG" in report and "+  LOG_LEVEL: INFO" in report
    assert "'HorizontalPodAutoscaler/backend: drifted'" in report
    assert "-  maxReplicas: 2" in report and "+  maxReplicas: 3" in report
    assert "'Deployment/backend: in sync'" in report
    assert "'Secret/app-secrets (not in the tree: from the vault): in sync'" in report
    assert "29 objects of" in flat(report) and "27 in sync, 2 drifted." in flat(report)

    failing = role("-e", settings(ROLE_NS, deployed.parents[1], k8s_apply=False, k8s_fail_on_drift=True))
    failed = flat(failing.stdout + failing.stderr)  # where a failure is printed depends on the callback's settings
    assert failing.returncode != 0
    assert "differs from" in failed
    assert "ConfigMap/app-config, HorizontalPodAutoscaler/backend. Apply the tree" in failed

    applied = flat(ok(role("-e", settings(ROLE_NS, deployed.parents[1]))))
    assert (
        "Put back (drifted from the unchanged tree): ConfigMap/app-config, HorizontalPodAutoscaler/backend'" in applied
    ), applied[-3000:]
    config = json.loads(kubectl("get", "configmap", "app-config", "-n", ROLE_NS, "-o", "json",
                                "--show-managed-fields").stdout)  # fmt: skip
    assert config["data"]["LOG_LEVEL"] == "INFO"
    owners = [m["manager"] for m in config["metadata"]["managedFields"] if "f:LOG_LEVEL" in json.dumps(m)]
    assert owners == ["goaltrajectory-platform"], owners
    clean = flat(ok(role("-e", settings(ROLE_NS, deployed.parents[1], k8s_apply=False, k8s_fail_on_drift=True))))
    assert "29 in sync. The cluster matches the tree." in clean
