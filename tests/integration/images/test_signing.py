"""Image signatures with the real cosign and the real local registry (127.0.0.1:5000).

The images role builds cosign from its tools catalog and signs by digest (signing.yml: its
tools.yml and sign.yml tasks), attesting the SBOM. A signed image verifies by digest and by
tag, and the k8s role (staging, applying) lets it through to validation; an unsigned image
pushed under the same tag is refused by image_verify, the compose role and the k8s role
(staging settings) before anything changes, naming the image and the reason.
All images are this test's own, under 127.0.0.1:5000/gt-cosigntest/.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from ..conftest import ROOT, assert_failed_unchanged
from ..k8s.test_role_input import REAL_SECRETS, run_role

HERE = Path(__file__).parent
REGISTRY = "127.0.0.1:5000"
REPO = f"{REGISTRY}/gt-cosigntest/app"
TAG = "staging"
COSIGN_VERSION = "v2.6.5"
PASSWORD = "test-only-" + uuid.uuid4().hex
SBOM = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}


def _push_image(text: str) -> str:
    """Import a one-file image, push it as REPO:TAG and return its digest reference."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("release.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ref = f"{REPO}:{TAG}"
    subprocess.run(["docker", "import", "-", ref], input=buf.getvalue(), capture_output=True, check=True)
    out = subprocess.run(["docker", "push", ref], capture_output=True, text=True, check=True).stdout
    digest = next(word for word in out.split() if word.startswith("sha256:"))
    subprocess.run(["docker", "rmi", ref, f"{REPO}@{digest}"], capture_output=True, check=False)
    return f"{REPO}@{digest}"


def _restore_signed_tag(digest_ref: str) -> None:
    """Point REPO:TAG at the signed image again (for a rerun) and leave no local image behind."""
    ref = f"{REPO}:{TAG}"
    for cmd in (["pull", digest_ref], ["tag", digest_ref, ref], ["push", ref], ["rmi", ref, digest_ref]):
        subprocess.run(["docker", *cmd], capture_output=True, check=False)


@pytest.fixture(scope="module")
def signed(tmp_path_factory, run_playbook):
    """A signed image (and its SBOM attestation) under REPO:TAG, with the role's tools and key dirs."""
    work = tmp_path_factory.mktemp("signing")
    digest_ref = _push_image(f"signed release {uuid.uuid4()}\n")
    sbom = work / "app.cdx.json"
    sbom.write_text(json.dumps(SBOM))
    settings = {
        "images_output_dir": str(work / "out"),
        "images_results_dir": str(work / "results"),
        "images_sign_key_dir": str(work / "keys"),
        "images_sign_password": PASSWORD,
        "__images_pushed": {"refs": {"app": digest_ref}},
        "__images_checks": {"images": {"app": {"sbom": str(sbom)}}},
    }
    started = time.monotonic()
    result = run_playbook(HERE / "signing.yml", "-e", json.dumps(settings), "-v", timeout=1800)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "work": work,
        "settings": settings,
        "digest_ref": digest_ref,
        # The images role's default tools dir, as in a real run (a current build is a stat).
        "cosign": Path("/opt/goaltrajectory/tools/cosign") / COSIGN_VERSION / "cosign",
        "pub": work / "results" / "cosign.pub",
        "first_run": result.stdout,
        "first_seconds": seconds,
    }


def _verify(run_playbook, signed, refs, attestation=False):
    extra = {
        "cosign": str(signed["cosign"]),
        "public_key": str(signed["pub"]),
        "refs": refs,
        "attestation": attestation,
    }
    return run_playbook(HERE / "verify.yml", "-e", json.dumps(extra))


def test_the_role_generates_a_root_only_key_pair_and_publishes_the_public_key(signed):
    keys = signed["work"] / "keys"
    assert oct(keys.stat().st_mode & 0o777) == "0o700"
    assert oct((keys / "cosign.key").stat().st_mode & 0o777) == "0o600"
    assert "ENCRYPTED SIGSTORE PRIVATE KEY" in (keys / "cosign.key").read_text()
    assert signed["pub"].read_text() == (keys / "cosign.pub").read_text()
    assert PASSWORD not in signed["first_run"]
    assert "cosign.key" not in (signed["work"] / "results").iterdir().__repr__()


