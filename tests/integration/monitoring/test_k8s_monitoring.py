"""The monitoring stack for a cluster rendered as a GitOps tree (staging, render-only): no cluster.

The stack running in the local cluster (targets, rules, restrictions, the fault drill) is tested
where it is deployed: molecule/k8s_apply/tests/test_monitoring.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
import uuid
from pathlib import Path

import kubernetes_validate
import yaml

from ..conftest import ROOT

VARS = yaml.safe_load((ROOT / "inventories/local/group_vars/clusters/monitoring.yml").read_text())
STAGING = yaml.safe_load((ROOT / "inventories/staging/group_vars/clusters/main.yml").read_text())
REGISTRY = VARS["monitoring_k8s_registry"]
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
COSIGN = DEFAULTS["monitoring_sign_cosign"]  # where the images role builds it


def test_staging_renders_the_stack_as_a_gitops_tree_of_signed_images(run_playbook, tmp_path):
    """Render-only (monitoring_k8s_apply: false) for staging, signing on: the images go to the local
    registry, signed with an SBOM attestation, the objects into a tree with a kustomization; no
    cluster is touched, a second run and a check run change nothing, every object is valid for
    staging's Kubernetes version and every image verifies with the public key."""
    # The local registry the images are pushed to (a no-op where an earlier suite started it).
    registry = run_playbook("playbooks/registry.yml", "-i", "inventories/local")
    assert registry.returncode == 0, registry.stdout[-4000:]
    tools = run_playbook(Path(__file__).parent / "cosign.yml", timeout=1800)
    assert tools.returncode == 0, tools.stdout[-4000:]
    keys, password = tmp_path / "keys", f"test-only-{uuid.uuid4().hex}"
    keys.mkdir(mode=0o700)
    subprocess.run(
        [COSIGN, "generate-key-pair"], cwd=keys, env={**os.environ, "COSIGN_PASSWORD": password}, check=True,
        capture_output=True,
    )  # fmt: skip
    args = [
        "-i", "inventories/staging", "--vault-id", f"test@{ROOT / 'molecule/k8s/vault-pass.txt'}",
        "-e", json.dumps({
            "monitoring_k8s_registry": REGISTRY,
            "monitoring_k8s_apply": False,
            "monitoring_k8s_apiserver_endpoints": [{"ip": "10.20.0.1", "port": 6443}],
            "monitoring_output_dir": str(tmp_path / "out"),
            # Any cluster this run reached would fail it: there is none behind this file.
            "monitoring_k8s_kubeconfig": str(tmp_path / "no-kubeconfig"),
            "monitoring_k8s_sign": True,
            "monitoring_sign_key_dir": str(keys),
            "monitoring_sign_password": password,
            "monitoring_sign_cosign": COSIGN,
        }),
    ]  # fmt: skip
    first = run_playbook("playbooks/monitoring.yml", *args, timeout=1800)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    assert password not in first.stdout + first.stderr
    tree = tmp_path / "out/staging/monitoring-k8s"
    kustomization = yaml.safe_load((tree / "kustomization.yaml").read_text())
    objs = [yaml.safe_load((tree / name).read_text()) for name in kustomization["resources"]]
    assert sorted(p.name for p in tree.iterdir()) == sorted([*kustomization["resources"], "kustomization.yaml"])
    kinds = {o["kind"] for o in objs}
    assert {"Namespace", "ServiceAccount", "ClusterRole", "Role", "NetworkPolicy", "PersistentVolumeClaim"} <= kinds
    assert {"ConfigMap", "Service", "Deployment"} <= kinds
    assert "Secret" not in kinds
    assert "Secret postgres-exporter" in (tree / "kustomization.yaml").read_text()
    version = STAGING["k8s_kubernetes_version"]
    for obj in objs:
        kubernetes_validate.validate(obj, version, strict=True)
    assert (
        objs[0] == {**objs[0], "kind": "Namespace"}
        and objs[0]["metadata"]["name"] == "goaltrajectory-staging-monitoring"
    )
    # Every image by digest, and the registry holds that very manifest.
    images = [
        c["image"]
        for o in objs
        if o["kind"] in ("Deployment", "StatefulSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    ]
    assert images and all(i.startswith(f"{REGISTRY}/") and "@sha256:" in i for i in images), images
    for image in images:
        repo, digest = image[len(REGISTRY) + 1 :].split("@")
        request = urllib.request.Request(
            f"http://{REGISTRY}/v2/{repo}/manifests/{digest}",
            method="HEAD",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and answer.headers["Docker-Content-Digest"] == digest
    # Signed by digest, each with its SBOM of Go modules attested.
    verify = {"cosign": COSIGN, "public_key": str(keys / "cosign.pub"), "attestation": True,
              "refs": {str(i): image for i, image in enumerate(sorted(set(images)))}}  # fmt: skip
    verified = run_playbook(ROOT / "tests/integration/images/verify.yml", "-e", json.dumps(verify))
    assert verified.returncode == 0, verified.stdout[-4000:]
    sboms = sorted((tmp_path / "out/staging/monitoring-sbom").glob("*.cdx.json"))
    assert len(sboms) == len(set(images))
    assert all(any(c["name"] == "stdlib" for c in json.loads(p.read_text())["components"]) for p in sboms)
    # The NetworkPolicies open the API server's given endpoint, not the local cluster's.
    policies = json.dumps([o for o in objs if o["kind"] == "NetworkPolicy"])
    assert "10.20.0.1/32" in policies
    built = subprocess.run(["kubectl", "kustomize", str(tree)], capture_output=True, text=True, check=True)
    assert len(list(yaml.safe_load_all(built.stdout))) == len(objs)
    for mode in ([], ["--check", "--diff"]):
        again = run_playbook("playbooks/monitoring.yml", *args, *mode, timeout=600)
        assert again.returncode == 0, again.stdout[-4000:]
        recap = re.findall(r"changed=(\d+)", again.stdout.split("PLAY RECAP")[-1])
        assert recap and set(recap) == {"0"}, (mode, again.stdout[-3000:])
