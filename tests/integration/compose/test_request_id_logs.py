"""One request id across the running dev stack: the frontend's goals proxy forwards X-Request-ID to
the backend, both log a JSON access line carrying it, and the frontend's /api/metrics counts the
request under its route template.

Runs against the dev Compose stack deployed as `make deploy` does (the dev_stack fixture; project
and published ports as in inventories/dev and the service catalog).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog

from ..conftest import ROOT

FRONTEND_ROUTE = "/api/goals/[[...path]]"  # the route handler's template: the metrics' route label
BACKEND_ROUTE = "/api/goals"  # the backend's route template for the list


def _yaml(path):
    return yaml.safe_load((ROOT / path).read_text()) or {}


def _project() -> str:
    """compose_project_name of the dev inventory (the role's default unless the inventory sets it)."""
    name = _yaml("roles/compose/defaults/main.yml")["compose_project_name"]
    for path in sorted((ROOT / "inventories/dev/group_vars").glob("*/*.yml")):
        name = (yaml.safe_load(path.read_text()) or {}).get("compose_project_name", name)
    return name


SERVICES = catalog.build(copy.deepcopy(_yaml("roles/catalog/defaults/main.yml")["catalog_services"]))
BIND = _yaml("roles/compose/defaults/main.yml")["compose_bind_address"]
FRONTEND = f"http://{BIND}:{SERVICES['frontend']['host_port']}"
METRICS_PATH = SERVICES["frontend"]["metrics"]["path"]


def _container(project: str, service: str) -> str | None:
    found = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}",
         "--filter", f"label=com.docker.compose.service={service}"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    return found[0] if found else None


@pytest.fixture(scope="module")
def stack(dev_stack) -> dict[str, str]:
    """Container ids of the dev stack's frontend and backend."""
    project = _project()
    containers = {name: _container(project, name) for name in ("frontend", "backend")}
    missing = [name for name, cid in containers.items() if not cid]
    assert not missing, f"the dev stack ({project}) is not running {', '.join(missing)} after the deploy"
    deadline = time.monotonic() + 90
    while True:  # just (re)started: next dev compiles the route on its first request
        try:
            with urllib.request.urlopen(f"{FRONTEND}/api/health", timeout=10) as response:
                if response.status == 200:
                    break
        except OSError as error:
            if time.monotonic() > deadline:
                pytest.fail(f"the dev stack's frontend at {FRONTEND} does not answer /api/health: {error}")
        time.sleep(2)
    return containers


def _get(path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET from the frontend: status, headers (lower-case names), body; 4xx/5xx are answers too."""
    request = urllib.request.Request(f"{FRONTEND}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, found, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, found, body = error.code, error.headers, error.read()
    return status, {k.lower(): v for k, v in found.items()}, body


def _json_lines(container: str, since: float) -> list[dict]:
    """The container's log lines since `since` (epoch seconds) that are JSON objects."""
    result = subprocess.run(
        ["docker", "logs", "--since", f"{since:.3f}", container], capture_output=True, text=True, check=True
    )
    entries = []
    for line in (result.stdout + result.stderr).splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # next dev's own lines (" GET /api/goals 200 in 12ms"), tracebacks
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def _logged(container: str, since: float, request_id: str, timeout: float = 15) -> list[dict]:
    """The JSON log lines carrying `request_id`, waiting briefly for the log to be written."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in _json_lines(container, since) if e.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module", params=["sent", "generated"])
def proxied(request, stack) -> dict:
    """One GET /api/goals through the frontend, with a fresh X-Request-ID or none (the frontend makes one)."""
    since = time.time() - 2  # docker logs --since has second granularity on some drivers
    headers = {}
    if request.param == "sent":
        headers["X-Request-ID"] = f"itest-{uuid.uuid4().hex}"
    status, response_headers, body = _get("/api/goals?limit=1", headers)
    request_id = response_headers.get("x-request-id")
    assert status == 200, body
    assert "items" in json.loads(body)
    if request.param == "sent":
        assert request_id == headers["X-Request-ID"], "the id did not make the round trip"
    else:
        assert request_id and re.fullmatch(r"[0-9a-f]{32}", request_id), response_headers
    return {"id": request_id, "since": since, **stack}


def test_frontend_logs_one_json_access_line_with_the_request_id(proxied):
    entries = _logged(proxied["frontend"], proxied["since"], proxied["id"])
    access = [e for e in entries if e.get("msg") == "request"]
    assert len(access) == 1, entries
    (entry,) = access
    assert entry["level"] == "info"
    assert entry["method"] == "GET"
    assert entry["route"] == FRONTEND_ROUTE
    assert entry["path"] == "/api/goals"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), entry


def test_backend_logs_the_same_request_id(proxied):
    entries = _logged(proxied["backend"], proxied["since"], proxied["id"])
    access = [e for e in entries if e.get("message") == "request"]
    assert len(access) == 1, entries
    (entry,) = access
    assert entry["method"] == "GET"
    assert entry["route"] == BACKEND_ROUTE
    assert entry["path"] == "/api/goals"
    assert entry["status"] == 200


# --- metrics --------------------------------------------------------------------------------------
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _metrics() -> tuple[str, list[tuple[str, dict[str, str], float]]]:
    """The content type of /api/metrics and its samples: (name, labels, value)."""
    status, headers, body = _get(METRICS_PATH)
    assert status == 200
    samples = []
    for line in body.decode().splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match.group("labels") or ""))
            samples.append((match.group("name"), labels, float(match.group("value"))))
    return headers["content-type"], samples


def _value(samples, name: str, **labels: str) -> float:
    return sum(value for n, ls, value in samples if n == name and ls == labels)


def test_frontend_metrics_count_the_request_under_its_route_template(proxied):
    content_type, before = _metrics()
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    labels = {"method": "GET", "route": FRONTEND_ROUTE, "status": "200"}
    assert _value(before, "http_requests_total", **labels) >= 1, "the proxied request was not counted"
    assert _value(before, "http_request_duration_seconds_count", **labels) >= 1

    # Refused by the frontend itself (more than two segments): counted as 404 under the template.
    raw = f"/api/goals/{uuid.uuid4().hex[:8]}/a/b"
    assert _get(raw)[0] == 404
    _content_type, after = _metrics()
    assert _value(after, "http_requests_total", method="GET", route=FRONTEND_ROUTE, status="404") >= 1
    routes = {ls["route"] for n, ls, _v in after if n == "http_requests_total"}
    assert routes <= {FRONTEND_ROUTE, "/api/health", "/api/metrics"}, routes  # templates, never `raw`
    buckets = {
        ls["le"]
        for n, ls, _v in after
        if n == "http_request_duration_seconds_bucket" and ls.get("route") == FRONTEND_ROUTE
    }
    assert buckets == {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
    assert any(n == "process_cpu_user_seconds_total" for n, _ls, _v in after), "no Node process metrics"
