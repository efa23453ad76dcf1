"""Inputs digests and the revision naming (no engine: the digest is pure)."""

from __future__ import annotations

import subprocess

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import build


def test_inputs_digest_covers_every_input():
    base = ("FROM a\n", "ctx", "runtime", {"A": "1"}, {"img": "sha256:1"})
    first = build.inputs_digest(*base)
    assert first.startswith("sha256:") and first == build.inputs_digest(*base)
    variants = [
        ("FROM b\n", *base[1:]),
        (base[0], "ctx2", *base[2:]),
        (*base[:2], "dev", *base[3:]),
        (*base[:3], {"A": "2"}, base[4]),
        (*base[:4], {"img": "sha256:2"}),
    ]
    assert len({build.inputs_digest(*v) for v in variants} | {first}) == 6


def test_revision_from_git(tmp_path):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "docker").mkdir()
    (repo / "app/x").write_text("1")
    (repo / "docker/Dockerfile").write_text("FROM a\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True, env={**env, "PATH": "/usr/bin:/bin"})
    out = build.revision(str(repo / "app"), str(repo / "docker"), "", "1.0.0")
    assert out["tag"].startswith("1.0.0-") and len(out["revision"]) == 40
    assert build.revision(str(repo / "app"), str(repo / "docker"), "pinned", "1.0.0")["tag"] == "pinned"


def test_revision_outside_git(tmp_path):
    assert build.revision(str(tmp_path), str(tmp_path), "", "1.0.0") == {
        "tag": "1.0.0",
        "revision": "unknown",
        "created": "1970-01-01T00:00:00Z",
    }


def test_write_file_only_when_different(tmp_path):
    path = tmp_path / "d" / "f"
    assert build.write_file(str(path), "a")
    assert not build.write_file(str(path), "a")
    assert build.write_file(str(path), "b") and path.read_text() == "b"
