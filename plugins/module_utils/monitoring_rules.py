# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus alerting rules for the app, derived from the service catalog, and their promtool tests.

:func:`settings` checks the monitoring role's variables (errors name ``monitoring_<key>``),
:func:`rules` builds the rule file for one environment from the checked catalog
(``catalog.build``): which services there are, which of them export metrics, which run as a
StatefulSet, have volumes or autoscale. :func:`rule_tests` builds a ``promtool test rules`` file
that feeds every rule a fault (it must fire) and healthy data (it must stay quiet), with the
environment's own thresholds: the healthy values sit just on the quiet side of each threshold
and the faults just past it. :func:`coverage` reads a rule file and a test file back and lists
every rule without both a firing and a quiet test: ``make lint`` fails on any.

The scrape contract the monitoring stack follows (and these rules select by): each catalog
service with ``metrics`` is scraped as job ``<service name>``; on Kubernetes its series also
carry ``namespace`` and ``pod``; cAdvisor, node_exporter and Prometheus itself are scraped as
``monitoring_cadvisor_job``, ``monitoring_node_job`` and ``monitoring_prometheus_job``.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from . import catalog as cat

ENGINES = ("compose", "kubernetes")
# The backend's metrics (app/backend/goaltrajectory/metrics.py): names, labels and histogram
# buckets. tests/unit/monitoring checks them against the app's source.
HTTP_REQUESTS = "http_requests_total"
HTTP_LATENCY = "http_request_duration_seconds"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

DURATION_RE = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/-]+$")
ENV_NAME_RE = re.compile(r"^[a-z][-a-z0-9]{0,30}$")

# Threshold key -> (kind, minimum, maximum, what it is). Kinds: ratio (exclusive bounds),
# number, int, duration (seconds bounds, inclusive).
THRESHOLDS: dict[str, tuple[str, float, float, str]] = {
    "service_down_for": ("duration", 0, 86400, "how long a service must be down before ServiceDown fires"),
    "not_ready_for": ("duration", 0, 86400, "how long a pod or dependency must be not ready"),
    "http_window": ("duration", 60, 86400, "the rate() window of the HTTP error and latency rules"),
    "http_min_request_rate": ("number", 0, 100000, "requests/s below which the HTTP rules stay quiet"),
    "http_5xx_ratio": ("ratio", 0, 1, "share of requests answered 5xx"),
    "http_5xx_for": ("duration", 0, 86400, "for: of HighErrorRate"),
    "http_p95_seconds": (
        "number",
        LATENCY_BUCKETS[0],
        LATENCY_BUCKETS[-1],
        "p95 request latency in seconds (inside the backend's histogram buckets, below the last)",
    ),
    "http_p95_for": ("duration", 0, 86400, "for: of HighLatency"),
    "memory_limit_ratio": ("ratio", 0, 1, "working set / memory limit"),
    "memory_for": ("duration", 0, 86400, "for: of ContainerMemoryNearLimit"),
    "cpu_throttled_ratio": ("ratio", 0, 1, "throttled CFS periods / all CFS periods"),
    "cpu_window": ("duration", 60, 86400, "the rate() window of the CPU throttling rule"),
    "cpu_for": ("duration", 0, 86400, "for: of ContainerCpuThrottled"),
    "restarts_count": ("int", 1, 1000, "container restarts within restarts_window"),
    "restarts_window": ("duration", 300, 7 * 86400, "window restarts_count is counted in"),
    "crashloop_for": ("duration", 0, 86400, "for: of PodCrashLooping"),
    "volume_used_ratio": ("ratio", 0, 1, "used share above which a volume predicted to fill up alerts"),
    "volume_full_within_hours": (
        "number",
        0.25,
        8760,
        "alert when the volume is predicted full within this many hours",
    ),
    "volume_lookback": ("duration", 600, 7 * 86400, "the history predict_linear extrapolates from"),
    "volume_filling_for": ("duration", 0, 86400, "for: of VolumeFillingUp"),
    "volume_critical_ratio": ("ratio", 0, 1, "used share at which VolumeAlmostFull fires regardless of growth"),
    "volume_critical_for": ("duration", 0, 86400, "for: of VolumeAlmostFull"),
    "hpa_max_for": ("duration", 0, 7 * 86400, "how long an HPA must sit at its maximum"),
    "scrape_down_for": ("duration", 0, 86400, "how long a scrape target must fail"),
}
SETTINGS_KEYS = {
    "environment",
    "engine",
    "namespace",
    "compose_project",
    "cadvisor_job",
    "node_job",
    "prometheus_job",
    "compose_volume_mountpoint",
    "thresholds",
    "threshold_overrides",
}

RULES_FILE = "rules/goaltrajectory-alerts.yml"
# One test file per evaluation step: rule-tests/goaltrajectory-alerts.test.yml (1m) and
# rule-tests/goaltrajectory-alerts.<step>.test.yml for the long-running volume tests.
TESTS_DIR = "rule-tests"
VOLUME_DURATIONS = ("volume_lookback", "volume_filling_for", "volume_critical_for")
INTERVAL = 60  # seconds between samples in the generated tests (and the evaluation interval)


class MonitoringError(ValueError):
    """A monitoring variable no rule can use; the message names it."""


def _fail(variable: str, message: str) -> MonitoringError:
    return MonitoringError(f"monitoring_{variable}: {message}")


def seconds(duration: str) -> float:
    """Seconds in a Prometheus duration (90s, 1h30m, 0s)."""
    return sum(float(n) * DURATION_UNITS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))


def duration(secs: float) -> str:
    """A Prometheus duration for whole seconds, largest units first (3900 -> 1h5m)."""
    secs = round(secs)
    if secs == 0:
        return "0s"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            out += f"{secs // size}{unit}"
            secs %= size
    return out


def _threshold(key: str, value: Any, variable: str) -> Any:
    kind, low, high, what = THRESHOLDS[key]
    where = f"{variable}.{key}"
    if kind == "duration":
        if not isinstance(value, str) or not DURATION_RE.match(value):
            raise _fail(where, f"must be a Prometheus duration like 90s, 5m or 1h30m ({what}), got {value!r}")
        secs = seconds(value)
        if not low <= secs <= high:
            raise _fail(where, f"must be between {duration(low)} and {duration(high)} ({what}), got {value}")
        if secs % INTERVAL:
            raise _fail(where, f"must be whole minutes (the evaluation interval is 1m), got {value}")
        return duration(secs)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be a number ({what}), got {value!r}")
    if kind == "int":
        if int(value) != value or not low <= value <= high:
            raise _fail(where, f"must be a whole number from {low} to {high} ({what}), got {value!r}")
        return int(value)
    if kind == "ratio":
        if not low < value < high:
            raise _fail(where, f"must be a ratio above 0 and below 1 ({what}), got {value!r}")
        return float(value)
    if not low <= value < high or (key == "http_p95_seconds" and value >= LATENCY_BUCKETS[-1]):
        raise _fail(where, f"must be at least {low} and below {high} ({what}), got {value!r}")
    return float(value) if isinstance(value, float) else value


