"""module_utils.docker_host_inputs: every bad setting and an unsupported platform, each named."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import docker_host_inputs as inputs

PLATFORMS = {"Debian": {"12": {"engine_packages": ["docker.io"]}}}
DEBIAN = {"distribution": "Debian", "distribution_major_version": "12", "distribution_version": "12.11"}
GOOD = {
    "docker_host_users": [],
    "docker_host_extra_packages": [],
    "docker_host_registry_mirrors": ["https://mirror.example.com/v2"],
    "docker_host_insecure_registries": ["127.0.0.1:5000", "10.0.0.0/8"],
    "docker_host_daemon_options": {},
    "docker_host_log_max_size": "10m",
    "docker_host_compose_min_version": "2.18.0",
}


def test_good_settings_on_a_supported_platform_have_no_problem():
    assert inputs.problems(GOOD, PLATFORMS, DEBIAN) == []
    assert inputs.problems({**GOOD, "docker_host_log_max_size": ""}, PLATFORMS, DEBIAN) == []


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("docker_host_users", "alice", "docker_host_users must be a YAML list, got a string: alice."),
        ("docker_host_daemon_options", "debug=true", "docker_host_daemon_options must be a YAML mapping"),
        ("docker_host_extra_packages", {"a": 1}, "docker_host_extra_packages must be a YAML list, got a mapping"),
        ("docker_host_daemon_options", None, "docker_host_daemon_options must be a YAML mapping, got a null"),
        ("docker_host_log_max_size", "10XB", "docker_host_log_max_size must be a number with a k, m or g suffix"),
        ("docker_host_registry_mirrors", ["mirror.example.com"], "must be http:// or https:// URLs, got mirror"),
        ("docker_host_insecure_registries", ["http://127.0.0.1:5000/v2"], "docker_host_insecure_registries entries"),
        ("docker_host_insecure_registries", [5000], "host:port or a CIDR, got 5000"),
        ("docker_host_compose_min_version", "latest", "docker_host_compose_min_version must look like 2.18.0"),
    ],
)
def test_each_bad_setting_is_named(name, value, says):
    found = inputs.problems({**GOOD, name: value}, PLATFORMS, DEBIAN)
    assert len(found) == 1 and says in found[0], found


def test_an_unsupported_platform_is_named_with_its_version_and_all_problems_come_together():
    fedora = {"distribution": "Fedora", "distribution_major_version": "41", "distribution_version": "41"}
    found = inputs.problems({**GOOD, "docker_host_users": "bob"}, PLATFORMS, fedora)
    assert found[0].endswith("this host is Fedora 41.") and "docker_host_users" in found[1]
    debian11 = {**DEBIAN, "distribution_major_version": "11", "distribution_version": "11"}
    assert "Debian 11" in inputs.problems(GOOD, PLATFORMS, debian11)[0]
