"""The Perses dashboards: a row per catalog service, the rules' selectors per engine, bad input named
(plugins/module_utils/monitoring_dashboards.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_dashboards as md
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr

ROOT = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
RAW_CATALOG = yaml.safe_load((ROOT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"]
SERVICES = catalog.build(copy.deepcopy(RAW_CATALOG))


def settings(**over):
    raw = {
        "environment": "dev",
        "engine": "compose",
        "namespace": "gt-dev",
        "compose_project": "gt",
        "compose_volume_mountpoint": "/",
        "cadvisor_job": "cadvisor",
        "node_job": "node",
        "prometheus_job": "prometheus",
        "thresholds": copy.deepcopy(DEFAULTS["monitoring_thresholds"]),
        "threshold_overrides": {},
    }
    raw.update(over)
    return raw


def dashboard(**over):
    return next(
        r for r in md.resources(SERVICES, settings(**over), "http://prometheus:9090") if r["kind"] == "Dashboard"
    )


def queries(board, key):
    return [q["spec"]["plugin"]["spec"]["query"] for q in board["spec"]["panels"][key]["spec"]["queries"]]


def test_every_catalog_service_is_a_row_with_its_panels():
    board = dashboard()
    rows = {layout["spec"]["display"]["title"]: layout["spec"]["items"] for layout in board["spec"]["layouts"]}
    assert list(rows) == list(SERVICES)
    for name, svc in SERVICES.items():
        refs = [item["content"]["$ref"].split("/")[-1] for item in rows[name]]
        want = ["requests", "latency-p95", "cpu", "memory"] if svc["metrics"] else ["cpu", "memory"]
        assert refs == [f"{name}-{what}" for what in want], name
        assert all(ref in board["spec"]["panels"] for ref in refs)
    assert board["metadata"] == {"name": "services-dev", "project": md.PROJECT}


def test_compose_queries_select_the_projects_containers_and_the_services_jobs():
    board = dashboard()
    (cpu,) = queries(board, "backend-cpu")
    assert 'container_label_com_docker_compose_project="gt"' in cpu
    assert 'container_label_com_docker_compose_service="backend"' in cpu
    (p95,) = queries(board, "backend-latency-p95")
    assert p95.startswith("histogram_quantile(0.95,") and 'job="backend"' in p95
    assert "postgres-requests" not in board["spec"]["panels"], "no request panels without metrics"


def test_kubernetes_queries_select_the_app_namespaces_pods():
    board = dashboard(engine="kubernetes", environment="local")
    (memory,) = queries(board, "frontend-memory")
    assert 'namespace="gt-dev"' in memory and 'pod=~"frontend-[a-z0-9]+-[a-z0-9]+"' in memory
    (rate,) = queries(board, "frontend-requests")
    assert 'job="frontend", namespace="gt-dev"' in rate
    assert board["metadata"]["name"] == "services-local"


def test_files_come_in_the_order_perses_needs_with_the_datasource_url():
    out = md.files(SERVICES, settings(), "http://prometheus.gt-mon.svc:9090")
    kinds = [json.loads(f["content"])["kind"] for f in out]
    assert kinds == ["Project", "Datasource", "Dashboard"]
    assert [f["path"] for f in out] == sorted(f["path"] for f in out)
    datasource = json.loads(out[1]["content"])
    assert datasource["spec"]["default"] is True
    assert datasource["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"] == "http://prometheus.gt-mon.svc:9090"


@pytest.mark.parametrize(
    ("over", "named"),
    [({"environment": "Bad Env"}, "monitoring_environment"), ({"engine": "nomad"}, "monitoring_engine")],
)
def test_bad_input_names_the_variable(over, named):
    with pytest.raises(mr.MonitoringError, match=named):
        md.files(SERVICES, settings(**over), "http://prometheus:9090")
