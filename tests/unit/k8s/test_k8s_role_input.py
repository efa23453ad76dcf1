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
    "k8s_secret_supabase_service_role_key": "sb-test-service-role-0f9e8d7c",
    "k8s_secret_gemini_api_key": "gm-test-key-1a2b3c4d",
    "k8s_secret_openrouter_api_key": "or-test-key-5e6f7a8b",
    "k8s_postgres_password": "pg-test-password-9c0d1e2f",
}


def run_role(tmp_path, extra: dict, *args: str) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    clusters:\n      hosts:\n        test-cluster:\n"
        "          ansible_connection: local\n"
        "          ansible_python_interpreter: " + sys.executable + "\n"
    )
    extra_vars = {"k8s_apply": False, "k8s_output_dir": str(tmp_path / "out"), **extra}
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


BAD_INPUT = {
    "malformed-quantity": (
        {
            "k8s_backend_resources": {
                "requests": {"cpu": "250m", "memory": "512MB"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            }
        },
        ["k8s_backend_resources.requests.memory", "512MB"],
    ),
    "malformed-storage": ({"k8s_postgres_storage_size": "10GB"}, ["k8s_postgres_storage_size"]),
    "replicas-above-hpa-max": (
        {"k8s_backend_replicas": 5, "k8s_backend_hpa_max_replicas": 3},
        ["k8s_backend_replicas"],
    ),
    "hpa-min-above-max": (
        {"k8s_frontend_hpa_min_replicas": 4, "k8s_frontend_hpa_max_replicas": 2},
        ["k8s_frontend_hpa_min_replicas"],
    ),
    "unknown-environment": ({"k8s_environment": "qa"}, ["k8s_environment", "qa"]),
    "missing-ingress-host-in-prod": ({"k8s_environment": "prod", **REAL_SECRETS}, ["k8s_ingress_host", "prod"]),
    "placeholder-secret-in-staging": (
        {
            "k8s_environment": "staging",
            "k8s_ingress_host": "staging.example.com",
            **REAL_SECRETS,
            "k8s_secret_gemini_api_key": "CHANGE_ME",
        },
        ["k8s_secret_gemini_api_key", "placeholder"],
    ),
    "empty-secret-in-prod": (
        {"k8s_environment": "prod", "k8s_ingress_host": "example.com", **REAL_SECRETS, "k8s_postgres_password": ""},
        ["k8s_postgres_password"],
    ),
    "root-uid": ({"k8s_run_as_user": 0}, ["k8s_run_as_user"]),
    "image-without-digest": (
        {
            "k8s_require_image_digests": True,
            "images_refs": {"backend": "registry.example.com/gt/backend@" + "sha256:" + "a" * 64},
        },
        ["k8s_images.frontend", "k8s_require_image_digests"],
    ),
}
DIGEST_IMAGES = {
    name: f"registry.example.com/goaltrajectory/{name}@sha256:{digit * 64}"
    for name, digit in (("backend", "1"), ("frontend", "2"), ("chromadb", "3"), ("postgres", "4"))
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
    extra = {
        "k8s_environment": "prod",
        "k8s_ingress_host": "example.com",
        **REAL_SECRETS,
        "k8s_secret_openrouter_api_key": "changeme",
    }
    output = run_role(tmp_path, extra).stdout
    line = next(line for line in output.splitlines() if "placeholder or empty value" in line)
    assert "k8s_secret_openrouter_api_key" in line
    assert "k8s_secret_gemini_api_key" not in line
    for value in REAL_SECRETS.values():
        assert value not in output


def test_unsupported_kubernetes_version_stops_before_apply(tmp_path):
    result = run_role(tmp_path, {"k8s_kubernetes_version": "1.20.0", "k8s_apply": True})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "kubernetes_version '1.20.0' is not covered" in output
    assert "Reach the cluster" not in output


def test_dev_renders_validates_and_is_idempotent(tmp_path):
    extra = {"images_refs": DIGEST_IMAGES, "k8s_require_image_digests": True}
    first = run_role(tmp_path, extra)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "strict schema validation for Kubernetes 1.31.0 passed" in first.stdout
    assert '"error": 0' in first.stdout
    files = sorted(p.relative_to(tree(tmp_path)).as_posix() for p in tree(tmp_path).rglob("*.yaml"))
    assert len(files) == 29
    for name, ref in DIGEST_IMAGES.items():
        workload = "statefulset" if name == "postgres" else "deployment"
        text = (tree(tmp_path) / name / f"{workload}.yaml").read_text()
        assert f'image: "{ref}"' in text
        assert f"# Image: {ref} (images role)." in text
    stale = tree(tmp_path) / "backend" / "old-object.yaml"
    stale.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n")
    second = run_role(tmp_path, extra)
    assert second.returncode == 0
    assert "changed=1 " in second.stdout  # only the stale file removal
    assert not stale.exists()
    third = run_role(tmp_path, extra)
    assert "changed=0 " in third.stdout


def test_check_mode_writes_nothing_but_validates(tmp_path):
    result = run_role(tmp_path, {}, "--check", "--diff")
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
    result = run_role(tmp_path, {"k8s_apply": True, "k8s_kubeconfig": str(kubeconfig)})
    assert result.returncode != 0
    assert "strict schema validation for Kubernetes 1.31.0 passed" in result.stdout
    assert "Cannot reach the Kubernetes cluster of dev" in result.stdout
    assert "-e k8s_apply=false" in result.stdout
    assert "Apply the namespace" not in result.stdout


def test_missing_kubeconfig_fails_clearly(tmp_path):
    result = run_role(tmp_path, {"k8s_apply": True, "k8s_kubeconfig": str(tmp_path / "absent")})
    assert result.returncode != 0
    assert f"No kubeconfig at {tmp_path / 'absent'} (k8s_kubeconfig)" in result.stdout
