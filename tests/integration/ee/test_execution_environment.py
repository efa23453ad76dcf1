"""The execution environment, built offline and run the way AWX runs it (issue 13, point 4).

`make ee` builds goaltrajectory-ee from the golden Python base with ansible-builder, no registry
pull. ansible-navigator then runs deploy.yml in it from a project checkout holding only what git
tracks (what an AWX project sync gives: no .venv, no .collections link), so every role and module
comes from the collection installed in the image:

- the prod tree is rendered and validated (render-only, the test vault passed explicitly);
- deploy.yml deploys the app to the local cluster, in a namespace of its own, with the cluster's
  kubeconfig mounted into the container as AWX mounts a kubeconfig credential, and verifies every
  image signature first with the EE's cosign: the host first runs `deploy.yml -i inventories/local
  --limit k8s_cluster_nodes` with signing on (registry, images pushed and signed by digest,
  cluster up), untimed;
- an unsigned image in the release is refused, named, before anything changes in the cluster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from ..conftest import release_digests
from ..images.test_signing import _push_image

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
TAG = "goaltrajectory-ee:{}".format(yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"])
GOLDEN = "gt-golden/python:3.11-bookworm"
VAULT = "molecule/k8s/vault-pass.txt"
KUBECONFIG = Path("/etc/k8s-cluster/kubeconfigs/admin.conf")
NAMESPACE = "goaltrajectory-ee"
RELEASE = release_digests("c")
DIGESTS = RELEASE["k8s_images"]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# ansible-runner's event markers (ESC[K, base64 and cursor moves) around each line of stdout.
MARKERS = re.compile(r"\x1b\[K[A-Za-z0-9+/=]*\x1b\[\d+D|\x1b\[K")

ENV = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "ANSIBLE_FORCE_COLOR": "0"}


def run(argv, cwd=ROOT, timeout=3600, **kwargs):
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=kwargs.pop("env", ENV), capture_output=True,
                          text=True, timeout=timeout, check=False, **kwargs)  # fmt: skip


def in_ee(script):
    return run(["docker", "run", "--rm", TAG, "bash", "-c", script], timeout=120)


@pytest.fixture(scope="module")
def ee():
    """`make ee`: kubectl and cosign provided, then the image built; its result file."""
    result = run(["make", "--no-print-directory", "ee"])
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    print(result.stdout[-3000:])
    return json.loads((ROOT / "build" / "ee" / "result.json").read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """What an AWX project sync checks out: the files git tracks, nothing built or linked."""
    dest = tmp_path_factory.mktemp("awx-project")
    files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    assert not (dest / ".collections").exists() and not (dest / ".venv").exists()
    return dest


def navigator(project, *args, volumes=()):
    argv = [BIN / "ansible-navigator", "run", "deploy.yml", "--mode", "stdout", "--ee", "true",
            "--eei", TAG, "--pull-policy", "never", "--ce", "docker", "--pae", "false",
            "--lf", project / "navigator.log", "--co=--network=host"]  # fmt: skip
    for volume in volumes:
        argv += ["--eev", volume]
    result = run([*argv, *args], cwd=project, timeout=1800)
    return result.returncode, MARKERS.sub("", result.stdout + result.stderr)


def recap(output):
    return {host: dict(zip(("ok", "changed", "unreachable", "failed"), map(int, counts), strict=True))
            for host, *counts in RECAP.findall(output)}  # fmt: skip


def test_build_refuses_a_missing_binary_before_touching_anything(tmp_path):
    missing = tmp_path / "cosign"
    result = run([sys.executable, ROOT / "ee" / "build.py", "--cosign", missing], timeout=60)
    assert result.returncode != 0
    assert f"--cosign {missing}: no executable there" in result.stderr


def test_image_is_built_on_the_golden_python_base(ee):
    image = json.loads(run(["docker", "image", "inspect", TAG]).stdout)[0]
    golden = json.loads(run(["docker", "image", "inspect", GOLDEN]).stdout)[0]
    assert image["Id"] == ee["id"]
    base_layers = golden["RootFS"]["Layers"]
    assert image["RootFS"]["Layers"][: len(base_layers)] == base_layers, "not built FROM the golden Python base"
    assert image["Config"]["User"] == "1000"
    assert image["Config"]["Labels"].get("ansible-execution-environment") == "true"
    assert not any(var.startswith(("PIP_FIND_LINKS", "PIP_NO_INDEX")) for var in image["Config"]["Env"])


def test_image_carries_the_collection_and_what_its_roles_need(ee):
    listed = in_ee("ansible-galaxy collection list --format json 2>/dev/null")
    assert listed.returncode == 0, listed.stderr
    versions = {name: info["version"] for path in json.loads(listed.stdout).values() for name, info in path.items()}
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert versions.get("goaltrajectory.platform") == galaxy["version"]
    for dependency in galaxy["dependencies"]:
        assert dependency in versions, f"{dependency} (galaxy.yml) is not installed in the EE"
    tools = in_ee(
        "set -e; ansible --version | head -1; docker --version; docker compose version; "
        "kubectl version --client; cosign version 2>&1 | grep GitVersion; "
        "python3.11 -c 'import kubernetes, docker, kubernetes_validate; print(kubernetes.__version__)'"
    )
    assert tools.returncode == 0, tools.stdout + tools.stderr
    for needle in ("ansible [core 2.19", "Docker version 20.10", "Docker Compose version v2", "Client Version: v1.",
                   "GitVersion:    v2.6", "37.0.2"):  # fmt: skip
        assert needle in tools.stdout, f"{needle!r} not in:\n{tools.stdout}"


def test_navigator_renders_and_validates_prod_with_the_installed_collection(ee, project):
    digests = yaml.safe_dump(RELEASE, default_flow_style=True).strip()
    args = ["-i", "inventories/prod", "-e", "k8s_apply=false", "-e", digests]
    rc, output = navigator(project, *args)
    assert rc != 0, "the prod secrets must not decrypt without a vault password"
    rc, output = navigator(project, *args, "--vault-id", f"test@{VAULT}")
    assert rc == 0, output[-5000:]
    assert recap(output)["goaltrajectory-prod"]["failed"] == 0
    assert "/usr/share/ansible/collections/ansible_collections/goaltrajectory/platform/roles/k8s" in output
    files = sorted((project / "build" / "rendered" / "prod" / "k8s").rglob("*.yaml"))
    assert len(files) == 29
    backend = yaml.safe_load((project / "build/rendered/prod/k8s/backend/deployment.yaml").read_text())
    assert backend["spec"]["template"]["spec"]["containers"][0]["image"] == DIGESTS["backend"]


@pytest.fixture(scope="module")
def local_release(project, tmp_path_factory):
    """Registry, images pushed and signed by digest, the cluster up, on the host (inventories/local)."""
    work = tmp_path_factory.mktemp("local-release")
    signing = work / "signing.json"
    signing.write_text(json.dumps({"images_sign": True, "images_sign_key_dir": str(work / "keys"),
                                   "images_sign_password": "test-only-" + uuid.uuid4().hex}))  # fmt: skip
    signing.chmod(0o600)
    was_running = run(["pgrep", "-x", "kube-apiserver"]).returncode == 0
    host = run([BIN / "ansible-playbook", "deploy.yml", "-i", "inventories/local", "--limit", "k8s_cluster_nodes",
                "-e", f"@{signing}"])  # fmt: skip
    assert host.returncode == 0, host.stdout[-5000:] + host.stderr[-2000:]
    results = ROOT / "build" / "images" / "local"
    (project / "build" / "images" / "local").mkdir(parents=True, exist_ok=True)
    for name in ("dev.json", "cosign.pub"):
        shutil.copy2(results / name, project / "build" / "images" / "local" / name)
    yield json.loads((results / "dev.json").read_text())
    run(["kubectl", "--kubeconfig", KUBECONFIG, "delete", "namespace", NAMESPACE, "--wait=true", "--timeout=300s"])
    if not was_running:
        run([BIN / "ansible-playbook", "playbooks/k8s_cluster.yml", "-i", "inventories/local",
             "-e", "k8s_cluster_state=absent"])  # fmt: skip


@pytest.fixture(scope="module")
def credential(tmp_path_factory):
    """As AWX injects a kubeconfig credential: one self-contained file (certificates inline, the
    cluster's admin.conf names files on the host), mounted into the container."""
    directory = tmp_path_factory.mktemp("kubeconfig")
    flat = run(["kubectl", "--kubeconfig", KUBECONFIG, "config", "view", "--raw", "--flatten"])
    assert flat.returncode == 0, flat.stderr
    (directory / "config").write_text(flat.stdout)
    (directory / "config").chmod(0o600)
    return f"{directory}:/runner/kubeconfig"


def deploy_local(project, credential):
    """deploy.yml on the local cluster from the EE, every image signature verified with its cosign."""
    return navigator(
        project, "-i", "inventories/local", "--limit", "clusters",
        "-e", "k8s_kubeconfig=/runner/kubeconfig/config", "-e", f"k8s_namespace={NAMESPACE}",
        "-e", "k8s_ingress_host=ee.goaltrajectory.localhost", "-e", "k8s_ingress_url=http://ee.goaltrajectory.localhost:30080",
        # The app into a namespace of its own: the cluster's one monitoring stack (watching the local
        # inventory's namespace) stays as the host's deploy left it.
        "-e", "monitoring_enabled=false",
        "-e", json.dumps({"k8s_verify_signatures": True, "k8s_cosign": "/usr/local/bin/cosign",
                          "k8s_verify_insecure_registries": ["127.0.0.1:5000"]}),
        volumes=[credential],
    )  # fmt: skip


def workloads():
    kubectl = ["kubectl", "--kubeconfig", KUBECONFIG, "-n", NAMESPACE, "get", "deployments,statefulsets", "-o", "json"]
    items = json.loads(run(kubectl).stdout)["items"]
    return {i["metadata"]["name"]: (i["metadata"]["generation"], i["spec"]["template"]["spec"]["containers"])
            for i in items}  # fmt: skip


def test_navigator_deploys_a_signed_release_to_the_local_cluster(ee, project, local_release, credential):
    rc, output = deploy_local(project, credential)
    assert rc == 0, output[-6000:]
    assert recap(output)["goaltrajectory-local"]["failed"] == 0
    assert "Verify the signature of every image digest" in output
    kubectl = ["kubectl", "--kubeconfig", KUBECONFIG, "-n", NAMESPACE]
    pods = json.loads(run([*kubectl, "get", "pods", "-o", "json"]).stdout)["items"]
    images = {}
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
        if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
            continue
        assert ready == "True", f"{pod['metadata']['name']} is not ready"
        for container in pod["spec"]["containers"]:
            images[pod["metadata"]["labels"]["app.kubernetes.io/name"]] = container["image"]
    # The app's images (the release also holds the monitoring stack's, which this run leaves alone).
    app = {name: built for name, built in local_release["images"].items() if built["service"] != "monitoring"}
    assert len(app) == 4, sorted(local_release["images"])
    for name, built in app.items():
        assert images.get(name) == built["digest_ref"], f"{name}: {images.get(name)} is not {built['digest_ref']}"
    # The second run from the EE changes nothing.
    rc, output = deploy_local(project, credential)
    assert rc == 0, output[-6000:]
    assert recap(output)["goaltrajectory-local"]["changed"] == 0, output[-6000:]


def test_navigator_refuses_an_unsigned_image_before_changing_anything(ee, project, local_release, credential):
    unsigned = _push_image(f"unsigned {uuid.uuid4()}\n")
    results = project / "build" / "images" / "local" / "dev.json"
    signed = results.read_text()
    release = json.loads(signed)
    release["refs"]["backend"] = release["images"]["backend"]["digest_ref"] = unsigned
    results.write_text(json.dumps(release))
    before = workloads()
    try:
        rc, output = deploy_local(project, credential)
    finally:
        results.write_text(signed)
    assert rc != 0, output[-6000:]
    assert unsigned in output, output[-6000:]
    assert recap(output)["goaltrajectory-local"]["changed"] == 0, output[-6000:]
    assert workloads() == before
