"""Test fixtures: real PostgreSQL and real ChromaDB, started here or pointed at by the environment.

GT_TEST_SERVICES selects where the servers come from:

* ``start`` (default): use TEST_DATABASE_URL / TEST_CHROMA_URL when set, otherwise start the
  servers for the session: PostgreSQL from the Debian binaries (initdb into a temporary directory,
  run as the ``postgres`` user when we are root) and ``chroma run`` from the pip-installed chromadb
  server (requirements-test-services.txt).
* ``external``: TEST_DATABASE_URL and TEST_CHROMA_URL must point at running servers.
* ``none``: integration tests are deselected (Docker build test stage); the unit tests still run.

Any test that uses the ``postgres_url`` or ``chroma_url`` fixture is marked ``integration``
automatically. When servers are requested but cannot be started or reached, those tests
fail with the reason: they are never skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from gt_testing import base_env, chroma_env, free_port

BACKEND_DIR = Path(__file__).resolve().parents[1]
MODES = ("start", "external", "none")
SERVICE_FIXTURES = {"postgres_url", "chroma_url"}


def services_mode() -> str:
    return os.environ.get("GT_TEST_SERVICES", "start").strip().lower() or "start"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs real PostgreSQL and ChromaDB (see tests/conftest.py)")
    if services_mode() not in MODES:
        raise pytest.UsageError(f"GT_TEST_SERVICES={services_mode()!r}: use one of {', '.join(MODES)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    if services_mode() != "none":
        return
    kept = [i for i in items if i.get_closest_marker("integration") is None]
    deselected = [i for i in items if i.get_closest_marker("integration") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return f"GT_TEST_SERVICES={services_mode()}"


# --------------------------------------------------------------------------- helpers


def wait_until(probe, timeout: float, what: str, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:  # keep polling until the deadline, then report the last error
            last = exc
        time.sleep(0.2)
    tail = ""
    if log_file is not None and log_file.exists():
        tail = "\n--- log tail ---\n" + "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    pytest.fail(f"{what} not reachable after {timeout:.0f}s: {last!r}{tail}", pytrace=False)


def _pg_ready(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=2) as conn:
        conn.execute("SELECT 1")
    return True


def _chroma_ready(url: str) -> bool:
    return httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200


def _require_servers() -> None:
    if services_mode() == "none":
        pytest.fail("GT_TEST_SERVICES=none but an integration test ran: it should have been deselected")


def _postgres_bindir() -> Path:
    override = os.environ.get("GT_TEST_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    pytest.fail(
        "PostgreSQL server binaries not found (initdb, postgres). Install them (Debian: apt-get install -y postgresql),"
        " set GT_TEST_PG_BINDIR, or point TEST_DATABASE_URL at a running server.",
        pytrace=False,
    )


def _chroma_executable() -> str:
    override = os.environ.get("GT_TEST_CHROMA_BIN")
    candidates = [override] if override else []
    candidates += [str(Path(sys.executable).with_name("chroma")), shutil.which("chroma")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "the `chroma` server command is not installed: pip install -r requirements-test-services.txt,"
        " set GT_TEST_CHROMA_BIN, or point TEST_CHROMA_URL at a running ChromaDB.",
        pytrace=False,
    )


def _stop(process: subprocess.Popen, signal_method: str = "terminate", timeout: float = 20) -> None:
    if process.poll() is None:
        getattr(process, signal_method)()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL database the tests may fill and truncate."""
    _require_servers()
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        wait_until(lambda: _pg_ready(url), 30, "TEST_DATABASE_URL")
        yield url
        return
    if services_mode() == "external":
        pytest.fail("GT_TEST_SERVICES=external requires TEST_DATABASE_URL", pytrace=False)
    yield from _start_postgres()


