"""compose rejects bad input before it changes anything, naming the variable and never a secret value."""

import json

import pytest

from ..conftest import ROOT, assert_failed_unchanged

PLAYBOOK = ROOT / "playbooks/compose.yml"
RESOURCES = {
    "frontend": {"cpus": 0.5, "memory": "256m"},
    "backend": {"cpus": 1.0, "memory": "512m"},
    "chromadb": {"cpus": 1.0, "memory": "1g"},
    "postgres": {"cpus": 1.0, "memory": "512m"},
}
PORTS = {"frontend": 3000, "backend": 8000, "chromadb": 8001, "postgres": 5432}
SECRET_VALUE = "s3cr3t-value-never-printed"
GOOD_SECRETS = {
    "SUPABASE_SERVICE_ROLE_KEY": SECRET_VALUE,
    "GEMINI_API_KEY": SECRET_VALUE,
    "OPENROUTER_API_KEY": SECRET_VALUE,
    "POSTGRES_PASSWORD": SECRET_VALUE,
}

BAD_INPUT = {
    "unknown environment": ({"compose_environment": "qa"}, "compose_environment"),
    "negative cpus": ({"compose_resources": {**RESOURCES, "backend": {"cpus": -1, "memory": "512m"}}},
                      "compose_resources.backend"),
    "non-numeric cpus": ({"compose_resources": {**RESOURCES, "frontend": {"cpus": "lots", "memory": "256m"}}},
                         "compose_resources.frontend"),
    "malformed memory": ({"compose_resources": {**RESOURCES, "postgres": {"cpus": 1, "memory": "512 MB"}}},
                         "compose_resources.postgres"),
    "missing service sizing": ({"compose_resources": {k: v for k, v in RESOURCES.items() if k != "chromadb"}},
                               "compose_resources.chromadb"),
    "port out of range": ({"compose_ports": {**PORTS, "frontend": 70000}}, "compose_ports.frontend"),
    "port not a number": ({"compose_ports": {**PORTS, "backend": "http"}}, "compose_ports.backend"),
    "bad log size": ({"compose_log_max_size": "10XB"}, "compose_log_max_size"),
    "unknown image key": ({"compose_images": {"redis": "redis:7"}}, "compose_images"),
    "empty secret in staging": (
        {"compose_environment": "staging", "compose_secrets": {**GOOD_SECRETS, "GEMINI_API_KEY": ""}},
        "compose_secrets.GEMINI_API_KEY",
    ),
    "placeholder secret in prod": (
        {"compose_environment": "prod", "compose_secrets": {**GOOD_SECRETS, "OPENROUTER_API_KEY": "changeme"}},
        "compose_secrets.OPENROUTER_API_KEY",
    ),
    "missing secret": (
        {"compose_secrets": {k: v for k, v in GOOD_SECRETS.items() if k != "SUPABASE_SERVICE_ROLE_KEY"}},
        "compose_secrets.SUPABASE_SERVICE_ROLE_KEY",
    ),
    "unknown secret": ({"compose_secrets": {**GOOD_SECRETS, "AWS_KEY": SECRET_VALUE}}, "compose_secrets.AWS_KEY"),
}  # fmt: skip


@pytest.mark.parametrize(("extra_vars", "named"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_value_fails_before_any_change(run_playbook, extra_vars, named):
    result = run_playbook(PLAYBOOK, "-i", str(ROOT / "inventories/dev"), "-e", json.dumps(extra_vars))
    output = assert_failed_unchanged(result, named)
    assert SECRET_VALUE not in output, "a secret value reached the output"
