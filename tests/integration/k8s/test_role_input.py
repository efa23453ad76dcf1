"""roles/k8s end to end through ansible-playbook: bad input fails before rendering and names
the variable; good input renders a tree that passes strict validation and probe_lint; check
mode writes nothing. No cluster is involved (k8s_apply: false)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "k8s.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
REAL_SECRETS = {
    "k8s_secrets": {
        "SUPABASE_SERVICE_ROLE_KEY": "sb-test-service-role-0f9e8d7c",
        "GEMINI_API_KEY": "gm-test-key-1a2b3c4d",
        "OPENROUTER_API_KEY": "or-test-key-5e6f7a8b",
        "POSTGRES_PASSWORD": "pg-test-password-9c0d1e2f",
    }
}
DIGEST_IMAGES = {
    name: f"registry.example.com/goaltrajectory/{name}@sha256:{digit * 64}"
    for name, digit in (("backend", "1"), ("frontend", "2"), ("chromadb", "3"), ("postgres", "4"))
}


def run_role(tmp_path, extra: dict, *args: str) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    clusters:\n      hosts:\n        test-cluster:\n"
        "          ansible_connection: local\n"
        "          ansible_python_interpreter: " + sys.executable + "\n"
    )
    extra_vars = {
        "k8s_apply": False,
        "k8s_output_dir": str(tmp_path / "out"),
        "images_results_dir": str(tmp_path / "images"),
        "k8s_images": DIGEST_IMAGES,
        **extra,
    }
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1")
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, PLAYBOOK, "-i", str(inventory), "-e", json.dumps(extra_vars), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tree(tmp_path, env="dev"):
    return tmp_path / "out" / env / "k8s"


def secrets(**changed) -> dict:
    return {"k8s_secrets": {**REAL_SECRETS["k8s_secrets"], **changed}}


PROD = {"k8s_environment": "prod", "k8s_ingress_host": "example.com", "k8s_images": DIGEST_IMAGES, **REAL_SECRETS}
BAD_INPUT = {
    "malformed-quantity": (
        {"catalog_overrides": {"backend": {"resources": {"requests": {"cpu": "250m", "memory": "512MB"}}}}},
        ["backend.resources.requests.memory", "512MB"],
    ),
    "malformed-storage": (
        {"catalog_overrides": {"postgres": {"volumes": [{"name": "data", "path": "/data", "size": "10GB"}]}}},
        ["postgres.volumes[0].size", "10GB"],
    ),
    "replicas-above-hpa-max": (
        {"catalog_overrides": {"backend": {"replicas": 5, "autoscale": {"max": 3}}}},
        ["backend.replicas", "above autoscale.max 3"],
    ),
    "hpa-min-above-max": (
        {"catalog_overrides": {"frontend": {"replicas": 1, "autoscale": {"min": 4, "max": 2}}}},
        ["frontend.autoscale", "min 4 is above max 2"],
    ),
    "unknown-service-peer": (
        {"catalog_overrides": {"frontend": {"connects_to": {"cache": {}}}}},
        ["frontend.connects_to.cache", "no service 'cache'"],
    ),
    "root-uid": ({"catalog_overrides": {"backend": {"user": 0}}}, ["backend.user", "at least 10000"]),
    "unknown-environment": ({"k8s_environment": "qa"}, ["k8s_environment", "qa"]),
    "bad-quota": ({"k8s_resource_quota": {"requests.cpu": "4 cores"}}, ["k8s_resource_quota['requests.cpu']"]),
    "missing-ingress-host-in-prod": ({**PROD, "k8s_ingress_host": ""}, ["k8s_ingress_host", "prod"]),
    "placeholder-secret-in-staging": (
        {**PROD, "k8s_environment": "staging", **secrets(GEMINI_API_KEY="CHANGE_ME")},
        ["k8s_secrets.GEMINI_API_KEY", "placeholder"],
    ),
    "empty-secret-in-prod": ({**PROD, **secrets(POSTGRES_PASSWORD="")}, ["k8s_secrets.POSTGRES_PASSWORD"]),
    "image-without-digest-in-prod": (
        {**PROD, "k8s_images": {**DIGEST_IMAGES, "frontend": "registry.example.com/gt/frontend:0.1.0"}},
        ["frontend: registry.example.com/gt/frontend:0.1.0", "not pinned by digest"],
    ),
    "image-never-promoted-to-prod": (
        {**PROD, "k8s_images": {}, "k8s_images_file": "/nonexistent/prod.json"},
        ["backend: no image reference", "/nonexistent/prod.json does not exist", "promoted for prod"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_before_rendering_naming_the_variable(tmp_path, case):
    extra, expected = BAD_INPUT[case]
    result = run_role(tmp_path, extra)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, f"{text!r} missing from:\n{output[-3000:]}"
    assert not tree(tmp_path, extra.get("k8s_environment", "dev")).exists(), "rendered despite bad input"


def test_placeholder_check_names_only_the_bad_secret(tmp_path):
    output = run_role(tmp_path, {**PROD, **secrets(OPENROUTER_API_KEY="changeme")}).stdout
    line = next(line for line in output.splitlines() if "is empty or a placeholder" in line)
    assert "k8s_secrets.OPENROUTER_API_KEY" in line
    assert "GEMINI_API_KEY" not in line
    for value in REAL_SECRETS["k8s_secrets"].values():
        assert value not in output


def test_unsupported_kubernetes_version_stops_before_apply(tmp_path):
    result = run_role(tmp_path, {"k8s_kubernetes_version": "1.20.0", "k8s_apply": True, "k8s_images": DIGEST_IMAGES})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "kubernetes_version '1.20.0'" in output and "supported versions" in output
    assert "Apply the tree, wait for every rollout" not in output


def test_dev_renders_validates_and_is_idempotent(tmp_path):
    extra = {"k8s_images": DIGEST_IMAGES, "k8s_require_image_digests": True}
    first = run_role(tmp_path, extra)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "strict schema validation for Kubernetes 1.31.0 passed" in first.stdout
    assert '"error": 0' in first.stdout
    files = sorted(p.relative_to(tree(tmp_path)).as_posix() for p in tree(tmp_path).rglob("*.yaml"))
    assert len(files) == 29
    for name, ref in DIGEST_IMAGES.items():
        workload = "statefulset" if name == "postgres" else "deployment"
        text = (tree(tmp_path) / name / f"{workload}.yaml").read_text()
        assert f"image: {ref}\n" in text
        assert f"# Image: {ref}." in text
    stale = tree(tmp_path) / "backend" / "old-object.yaml"
    stale.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n")
    second = run_role(tmp_path, extra)
    assert second.returncode == 0
    assert "changed=1 " in second.stdout  # only the stale file removal
    assert not stale.exists()
    third = run_role(tmp_path, extra)
    assert "changed=0 " in third.stdout


def test_check_mode_writes_nothing_but_validates(tmp_path):
    result = run_role(tmp_path, {"k8s_images": DIGEST_IMAGES}, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "strict schema validation for Kubernetes 1.31.0 passed" in result.stdout
    assert "+kind: Deployment" in result.stdout
    assert not any(tree(tmp_path).rglob("*.yaml"))


def test_schema_validate_module_names_file_and_field(tmp_path):
    manifest = tmp_path / "backend" / "service.yaml"
    manifest.parent.mkdir()
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: backend-service\nspec:\n"
        "  ports:\n    - port: 8000\n      targetport: http\n"
    )
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    args = json.dumps({"paths": [str(tmp_path)], "kubernetes_version": "1.31.0"})
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible"),
            "localhost",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=" + sys.executable,
            "-m",
            "goaltrajectory.platform.k8s_schema_validate",
            "-a",
            args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert (
        f"{manifest}: Service/backend-service: spec.ports[0].targetport: unknown field (strict schema)" in result.stdout
    )


def test_unreachable_cluster_fails_clearly_after_validation(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n"
        "clusters:\n- name: nowhere\n  cluster:\n    server: https://127.0.0.1:9\n"
        "contexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\n"
        "users:\n- name: nobody\n  user:\n    token: not-a-token\n"
    )
    result = run_role(tmp_path, {"k8s_apply": True, "k8s_kubeconfig": str(kubeconfig), "k8s_images": DIGEST_IMAGES})
    assert result.returncode != 0
    assert "strict schema validation for Kubernetes 1.31.0 passed" in result.stdout
    assert f"Cannot reach the Kubernetes cluster: cannot reach the API server of {kubeconfig}" in result.stdout
    assert "Environment dev: check k8s_kubeconfig" in result.stdout
    assert "-e k8s_apply=false" in result.stdout
    assert "Summarise the deployment" not in result.stdout


def test_missing_kubeconfig_fails_clearly(tmp_path):
    result = run_role(
        tmp_path, {"k8s_apply": True, "k8s_kubeconfig": str(tmp_path / "absent"), "k8s_images": DIGEST_IMAGES}
    )
    assert result.returncode != 0
    assert f"Cannot reach the Kubernetes cluster: no kubeconfig at {tmp_path / 'absent'}." in result.stdout
    assert "Environment dev: check k8s_kubeconfig" in result.stdout
