# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Perses dashboards of the monitoring stack, derived from the service catalog.

One Perses project (``goaltrajectory``) holds a Prometheus datasource (Perses proxies the browser's
queries to Prometheus, so only Perses needs to reach it) and one dashboard per environment: a row
per catalog service with its CPU (cores) and memory working set, and, for a service with
``metrics``, its request rate and p95 latency from its own HTTP histogram. The series selectors
are the alerting rules' (plugins/module_utils/monitoring_rules.py): a dashboard shows what the
rules watch, on Compose (cAdvisor's Compose labels) and on Kubernetes (the kubelet's cAdvisor, pod
discovery's job labels) alike.

Perses loads the resources from its provisioning folder (``provisioning.folders``) at start and
every ``interval``; the panels need its two plugins (Prometheus, TimeSeriesChart), which the
images role puts into the Perses image.
"""

from __future__ import annotations

import json

from . import monitoring_rules as mr

PROJECT = "goaltrajectory"
DATASOURCE = "prometheus"
# Where the Perses image keeps its plugin archives (images role, files/perses/build.sh), and where
# its configuration mount holds the provisioned dashboards. The trailing slash matters: from a
# ConfigMap (Kubernetes) the folder is a symlink into the volume's ..data, and Perses walks it
# with filepath.Walk, which takes a symlinked root for a file, and so reads nothing, unless the
# path ends with a slash (measured: no dashboard provisioned in the cluster without it).
ARCHIVES = "/usr/share/perses/plugins-archive"
PROVISIONING = "/etc/perses/provisioning/"
# Grid units: 24 across; four panels of a service fill a row.
WIDTH, HEIGHT = 6, 7


def _query(expr: str, legend: str) -> dict:
    return {
        "kind": "TimeSeriesQuery",
        "spec": {
            "plugin": {
                "kind": "PrometheusTimeSeriesQuery",
                "spec": {"query": expr, "seriesNameFormat": legend},
            }
        },
    }


def _panel(title: str, unit: str, expr: str, legend: str) -> dict:
    return {
        "kind": "Panel",
        "spec": {
            "display": {"name": title},
            "plugin": {
                "kind": "TimeSeriesChart",
                "spec": {"legend": {"position": "bottom", "mode": "list"}, "yAxis": {"format": {"unit": unit}}},
            },
            "queries": [_query(expr, legend)],
        },
    }


def service_panels(b: mr._Builder, svc: dict, window: str) -> dict[str, dict]:
    """The panels of one service, keyed ``<service>-<what>``: request rate and p95 (only with metrics),
    CPU and memory (every service)."""
    name = svc["name"]
    by = b.container_by()
    legend = "{{pod}}" if b.k8s else "{{name}}"
    panels = {}
    if svc["metrics"]:
        sel = b.target_selector(svc)
        group = "namespace, job" if b.k8s else "job"
        panels[f"{name}-requests"] = _panel(
            f"{name}: request rate",
            "requests/sec",
            f"sum by ({group}) (rate({mr.HTTP_REQUESTS}{{{sel}}}[{window}]))",
            "{{job}}",
        )
        panels[f"{name}-latency-p95"] = _panel(
            f"{name}: p95 latency",
            "seconds",
            f"histogram_quantile(0.95, sum by ({group}, le) "
            f"(rate(http_request_duration_seconds_bucket{{{sel}}}[{window}])))",
            "{{job}}",
        )
    sel = b.container_selector(svc)
    panels[f"{name}-cpu"] = _panel(
        f"{name}: CPU (cores)",
        "decimal",
        f"sum by ({by}) (rate(container_cpu_usage_seconds_total{{{sel}}}[{window}]))",
        legend,
    )
    panels[f"{name}-memory"] = _panel(
        f"{name}: memory working set",
        "bytes",
        f"sum by ({by}) (container_memory_working_set_bytes{{{sel}}})",
        legend,
    )
    return panels


def dashboard_name(environment: str) -> str:
    return f"services-{environment}"


def resources(services: dict, raw: dict, prometheus_url: str, window: str = "5m") -> list[dict]:
    """Perses resources to provision: the project, its Prometheus datasource and the services dashboard.

    ``raw``: the alerting rules' settings (monitoring_rules.settings); ``prometheus_url``: where
    Perses reaches Prometheus (the Compose service name or the in-cluster Service)."""
    s = mr.settings(raw)
    b = mr._Builder(services, s)
    panels: dict[str, dict] = {}
    layouts = []
    for svc in services.values():
        own = service_panels(b, svc, window)
        panels.update(own)
        layouts.append(
            {
                "kind": "Grid",
                "spec": {
                    "display": {"title": svc["name"], "collapse": {"open": True}},
                    "items": [
                        {
                            "x": i * WIDTH,
                            "y": 0,
                            "width": WIDTH,
                            "height": HEIGHT,
                            "content": {"$ref": f"#/spec/panels/{key}"},
                        }
                        for i, key in enumerate(own)
                    ],
                },
            }
        )
    where = f"namespace {s['namespace']}" if b.k8s else f"Compose project {s['compose_project']}"
    return [
        {"kind": "Project", "metadata": {"name": PROJECT}, "spec": {"display": {"name": "GoalTrajectory.AI"}}},
        {
            "kind": "Datasource",
            "metadata": {"name": DATASOURCE, "project": PROJECT},
            "spec": {
                "default": True,
                "plugin": {
                    "kind": "PrometheusDatasource",
                    "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": prometheus_url}}},
                },
            },
        },
        {
            "kind": "Dashboard",
            "metadata": {"name": dashboard_name(s["environment"]), "project": PROJECT},
            "spec": {
                "display": {
                    "name": f"Services ({s['environment']})",
                    "description": f"Request rate, p95 latency, CPU and memory per service ({where}); "
                    "from the service catalog, provisioned by the monitoring role.",
                },
                "duration": "1h",
                "refreshInterval": "30s",
                "variables": [],
                "panels": panels,
                "layouts": layouts,
            },
        },
    ]


def config() -> dict:
    """Perses' configuration, the same on both engines: a file database in /data (the provisioned
    resources are its only content), read-only API, the plugins unpacked from the image's archives
    into /data at start."""
    return {
        "security": {"readonly": True, "enable_auth": False},
        "database": {"file": {"folder": "/data/db", "extension": "yaml"}},
        "provisioning": {"folders": [PROVISIONING], "interval": "1m"},
        "plugin": {"path": "/data/plugins", "archive_path": ARCHIVES},
        "frontend": {"explorer": {"enable": True}},
    }


def files(services: dict, raw: dict, prometheus_url: str) -> list[dict]:
    """``[{path, content}]``: the resources as JSON files under ``dashboards/``, one per resource, in
    the order Perses needs them (project, datasource, dashboard)."""
    out = []
    for i, res in enumerate(resources(services, raw, prometheus_url)):
        name = f"{i:02d}-{res['kind'].lower()}-{res['metadata']['name']}.json"
        out.append({"path": f"dashboards/{name}", "content": json.dumps(res, indent=2, sort_keys=True) + "\n"})
    return out