def _mapping(value: Any, variable: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(variable, f"must be a mapping, got {type(value).__name__}")
    return value


def _label(value: Any, variable: str, pattern: re.Pattern = LABEL_VALUE_RE) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _fail(variable, f"must be a non-empty name of letters, digits and - _ . : /, got {value!r}")
    return value


def settings(raw: Any) -> dict:
    """The role's variables, checked and with the threshold overrides merged over the defaults."""
    raw = _mapping(raw, "settings")
    unknown = sorted(set(raw) - SETTINGS_KEYS)
    if unknown:
        raise MonitoringError(f"monitoring settings: unknown key(s) {', '.join(unknown)}")
    out = {
        "environment": _label(raw.get("environment"), "environment", ENV_NAME_RE),
        "engine": raw.get("engine"),
    }
    if out["engine"] not in ENGINES:
        raise _fail("engine", f"must be one of {', '.join(ENGINES)}, got {out['engine']!r}")
    for key in ("namespace", "compose_project", "cadvisor_job", "node_job", "prometheus_job"):
        out[key] = _label(raw.get(key), key)
    mount = raw.get("compose_volume_mountpoint")
    if not isinstance(mount, str) or not mount.startswith("/") or '"' in mount:
        raise _fail("compose_volume_mountpoint", f"must be an absolute path, got {mount!r}")
    out["compose_volume_mountpoint"] = mount
    base = _mapping(raw.get("thresholds"), "thresholds")
    over = _mapping(raw.get("threshold_overrides"), "threshold_overrides")
    for variable, values in (("thresholds", base), ("threshold_overrides", over)):
        unknown = sorted(set(values) - set(THRESHOLDS))
        if unknown:
            raise _fail(f"{variable}.{unknown[0]}", f"unknown key; known: {', '.join(THRESHOLDS)}")
    missing = [key for key in THRESHOLDS if key not in base]
    if missing:
        raise _fail(f"thresholds.{missing[0]}", "missing (set every key in monitoring_thresholds)")
    thresholds = {}
    for key in THRESHOLDS:
        variable = "threshold_overrides" if key in over else "thresholds"
        thresholds[key] = _threshold(key, over.get(key, base[key]), variable)
    if thresholds["volume_used_ratio"] >= thresholds["volume_critical_ratio"]:
        raise _fail(
            f"{'threshold_overrides' if 'volume_used_ratio' in over else 'thresholds'}.volume_used_ratio",
            f"{thresholds['volume_used_ratio']} must be below volume_critical_ratio"
            f" {thresholds['volume_critical_ratio']}",
        )
    if seconds(thresholds["restarts_window"]) < (thresholds["restarts_count"] + 5) * 60:
        raise _fail(
            f"{'threshold_overrides' if 'restarts_window' in over else 'thresholds'}.restarts_window",
            f"{thresholds['restarts_window']} is too short to count {thresholds['restarts_count']} restarts"
            " (at least restarts_count + 5 minutes: the kubelet backs off between restarts)",
        )
    out["thresholds"] = thresholds
    return out


# --- selectors ------------------------------------------------------------------------------
def _sel(**matchers: str) -> str:
    """A label selector body: key=value, key=~regex (value given as ('~', regex))."""
    parts = []
    for key, value in matchers.items():
        if isinstance(value, tuple):
            parts.append(f'{key}{value[0]}"{value[1]}"')
        else:
            parts.append(f'{key}="{value}"')
    return ", ".join(parts)


def _pod_regex(svc: dict) -> str:
    """Pods of the service's workload: <name>-<ordinal> (StatefulSet), <name>-<hash>-<id> (Deployment)."""
    return f"{svc['name']}-[0-9]+" if svc["stateful"] else f"{svc['name']}-[a-z0-9]+-[a-z0-9]+"


def _example_pod(svc: dict) -> str:
    return f"{svc['name']}-0" if svc["stateful"] else f"{svc['name']}-7c9d8b5f4d-x2k8q"


def _own_readiness(svc: dict) -> bool:
    """A readiness check of its own (not its liveness path): the service checks its dependencies."""
    return svc["health"].get("readiness") != svc["health"].get("liveness")


def _claims(svc: dict) -> list[tuple[str, str]]:
    """(volume, PersistentVolumeClaim) of a service as the k8s role names its claims (one replica)."""
    if svc["stateful"]:
        return [(v["name"], f"{v['name']}-{svc['name']}-0") for v in svc["volumes"]]
    return [(v["name"], f"{svc['name']}-{v['name']}") for v in svc["volumes"]]


class Rule:
    """One alerting rule and the data that must make it fire, and stay quiet."""

    def __init__(self, group, alert, expr, for_, severity, service, summary, runbook, labels=None):
        self.group = group
        self.alert = alert
        self.expr = " ".join(expr.split())
        self.for_ = for_
        self.labels = {"severity": severity, **({"service": service} if service else {}), **(labels or {})}
        self.annotations = {"summary": summary, "runbook": runbook}
        # (case name, input series [(series, values)], eval seconds, alert sample labels or None for
        # quiet, seconds at which a firing case's fault has lasted one step less than `for`)
        self.cases: list[tuple[str, list[tuple[str, str]], int, dict | None, int]] = []
        self.step = INTERVAL  # seconds between samples and evaluations in its tests

    def key(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if k != "severity")
        return f"{self.alert}{{{extra}}}"

    def case(self, name: str, series: list[tuple[str, str]], eval_s: float, fires: dict | None, start=0) -> None:
        """A test case; a firing fault is there from ``start`` seconds on (default: the first sample)."""
        pending = int(start + seconds(self.for_) - self.step)
        self.cases.append((name, series, int(eval_s), fires, pending))

    def as_rule(self) -> dict:
        rule = {"alert": self.alert, "expr": self.expr}
        if seconds(self.for_):
            rule["for"] = self.for_
        rule.update(labels=dict(self.labels), annotations=dict(self.annotations))
        return rule


def _series(metric: str, labels: dict, values: str) -> tuple[str, str]:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return (f"{metric}{{{body}}}", values)


def _flat(value: float, minutes: int) -> str:
    return f"{_num(value)}+0x{minutes}"


def _ramp(start: float, step: float, minutes: int) -> str:
    sign = "+" if step >= 0 else "-"
    return f"{_num(start)}{sign}{_num(abs(step))}x{minutes}"


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _mins(secs: float) -> int:
    return int(secs // 60)


# --- the rules --------------------------------------------------------------------------------
class _Builder:
    def __init__(self, services: dict, s: dict):
        self.services = services
        self.s = s
        self.t = s["thresholds"]
        self.k8s = s["engine"] == "kubernetes"
        self.ns = s["namespace"]
        self.project = s["compose_project"]
        self.rules: list[Rule] = []

    # Runbook commands per engine.
    def logs(self, svc: dict) -> str:
        kind = "statefulset" if svc["stateful"] else "deploy"
        if self.k8s:
            return (
                f"kubectl -n {self.ns} describe {kind} {svc['name']}; "
                f"kubectl -n {self.ns} logs {kind}/{svc['name']} --previous"
            )
        return f"docker compose -p {self.project} ps {svc['name']}; docker compose -p {self.project} logs {svc['name']}"

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    # Series label sets the tests use.
    def target_labels(self, svc: dict) -> dict:
        """A scrape target of the service as the monitoring stack labels it (see module docstring)."""
        if self.k8s:
            return {
                "job": svc["name"],
                "namespace": self.ns,
                "pod": _example_pod(svc),
                "instance": f"10.42.0.17:{svc['metrics']['port_number']}",
            }
        return {"job": svc["name"], "instance": f"{svc['name']}:{svc['metrics']['port_number']}"}

    def target_selector(self, svc: dict, **extra) -> str:
        return _sel(job=svc["name"], **({"namespace": self.ns} if self.k8s else {}), **extra)

    def container_labels(self, svc: dict) -> dict:
        if self.k8s:
            return {
                "namespace": self.ns,
                "pod": _example_pod(svc),
                "container": svc["name"],
                "job": "kubelet",
                "instance": "node-1",
            }
        return {
            "container_label_com_docker_compose_project": self.project,
            "container_label_com_docker_compose_service": svc["name"],
            "name": f"{self.project}-{svc['name']}-1",
            "job": self.s["cadvisor_job"],
            "instance": "cadvisor:8080",
        }

    def container_selector(self, svc: dict, **extra) -> str:
        if self.k8s:
            return _sel(namespace=self.ns, pod=("=~", _pod_regex(svc)), container=svc["name"], **extra)
        return _sel(
            container_label_com_docker_compose_project=self.project,
            container_label_com_docker_compose_service=svc["name"],
            **extra,
        )

    def container_by(self) -> str:
        return "namespace, pod, container" if self.k8s else "name"

    def container_alert_labels(self, svc: dict) -> dict:
        labels = self.container_labels(svc)
        keys = ["namespace", "pod", "container"] if self.k8s else ["name"]
        return {k: labels[k] for k in keys}

    def ksm(self, **labels) -> dict:
        return {"job": "kube-state-metrics", "instance": "kube-state-metrics:8080", "namespace": self.ns, **labels}

    # --- availability -------------------------------------------------------------------------
    def availability(self) -> None:
        t = self.t
        for svc in self.services.values():
            name = svc["name"]
            down_for = seconds(t["service_down_for"])
            end = down_for + 3 * INTERVAL
            n = _mins(end)
            if self.k8s:
                kind, metric = (
                    ("statefulset", "kube_statefulset_status_replicas_ready")
                    if svc["stateful"]
                    else ("deployment", "kube_deployment_status_replicas_available")
                )
                rule = self.add(
                    Rule(
                        "goaltrajectory.availability",
                        "ServiceDown",
                        f"max by (namespace, {kind}) ({metric}{{{_sel(namespace=self.ns, **{kind: name})}}}) < 1",
                        t["service_down_for"],
                        "critical",
                        name,
                        f"{name} has no ready replica in {self.ns}",
                        f"{self.logs(svc)}; look for failing probes, image pulls or scheduling in the events.",
                    )
                )
                labels = self.ksm(**{kind: name})
                healthy = max(svc["replicas"], svc["autoscale"]["min"] if svc["autoscale"] else 1)
                rule.case("healthy", [_series(metric, labels, _flat(healthy, n))], end, None)
                rule.case(
                    "no ready replica",
                    [_series(metric, labels, _flat(0, n))],
                    end,
                    {"namespace": self.ns, kind: name},
                )
            elif svc["metrics"]:
                rule = self.add(
                    Rule(
                        "goaltrajectory.availability",
                        "ServiceDown",
                        f"up{{{self.target_selector(svc)}}} == 0",
                        t["service_down_for"],
                        "critical",
                        name,
                        f"{name} does not answer its metrics scrape (container stopped or hung)",
                        f"{self.logs(svc)}; docker compose -p {self.project} up -d {name} once the cause is fixed.",
                    )
                )
                labels = self.target_labels(svc)
                rule.case("healthy", [_series("up", labels, _flat(1, n))], end, None)
                rule.case("down", [_series("up", labels, _flat(0, n))], end, labels)
            else:
                # No metrics endpoint: cAdvisor stops reporting a container that is gone. Only
                # while cAdvisor itself is scraped (else PrometheusTargetDown says why).
                sel = _sel(
                    container_label_com_docker_compose_project=self.project,
                    container_label_com_docker_compose_service=name,
                )
                cadvisor_up = f'up{{job="{self.s["cadvisor_job"]}"}}'
                rule = self.add(
                    Rule(
                        "goaltrajectory.availability",
                        "ServiceDown",
                        f"absent(container_last_seen{{{sel}}}) and on () ({cadvisor_up} == 1)",
                        t["service_down_for"],
                        "critical",
                        name,
                        f"{name} has no running container in project {self.project}",
                        f"{self.logs(svc)}; docker compose -p {self.project} up -d {name} once the cause is fixed.",
                    )
                )
                up = _series("up", {"job": self.s["cadvisor_job"], "instance": "cadvisor:8080"}, _flat(1, n))
                seen = _series("container_last_seen", self.container_labels(svc), _ramp(1.7e9, 60, n))
                rule.case("healthy", [up, seen], end, None)
                rule.case(
                    "cAdvisor not scraped",
                    [_series("up", {"job": self.s["cadvisor_job"], "instance": "cadvisor:8080"}, _flat(0, n))],
                    end,
                    None,
                )
                rule.case(
                    "container gone",
                    [up],
                    end,
                    {
                        "container_label_com_docker_compose_project": self.project,
                        "container_label_com_docker_compose_service": name,
                    },
                )

    def readiness(self) -> None:
        t = self.t
        wait = seconds(t["not_ready_for"])
        end = wait + 3 * INTERVAL
        n = _mins(end)
        for svc in self.services.values():
            name = svc["name"]
            if self.k8s:
                pod = _example_pod(svc)
                rule = self.add(
                    Rule(
                        "goaltrajectory.availability",
                        "ServiceNotReady",
                        "max by (namespace, pod) (kube_pod_status_ready{"
                        + _sel(namespace=self.ns, pod=("=~", _pod_regex(svc)), condition="false")
                        + "}) == 1",
                        t["not_ready_for"],
                        "warning",
                        name,
                        f"a {name} pod is not ready: the Service sends it no traffic",
                        f"kubectl -n {self.ns} describe pod -l app.kubernetes.io/name={name}; its readiness probe"
                        " says why (dependencies, startup, resources).",
                    )
                )
                base = self.ksm(pod=pod, uid="0b1c2d3e")

                rule.case("healthy", _ready(base, n, 1, 0), end, None)
                rule.case("not ready", _ready(base, n, 0, 1), end, {"namespace": self.ns, "pod": pod})
            elif svc["metrics"] and svc["connects_to"] and _own_readiness(svc):
                # The app's readiness gauge (the backend sets it on every /ready, which the Compose
                # healthcheck calls): a dependency it cannot reach. Only a service with a readiness
                # check of its own (not its liveness path) checks its dependencies and exports it.
                rule = self.add(
                    Rule(
                        "goaltrajectory.availability",
                        "ServiceNotReady",
                        f"dependency_up{{{self.target_selector(svc)}}} == 0",
                        t["not_ready_for"],
                        "warning",
                        name,
                        f"{name} cannot reach a dependency and reports itself not ready",
                        f"docker compose -p {self.project} ps; check the dependency named in the alert's"
                        " `dependency` label, then its logs.",
                    )
                )
                series_up, series_down = [], []
                fired = None
                for i, dep in enumerate(svc["connects_to"]):
                    labels = {**self.target_labels(svc), "dependency": dep}
                    series_up.append(_series("dependency_up", labels, _flat(1, n)))
                    series_down.append(_series("dependency_up", labels, _flat(0 if i == 0 else 1, n)))
                    if i == 0:
                        fired = labels
                rule.case("healthy", series_up, end, None)
                rule.case("dependency down", series_down, end, fired)

    # --- HTTP ----------------------------------------------------------------------------------
    def http(self) -> None:
        t = self.t
        window = seconds(t["http_window"])
        min_rate = t["http_min_request_rate"]
        rate = max(10 * min_rate, 1.0)  # requests/s the tests drive
        for svc in self.services.values():
            if not svc["metrics"]:
                continue
            name = svc["name"]
            by = "namespace, job" if self.k8s else "job"
            total = f"sum by ({by}) (rate({HTTP_REQUESTS}{{{self.target_selector(svc)}}}[{t['http_window']}]))"
            errors = (
                f"sum by ({by}) (rate({HTTP_REQUESTS}{{{self.target_selector(svc, status=('=~', '5..'))}}}"
                f"[{t['http_window']}]))"
            )
            fired = {"job": name, **({"namespace": self.ns} if self.k8s else {})}
            ratio = t["http_5xx_ratio"]
            rule = self.add(
                Rule(
                    "goaltrajectory.http",
                    "HighErrorRate",
                    f"({errors} / {total}) > {_num(ratio)} and {total} >= {_num(min_rate)}",
                    t["http_5xx_for"],
                    "critical",
                    name,
                    f"more than {_num(ratio * 100)}% of {name}'s requests fail with 5xx over {t['http_window']}",
                    f"{self.logs(svc)}; the JSON logs' status and route fields show which route fails.",
                )
            )
            end = window + seconds(t["http_5xx_for"]) + 3 * INTERVAL
            n = _mins(end)
            target = self.target_labels(svc)

            rule.case(f"5xx at {_num(ratio * 0.8 * 100)}%", _requests(target, n, rate, ratio * 0.8), end, None)
            rule.case(
                f"5xx at {_num(_above(ratio) * 100)}%",
                _requests(target, n, rate, _above(ratio)),
                end,
                fired,
            )
            if min_rate > 0:
                rule.case(
                    "every request fails, below the minimum rate", _requests(target, n, min_rate / 2, 1.0), end, None
                )

            # p95 from the histogram: healthy data fills the bucket just under the threshold, the
            # fault the bucket just above it.
            p95 = t["http_p95_seconds"]
            bucket_sel = self.target_selector(svc)
            latency = (
                f"histogram_quantile(0.95, sum by ({by}, le) (rate({HTTP_LATENCY}_bucket{{{bucket_sel}}}"
                f"[{t['http_window']}])))"
            )
            count = f"sum by ({by}) (rate({HTTP_LATENCY}_count{{{bucket_sel}}}[{t['http_window']}]))"
            rule = self.add(
                Rule(
                    "goaltrajectory.http",
                    "HighLatency",
                    f"{latency} > {_num(p95)} and {count} >= {_num(min_rate)}",
                    t["http_p95_for"],
                    "warning",
                    name,
                    f"{name}'s p95 request latency is above {_num(p95)}s over {t['http_window']}",
                    f"{self.logs(svc)}; compare dependency_check_latency_seconds (PostgreSQL, ChromaDB) and"
                    " CPU throttling of the service.",
                )
            )
            end = window + seconds(t["http_p95_for"]) + 3 * INTERVAL
            n = _mins(end)
            # Healthy: every request in the bucket whose upper bound is the largest <= p95 (its p95
            # interpolates below that bound). Fault: every request in the first bucket whose lower
            # bound is >= p95 (its p95 interpolates above it), or above the last bucket (p95 = 10).
            below = max(b for b in LATENCY_BUCKETS if b <= p95)
            upper = [b for b in LATENCY_BUCKETS if _lower(b) >= p95]
            fault_upper = upper[0] if upper else float("inf")

            rule.case(f"p95 in the bucket up to {_num(below)}s", _histogram(target, n, rate, below), end, None)
            rule.case(
                f"p95 in the bucket up to {_num(fault_upper) if upper else '+Inf'}s",
                _histogram(target, n, rate, fault_upper),
                end,
                fired,
            )

    # --- resources ---------------------------------------------------------------------------------
    def resources(self) -> None:
        t = self.t
        for svc in self.services.values():
            name = svc["name"]
            by = self.container_by()
            ratio = t["memory_limit_ratio"]
            ws = f"container_memory_working_set_bytes{{{self.container_selector(svc)}}}"
            if self.k8s:
                limit = (
                    "kube_pod_container_resource_limits{"
                    + _sel(namespace=self.ns, pod=("=~", _pod_regex(svc)), container=name, resource="memory")
                    + "}"
                )
            else:
                limit = f"container_spec_memory_limit_bytes{{{self.container_selector(svc)}}}"
            rule = self.add(
                Rule(
                    "goaltrajectory.resources",
                    "ContainerMemoryNearLimit",
                    f"(max by ({by}) ({ws}) / max by ({by}) ({limit} > 0)) > {_num(ratio)}",
                    t["memory_for"],
                    "warning",
                    name,
                    f"{name} uses more than {_num(ratio * 100)}% of its memory limit: the next spike is an OOM kill",
                    f"{self.logs(svc)}; raise resources.limits.memory for {name} in catalog_overrides or find the"
                    " leak.",
                )
            )
            end = seconds(t["memory_for"]) + 3 * INTERVAL
            n = _mins(end)
            limit_bytes = cat.memory_bytes(svc["resources"]["limits"]["memory"])
            labels = self.container_labels(svc)

            rule.case(
                f"at {_num(ratio * 0.95 * 100)}% of the limit",
                self.memory(name, labels, n, limit_bytes, ratio * 0.95),
                end,
                None,
            )
            rule.case(
                f"at {_num(_above(ratio) * 100)}% of the limit",
                self.memory(name, labels, n, limit_bytes, _above(ratio)),
                end,
                self.container_alert_labels(svc),
            )

            ratio = t["cpu_throttled_ratio"]
            sel = self.container_selector(svc)
            throttled = f"sum by ({by}) (rate(container_cpu_cfs_throttled_periods_total{{{sel}}}[{t['cpu_window']}]))"
            periods = f"sum by ({by}) (rate(container_cpu_cfs_periods_total{{{sel}}}[{t['cpu_window']}]))"
            rule = self.add(
                Rule(
                    "goaltrajectory.resources",
                    "ContainerCpuThrottled",
                    f"({throttled} / {periods}) > {_num(ratio)}",
                    t["cpu_for"],
                    "warning",
                    name,
                    f"{name} is CPU-throttled in more than {_num(ratio * 100)}% of its CFS periods",
                    f"raise resources.limits.cpu for {name} in catalog_overrides"
                    + (" or the HPA's max replicas" if svc["autoscale"] and self.k8s else "")
                    + "; latency follows throttling.",
                )
            )
            end = seconds(t["cpu_window"]) + seconds(t["cpu_for"]) + 3 * INTERVAL
            n = _mins(end)

            rule.case(f"throttled {_num(ratio * 0.8 * 100)}%", _cpu(labels, n, ratio * 0.8), end, None)
            rule.case(
                f"throttled {_num(_above(ratio) * 100)}%",
                _cpu(labels, n, _above(ratio)),
                end,
                self.container_alert_labels(svc),
            )

    def memory(self, name, labels, n, limit_bytes, share):
        used = _series("container_memory_working_set_bytes", labels, _flat(round(limit_bytes * share), n))
        if self.k8s:
            lim = _series(
                "kube_pod_container_resource_limits",
                self.ksm(pod=labels["pod"], container=name, resource="memory", unit="byte", node="node-1"),
                _flat(limit_bytes, n),
            )
        else:
            lim = _series("container_spec_memory_limit_bytes", labels, _flat(limit_bytes, n))
        return [used, lim]

    # --- Kubernetes workloads -------------------------------------------------------------------------
    def pods(self) -> None:
        if not self.k8s:
            return
        t = self.t
        count = t["restarts_count"]
        window = seconds(t["restarts_window"])
        for svc in self.services.values():
            name = svc["name"]
            pod = _example_pod(svc)
            sel = _sel(namespace=self.ns, pod=("=~", _pod_regex(svc)), container=name)
            rule = self.add(
                Rule(
                    "goaltrajectory.kubernetes",
                    "PodRestarting",
                    f"max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{{{sel}}}"
                    f"[{t['restarts_window']}])) >= {count}",
                    "0s",
                    "warning",
                    name,
                    f"a {name} container restarted {count} times or more within {t['restarts_window']}",
                    f"kubectl -n {self.ns} logs <pod> -c {name} --previous (the pod in the alert); an OOMKilled"
                    " last state means raise its memory limit, an exit code points at the app.",
                )
            )
            labels = self.ksm(pod=pod, container=name, uid="0b1c2d3e")
            # The restarts happen one a minute in the middle of the window, after an hour-long flat start.
            lead = _mins(window)
            tail = 2

            end = (lead + (count + 1) + tail) * INTERVAL
            rule.case(
                f"{count - 1} restarts",
                _restarts(labels, lead, tail, count - 1),
                (lead + count - 1 + tail) * INTERVAL,
                None,
            )
            rule.case(
                f"{count + 1} restarts",
                _restarts(labels, lead, tail, count + 1),
                end,
                {"namespace": self.ns, "pod": pod, "container": name},
            )

            sel = _sel(namespace=self.ns, pod=("=~", _pod_regex(svc)), container=name, reason="CrashLoopBackOff")
            rule = self.add(
                Rule(
                    "goaltrajectory.kubernetes",
                    "PodCrashLooping",
                    f"max by (namespace, pod, container) (max_over_time("
                    f"kube_pod_container_status_waiting_reason{{{sel}}}[5m])) >= 1",
                    t["crashloop_for"],
                    "critical",
                    name,
                    f"a {name} container is in CrashLoopBackOff",
                    f"kubectl -n {self.ns} logs <pod> -c {name} --previous; kubectl -n {self.ns} describe pod <pod>"
                    " shows the exit code and last state.",
                )
            )
            end = seconds(t["crashloop_for"]) + 8 * INTERVAL
            n = _mins(end)
            waiting = "kube_pod_container_status_waiting_reason"
            rule.case(
                "waiting in ContainerCreating",
                [_series(waiting, {**labels, "reason": "ContainerCreating"}, _flat(1, n))],
                end,
                None,
            )
            rule.case(
                "waiting in CrashLoopBackOff",
                [_series(waiting, {**labels, "reason": "CrashLoopBackOff"}, _flat(1, n))],
                end,
                {"namespace": self.ns, "pod": pod, "container": name},
            )

            if not svc["autoscale"]:
                continue
            hpa = {"namespace": self.ns, "horizontalpodautoscaler": name}
            hsel = _sel(**hpa)
            by = "max by (namespace, horizontalpodautoscaler)"
            current = f"{by} (kube_horizontalpodautoscaler_status_current_replicas{{{hsel}}})"
            most = f"{by} (kube_horizontalpodautoscaler_spec_max_replicas{{{hsel}}})"
            rule = self.add(
                Rule(
                    "goaltrajectory.kubernetes",
                    "HpaAtMaxReplicas",
                    f"{current} >= {most}",
                    t["hpa_max_for"],
                    "warning",
                    name,
                    f"the {name} autoscaler has run at its maximum replicas for {t['hpa_max_for']}",
                    f"kubectl -n {self.ns} describe hpa {name}; raise autoscale.max for {name} in catalog_overrides"
                    " (and the ResourceQuota) or find what drives the load.",
                )
            )
            end = seconds(t["hpa_max_for"]) + 3 * INTERVAL
            n = _mins(end)
            top = svc["autoscale"]["max"]
            labels = self.ksm(horizontalpodautoscaler=name)

            rule.case(f"{top - 1} of {top} replicas", _replicas(labels, n, top, top - 1), end, None)
            rule.case(f"{top} of {top} replicas", _replicas(labels, n, top, top), end, hpa)

    # --- volumes --------------------------------------------------------------------------------------
    def volumes(self) -> None:
        t = self.t
        owners = [svc for svc in self.services.values() if svc["volumes"]]
        if not owners:
            return
        if self.k8s:
            targets = []
            for svc in owners:
                for volume_name, claim in _claims(svc):
                    labels = {
                        "namespace": self.ns,
                        "persistentvolumeclaim": claim,
                        "job": "kubelet",
                        "instance": "node-1",
                        "node": "node-1",
                    }
                    sel = _sel(namespace=self.ns, persistentvolumeclaim=claim)
                    by = "namespace, persistentvolumeclaim"
                    fired = {"namespace": self.ns, "persistentvolumeclaim": claim}
                    extra = {"service": svc["name"], "volume": volume_name}
                    targets.append((f"PVC {claim}", labels, sel, by, fired, "kubelet_volume_stats", extra, svc["name"]))
        else:
            mount = self.s["compose_volume_mountpoint"]
            labels = {
                "job": self.s["node_job"],
                "instance": "node-exporter:9100",
                "mountpoint": mount,
                "device": "/dev/vda1",
                "fstype": "ext4",
            }
            sel = _sel(job=self.s["node_job"], mountpoint=mount)
            fired = {"job": self.s["node_job"], "instance": "node-exporter:9100", "mountpoint": mount}
            names = ", ".join(s["name"] for s in owners)
            what = f"the filesystem at {mount} holding the volumes of {names}"
            targets = [(what, labels, sel, "job, instance, mountpoint", fired, "node_filesystem", {}, "")]

        # The volume tests span volume_lookback + volume_filling_for (7 h by default): evaluated every
        # 5 minutes when the durations allow it (promtool evaluates every rule at every step).
        slow_step = 300
        step = slow_step if all(seconds(t[k]) % slow_step == 0 for k in VOLUME_DURATIONS) else INTERVAL
        for what, labels, sel, by, fired, family, extra, service in targets:
            avail_m, size_m = (
                ("kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes")
                if family == "kubelet_volume_stats"
                else ("node_filesystem_avail_bytes", "node_filesystem_size_bytes")
            )
            avail = f"max by ({by}) ({avail_m}{{{sel}}})"
            size = f"max by ({by}) ({size_m}{{{sel}}})"
            used = t["volume_used_ratio"]
            hours = t["volume_full_within_hours"]
            horizon = hours * 3600
            runbook = (
                f"kubectl -n {self.ns} exec into the {service} pod and find what grows (du -x); expand the claim"
                " or prune data"
                if self.k8s
                else f"df -h {self.s['compose_volume_mountpoint']}; docker system df -v shows which volume or image"
                " grows"
            )
            rule = self.add(
                Rule(
                    "goaltrajectory.volumes",
                    "VolumeFillingUp",
                    f"(1 - {avail} / {size}) > {_num(used)} and "
                    f"max by ({by}) (predict_linear({avail_m}{{{sel}}}[{t['volume_lookback']}], {int(horizon)})) < 0",
                    t["volume_filling_for"],
                    "warning",
                    "",
                    f"{what} is more than {_num(used * 100)}% used and predicted full within {_num(hours)}h",
                    runbook + ".",
                    labels=extra,
                )
            )
            rule.step = step
            capacity = 100 * 2**30
            look = seconds(t["volume_lookback"])
            wait = seconds(t["volume_filling_for"])
            end = look + wait + 2 * step
            n = int(end // step)

            free = 1 - used
            # Healthy hosts here: 80% used, flat (these hosts report their disks 70-85% used).
            rule.case(
                "80% used, not growing",
                _volume(avail_m, size_m, labels, capacity, n, _flat(capacity * 0.2, n)),
                end,
                None,
            )
            # Below the threshold and filling fast: growth alone does not alert (the disks of the build
            # hosts grow by a few GB during builds).
            fast_end = capacity * max(0.2, free * 1.05)
            fast = fast_end / (horizon / 2) * step
            if fast_end + fast * n < capacity:
                rule.case(
                    f"below {_num(used * 100)}% used, predicted full within {_num(hours / 2)}h",
                    _volume(avail_m, size_m, labels, capacity, n, _ramp(fast_end + fast * n, -fast, n)),
                    end,
                    None,
                )
            # Above the threshold, and n minutes of linear decline to a_end, predicted full within the horizon.
            f = 0.9 / (1 + 2 * wait / horizon)  # 90% of the free share when the for: starts
            a_end = f * free * capacity
            slope = 2 * a_end / horizon * step  # bytes per step: full in half the horizon from the end
            a0 = a_end + slope * n
            if a0 > capacity:
                raise _fail(
                    "thresholds.volume_lookback",
                    f"{t['volume_lookback']} plus volume_filling_for {t['volume_filling_for']} is too long for"
                    f" volume_full_within_hours {_num(hours)} to be tested",
                )
            # The first evaluation at which it is more than volume_used_ratio used (and, with the
            # steady decline, predicted full): the fault starts there.
            crossing = (math.floor((a0 - free * capacity) / slope) + 1) * step
            rule.case(
                f"above {_num(used * 100)}% used, full in {_num(hours / 2)}h",
                _volume(avail_m, size_m, labels, capacity, n, _ramp(a0, -slope, n)),
                end,
                {**fired, **extra},
                start=crossing,
            )
            slow = a_end / (2 * horizon) * step
            rule.case(
                f"above {_num(used * 100)}% used, full in {_num(hours * 2)}h",
                _volume(avail_m, size_m, labels, capacity, n, _ramp(a_end + slow * n, -slow, n)),
                end,
                None,
            )

            critical = t["volume_critical_ratio"]
            rule = self.add(
                Rule(
                    "goaltrajectory.volumes",
                    "VolumeAlmostFull",
                    f"(1 - {avail} / {size}) > {_num(critical)}",
                    t["volume_critical_for"],
                    "critical",
                    "",
                    f"{what} is more than {_num(critical * 100)}% used",
                    runbook + " now: writes fail when it is full.",
                    labels=extra,
                )
            )
            rule.step = step
            end = seconds(t["volume_critical_for"]) + 3 * step
            n = int(end // step)
            margin = (1 - critical) / 2
            if critical > 0.8:
                rule.case(
                    "80% used, not growing",
                    _volume(avail_m, size_m, labels, capacity, n, _flat(capacity * 0.2, n)),
                    end,
                    None,
                )
            rule.case(
                f"{_num((critical - margin) * 100)}% used",
                _volume(avail_m, size_m, labels, capacity, n, _flat(capacity * (1 - critical + margin), n)),
                end,
                None,
            )
            rule.case(
                f"{_num((critical + margin) * 100)}% used",
                _volume(avail_m, size_m, labels, capacity, n, _flat(capacity * margin, n)),
                end,
                {**fired, **extra},
            )

    # --- Prometheus itself -----------------------------------------------------------------------------
    def prometheus(self) -> None:
        t = self.t
        wait = seconds(t["scrape_down_for"])
        end = wait + 3 * INTERVAL
        n = _mins(end)
        rule = self.add(
            Rule(
                "goaltrajectory.prometheus",
                "PrometheusTargetDown",
                "up == 0",
                t["scrape_down_for"],
                "warning",
                "",
                "Prometheus cannot scrape a target",
                "open Prometheus' /api/v1/targets and read the target's lastError; a stopped exporter or a"
                " NetworkPolicy blocking the metrics port are the usual causes.",
            )
        )
        metric_services = [svc for svc in self.services.values() if svc["metrics"]]
        extra = [
            {"job": self.s["prometheus_job"], "instance": "localhost:9090"},
            {"job": self.s["cadvisor_job"], "instance": "cadvisor:8080"},
        ]
        targets = [self.target_labels(svc) for svc in metric_services] + extra
        rule.case("every target up", [_series("up", lab, _flat(1, n)) for lab in targets], end, None)
        rule.case(
            f"{targets[0]['job']} unreachable",
            [_series("up", lab, _flat(0 if i == 0 else 1, n)) for i, lab in enumerate(targets)],
            end,
            targets[0],
        )

        prom = {"job": self.s["prometheus_job"], "instance": "localhost:9090"}
        for alert, metric, summary, runbook in (
            (
                "PrometheusTargetSampleLimitExceeded",
                "prometheus_target_scrapes_exceeded_sample_limit_total",
                "a scrape returned more samples than its sample_limit and was dropped",
                "find the target in /api/v1/targets (its lastError names the limit); drop high-cardinality labels"
                " or raise the job's sample_limit.",
            ),
            (
                "PrometheusRuleEvaluationFailures",
                "prometheus_rule_evaluation_failures_total",
                "Prometheus fails to evaluate alerting rules: those alerts cannot fire",
                "open /api/v1/rules and read lastError of the failing rule group; fix the expression in"
                " plugins/module_utils/monitoring_rules.py.",
            ),
        ):
            rule = self.add(
                Rule(
                    "goaltrajectory.prometheus",
                    alert,
                    f"sum by (job, instance) (increase({metric}{{{_sel(job=self.s['prometheus_job'])}}}[5m])) > 0",
                    "0s",
                    "warning",
                    "",
                    summary,
                    runbook,
                )
            )
            n = 10
            labels = {**prom, **({"rule_group": "goaltrajectory.http"} if "rule" in metric else {})}
            rule.case("counter flat", [_series(metric, labels, _flat(3, n))], 8 * INTERVAL, None)
            rule.case("counter rising", [_series(metric, labels, _ramp(3, 1, n))], 8 * INTERVAL, dict(prom))


# Test series of the rules' cases.
def _above(ratio: float) -> float:
    """A fault just past a ratio threshold: a quarter above it, at most halfway to 1."""
    return min(ratio * 1.25, (1 + ratio) / 2)


def _ready(base, n, true, false):
    return [
        _series("kube_pod_status_ready", {**base, "condition": "true"}, _flat(true, n)),
        _series("kube_pod_status_ready", {**base, "condition": "false"}, _flat(false, n)),
        _series("kube_pod_status_ready", {**base, "condition": "unknown"}, _flat(0, n)),
    ]


def _requests(target, n, per_s, bad_share):
    per_min = per_s * 60
    labels = {**target, "method": "GET", "route": "/api/goals"}
    return [
        _series(HTTP_REQUESTS, {**labels, "status": "200"}, _ramp(0, per_min * (1 - bad_share), n)),
        _series(HTTP_REQUESTS, {**labels, "status": "500"}, _ramp(0, per_min * bad_share, n)),
    ]


def _histogram(target, n, rate, upper):
    per_min = rate * 60
    labels = {**target, "method": "GET", "route": "/api/goals", "status": "200"}
    out = []
    for le in [*LATENCY_BUCKETS, "+Inf"]:
        inc = per_min if le == "+Inf" or le >= upper else 0  # cumulative buckets
        le_text = le if le == "+Inf" else _num(le)
        out.append(_series(f"{HTTP_LATENCY}_bucket", {**labels, "le": le_text}, _ramp(0, inc, n)))
    out.append(_series(f"{HTTP_LATENCY}_count", labels, _ramp(0, per_min, n)))
    return out


def _cpu(labels, n, share):
    periods_per_min = 600  # 100 ms CFS periods, always busy
    return [
        _series("container_cpu_cfs_periods_total", labels, _ramp(0, periods_per_min, n)),
        _series("container_cpu_cfs_throttled_periods_total", labels, _ramp(0, periods_per_min * share, n)),
    ]


def _restarts(labels, lead, tail, k):
    if k == 0:
        return [_series("kube_pod_container_status_restarts_total", labels, _flat(0, lead + tail + 1))]
    values = f"0+0x{lead} 1+1x{k - 1} {k}+0x{tail}"
    return [_series("kube_pod_container_status_restarts_total", labels, values)]


def _replicas(labels, n, top, k):
    return [
        _series("kube_horizontalpodautoscaler_status_current_replicas", labels, _flat(k, n)),
        _series("kube_horizontalpodautoscaler_spec_max_replicas", labels, _flat(top, n)),
    ]


def _volume(avail_m, size_m, labels, capacity, n, values):
    return [_series(avail_m, labels, values), _series(size_m, labels, _flat(capacity, n))]


def _lower(bound: float) -> float:
    i = LATENCY_BUCKETS.index(bound)
    return LATENCY_BUCKETS[i - 1] if i else 0.0


def build(services: dict, raw_settings: Any) -> list[Rule]:
    """Every alerting rule for the environment, each with its test cases."""
    s = settings(raw_settings)
    b = _Builder(services, s)
    b.availability()
    b.readiness()
    b.http()
    b.resources()
    b.pods()
    b.volumes()
    b.prometheus()
    return b.rules


def rules_document(rules_list: list[Rule]) -> dict:
    """The Prometheus rule file: one group per concern, in the order built."""
    groups: dict[str, list] = {}
    for rule in rules_list:
        groups.setdefault(rule.group, []).append(rule.as_rule())
    return {"groups": [{"name": name, "rules": items} for name, items in groups.items()]}


def tests_documents(rules_list: list[Rule], rule_file: str) -> dict[str, dict]:
    """The promtool test files by path (under TESTS_DIR): one test group per rule and case, in
    one file per evaluation step."""
    files: dict[str, dict] = {}
    for rule in rules_list:
        if not rule.cases:
            raise MonitoringError(f"rule {rule.key()} has no test cases")
        # The other rules of the same alert name (other services) get their healthy data, so that
        # only this rule's case decides whether the alert fires.
        context = [
            series
            for other in rules_list
            if other is not rule and other.alert == rule.alert and other.step == rule.step
            for series in next(c[1] for c in other.cases if c[3] is None)
        ]
        suffix = "" if rule.step == INTERVAL else f".{duration(rule.step)}"
        doc = files.setdefault(
            f"{TESTS_DIR}/goaltrajectory-alerts{suffix}.test.yml",
            {"rule_files": [rule_file], "evaluation_interval": duration(rule.step), "tests": []},
        )
        for name, own, eval_s, fires, pending in rule.cases:
            names = {text for text, _values in own}
            series = [*own, *[(s, v) for s, v in context if s not in names]]
            checks = [{"eval_time": duration(eval_s), "alertname": rule.alert, "exp_alerts": []}]
            wait = seconds(rule.for_)
            if fires is not None:
                checks[0]["exp_alerts"] = [
                    {"exp_labels": {**fires, **rule.labels}, "exp_annotations": dict(rule.annotations)}
                ]
                if wait > rule.step:
                    # One step before the fault has lasted its `for` the alert may be pending, never
                    # firing: the rule honours the environment's `for`.
                    checks.insert(0, {"eval_time": duration(pending), "alertname": rule.alert, "exp_alerts": []})
            doc["tests"].append(
                {
                    "name": f"{rule.key()}: {name} -> {'fires' if fires is not None else 'quiet'}",
                    "interval": duration(rule.step),
                    "input_series": [{"series": s, "values": v} for s, v in dict(series).items()],
                    "alert_rule_test": checks,
                }
            )
    return files


# --- coverage: read back from the files -----------------------------------------------------------
METRIC_RE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def rule_key(rule: dict) -> str:
    labels = rule.get("labels") or {}
    extra = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "severity")
    return f"{rule['alert']}{{{extra}}}"


def coverage(rules_doc: dict, tests_docs: list[dict]) -> list[str]:
    """Problems: each alerting rule needs a test where it fires (expected labels include the rule's
    labels) and a named quiet test fed every metric the rule reads. Empty when every rule is covered."""
    problems = []
    groups = [test for doc in tests_docs for test in (doc or {}).get("tests") or []]
    for group in (rules_doc or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue
            key = rule_key(rule)
            labels = rule.get("labels") or {}
            metrics = set(METRIC_RE.findall(rule["expr"]))
            fires = quiet = False
            for test in groups:
                series_names = {METRIC_RE.match(s["series"]).group(1) for s in test.get("input_series") or []}
                cases = [c for c in test.get("alert_rule_test") or [] if c.get("alertname") == rule["alert"]]
                expected = [alert for case in cases for alert in case.get("exp_alerts") or []]
                if any(labels.items() <= (alert.get("exp_labels") or {}).items() for alert in expected):
                    fires = True
                # Quiet: a test of this rule in which the alert is expected at no evaluation.
                named = str(test.get("name", "")).startswith(key + ":")
                if cases and not expected and named and metrics <= series_names:
                    quiet = True
            if not fires:
                problems.append(f"{key} ({group['name']}): no test where it fires")
            if not quiet:
                problems.append(f"{key} ({group['name']}): no test fed {sorted(metrics)} where it stays quiet")
    return problems


def files(services: dict, raw_settings: Any) -> list[dict]:
    """[{path, content}] of the environment's monitoring tree: the rule file and its test files."""
    from . import yaml_dump  # PyYAML: only on the controller

    checked = settings(raw_settings)
    rules_list = build(services, checked)
    where = f"environment {checked['environment']!r} ({checked['engine']})"
    header = [
        f"Prometheus alerting rules for {where}: {len(rules_list)} rules.",
        "Rendered by the goaltrajectory.platform monitoring role from the service catalog (roles/catalog) and the",
        "monitoring_thresholds / monitoring_threshold_overrides variables; change those, not this file.",
    ]
    out = [{"path": RULES_FILE, "content": yaml_dump.document(rules_document(rules_list), header)}]
    for path, doc in tests_documents(rules_list, "../" + RULES_FILE).items():
        tests_header = [
            f"promtool unit tests of {RULES_FILE} for {where}: each rule fires on a fault and stays quiet on",
            f"healthy data at this environment's thresholds (evaluated every {doc['evaluation_interval']}).",
            "Run: promtool test rules <this file>. Rendered by the goaltrajectory.platform monitoring role.",
        ]
        out.append({"path": path, "content": yaml_dump.document(doc, tests_header)})
    return out
