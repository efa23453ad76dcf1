# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image signatures with cosign (a key pair, no transparency log offline).

Signing: each pushed image is signed by digest (``cosign sign``) and its CycloneDX SBOM is
attached as a signed attestation (``cosign attest --type cyclonedx``); both are stored in the
registry next to the image. A digest that already verifies is left alone.

Verification: every image reference is verified by digest with the public key. A tag reference
is first resolved to the digest the tag points at now, so an unsigned image pushed under a
signed tag (a re-tag) is refused. A refusal names the image and cosign's reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Collection

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import registry as reg

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class CosignError(RuntimeError):
    """cosign failed; the message names the image and cosign's reason."""


def parse_ref(ref: str) -> dict:
    """registry, repository, tag ('' when absent) and digest ('' when absent) of an image reference."""
    name, _sep, digest = ref.partition("@")
    if digest and not DIGEST_RE.match(digest):
        raise ValueError(f"{ref}: {digest} is not a sha256 digest")
    if "/" not in name:
        raise ValueError(f"{ref}: no registry host (expected <registry>/<repository>[:tag][@sha256:...])")
    registry, rest = name.split("/", 1)
    if "." not in registry and ":" not in registry and registry != "localhost":
        raise ValueError(f"{ref}: {registry} is not a registry host (expected <registry>/<repository>...)")
    last = rest.rsplit("/", 1)[-1]
    tag = ""
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
    if not tag and not digest:
        tag = "latest"
    return {"registry": registry, "repository": rest, "tag": tag, "digest": digest}


def digest_ref(parsed: dict, digest: str) -> str:
    return f"{parsed['registry']}/{parsed['repository']}@{digest}"


