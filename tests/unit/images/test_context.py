"""Build context listing and digest, with .dockerignore as Docker reads it."""

from __future__ import annotations

import os

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import context as ctx


def _tree(root, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_ignore_rules_follow_docker():
    ignore = ctx.Ignore(["# comment", "**/__pycache__", "*.pyc", "build", "!build/keep.txt", "/.env*", "docs/**/*.md"])
    assert ignore.excluded("a/b/__pycache__/x.cpython.pyc")
    assert ignore.excluded("x.pyc")
    assert not ignore.excluded("a/x.pyc"), "*.pyc matches at the top only, like Docker"
    assert ignore.excluded("build/out.o")
    assert not ignore.excluded("build/keep.txt"), "the last matching rule wins"
    assert ignore.excluded(".env.local")
    assert ignore.excluded("docs/a/b/readme.md") and ignore.excluded("docs/readme.md")
    assert not ignore.excluded("src/main.py")


def test_manifest_honours_dockerignore(tmp_path):
    _tree(tmp_path, {"app.py": "print(1)\n", "node_modules/x/index.js": "x", ".dockerignore": "node_modules\n"})
    files = ctx.manifest(str(tmp_path))
    assert "app.py" in files and ".dockerignore" in files
    assert not [p for p in files if p.startswith("node_modules")]


def test_digest_changes_with_content_mode_and_names_but_not_ignored_files(tmp_path):
    _tree(tmp_path, {"app.py": "print(1)\n", "cache/x": "1", ".dockerignore": "cache\n"})
    first = ctx.digest(ctx.manifest(str(tmp_path)))
    (tmp_path / "cache/x").write_text("2")
    assert ctx.digest(ctx.manifest(str(tmp_path))) == first
    (tmp_path / "app.py").write_text("print(2)\n")
    second = ctx.digest(ctx.manifest(str(tmp_path)))
    assert second != first
    os.chmod(tmp_path / "app.py", 0o700)
    assert ctx.digest(ctx.manifest(str(tmp_path))) != second


def test_changed_paths_names_the_files(tmp_path):
    _tree(tmp_path, {"a.py": "1", "b.py": "2"})
    before = ctx.manifest(str(tmp_path))
    (tmp_path / "b.py").write_text("3")
    (tmp_path / "c.py").write_text("4")
    assert ctx.changed_paths(before, ctx.manifest(str(tmp_path))) == ["b.py", "c.py"]
    many = {f"f{i}": "x" for i in range(15)}
    assert ctx.changed_paths({}, many, limit=3)[-1] == "... and 12 more"


def test_missing_context_is_an_error(tmp_path):
    try:
        ctx.manifest(str(tmp_path / "nope"))
    except ctx.ContextError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("no error for a missing context")
