"""The alerting rules of the monitoring role: derived from the catalog, thresholds per environment,
bad input named, tests generated for every rule (promtool runs them in `make lint`)."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr

ROOT = Path(__file__).resolve().parents[3]
ENVIRONMENTS = {
    "dev": "dev_hosts",
    "staging": "clusters",
    "prod": "clusters",
    "local": "clusters",
}


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


DEFAULTS = _yaml(ROOT / "roles/monitoring/defaults/main.yml")
RAW_CATALOG = _yaml(ROOT / "roles/catalog/defaults/main.yml")["catalog_services"]


def raw_settings(**over) -> dict:
    settings = {
        "environment": "dev",
        "engine": "kubernetes",
        "namespace": "goaltrajectory-dev",
        "compose_project": DEFAULTS["monitoring_compose_project"],
        "compose_volume_mountpoint": DEFAULTS["monitoring_compose_volume_mountpoint"],
        "cadvisor_job": DEFAULTS["monitoring_cadvisor_job"],
        "node_job": DEFAULTS["monitoring_node_job"],
        "prometheus_job": DEFAULTS["monitoring_prometheus_job"],
        "thresholds": copy.deepcopy(DEFAULTS["monitoring_thresholds"]),
        "threshold_overrides": {},
    }
    settings.update(over)
    return settings


def env_inputs(env: str) -> tuple[dict, dict]:
    """The catalog and settings an inventory gives the role (its group_vars over the defaults)."""
    group = ROOT / "inventories" / env / "group_vars" / ENVIRONMENTS[env]
    values: dict = {}
    for path in (group / "main.yml", group / "monitoring.yml"):  # not vault.yml: no secrets needed
        if path.exists():
            values.update(_yaml(path))
    services = catalog.build(copy.deepcopy(RAW_CATALOG), values.get("catalog_overrides"))
    settings = raw_settings(
        environment=values["monitoring_environment"],
        engine=values["monitoring_engine"],
        namespace=values.get("monitoring_namespace", f"goaltrajectory-{values['monitoring_environment']}"),
        threshold_overrides=values.get("monitoring_threshold_overrides", {}),
    )
    return services, settings


@pytest.fixture
def services() -> dict:
    return catalog.build(copy.deepcopy(RAW_CATALOG))


def keys(rules) -> set[str]:
    return {rule.key() for rule in rules}


# --- the backend's real metric names ---------------------------------------------------------------
def test_metric_names_and_buckets_are_the_backends():
    tree = ast.parse((ROOT / "app/backend/goaltrajectory/metrics.py").read_text())
    calls = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Counter", "Histogram"):
            name = node.args[0].value
            buckets = next((kw.value for kw in node.keywords if kw.arg == "buckets"), None)
            labels = [elt.value for elt in node.args[2].elts]
            calls[node.func.id] = (name, ast.literal_eval(buckets) if buckets else None, labels)
    # prometheus_client appends _total to a counter's name if it lacks it.
    assert calls["Counter"][0].removesuffix("_total") + "_total" == mr.HTTP_REQUESTS
    assert "status" in calls["Counter"][2]
    assert calls["Histogram"][0] == mr.HTTP_LATENCY
    assert tuple(calls["Histogram"][1]) == mr.LATENCY_BUCKETS


# --- derived from the catalog ----------------------------------------------------------------------
def test_kubernetes_rules_follow_the_catalog(services):
    rules = mr.build(services, raw_settings())
    names = set(services)
    by_alert = {}
    for rule in rules:
        by_alert.setdefault(rule.alert, set()).add(rule.labels.get("service"))
    for alert in ("ServiceDown", "ServiceNotReady", "ContainerMemoryNearLimit", "ContainerCpuThrottled"):
        assert by_alert[alert] == names
    assert by_alert["PodRestarting"] == by_alert["PodCrashLooping"] == names
    assert by_alert["HighErrorRate"] == by_alert["HighLatency"] == {n for n, s in services.items() if s["metrics"]}
    assert by_alert["HpaAtMaxReplicas"] == {n for n, s in services.items() if s["autoscale"]}
    assert (
        by_alert["VolumeFillingUp"] == by_alert["VolumeAlmostFull"] == {n for n, s in services.items() if s["volumes"]}
    )
    # StatefulSet claims are <volume>-<name>-0, Deployment claims <name>-<volume> (roles/k8s).
    volume_exprs = " ".join(r.expr for r in rules if r.alert == "VolumeFillingUp")
    assert 'persistentvolumeclaim="data-postgres-0"' in volume_exprs
    assert 'persistentvolumeclaim="chromadb-data"' in volume_exprs
    down = {r.labels["service"]: r.expr for r in rules if r.alert == "ServiceDown"}
    assert "kube_statefulset_status_replicas_ready" in down["postgres"]
    assert (
        'kube_deployment_status_replicas_available{namespace="goaltrajectory-dev", deployment="backend"}'
        in down["backend"]
    )


def test_compose_rules_follow_the_catalog(services):
    rules = mr.build(services, raw_settings(engine="compose"))
    alerts = {r.alert for r in rules}
    assert not alerts & {"PodRestarting", "PodCrashLooping", "HpaAtMaxReplicas"}
    down = {r.labels["service"]: r.expr for r in rules if r.alert == "ServiceDown"}
    assert down["backend"] == 'up{job="backend"} == 0'
    assert down["postgres"].startswith("absent(container_last_seen{")
    assert 'container_label_com_docker_compose_service="postgres"' in down["postgres"]
    # Only the backend reports its dependencies (dependency_up): it has metrics and connects_to.
    assert {r.labels["service"] for r in rules if r.alert == "ServiceNotReady"} == {"backend"}
    assert [r.key() for r in rules if r.alert == "VolumeFillingUp"] == ["VolumeFillingUp{}"]


def test_a_service_added_through_catalog_overrides_gets_its_rules():
    worker = {
        "image": {"context": "{app}/worker", "dockerfile": "{app}/worker/Dockerfile", "runtime_base": "python"},
        "runtime": "python",
        "ports": [{"name": "http", "port": 9000}],
        "health": {"port": "http", "liveness": "/health"},
        "metrics": {"port": "http", "path": "/metrics"},
        "autoscale": {"min": 1, "max": 5},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
    }
    services = catalog.build(copy.deepcopy(RAW_CATALOG), {"worker": worker, "frontend": None})
    found = keys(mr.build(services, raw_settings()))
    assert "HighErrorRate{service=worker}" in found
    assert "HpaAtMaxReplicas{service=worker}" in found
    assert not any("service=frontend" in key for key in found)
    worker_test = mr.tests_documents(mr.build(services, raw_settings()), "../r.yml")
    names = [t["name"] for doc in worker_test.values() for t in doc["tests"]]
    assert "HpaAtMaxReplicas{service=worker}: 5 of 5 replicas -> fires" in names


# --- thresholds per environment -------------------------------------------------------------------
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_each_environment_renders_with_its_thresholds(env):
    services, settings = env_inputs(env)
    checked = mr.settings(settings)
    rules = mr.build(services, settings)
    ratio = checked["thresholds"]["http_5xx_ratio"]
    error_rule = next(r for r in rules if r.alert == "HighErrorRate")
    assert f") > {mr._num(ratio)} and" in error_rule.expr
    p95 = checked["thresholds"]["http_p95_seconds"]
    assert f"> {mr._num(p95)} and" in next(r for r in rules if r.alert == "HighLatency").expr
    assert mr.coverage(mr.rules_document(rules), list(mr.tests_documents(rules, "../r.yml").values())) == []
    for rule in rules:
        assert rule.annotations["runbook"] and "\n" not in rule.annotations["runbook"]
        assert rule.annotations["summary"] and "\n" not in rule.annotations["summary"]
        assert rule.for_ == checked["thresholds"].get(_for_key(rule.alert), rule.for_)


def _for_key(alert: str) -> str:
    return {
        "ServiceDown": "service_down_for",
        "ServiceNotReady": "not_ready_for",
        "HighErrorRate": "http_5xx_for",
        "HighLatency": "http_p95_for",
        "ContainerMemoryNearLimit": "memory_for",
        "ContainerCpuThrottled": "cpu_for",
        "PodCrashLooping": "crashloop_for",
        "VolumeFillingUp": "volume_filling_for",
        "VolumeAlmostFull": "volume_critical_for",
        "HpaAtMaxReplicas": "hpa_max_for",
        "PrometheusTargetDown": "scrape_down_for",
    }.get(alert, "")


def test_environments_differ_where_their_inventories_say():
    prod = mr.settings(env_inputs("prod")[1])["thresholds"]
    dev = mr.settings(env_inputs("dev")[1])["thresholds"]
    assert prod["http_5xx_ratio"] == 0.01 and dev["http_5xx_ratio"] == 0.1
    assert mr.settings(env_inputs("local")[1])["namespace"] == "goaltrajectory-local"


def _rate_share(tests_doc_test, job: str = "backend") -> float:
    """The 5xx share of an HighErrorRate test: the per-step increments of its two counters for `job`
    (the other services with metrics are fed healthy series alongside)."""
    steps = {}
    for series in tests_doc_test["input_series"]:
        if f'job="{job}"' not in series["series"]:
            continue
        status = re.search(r'status="(\d+)"', series["series"]).group(1)
        steps[status] = float(re.match(r"[-0-9.e]+\+([0-9.e]+)x", series["values"]).group(1))
    return steps["500"] / (steps["500"] + steps["200"])


@pytest.mark.parametrize("job", ["backend", "frontend"])
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_generated_cases_sit_on_either_side_of_the_environments_threshold(env, job):
    services, settings = env_inputs(env)
    ratio = mr.settings(settings)["thresholds"]["http_5xx_ratio"]
    docs = mr.tests_documents(mr.build(services, settings), "../r.yml")
    prefix = f"HighErrorRate{{service={job}}}"
    tests = [t for doc in docs.values() for t in doc["tests"] if t["name"].startswith(prefix)]
    fired = [t for t in tests if any(c["exp_alerts"] for c in t["alert_rule_test"])]
    quiet = [t for t in tests if t not in fired and "minimum rate" not in t["name"]]
    assert len(fired) == 1 and len(quiet) == 1
    assert _rate_share(quiet[0], job) < ratio < _rate_share(fired[0], job)
    assert _rate_share(quiet[0], job) > ratio * 0.5  # near the line, not trivially far from it


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_a_volume_80_percent_used_and_steady_is_a_quiet_case(env):
    services, settings = env_inputs(env)
    docs = mr.tests_documents(mr.build(services, settings), "../r.yml")
    steady = [
        t
        for doc in docs.values()
        for t in doc["tests"]
        if t["name"].startswith("VolumeFillingUp") and "80% used, not growing -> quiet" in t["name"]
    ]
    assert steady
    for test in steady:
        avail, size = (s["values"] for s in test["input_series"][:2])
        a, size_value = float(avail.split("+")[0]), float(size.split("+")[0])
        assert avail.endswith(tuple(f"+0x{n}" for n in range(1000)))  # flat
        assert a / size_value == pytest.approx(0.2)


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_a_fault_is_not_firing_one_step_before_the_environments_for(env):
    services, settings = env_inputs(env)
    thresholds = mr.settings(settings)["thresholds"]
    docs = mr.tests_documents(mr.build(services, settings), "../r.yml")
    test = next(
        t
        for doc in docs.values()
        for t in doc["tests"]
        if t["name"].startswith("HighErrorRate{service=backend}: 5xx at") and t["name"].endswith("fires")
    )
    pending, firing = test["alert_rule_test"]
    assert pending == {
        "eval_time": mr.duration(mr.seconds(thresholds["http_5xx_for"]) - 60),
        "alertname": "HighErrorRate",
        "exp_alerts": [],
    }
    assert firing["exp_alerts"]


def test_volume_tests_run_at_a_5m_step_when_the_durations_allow(services):
    docs = mr.tests_documents(mr.build(services, raw_settings()), "../r.yml")
    assert docs["rule-tests/goaltrajectory-alerts.5m.test.yml"]["evaluation_interval"] == "5m"
    odd = raw_settings(threshold_overrides={"volume_filling_for": "7m"})
    assert list(mr.tests_documents(mr.build(services, odd), "../r.yml")) == [
        "rule-tests/goaltrajectory-alerts.test.yml"
    ]


def test_files_are_deterministic(services):
    first = mr.files(services, raw_settings())
    assert first == mr.files(services, raw_settings())
    assert [f["path"] for f in first] == [
        "rules/goaltrajectory-alerts.yml",
        "rule-tests/goaltrajectory-alerts.test.yml",
        "rule-tests/goaltrajectory-alerts.5m.test.yml",
    ]
    rules_doc = yaml.safe_load(first[0]["content"])
    assert [g["name"] for g in rules_doc["groups"]] == [
        "goaltrajectory.availability",
        "goaltrajectory.http",
        "goaltrajectory.resources",
        "goaltrajectory.kubernetes",
        "goaltrajectory.volumes",
        "goaltrajectory.prometheus",
    ]


# --- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"threshold_overrides": {"http_5xx_ratio": 1.5}},
            "monitoring_threshold_overrides.http_5xx_ratio: must be a ratio",
        ),
        ({"threshold_overrides": {"http_5xx_ratio": 0}}, "monitoring_threshold_overrides.http_5xx_ratio"),
        ({"threshold_overrides": {"memory_limit_ratio": "high"}}, "monitoring_threshold_overrides.memory_limit_ratio"),
        ({"threshold_overrides": {"http_p95_seconds": 10}}, "monitoring_threshold_overrides.http_p95_seconds"),
        ({"threshold_overrides": {"http_p95_seconds": 0.001}}, "monitoring_threshold_overrides.http_p95_seconds"),
        ({"threshold_overrides": {"http_5xx_for": "5 minutes"}}, "monitoring_threshold_overrides.http_5xx_for"),
        ({"threshold_overrides": {"http_5xx_for": "90s"}}, "must be whole minutes"),
        ({"threshold_overrides": {"restarts_count": 2.5}}, "monitoring_threshold_overrides.restarts_count"),
        ({"threshold_overrides": {"restarts_count": True}}, "monitoring_threshold_overrides.restarts_count"),
        ({"threshold_overrides": {"http_5xx_rate": 0.1}}, "monitoring_threshold_overrides.http_5xx_rate: unknown key"),
        ({"threshold_overrides": ["http_5xx_ratio"]}, "monitoring_threshold_overrides: must be a mapping"),
        (
            {"threshold_overrides": {"volume_used_ratio": 0.98}},
            "monitoring_threshold_overrides.volume_used_ratio: 0.98 must be below volume_critical_ratio",
        ),
        ({"threshold_overrides": {"restarts_window": "6m"}}, "monitoring_threshold_overrides.restarts_window"),
        ({"engine": "swarm"}, "monitoring_engine: must be one of compose, kubernetes"),
        ({"environment": "Prod"}, "monitoring_environment"),
        ({"namespace": 'a"b'}, "monitoring_namespace"),
        ({"compose_volume_mountpoint": "var/lib"}, "monitoring_compose_volume_mountpoint"),
    ],
)
def test_bad_input_names_the_variable(services, over, message):
    with pytest.raises(mr.MonitoringError, match=re.escape(message)):
        mr.build(services, raw_settings(**over))


def test_a_missing_threshold_is_named(services):
    settings = raw_settings()
    del settings["thresholds"]["cpu_for"]
    with pytest.raises(mr.MonitoringError, match=re.escape("monitoring_thresholds.cpu_for: missing")):
        mr.settings(settings)


def test_an_unknown_default_threshold_is_named():
    settings = raw_settings()
    settings["thresholds"]["cpu_fro"] = "5m"
    with pytest.raises(mr.MonitoringError, match=re.escape("monitoring_thresholds.cpu_fro: unknown key")):
        mr.settings(settings)


def test_overrides_win_over_the_defaults():
    checked = mr.settings(raw_settings(threshold_overrides={"cpu_for": "1h30m", "http_5xx_ratio": 0.02}))
    assert checked["thresholds"]["cpu_for"] == "1h30m"
    assert checked["thresholds"]["http_5xx_ratio"] == 0.02
    assert checked["thresholds"]["memory_for"] == DEFAULTS["monitoring_thresholds"]["memory_for"]


def test_every_default_threshold_is_documented_in_the_argument_specs():
    specs = _yaml(ROOT / "roles/monitoring/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert (
        set(specs["monitoring_thresholds"]["options"]) == set(mr.THRESHOLDS) == set(DEFAULTS["monitoring_thresholds"])
    )


# --- coverage: a rule without a test fails ----------------------------------------------------------
def _docs(services):
    rules = mr.build(services, raw_settings())
    return mr.rules_document(rules), list(mr.tests_documents(rules, "../r.yml").values())


def test_coverage_is_complete_for_the_generated_tests(services):
    rules_doc, tests_docs = _docs(services)
    assert mr.coverage(rules_doc, tests_docs) == []


def test_a_rule_without_tests_is_reported(services):
    rules_doc, tests_docs = _docs(services)
    rules_doc["groups"][0]["rules"].append(
        {"alert": "Unwatched", "expr": "vector(1)", "labels": {"severity": "warning", "service": "backend"}}
    )
    problems = mr.coverage(rules_doc, tests_docs)
    assert problems == [
        "Unwatched{service=backend} (goaltrajectory.availability): no test where it fires",
        "Unwatched{service=backend} (goaltrajectory.availability): no test fed [] where it stays quiet",
    ]


def test_a_rule_whose_quiet_test_is_removed_is_reported(services):
    rules_doc, tests_docs = _docs(services)
    for doc in tests_docs:
        doc["tests"] = [
            t
            for t in doc["tests"]
            if not t["name"].startswith("HighLatency{service=backend}: p95 in the bucket up to 1s")
        ]
    problems = mr.coverage(rules_doc, tests_docs)
    assert problems == [
        "HighLatency{service=backend} (goaltrajectory.http): no test fed"
        " ['http_request_duration_seconds_bucket', 'http_request_duration_seconds_count'] where it stays quiet"
    ]


def test_a_quiet_test_without_the_rules_metrics_does_not_count(services):
    rules_doc, tests_docs = _docs(services)
    for doc in tests_docs:
        for test in doc["tests"]:
            if test["name"].startswith("PodCrashLooping{service=backend}") and test["name"].endswith("quiet"):
                test["input_series"] = [{"series": 'up{job="x"}', "values": "1+0x10"}]
    assert mr.coverage(rules_doc, tests_docs) == [
        "PodCrashLooping{service=backend} (goaltrajectory.kubernetes): no test fed"
        " ['kube_pod_container_status_waiting_reason'] where it stays quiet"
    ]


def test_a_rule_without_cases_cannot_be_rendered(services):
    rules = mr.build(services, raw_settings())
    rules[0].cases.clear()
    with pytest.raises(mr.MonitoringError, match="has no test cases"):
        mr.tests_documents(rules, "../r.yml")


def test_durations_round_trip():
    assert mr.seconds("1h30m") == 5400
    assert mr.duration(5400) == "1h30m"
    assert mr.duration(0) == "0s"
