"""The monitoring stack for a cluster rendered as a GitOps tree (staging, render-only): no cluster.

The stack running in the local cluster (targets, rules, restrictions, the fault drill) is tested
where it is deployed: molecule/k8s_apply/tests/test_monitoring.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import uuid

import kubernetes_validate
import yaml

from ..conftest import ROOT

STAGING = yaml.safe_load((ROOT / "inventories/staging/group_vars/clusters/main.yml").read_text())
REGISTRY = yaml.safe_load((ROOT / "inventories/local/group_vars/build_hosts/main.yml").read_text())["images_registry"]
IMAGES = yaml.safe_load((ROOT / "roles/images/defaults/main.yml").read_text())
# Where the images role builds cosign when it signs.
COSIGN = f"{IMAGES['images_tools_dir']}/cosign/{IMAGES['images_cosign_version']}/cosign"


def test_staging_renders_the_stack_as_a_gitops_tree_of_signed_images(run_playbook, tmp_path):
    """The release path of staging, render-only: the images play builds the monitoring images with the app's,
    pushes them to the local registry and signs them with an SBOM attestation (the local inventory's images
    play, signing on, its results in a directory of this test's own), promotes dev to staging by digest; the
    monitoring play for staging (-e k8s_apply=false, as deploy.yml renders the app) writes the stack as a tree
    with a kustomization from the promoted results file. No cluster is touched, a second run and a check run
    change nothing, every object is valid for staging's Kubernetes version, and every image is the registry's
    and verifies with the public key."""
    results, password = tmp_path / "results", f"test-only-{uuid.uuid4().hex}"
    signing = tmp_path / "signing.json"
    keys = tmp_path / "keys"
    signing.write_text(json.dumps({"images_results_dir": str(results), "images_sign": True,
                                   "images_sign_key_dir": str(keys), "images_sign_password": password}))  # fmt: skip
    signing.chmod(0o600)
    # The local registry (a no-op where an earlier suite started it), the images built, pushed, signed.
    for play in ("registry", "images"):
        built = run_playbook(f"playbooks/{play}.yml", "-i", "inventories/local", "-e", f"@{signing}", timeout=3600)
        assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-2000:]
        assert password not in built.stdout + built.stderr
    promoted = run_playbook(
        "playbooks/images.yml", "-i", "inventories/local", "-e", f"images_results_dir={results}",
        "-e", "images_build=false", "-e", "images_promote_from=dev", "-e", "images_promote_to=staging",
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stdout[-4000:]
    args = [
        "-i", "inventories/staging", "--vault-id", f"test@{ROOT / 'molecule/k8s/vault-pass.txt'}",
        "-e", json.dumps({
            # What deploy.yml -e k8s_apply=false gives the staging inventory's monitoring_k8s_apply.
            "k8s_apply": False,
            "images_results_dir": str(results),
            "monitoring_k8s_apiserver_endpoints": [{"ip": "10.20.0.1", "port": 6443}],
            "monitoring_output_dir": str(tmp_path / "out"),
            # Any cluster this run reached would fail it: there is none behind this file.
            "monitoring_k8s_kubeconfig": str(tmp_path / "no-kubeconfig"),
        }),
    ]  # fmt: skip
    first = run_playbook("playbooks/monitoring.yml", *args, timeout=1800)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
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
    verify = {"cosign": COSIGN, "public_key": str(results / "cosign.pub"), "attestation": True,
              "refs": {str(i): image for i, image in enumerate(sorted(set(images)))}}  # fmt: skip
    verified = run_playbook(ROOT / "tests/integration/images/verify.yml", "-e", json.dumps(verify))
    assert verified.returncode == 0, verified.stdout[-4000:]
    # The promoted results file is where they came from.
    staging = json.loads((results / "staging.json").read_text())
    assert set(images) <= set(staging["refs"].values()), (images, staging["refs"])
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
