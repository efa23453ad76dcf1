"""compose rejects bad input before it changes anything, naming the variable and never a secret value."""

import json

import pytest

from ..conftest import ROOT, assert_failed_unchanged

PLAYBOOK = ROOT / "playbooks/compose.yml"
SECRET_VALUE = "s3cr3t-value-never-printed"
GOOD_SECRETS = {
    "SUPABASE_SERVICE_ROLE_KEY": SECRET_VALUE,
    "GEMINI_API_KEY": SECRET_VALUE,
    "OPENROUTER_API_KEY": SECRET_VALUE,
    "POSTGRES_PASSWORD": SECRET_VALUE,
}

BAD_INPUT = {
    "unknown environment": ({"compose_environment": "qa"}, "compose_environment"),
    "negative cpu limit": ({"catalog_overrides": {"backend": {"resources": {"limits": {"cpu": "-1"}}}}},
                           "backend.resources.limits.cpu"),
    "malformed memory": ({"catalog_overrides": {"postgres": {"resources": {"limits": {"memory": "512 MB"}}}}},
                         "postgres.resources.limits.memory"),
    "host port out of range": ({"catalog_overrides": {"frontend": {"host_port": 70000}}}, "frontend.host_port"),
    "published in an unknown environment": ({"catalog_overrides": {"frontend": {"publish": ["qa"]}}},
                                            "frontend.publish"),
    "peer not in the catalog": ({"catalog_overrides": {"frontend": {"connects_to": {"cache": {}}}}},
                                "frontend.connects_to.cache"),
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
