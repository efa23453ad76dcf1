"""The recorded release compose_status hands the roles (plugins/module_utils/compose_status.py).
The engine calls are exercised against the real engine by the compose scenario."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import compose_status


def test_no_release_file_means_no_release_yet(tmp_path):
    assert compose_status.release(str(tmp_path / "last-good.json")) == {}


def test_the_recorded_release_is_read(tmp_path):
    path = tmp_path / "last-good.json"
    path.write_text(json.dumps({"images": {"backend": "gt/backend:1"}, "containers": {"backend": "abc"}}))
    assert compose_status.release(str(path))["containers"] == {"backend": "abc"}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_damaged_release_file_is_named(tmp_path, content):
    path = tmp_path / "last-good.json"
    path.write_text(content)
    with pytest.raises(compose_status.StatusError, match=re.escape(f"{path}: not the JSON of a release")):
        compose_status.release(str(path))
