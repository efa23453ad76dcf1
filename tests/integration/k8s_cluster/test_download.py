"""source url: the role's download tasks against a real HTTP server on loopback (release files we made)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import re
import tarfile
import threading
from pathlib import Path

import pytest

PLAYBOOK = Path(__file__).with_name("download.yml")


@pytest.fixture()
def release(tmp_path):
    """A files repo: a CoreDNS-style .tgz holding `coredns`, and a bare local-path-provisioner binary."""
    repo = tmp_path / "repo"
    repo.mkdir()
    coredns = b"#!/bin/sh\necho coredns-from-archive\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("coredns")
        info.size, info.mode = len(coredns), 0o755
        tar.addfile(info, io.BytesIO(coredns))
    (repo / "coredns_1.14.7_linux_amd64.tgz").write_bytes(buf.getvalue())
    (repo / "local-path-provisioner").write_bytes(b"#!/bin/sh\necho lpp\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "repo": repo, "coredns": coredns}
    server.shutdown()


def variables(release, bin_dir, **extra):
    base = release["url"]
    return {
        "k8s_cluster_component_sources": {"coredns": "url", "local-path-provisioner": "url"},
        "k8s_cluster_binaries_dir": str(bin_dir),
        "k8s_cluster_build_dir": str(bin_dir.parent / "cache"),
        "k8s_cluster_download_urls": {
            "coredns": f"{base}/coredns_1.14.7_linux_amd64.tgz#coredns",
            "local-path-provisioner": f"{base}/local-path-provisioner",
        },
        "k8s_cluster_download_checksums": {
            "local-path-provisioner": "sha256:"
            + hashlib.sha256((release["repo"] / "local-path-provisioner").read_bytes()).hexdigest()
        },
        **extra,
    }


def recap_changed(output: str) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", output)
    assert match, output
    return int(match.group(1))


def test_url_source_fills_the_versioned_directories_and_is_idempotent(run_playbook, release, tmp_path):
    bin_dir = tmp_path / "bin"
    first = run_playbook(PLAYBOOK, "-e", json.dumps(variables(release, bin_dir)))
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap_changed(first.stdout) > 0
    coredns = bin_dir / "coredns/v1.14.7/coredns"
    assert coredns.read_bytes() == release["coredns"]
    assert coredns.stat().st_mode & 0o777 == 0o755
    lpp = bin_dir / "local-path-provisioner/v0.0.30/local-path-provisioner"
    assert lpp.read_bytes() == b"#!/bin/sh\necho lpp\n"
    second = run_playbook(PLAYBOOK, "-e", json.dumps(variables(release, bin_dir)))
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap_changed(second.stdout) == 0


def test_a_checksum_mismatch_fails_and_leaves_no_binary(run_playbook, release, tmp_path):
    bin_dir = tmp_path / "bin"
    bad = variables(release, bin_dir)
    bad["k8s_cluster_download_checksums"]["local-path-provisioner"] = "sha256:" + "0" * 64
    result = run_playbook(PLAYBOOK, "-e", json.dumps(bad))
    assert result.returncode != 0
    assert "checksum" in (result.stdout + result.stderr).lower()
    assert not (bin_dir / "local-path-provisioner/v0.0.30/local-path-provisioner").exists()
