"""module_utils.dpkg_status against this host's real dpkg database."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import dpkg_status


def test_installed_reads_only_the_installed_state_and_drops_the_architecture():
    output = "dpkg installed\nlibc6:amd64 installed\nrunc not-installed\ncontainerd config-files\n"
    assert dpkg_status.installed(output) == {"dpkg", "libc6"}


def test_missing_keeps_order_drops_duplicates_and_names_unknown_packages():
    # dpkg is installed on every Debian host; the second name exists in no archive.
    unknown = "goaltrajectory-no-such-package"
    assert dpkg_status.missing(["dpkg", unknown, "dpkg", unknown]) == [unknown]


def test_nothing_asked_runs_nothing():
    assert dpkg_status.missing([], dpkg_query="/nonexistent") == []


def test_a_failing_dpkg_query_is_an_error():
    with pytest.raises(OSError, match="/usr/bin/test failed"):
        dpkg_status.missing(["dpkg"], dpkg_query="/usr/bin/test")
