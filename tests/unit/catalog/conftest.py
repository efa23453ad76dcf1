"""The default catalog and settings, as the roles read them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog

ROOT = Path(__file__).resolve().parents[3]


def _defaults(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


@pytest.fixture(scope="session")
def raw_catalog() -> dict:
    return _defaults("catalog")["catalog_services"]


@pytest.fixture
def services(raw_catalog) -> dict:
    return catalog.build(copy.deepcopy(raw_catalog))


WORKER = {
    "description": "a queue worker",
    "image": {"context": "{app}/worker", "dockerfile": "{app}/worker/Dockerfile", "runtime_base": "python"},
    "runtime": "python",
    "health": {"command": ["python3", "-c", "pass"]},
    "secrets": ["POSTGRES_PASSWORD"],
    "connects_to": {"postgres": {"host_env": "POSTGRES_HOST", "port_env": "POSTGRES_PORT"}},
    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
}


@pytest.fixture
def with_worker(raw_catalog) -> dict:
    return catalog.build(copy.deepcopy(raw_catalog), {"worker": copy.deepcopy(WORKER)})


@pytest.fixture
def k8s_settings(services) -> dict:
    defaults = _defaults("k8s")
    settings = {key[4:]: value for key, value in defaults.items() if key.startswith("k8s_")}
    settings.update(
        environment="prod",
        namespace="goaltrajectory-prod",
        images={name: f"registry.example.com/gt/{name}@sha256:{'a' * 64}" for name in [*services, "worker"]},
        ingress_host="goaltrajectory.example.com",
        secret_keys=["POSTGRES_PASSWORD", "SUPABASE_SERVICE_ROLE_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"],
        metrics_namespace="",
    )
    return settings


@pytest.fixture
def compose_settings() -> dict:
    images = {n: f"goaltrajectory/{n}:1" for n in ("postgres", "chromadb", "backend", "frontend", "frontend-dev")}
    return {
        "project_name": "gt",
        "environment": "dev",
        "images": {**images, "worker": "goaltrajectory/worker:1"},
        "bind_address": "127.0.0.1",
        "app_source_dir": "/src/app",
        "log_level": "DEBUG",
        "postgres_db": "goaltrajectory",
        "postgres_user": "goaltrajectory",
        "log_max_size": "10m",
        "log_max_file": 3,
        "secrets_dir": "/srv/gt/secrets",
    }
