"""An image filesystem from a `docker save` stream, made here as a real tar: layers and whiteouts."""

from __future__ import annotations

import io
import json
import tarfile

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import checks, imagefs


def _layer(entries: list[tuple]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, extra in entries:
            info = tarfile.TarInfo(name)
            data = b""
            if kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "l":
                info.type, info.linkname = tarfile.SYMTYPE, extra
            else:
                data = extra if isinstance(extra, bytes) else b""
                info.mode = 0o755 if kind == "x" else 0o644
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def saved(layers: list[list[tuple]], alias_last: bool = False) -> io.BytesIO:
    """A legacy-layout `docker save` tar (manifest.json last, like Engine 20.10)."""
    buf = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i, entries in enumerate(layers):
            name = f"l{i}/layer.tar"
            names.append(name)
            data = _layer(entries)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if alias_last:
            names.append("l9/layer.tar")
            info = tarfile.TarInfo("l9/layer.tar")
            info.type, info.linkname = tarfile.SYMTYPE, "../l0/layer.tar"
            tar.addfile(info)
        manifest = json.dumps([{"Config": "c.json", "Layers": names}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    buf.seek(0)
    return buf


BASE = [
    ("usr", "d", None),
    ("usr/bin", "d", None),
    ("bin", "l", "usr/bin"),
    ("usr/bin/sh", "x", b"#!"),
    ("usr/bin/gcc-12", "x", b"elf"),
    ("usr/bin/gcc", "l", "gcc-12"),
    ("usr/bin/cc", "l", "/etc/alternatives/cc"),
    ("etc", "d", None),
    ("etc/passwd", "f", b"root:x:0:0::/root:/bin/sh\napp:x:10001:10001::/:/usr/sbin/nologin\n"),
    ("root", "d", None),
    ("root/.npm", "d", None),
    ("root/.npm/_cacache", "f", b"x"),
    ("var", "d", None),
    ("var/lib", "d", None),
    ("var/lib/apt", "d", None),
    ("var/lib/apt/lists", "d", None),
    ("var/lib/apt/lists/partial", "d", None),
    ("var/lib/apt/lists/lock", "f", b""),
]


def test_layers_and_whiteouts_give_the_final_tree():
    top = [
        ("usr/bin/.wh.gcc-12", "f", b""),
        ("root/.npm/.wh..wh..opq", "f", b""),
        ("usr/share/sbom/app.cdx.json", "f", b'{"components": []}'),
    ]
    tree = imagefs.read_saved(saved([BASE, top]), {"/etc/passwd", "/usr/share/sbom/app.cdx.json"})
    assert tree.resolve("/bin/sh") == "/usr/bin/sh" and tree.is_executable("/bin/sh")
    assert not tree.is_executable("/usr/bin/gcc"), "gcc links to a whited-out file"
    assert tree.resolve("/usr/bin/cc") is None, "a dangling link is not a tool"
    assert tree.children("/root/.npm") == [], "the opaque whiteout hides the lower layer's cache"
    assert tree.children("/var/lib/apt/lists") == ["lock", "partial"]
    assert tree.read("/usr/share/sbom/app.cdx.json") == b'{"components": []}'


def test_policy_facts_from_the_tree():
    tree = imagefs.read_saved(saved([BASE]), {"/etc/passwd"})
    config = {"User": "app", "Env": ["PATH=/opt/venv/bin:/usr/bin"]}
    facts = checks.fs_facts(tree, config, ["gcc", "cc", "make"], ["/root/.npm", "/var/lib/apt/lists"], "")
    assert facts["uid"] == 10001
    assert facts["tools"] == ["/usr/bin/gcc"]
    assert facts["caches"] == ["/root/.npm"], "partial and lock do not count"
    assert facts["has_apt"] is False and facts["sbom"] is None and facts["dpkg_key"] == ""


def test_a_layer_seen_twice_is_linked():
    tree = imagefs.read_saved(saved([BASE], alias_last=True), set())
    assert tree.is_executable("/usr/bin/sh")


def test_shells_and_package_managers_found_off_the_path():
    """A distroless check looks in the system directories too, and through symlinks."""
    extra = [
        ("usr/sbin", "d", None),
        ("usr/sbin/dpkg", "x", b"elf"),
        ("opt", "d", None),
        ("opt/venv", "d", None),
        ("opt/venv/bin", "d", None),
        ("opt/venv/bin/pip", "x", b"#!"),
        ("usr/bin/busybox", "x", b"elf"),
        ("usr/bin/ash", "l", "busybox"),
    ]
    tree = imagefs.read_saved(saved([BASE, extra]), {"/etc/passwd"})
    config = {"User": "app", "Env": ["PATH=/opt/venv/bin"]}
    facts = checks.fs_facts(tree, config, [], [], "", ["sh", "bash", "ash"], ["apt-get", "dpkg", "pip"])
    assert facts["shells"] == ["/usr/bin/sh", "/usr/bin/ash"], "the PATH first, then the system directories"
    assert facts["package_managers"] == ["/usr/sbin/dpkg", "/opt/venv/bin/pip"]


def test_a_distroless_tree_has_neither():
    scratch = [
        ("usr", "d", None),
        ("usr/bin", "d", None),
        ("usr/bin/python3.11", "x", b"elf"),
        ("usr/bin/python3", "l", "python3.11"),
        ("etc", "d", None),
        ("etc/passwd", "f", b"app:x:10001:10001::/nonexistent:/sbin/nologin\n"),
    ]
    tree = imagefs.read_saved(saved([scratch]), {"/etc/passwd"})
    facts = checks.fs_facts(tree, {"User": "10001:10001"}, ["gcc"], [], "", ["sh", "bash"], ["dpkg", "pip"])
    assert facts["shells"] == [] and facts["package_managers"] == [] and facts["uid"] == 10001