def _start_postgres() -> Iterator[str]:
    bindir = _postgres_bindir()
    base = Path(tempfile.mkdtemp(prefix="gt-test-pg-"))
    run_as: dict = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            account = pwd.getpwnam(os.environ.get("GT_TEST_PG_USER", "postgres"))
        except KeyError:
            account = pwd.getpwnam("nobody")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    password = secrets.token_urlsafe(16)
    pwfile = base / "pwfile"
    pwfile.write_text(password)
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    data, log_file = base / "data", base / "postgres.log"
    initdb_options = ["--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]
    init = subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "gt", "--pwfile", pwfile, *initdb_options],
        capture_output=True,
        text=True,
        check=False,
        **run_as,
    )
    if init.returncode != 0:
        pytest.fail(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}", pytrace=False)
    port = int(os.environ.get("GT_TEST_PG_PORT") or free_port())
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": port,
        "unix_socket_directories": base,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": 50,
    }
    argv = [bindir / "postgres", "-D", data]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    with log_file.open("wb") as log_handle:
        server = subprocess.Popen(argv, stdout=log_handle, stderr=subprocess.STDOUT, **run_as)
    admin = f"postgresql://gt:{password}@127.0.0.1:{port}/postgres"
    try:
        wait_until(lambda: server.poll() is None and _pg_ready(admin), 60, "started PostgreSQL", log_file)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE goaltrajectory_test")
        yield f"postgresql://gt:{password}@127.0.0.1:{port}/goaltrajectory_test"
    finally:
        _stop(server)  # SIGTERM: smart shutdown
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def chroma_url() -> Iterator[str]:
    """Base URL (scheme://host:port) of a ChromaDB 1.x server."""
    _require_servers()
    url = os.environ.get("TEST_CHROMA_URL", "").strip().rstrip("/")
    if url:
        wait_until(lambda: _chroma_ready(url), 30, "TEST_CHROMA_URL")
        yield url
        return
    if services_mode() == "external":
        pytest.fail("GT_TEST_SERVICES=external requires TEST_CHROMA_URL", pytrace=False)
    executable = _chroma_executable()
    base = Path(tempfile.mkdtemp(prefix="gt-test-chroma-"))
    port = int(os.environ.get("GT_TEST_CHROMA_PORT") or free_port())
    log_file = base / "chroma.log"
    argv = [executable, "run", "--path", str(base / "data"), "--host", "127.0.0.1", "--port", str(port)]
    with log_file.open("wb") as log_handle:
        server = subprocess.Popen(argv, stdout=log_handle, stderr=subprocess.STDOUT, cwd=base)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.poll() is None and _chroma_ready(url), 90, "started ChromaDB", log_file)
        yield url
    finally:
        _stop(server)
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- app fixtures


@pytest.fixture
def offline_client() -> Iterator[TestClient]:
    """The app with both dependencies down (closed ports on 127.0.0.1): no servers needed."""
    from goaltrajectory.config import Settings
    from goaltrajectory.main import create_app

    settings = Settings.from_env(base_env(SUPABASE_SERVICE_ROLE_KEY="sb-secret-value-123"))
    with TestClient(create_app(settings, setup_logging=False), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def clean_database(postgres_url: str) -> str:
    """The test database migrated and with no goals."""
    from goaltrajectory.db import migrate

    migrate(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("TRUNCATE goals")
    return postgres_url


@pytest.fixture
def live_env(clean_database: str, chroma_url: str) -> Iterator[dict[str, str]]:
    """Environment for an app talking to the real servers, with a fresh ChromaDB collection."""
    env = base_env(DATABASE_URL=clean_database, **chroma_env(chroma_url))
    yield env
    collections = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    with contextlib.suppress(httpx.HTTPError):
        httpx.delete(f"{chroma_url}{collections}/{env['CHROMA_COLLECTION']}", timeout=5)


@pytest.fixture
def live_client(live_env: dict[str, str]) -> Iterator[TestClient]:
    from goaltrajectory.config import Settings
    from goaltrajectory.main import create_app

    with TestClient(create_app(Settings.from_env(live_env), setup_logging=False)) as client:
        yield client


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging() after a test that calls it."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


def pytest_sessionfinish(session, exitstatus):
    """A skipped test fails the run: a skip here would hide a server that did not start."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line(f"{len(skipped)} test(s) skipped: a skip fails the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
