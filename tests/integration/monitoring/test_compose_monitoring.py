"""The monitoring stack next to the dev Compose app, as `make deploy` runs it (the dev_stack fixture).

Prometheus scrapes every target the catalog and the stack define and reports each up; cAdvisor
sees every app container; a bounded load on loopback moves the backend's request and latency
series, read back through Prometheus' HTTP API; and a real fault (the backend stopped) takes the
ServiceDown alert from pending to firing, Alertmanager delivers it to the alert receiver, and the
resolution arrives once the backend is back.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog

from ..conftest import ROOT, assert_failed_unchanged
from .perses import assert_dashboard_renders
from .waiting import received_since, wait_for


def _yaml(path):
    return yaml.safe_load((ROOT / path).read_text()) or {}


DEFAULTS = _yaml("roles/monitoring/defaults/main.yml")
DEV = _yaml("inventories/dev/group_vars/dev_hosts/monitoring.yml")
SERVICES = catalog.build(copy.deepcopy(_yaml("roles/catalog/defaults/main.yml")["catalog_services"]))
BIND = DEFAULTS["monitoring_bind_address"]
PROMETHEUS = f"http://{BIND}:{DEFAULTS['monitoring_host_ports']['prometheus']}"
ALERTMANAGER = f"http://{BIND}:{DEFAULTS['monitoring_host_ports']['alertmanager']}"
RECEIVER = f"http://{BIND}:{DEFAULTS['monitoring_host_ports']['alert_receiver']}"
PERSES = f"http://{BIND}:{DEFAULTS['monitoring_host_ports']['perses']}"
APP_PROJECT = DEV["monitoring_compose_project"]
BACKEND = f"http://{BIND}:{SERVICES['backend']['host_port']}"


def _get_json(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _query(expr: str) -> list[dict]:
    data = _get_json(f"{PROMETHEUS}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert data["status"] == "success", data
    return data["data"]["result"]


def _container(service: str) -> str:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project={APP_PROJECT}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(out) == 1, f"expected one {service} container of project {APP_PROJECT}, found {out}"
    return out[0]


def test_every_target_is_up(dev_stack):
    targets = _get_json(f"{PROMETHEUS}/api/v1/targets?state=active")["data"]["activeTargets"]
    jobs = {t["labels"]["job"]: t for t in targets}
    with_metrics = {name for name, svc in SERVICES.items() if svc["metrics"]}
    postgres = {
        f"{name}-exporter" for name, svc in SERVICES.items() if any(p["name"] == "postgresql" for p in svc["ports"])
    }
    expected = (
        with_metrics
        | postgres
        | {
            DEFAULTS["monitoring_cadvisor_job"],
            DEFAULTS["monitoring_node_job"],
            DEFAULTS["monitoring_prometheus_job"],
            "alertmanager",
        }
    )
    assert set(jobs) == expected
    assert {"backend", "frontend"} <= with_metrics
    down = {job: t["lastError"] for job, t in jobs.items() if t["health"] != "up"}
    assert not down, down
    for name in with_metrics:
        assert jobs[name]["scrapeUrl"].endswith(SERVICES[name]["metrics"]["path"])


def test_the_rules_are_loaded_and_alertmanager_is_connected(dev_stack):
    groups = _get_json(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    rendered = yaml.safe_load((ROOT / "build/rendered/dev/monitoring/rules/goaltrajectory-alerts.yml").read_text())
    assert len(rules) == sum(len(g["rules"]) for g in rendered["groups"]) > 0
    assert all(r["health"] == "ok" for r in rules), [r for r in rules if r["health"] != "ok"]
    managers = _get_json(f"{PROMETHEUS}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
    assert [m["url"] for m in managers] == ["http://alertmanager:9093/api/v2/alerts"]
    assert _get_json(f"{ALERTMANAGER}/api/v2/status")["cluster"]["status"] == "disabled"


def test_cadvisor_sees_every_app_container(dev_stack):
    def seen():
        series = _query(f'container_last_seen{{container_label_com_docker_compose_project="{APP_PROJECT}"}}')
        names = {s["metric"].get("container_label_com_docker_compose_service") for s in series}
        return names if names >= set(SERVICES) else None

    wait_for("cAdvisor series for every catalog service", seen, 60)
    memory = _query(
        f'container_memory_working_set_bytes{{container_label_com_docker_compose_project="{APP_PROJECT}",'
        f'container_label_com_docker_compose_service="postgres"}}'
    )
    assert memory and float(memory[0]["value"][1]) > 1 << 20
    filesystem = _query(
        f'node_filesystem_size_bytes{{mountpoint="{DEFAULTS["monitoring_compose_volume_mountpoint"]}"}}'
    )
    assert filesystem and float(filesystem[0]["value"][1]) > 0
    assert _query('pg_up{job="postgres-exporter"}')[0]["value"][1] == "1"


def _backend_health_count() -> float:
    """The backend's own count of GET /health (its /metrics), the baseline Prometheus must reach."""
    with urllib.request.urlopen(f"{BACKEND}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and 'route="/health"' in line
    )


