"""Schema migrations on a fresh database: at startup, via the migrate command, and the check-only mode."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from goaltrajectory.config import Settings
from goaltrajectory.db import SCHEMA_VERSION, migrate
from goaltrajectory.main import create_app
from gt_testing import base_env, chroma_env
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BACKEND = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A brand-new empty database on the test server (needs CREATEDB), dropped afterwards."""
    name = f"gt_fresh_{uuid.uuid4().hex[:10]}"
    admin = make_conninfo(postgres_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_conninfo(postgres_url, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_migrate(database_url: str, wait: int = 10) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(BACKEND), "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "goaltrajectory.migrate", "--wait", str(wait)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_command_is_idempotent(fresh_database: str) -> None:
    first = _run_migrate(fresh_database)
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["applied"] == [1]
    second = _run_migrate(fresh_database)
    assert second.returncode == 0
    last = json.loads(second.stdout.splitlines()[-1])
    assert last["applied"] == [] and last["schema_version"] == SCHEMA_VERSION
    password = conninfo_to_dict(fresh_database).get("password")
    assert not password or password not in first.stdout + second.stdout
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT array_agg(version) FROM schema_migrations").fetchone()[0] == [1]


def test_migrate_command_fails_when_database_is_unreachable() -> None:
    result = _run_migrate(base_env()["DATABASE_URL"], wait=1)
    assert result.returncode == 1
    assert json.loads(result.stdout.splitlines()[-1])["message"] == "database unreachable"


def test_concurrent_migrations_apply_once(fresh_database: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(migrate, [fresh_database] * 4))
    assert sorted(results) == [[], [], [], [1]]


def test_startup_migrates_a_fresh_database(fresh_database: str, chroma_url: str) -> None:
    env = base_env(DATABASE_URL=fresh_database, **chroma_env(chroma_url))
    with TestClient(create_app(Settings.from_env(env), setup_logging=False)) as client:
        assert client.get("/ready").status_code == 200
        assert client.post("/api/goals", json={"title": "Works on a fresh database"}).status_code == 201


def test_without_auto_migration_ready_waits_for_the_migrate_command(fresh_database: str, chroma_url: str) -> None:
    env = base_env(DATABASE_URL=fresh_database, MIGRATE_ON_START="false", **chroma_env(chroma_url))
    with TestClient(create_app(Settings.from_env(env), setup_logging=False)) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "run `python -m goaltrajectory.migrate`" in ready.json()["checks"]["postgres"]["error"]
        assert client.get("/api/goals").status_code == 503
        assert _run_migrate(fresh_database).returncode == 0
        assert client.get("/ready").status_code == 200
        assert client.get("/api/goals").json()["total"] == 0
