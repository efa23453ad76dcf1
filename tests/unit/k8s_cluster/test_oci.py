"""module_utils.k8s_cluster.oci: deterministic layers, config and manifest, input checks (no registry needed)."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import oci


def entries(tmp_path):
    binary = tmp_path / "coredns"
    binary.write_bytes(b"\x7fELF fake binary")
    return [
        {"dest": "/coredns", "src": str(binary), "mode": "0755"},
        {"dest": "/bin/sh", "target": "busybox"},
        {"dest": "/tmp", "type": "dir", "mode": "1777"},
    ]


def test_layer_is_deterministic_whatever_the_file_times(tmp_path):
    items = entries(tmp_path)
    first = oci.gzip_bytes(oci.layer_tar(items))
    os.utime(tmp_path / "coredns", (1, 1))
    assert oci.gzip_bytes(oci.layer_tar(items)) == first


def test_layer_holds_parents_modes_links_and_root_ownership(tmp_path):
    with tarfile.open(fileobj=io.BytesIO(oci.layer_tar(entries(tmp_path)))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["bin", "bin/sh", "coredns", "tmp"]
    assert members["coredns"].mode == 0o755 and members["coredns"].uid == 0 and members["coredns"].mtime == 0
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777


def test_gzip_has_no_timestamp_or_name():
    data = oci.gzip_bytes(b"x" * 100)
    assert data[4:8] == b"\0\0\0\0"
    assert gzip.decompress(data) == b"x" * 100


def test_config_and_manifest_reference_the_layer_by_digest(tmp_path):
    raw = oci.layer_tar(entries(tmp_path))
    layer = oci.gzip_bytes(raw)
    config = oci.image_config(oci.sha256(raw), {"Entrypoint": ["/coredns"], "User": "65532:65532", "Env": []})
    body = json.loads(config)
    assert body["rootfs"]["diff_ids"] == [oci.sha256(raw)]
    assert body["config"] == {"Entrypoint": ["/coredns"], "User": "65532:65532"}
    manifest = json.loads(oci.manifest(config, layer))
    assert manifest["mediaType"] == oci.MANIFEST
    assert manifest["config"]["digest"] == oci.sha256(config)
    assert manifest["layers"][0] == {"mediaType": oci.LAYER, "digest": oci.sha256(layer), "size": len(layer)}


def test_fingerprint_changes_when_a_source_file_changes(tmp_path):
    items = entries(tmp_path)
    before = oci.fingerprint(items, {"User": "1"}, {})
    assert oci.fingerprint(items, {"User": "1"}, {}) == before
    (tmp_path / "coredns").write_bytes(b"\x7fELF another binary")
    assert oci.fingerprint(items, {"User": "1"}, {}) != before
    assert oci.fingerprint(items, {"User": "2"}, {}) != oci.fingerprint(items, {"User": "1"}, {})


def _image(key, src, repository="k8s-cluster/x", tag="v1"):
    return {"name": key, "repository": repository, "tag": tag, "files": [{"dest": f"/{key}", "src": str(src)}],
            "entrypoint": [], "cmd": [], "user": "", "env": [], "labels": {}, "annotations": {}}  # fmt: skip


def test_every_image_is_checked_before_anything_is_pushed(tmp_path):
    (tmp_path / "ok").write_bytes(b"x")
    images = [_image("ok", tmp_path / "ok"), _image("bad", tmp_path / "ok", repository="Bad/Name"),
              _image("gone", tmp_path / "gone", tag="-x"), _image("ok", tmp_path / "ok")]  # fmt: skip
    # Nothing listens there: an attempt to push would fail with a connection error, not these.
    registry = oci.Registry("127.0.0.1:9", insecure=True, timeout=2)
    with pytest.raises(oci.RegistryError) as err:
        oci.ensure_images(registry, images, str(tmp_path / "cache"))
    message = str(err.value)
    assert "images[bad].repository 'Bad/Name' is not a valid repository name" in message
    assert "images[gone].tag '-x' is not a valid tag" in message
    assert "images[ok] is given twice" in message
    assert f"k8s-cluster/x:-x: /gone: cannot read {tmp_path / 'gone'}" in message
    assert not (tmp_path / "cache").exists()


def test_check_mode_before_the_first_build_reports_a_change_without_a_digest(tmp_path):
    registry = oci.Registry("127.0.0.1:9", insecure=True, timeout=2)
    results = oci.ensure_images(registry, [_image("new", tmp_path / "not-built-yet")], str(tmp_path), check_mode=True)
    assert results == {"new": {"digest": "", "ref": "", "tag_ref": "127.0.0.1:9/k8s-cluster/x:v1", "changed": True,
                               "seconds": 0.0}}  # fmt: skip
    with pytest.raises(oci.RegistryError, match="cannot read"):
        oci.ensure_images(registry, [_image("new", tmp_path / "not-built-yet")], str(tmp_path))