def reason(output: str) -> str:
    """cosign's reason, from its output: the last 'Error:' line, else the last non-empty line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    text = (errors or lines or ["cosign gave no reason"])[-1]
    return re.sub(r"^Error:\s*", "", text)


def insecure_for(always: bool = False, hosts: Collection[str] = ()) -> Callable[[str], bool]:
    """Whether cosign needs --allow-insecure-registry for a registry host: every host when ``always``,
    the ``hosts`` named insecure, and any registry that speaks plain HTTP (loopback ones do)."""
    return lambda host: always or host in hosts or reg.Registry(host).scheme == "http"


def registry_flags(insecure: bool) -> list[str]:
    return ["--allow-insecure-registry"] if insecure else []


def sign_args(key: str, ref: str, insecure: bool, tlog: bool = False) -> list[str]:
    return ["sign", "--yes", "--key", key, f"--tlog-upload={str(tlog).lower()}", *registry_flags(insecure), ref]


def attest_args(key: str, ref: str, predicate: str, insecure: bool, tlog: bool = False) -> list[str]:
    return [
        "attest",
        "--yes",
        "--key",
        key,
        "--type",
        "cyclonedx",
        "--predicate",
        predicate,
        f"--tlog-upload={str(tlog).lower()}",
        *registry_flags(insecure),
        ref,
    ]


def verify_args(pub: str, ref: str, insecure: bool, attestation: bool = False, tlog: bool = False) -> list[str]:
    head = ["verify-attestation", "--type", "cyclonedx"] if attestation else ["verify"]
    return [
        *head,
        "--key",
        pub,
        f"--insecure-ignore-tlog={str(not tlog).lower()}",
        *registry_flags(insecure),
        ref,
    ]


class Cosign:
    """Runs the cosign binary; the key password goes through COSIGN_PASSWORD, never the command line."""

    def __init__(self, binary: str, password: str = "", timeout: float = 300) -> None:
        self.binary = binary
        self.password = password
        self.timeout = timeout

    def run(self, args: list[str]) -> tuple[int, str, float]:
        env = dict(os.environ, COSIGN_PASSWORD=self.password, COSIGN_YES="true")
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [self.binary, *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CosignError(f"{self.binary} {args[0]}: {exc}") from exc
        return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def verify(cosign: Cosign, pub: str, ref: str, insecure: bool, attestation: bool = False) -> tuple[bool, str, float]:
    """(verified, cosign's reason when not, seconds)."""
    code, output, seconds = cosign.run(verify_args(pub, ref, insecure, attestation))
    return code == 0, ("" if code == 0 else reason(output)), seconds


def sign_all(
    cosign: Cosign,
    key: str,
    pub: str,
    refs: dict[str, str],
    sboms: dict[str, str],
    insecure_for: Callable[[str], bool],
    check_mode: bool = False,
) -> dict:
    """Sign (and attest the SBOM of) every digest reference that does not verify yet.

    ``refs``: name -> <registry>/<repo>@sha256:...; ``sboms``: name -> CycloneDX file ('' or absent: none).
    Returns {"signed": [...], "unchanged": [...], "images": {name: {...}}}; raises CosignError naming the image.
    """
    out: dict = {"signed": [], "unchanged": [], "images": {}}
    for name, ref in sorted(refs.items()):
        parsed = parse_ref(ref)
        if not parsed["digest"]:
            raise CosignError(f"{name}: {ref} is not a digest reference; only pushed digests are signed")
        sbom = sboms.get(name, "")
        insecure = insecure_for(parsed["registry"])
        item: dict = {"ref": ref, "sbom": sbom}
        signed, why, item["verify_seconds"] = verify(cosign, pub, ref, insecure)
        attested = True
        if signed and sbom:
            attested, _why, seconds = verify(cosign, pub, ref, insecure, attestation=True)
            item["verify_seconds"] += seconds
        if signed and attested:
            out["unchanged"].append(ref)
            out["images"][name] = {**item, "verify_seconds": round(item["verify_seconds"], 2)}
            continue
        item["reason_unsigned"] = why or "no SBOM attestation"
        out["signed"].append(ref)
        if not check_mode:
            item["sign_seconds"] = 0.0
            steps = [] if signed else [sign_args(key, ref, insecure)]
            if sbom:
                steps.append(attest_args(key, ref, sbom, insecure))
            for args in steps:
                code, output, seconds = cosign.run(args)
                item["sign_seconds"] += seconds
                if code != 0:
                    raise CosignError(f"cannot {args[0]} {name} ({ref}): {reason(output)}")
        for timing in ("verify_seconds", "sign_seconds"):
            if timing in item:
                item[timing] = round(item[timing], 2)
        out["images"][name] = item
    return out


def verify_all(
    cosign: Cosign,
    pub: str,
    refs: dict[str, str],
    resolve: Callable[[dict], str],
    insecure_for: Callable[[str], bool],
    attestation: bool = False,
) -> tuple[dict, list[str]]:
    """Verify every image reference by digest; (per image facts, refusals naming the image and the reason).

    ``resolve(parsed)`` returns the digest a tag points at now ('' when the tag does not exist).
    A reference with a digest is verified at that digest; one with only a tag at the tag's digest now.
    """
    images: dict = {}
    refused: list[str] = []
    for name, ref in sorted(refs.items()):
        try:
            parsed = parse_ref(ref)
        except ValueError as exc:
            refused.append(f"{name}: {exc}")
            continue
        digest = parsed["digest"]
        if not digest:
            digest = resolve(parsed)
            if not digest:
                refused.append(f"{name}: {ref}: the tag does not exist in {parsed['registry']}")
                continue
        target = digest_ref(parsed, digest)
        insecure = insecure_for(parsed["registry"])
        ok, why, seconds = verify(cosign, pub, target, insecure)
        if ok and attestation:
            ok, why, more = verify(cosign, pub, target, insecure, attestation=True)
            why = why and f"SBOM attestation: {why}"
            seconds += more
        images[name] = {"ref": ref, "verified_ref": target, "verified": ok, "seconds": round(seconds, 2)}
        if not ok:
            shown = ref if ref == target else f"{ref} (now {digest})"
            refused.append(f"{name}: {shown} is not signed by the release key: {why}")
    return images, refused