def test_a_signed_release_verifies_by_digest_by_tag_and_with_its_sbom_attestation(run_playbook, signed):
    result = _verify(run_playbook, signed, {"app": signed["digest_ref"]}, attestation=True)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _verify(run_playbook, signed, {"app": f"{REPO}:{TAG}"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_second_signing_run_changes_nothing(run_playbook, signed):
    result = run_playbook(HERE / "signing.yml", "-e", json.dumps(signed["settings"]))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "changed=0" in output, output


def test_every_image_of_a_release_is_signed_in_one_run(run_playbook, signed):
    """Two unsigned images in one run: each is signed with the release key (the key is not lost after the first)."""
    refs = {"a-first": _push_image(f"first {uuid.uuid4()}\n"), "b-second": _push_image(f"second {uuid.uuid4()}\n")}
    try:
        settings = {**signed["settings"], "__images_pushed": {"refs": refs}, "__images_checks": {"images": {}}}
        result = run_playbook(HERE / "signing.yml", "-e", json.dumps(settings))
        assert result.returncode == 0, result.stdout + result.stderr
        for ref in refs.values():
            verified = _verify(run_playbook, signed, {"app": ref})
            assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        _restore_signed_tag(signed["digest_ref"])


def test_the_k8s_role_lets_a_signed_release_through_to_validation_and_apply(run_playbook, signed, tmp_path):
    """Staging, applying: every digest verifies, so the run renders, validates and gets to the cluster step
    (here a kubeconfig pointing nowhere, so nothing is applied anywhere)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n"
        "clusters:\n- name: nowhere\n  cluster:\n    server: https://127.0.0.1:9\n"
        "contexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\n"
        "users:\n- name: nobody\n  user:\n    token: not-a-token\n"
    )
    k8s = {
        "k8s_environment": "staging",
        "k8s_apply": True,
        "k8s_ingress_host": "example.com",
        "k8s_kubeconfig": str(kubeconfig),
        "k8s_images": {k: signed["digest_ref"] for k in ("backend", "frontend", "chromadb", "postgres")},
        "k8s_cosign": str(signed["cosign"]),
        "k8s_verify_public_key": str(signed["pub"]),
        **REAL_SECRETS,
    }
    result = run_role(tmp_path, k8s)
    output = result.stdout + result.stderr
    assert "Verify the signature of every image digest (refuse unsigned or re-tagged images)] ***" in output, output
    assert "refusing unsigned" not in output, output
    assert "strict schema validation for Kubernetes 1.31.0 passed" in output, output
    assert "Cannot reach the Kubernetes cluster: cannot reach the API server" in output, output
    assert "Environment staging: check k8s_kubeconfig" in output, output


def test_an_unsigned_image_under_the_signed_tag_is_refused(run_playbook, signed):
    unsigned = _push_image(f"unsigned {uuid.uuid4()}\n")
    try:
        result = _verify(run_playbook, signed, {"app": f"{REPO}:{TAG}"})
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert f"app: {REPO}:{TAG} (now {unsigned.split('@')[1]}) is not signed by the release key" in output, output
        assert "no signatures found" in output, output
        # By digest the unsigned image is refused too; the signed digest still verifies.
        result = _verify(run_playbook, signed, {"app": unsigned})
        assert result.returncode != 0 and "no signatures found" in result.stdout, result.stdout
        assert _verify(run_playbook, signed, {"app": signed["digest_ref"]}).returncode == 0

        # The compose role with staging settings refuses before anything changes.
        project = signed["work"] / "compose"
        secrets = {
            k: "s3cr3t-" + k
            for k in ("POSTGRES_PASSWORD", "SUPABASE_SERVICE_ROLE_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY")
        }
        extra = {
            "compose_environment": "staging",
            "compose_project_dir": str(project),
            "compose_secrets": secrets,
            "compose_images": {k: f"{REPO}:{TAG}" for k in ("backend", "frontend", "chromadb", "postgres")},
            "compose_images_file": str(signed["work"] / "results" / "staging.json"),
            "compose_cosign": str(signed["cosign"]),
            "compose_verify_public_key": str(signed["pub"]),
        }
        result = run_playbook(
            ROOT / "playbooks/compose.yml", "-i", str(ROOT / "inventories/dev"), "-e", json.dumps(extra)
        )
        output = assert_failed_unchanged(result, "no signatures found")
        assert f"backend: {REPO}:{TAG} (now {unsigned.split('@')[1]})" in output, output
        assert not project.exists(), "the compose project directory was created"

        # The k8s role applying to staging refuses the unsigned digest before rendering the tree.
        k8s = {
            "k8s_environment": "staging",
            "k8s_apply": True,
            "k8s_ingress_host": "example.com",
            "k8s_kubeconfig": str(signed["work"] / "no-kubeconfig"),
            "k8s_images": {
                **{k: signed["digest_ref"] for k in ("frontend", "chromadb", "postgres")},
                "backend": unsigned,
            },
            "k8s_cosign": str(signed["cosign"]),
            "k8s_verify_public_key": str(signed["pub"]),
            **REAL_SECRETS,
        }
        k8s_dir = signed["work"] / "k8s"
        k8s_dir.mkdir()
        result = run_role(k8s_dir, k8s)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert f"backend: {unsigned} is not signed by the release key: no signatures found" in output, output
        assert "frontend:" not in output.split("refusing unsigned or re-tagged images:")[1].split("\n")[0], output
        assert not (k8s_dir / "out").exists(), "the k8s tree was rendered"
    finally:
        # Put the signed image back under the tag for a rerun.
        _restore_signed_tag(signed["digest_ref"])


def test_check_mode_signs_nothing_and_writes_no_key(run_playbook, signed, tmp_path):
    """--check with no key yet: reports the key pair it would generate, writes nothing, signs nothing."""
    unsigned = _push_image(f"check mode {uuid.uuid4()}\n")
    try:
        settings = {
            **signed["settings"],
            "images_output_dir": str(tmp_path / "out"),
            "images_results_dir": str(tmp_path / "results"),
            "images_sign_key_dir": str(tmp_path / "keys"),
            "__images_pushed": {"refs": {"app": unsigned}},
        }
        result = run_playbook(HERE / "signing.yml", "--check", "-e", json.dumps(settings))
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "Check mode: a key pair would be generated" in output, output
        assert list(tmp_path.iterdir()) == [], "check mode wrote files"
        assert _verify(run_playbook, signed, {"app": unsigned}).returncode != 0, "check mode signed the image"
    finally:
        _restore_signed_tag(signed["digest_ref"])


SIGNING_STAGING = {"images_environment": "staging", "images_registry": REGISTRY, "images_push": True}
BAD_SIGNING_INPUT = {
    "no password": ({**SIGNING_STAGING}, "images_sign_password is empty"),
    "key without its public key": (
        {**SIGNING_STAGING, "images_sign_password": PASSWORD, "images_sign_key": "-----BEGIN ENCRYPTED SIGSTORE"},
        "images_sign_key and images_sign_public_key go together",
    ),
    "key not encrypted": (
        {**SIGNING_STAGING, "images_sign_password": PASSWORD, "images_sign_key": "x", "images_sign_public_key": "y"},
        "images_sign_key is not a cosign private key encrypted",
    ),
    "relative key dir": (
        {**SIGNING_STAGING, "images_sign_password": PASSWORD, "images_sign_key_dir": "keys"},
        "images_sign_key_dir=keys must be an absolute path",
    ),
    "signing without a registry": ({"images_sign": True, "images_sign_password": PASSWORD}, "images_sign=true needs"),
}


@pytest.mark.parametrize(("extra_vars", "named"), BAD_SIGNING_INPUT.values(), ids=BAD_SIGNING_INPUT.keys())
def test_bad_signing_settings_fail_before_any_change(run_playbook, extra_vars, named):
    result = run_playbook(
        ROOT / "playbooks/images.yml", "-i", str(ROOT / "inventories/dev"), "-e", json.dumps(extra_vars)
    )
    output = assert_failed_unchanged(result, named)
    assert PASSWORD not in output
