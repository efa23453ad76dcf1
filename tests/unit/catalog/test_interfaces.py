"""The images results file, secret checks, file_tree and YAML output."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import (
    file_tree,
    image_results,
    secret_checks,
    yaml_dump,
)

DIGEST = "r/gt/backend@sha256:" + "b" * 64


def choose(results, explicit=None, require_digest=False, names=("backend",)):
    return image_results.choose(
        results, explicit or {}, list(names), source="build/images/prod.json", variable="k8s_images",
        environment="prod", require_digest=require_digest,
    )  # fmt: skip


def test_results_refs_and_explicit_overrides():
    results = image_results.parse(json.dumps({"refs": {"backend": DIGEST}}), "f")
    assert choose(results) == {"backend": DIGEST}
    assert choose(results, {"backend": "x:1"}) == {"backend": "x:1"}


def test_missing_results_file_names_image_and_file():
    with pytest.raises(
        image_results.ImageRefError, match=r"backend: no image reference \(build/images/prod.json does not"
    ):
        choose(image_results.parse("", "f"))


def test_digest_required_outside_dev():
    with pytest.raises(image_results.ImageRefError, match=r"backend: r/gt/backend:1 .* not pinned by digest"):
        choose({"refs": {"backend": "r/gt/backend:1"}}, require_digest=True)
    assert choose({"refs": {"backend": DIGEST}}, require_digest=True) == {"backend": DIGEST}


def test_results_file_must_be_ours():
    with pytest.raises(image_results.ImageRefError, match="no `refs` mapping"):
        image_results.parse("{}", "f")


def test_secret_problems_name_keys_not_values():
    problems = secret_checks.problems(
        {"A": "CHANGE_ME", "B": "real-value-123", "C": 5, "D": "x"},
        ["A", "B", "C", "E"],
        "s",
        True,
        ["change[-_ ]?me.*"],
    )
    assert problems == ["s.A is empty or a placeholder", "s.C must be a string", "s.E is missing",
                        "s.D is not a secret any service reads"]  # fmt: skip
    assert not any("real-value" in p for p in problems)
    assert secret_checks.problems({"A": "CHANGE_ME"}, ["A"], "s", False, ["change.*"]) == []


def test_file_tree_writes_only_changes_and_prunes(tmp_path):
    files = [{"path": "a/x.yaml", "content": "x: 1\n"}, {"path": "y.yaml", "content": "y: 1\n", "mode": "0600"}]
    first = file_tree.sync(str(tmp_path), files, prune=True)
    assert sorted(first.written) == ["a/x.yaml", "y.yaml"]
    assert oct(os.stat(tmp_path / "y.yaml").st_mode & 0o777) == "0o600"
    (tmp_path / "stale.yaml").write_text("old")
    (tmp_path / "keep.txt").write_text("not a manifest")
    second = file_tree.sync(str(tmp_path), files, prune=True)
    assert second.written == [] and second.removed == ["stale.yaml"]
    assert (tmp_path / "keep.txt").exists()


def test_file_tree_check_mode_writes_nothing_and_diffs(tmp_path):
    result = file_tree.sync(str(tmp_path / "new"), [{"path": "x.yaml", "content": "x: 2\n"}], check=True, diff=True)
    assert result.written == ["x.yaml"] and not (tmp_path / "new").exists()
    assert result.diffs[0]["after"] == "x: 2\n"
    hidden = file_tree.sync(str(tmp_path), [{"path": "s", "content": "pw-9f8e7d"}], diff=True, secret=True)
    assert "pw-9f8e7d" not in hidden.diffs[0]["after"]


def test_file_tree_refuses_paths_outside_dest(tmp_path):
    with pytest.raises(file_tree.TreeFileError, match="must be relative"):
        file_tree.sync(str(tmp_path), [{"path": "../x", "content": ""}])


def test_directories_are_created_and_corrected_once(tmp_path):
    wanted = [{"path": str(tmp_path / "state"), "mode": "0755"}, {"path": str(tmp_path / "state/etcd"), "mode": "0700"}]
    first = file_tree.ensure_directories(wanted)
    assert first.created == [str(tmp_path / "state"), str(tmp_path / "state/etcd")] and first.changed
    assert oct(os.stat(tmp_path / "state/etcd").st_mode & 0o777) == "0o700"
    os.chmod(tmp_path / "state/etcd", 0o500)
    second = file_tree.ensure_directories(wanted)
    assert second.created == [] and second.fixed == [str(tmp_path / "state/etcd")]
    assert oct(os.stat(tmp_path / "state/etcd").st_mode & 0o777) == "0o700"
    assert not file_tree.ensure_directories(wanted).changed


def test_directories_check_mode_changes_nothing_and_bad_paths_fail_first(tmp_path):
    result = file_tree.ensure_directories([{"path": str(tmp_path / "new"), "mode": 0o750}], check=True)
    assert result.created == [str(tmp_path / "new")] and not (tmp_path / "new").exists()
    assert result.diffs[0]["before"] == "state: absent\n" and result.diffs[0]["after"].startswith("mode: 0750\n")
    (tmp_path / "file").write_text("")
    with pytest.raises(file_tree.TreeFileError, match="file' exists and is not a directory"):
        file_tree.ensure_directories([{"path": str(tmp_path / "first")}, {"path": str(tmp_path / "file")}])
    assert not (tmp_path / "first").exists()
    with pytest.raises(file_tree.TreeFileError, match="must be absolute"):
        file_tree.ensure_directories([{"path": "relative/dir"}])


def test_yaml_document_round_trips_with_header():
    text = yaml_dump.document({"a": ["x", "1"], "long": "y" * 200}, ["hello"])
    assert text.startswith("# hello\n---\na:\n  - x\n  - '1'\n")
    assert yaml.safe_load(text) == {"a": ["x", "1"], "long": "y" * 200}
