"""The cosign command lines, reference parsing and reason extraction (sign.py); real cosign runs in
tests/integration/images/test_signing.py."""

from __future__ import annotations

import re

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import sign

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (f"127.0.0.1:5000/gt/backend@{DIGEST}", ("127.0.0.1:5000", "gt/backend", "", DIGEST)),
        ("127.0.0.1:5000/gt/backend:staging", ("127.0.0.1:5000", "gt/backend", "staging", "")),
        (f"registry.example.com/a/b:1.0@{DIGEST}", ("registry.example.com", "a/b", "1.0", DIGEST)),
        ("localhost/a/b", ("localhost", "a/b", "latest", "")),
    ],
)
def test_parse_ref(ref, expected):
    parsed = sign.parse_ref(ref)
    assert (parsed["registry"], parsed["repository"], parsed["tag"], parsed["digest"]) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("goaltrajectory/backend:dev", "is not a registry host"),
        ("backend:dev", "no registry host"),
        ("127.0.0.1:5000/gt/backend@sha256:short", "is not a sha256 digest"),
    ],
)
def test_parse_ref_refuses(ref, message):
    with pytest.raises(ValueError, match=message):
        sign.parse_ref(ref)


def test_reason_is_the_last_error_line():
    output = (
        "Verifying...\nError: no signatures found\nmain.go:74: error during command execution: no signatures found\n"
    )
    assert sign.reason(output) == "no signatures found"
    assert sign.reason("something odd\n") == "something odd"
    assert sign.reason("") == "cosign gave no reason"


def test_command_lines():
    ref = f"127.0.0.1:5000/gt/backend@{DIGEST}"
    assert sign.sign_args("k.key", ref, True) == [
        "sign", "--yes", "--key", "k.key", "--tlog-upload=false", "--allow-insecure-registry", ref,
    ]  # fmt: skip
    assert sign.attest_args("k.key", ref, "sbom.json", False)[-4:] == [
        "--predicate", "sbom.json", "--tlog-upload=false", ref,
    ]  # fmt: skip
    assert sign.verify_args("k.pub", ref, False) == ["verify", "--key", "k.pub", "--insecure-ignore-tlog=true", ref]
    assert sign.verify_args("k.pub", ref, True, attestation=True)[:3] == ["verify-attestation", "--type", "cyclonedx"]
    assert "--insecure-ignore-tlog=false" in sign.verify_args("k.pub", ref, False, tlog=True)


def test_verify_all_refuses_bad_and_missing_refs_without_running_cosign(tmp_path):
    # The binary does not exist: a refusal here must come before any cosign run.
    cosign = sign.Cosign(str(tmp_path / "no-cosign"))
    images, refused = sign.verify_all(
        cosign,
        "k.pub",
        {"backend": "goaltrajectory/backend:dev", "frontend": "127.0.0.1:5000/gt/frontend:staging"},
        resolve=lambda parsed: "",
        insecure_for=lambda host: True,
    )
    assert images == {}
    assert refused[0].startswith("backend: goaltrajectory/backend:dev: goaltrajectory is not a registry host")
    assert refused[1] == "frontend: 127.0.0.1:5000/gt/frontend:staging: the tag does not exist in 127.0.0.1:5000"


def test_sign_all_refuses_a_tag_reference(tmp_path):
    with pytest.raises(
        sign.CosignError, match=re.escape("backend: 127.0.0.1:5000/gt/backend:dev is not a digest reference")
    ):
        sign.sign_all(
            sign.Cosign(str(tmp_path / "c")), "k", "p", {"backend": "127.0.0.1:5000/gt/backend:dev"}, {}, bool
        )


def test_a_missing_binary_is_a_cosign_error(tmp_path):
    with pytest.raises(sign.CosignError, match="no-cosign verify"):
        sign.verify(sign.Cosign(str(tmp_path / "no-cosign")), "k.pub", f"127.0.0.1:5000/gt/b@{DIGEST}", True)
