"""docker_host rejects bad input before it changes anything, naming the variable."""

import json
from pathlib import Path

import pytest

from ..conftest import assert_failed_unchanged

PLAYBOOK = Path(__file__).with_name("role.yml")

BAD_INPUT = [
    ("docker_host_package_source", '"snap"', "docker_host_package_source"),
    ("docker_host_compose_source", '"brew"', "docker_host_compose_source"),
    ("docker_host_users", '"alice"', "docker_host_users"),
    ("docker_host_daemon_options", '"debug=true"', "docker_host_daemon_options"),
    ("docker_host_log_max_size", '"10XB"', "docker_host_log_max_size"),
    ("docker_host_registry_mirrors", '["mirror.example.com"]', "docker_host_registry_mirrors"),
    ("docker_host_insecure_registries", '["http://127.0.0.1:5000/v2"]', "docker_host_insecure_registries"),
    ("docker_host_api_timeout", '"soon"', "docker_host_api_timeout"),
]


@pytest.mark.parametrize(("variable", "value", "named"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_value_fails_before_any_change(run_playbook, variable, value, named):
    result = run_playbook(PLAYBOOK, "-e", json.dumps({variable: json.loads(value)}))
    assert_failed_unchanged(result, named)


def test_good_values_pass_validation(run_playbook):
    """The same playbook with valid values converges, so the failures above are the values' fault."""
    result = run_playbook(
        PLAYBOOK,
        "-e",
        json.dumps(
            {
                "docker_host_log_max_size": "10m",
                "docker_host_log_max_file": 3,
                "docker_host_insecure_registries": ["127.0.0.1:5000"],
            }
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