def test_a_bounded_load_moves_the_request_and_latency_series(dev_stack):
    expr = 'sum(http_requests_total{job="backend",route="/health"})'

    def scraped(count):
        result = _query(expr)
        return result and float(result[0]["value"][1]) >= count

    # A series born with the whole load in its first sample has no increase for rate() to see (a
    # freshly started backend has no /health series yet): one request first, scraped before the load.
    with urllib.request.urlopen(f"{BACKEND}/health", timeout=5) as response:
        assert response.status == 200
    before = _backend_health_count()
    wait_for("Prometheus to scrape the backend's /health series", lambda: scraped(before), 60)
    requests = 200
    for _request in range(requests):
        with urllib.request.urlopen(f"{BACKEND}/health", timeout=5) as response:
            assert response.status == 200

    wait_for(f"Prometheus to count {requests} more backend /health requests", lambda: scraped(before + requests), 60)

    # The rate needs two scrapes that saw the load; a window with no requests in it gives NaN.
    def p95_seconds():
        result = _query(
            "histogram_quantile(0.95, sum by (le) ("
            'rate(http_request_duration_seconds_bucket{job="backend",route="/health"}[5m])))'
        )
        return result if result and result[0]["value"][1] not in ("NaN", "+Inf") else None

    p95 = wait_for("a p95 latency of the backend's /health", p95_seconds, 60)
    assert 0 < float(p95[0]["value"][1]) < 10, p95


def test_the_perses_dashboard_draws_every_service_in_chromium(dev_stack, tmp_path, capsys):
    seconds = assert_dashboard_renders(
        PERSES, DEV["monitoring_environment"], SERVICES, tmp_path / "profile", tmp_path / "dashboard.png"
    )
    with capsys.disabled():
        print(f"\nPerses dashboard services-{DEV['monitoring_environment']}: every panel drawn in {seconds:.1f} s")


def test_backend_stopped_fires_service_down_to_the_receiver_and_resolves(dev_stack, capsys):
    container = _container("backend")
    start = time.time()
    subprocess.run(["docker", "stop", container], check=True, capture_output=True)
    try:
        wait_for(
            "ServiceDown{service=backend} pending",
            lambda: any(
                a["labels"].get("alertname") == "ServiceDown" and a["labels"].get("service") == "backend"
                for a in _get_json(f"{PROMETHEUS}/api/v1/alerts")["data"]["alerts"]
            ),
            90,
        )
        pending_after = time.time() - start
        wait_for(
            "ServiceDown{service=backend} firing",
            lambda: any(
                a["labels"].get("alertname") == "ServiceDown"
                and a["labels"].get("service") == "backend"
                and a["state"] == "firing"
                for a in _get_json(f"{PROMETHEUS}/api/v1/alerts")["data"]["alerts"]
            ),
            300,
        )
        firing_after = time.time() - start
        delivered = wait_for(
            "the firing ServiceDown notification at the alert receiver",
            lambda: received_since(_get_json(f"{RECEIVER}/alerts"), "ServiceDown", "backend", "firing", start),
            120,
        )
        delivered_after = time.time() - start
        assert delivered[0]["payload"]["receiver"] == "webhooks"
    finally:
        subprocess.run(["docker", "start", container], check=True, capture_output=True)
    restarted = time.time()
    wait_for(
        "the resolved ServiceDown notification",
        lambda: received_since(_get_json(f"{RECEIVER}/alerts"), "ServiceDown", "backend", "resolved", restarted),
        240,
    )
    resolved_after = time.time() - restarted
    # The fault-to-delivery times, in the run's own output (not captured).
    with capsys.disabled():
        print(
            f"drill: pending after {pending_after:.0f} s, firing after {firing_after:.0f} s, delivered after "
            f"{delivered_after:.0f} s; resolved notification {resolved_after:.0f} s after the restart"
        )


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"monitoring_webhook_urls": ["ftp://hooks.example.test"]}, "monitoring_webhook_urls[0]"),
        ({"monitoring_retention": "forever"}, "monitoring_retention"),
        ({"monitoring_host_ports": {"prometheus": 0, "alertmanager": 9093, "alert_receiver": 9095, "perses": 9097}},
         "monitoring_host_ports.prometheus"),
        # The images play's results file is where the images come from: none there, none deployed.
        ({"monitoring_images_file": "/nonexistent/dev.json"},
         "prometheus: no image reference (/nonexistent/dev.json does not exist and monitoring_images does not set it)"),
    ],
)  # fmt: skip
def test_bad_input_fails_naming_the_variable_before_any_change(run_playbook, extra, named):
    result = run_playbook("playbooks/monitoring.yml", "-i", "inventories/dev", "-e", json.dumps(extra))
    output = assert_failed_unchanged(result, named)
    assert "TASK [goaltrajectory.platform.monitoring : Write the monitoring Compose project" not in output
