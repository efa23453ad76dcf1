"""probe_check logic without servers: target validation, statistics and recommendations."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import prober


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"httpGet": {"port": 80}}, "needs a name"),
        ({"name": "a"}, "exactly one of"),
        ({"name": "a", "httpGet": {"port": 80}, "tcpSocket": {"port": 80}}, "exactly one of"),
        ({"name": "a", "httpGet": {"port": "http"}}, "port number"),
        ({"name": "a", "tcpSocket": {"port": 70000}}, "port number"),
        ({"name": "a", "httpGet": {"port": 80, "scheme": "FTP"}}, "scheme"),
        ({"name": "a", "exec": {"command": "true"}}, "non-empty list"),
        ({"name": "a", "tcpSocket": {"port": 1}, "periodSeconds": 0}, "periodSeconds"),
        ({"name": "a", "tcpSocket": {"port": 1}, "initialDelaySeconds": -1}, "initialDelaySeconds"),
        ({"name": "a", "tcpSocket": {"port": 1}, "failureThreshold": 1.5}, "integer"),
        ({"name": "a", "tcpSocket": {"port": 1}, "type": "liveness", "successThreshold": 2}, "must be 1"),
        ({"name": "a", "tcpSocket": {"port": 1}, "type": "sometimes"}, "type must be"),
        ({"name": "a", "httpGet": {"port": 80}, "accepted_status": ["2xx"]}, "accepted_status"),
    ],
)
def test_invalid_targets(target, message):
    with pytest.raises(prober.TargetError, match=message):
        prober.parse_target(target)


def test_target_defaults_are_kubernetes_defaults():
    target = prober.parse_target({"name": "a", "httpGet": {"port": "8080", "path": "health"}})
    assert (target.initial_delay, target.period, target.timeout) == (0, 10, 1)
    assert (target.success_threshold, target.failure_threshold) == (1, 3)
    assert target.accepted == [(200, 399)]
    assert target.spec["port"] == 8080
    assert target.spec["path"] == "/health"
    assert prober.parse_target({"name": "b", "tcpSocket": {"port": 1}, "accepted_status": ["200", "418"]}).accepted == [
        (200, 200),
        (418, 418),
    ]


def test_duplicate_names_and_bad_run_options():
    targets = [{"name": "a", "tcpSocket": {"port": 1}}, {"name": "a", "tcpSocket": {"port": 2}}]
    with pytest.raises(prober.TargetError, match="unique"):
        prober.run_probes(targets)
    with pytest.raises(prober.TargetError, match="deadline"):
        prober.run_probes(targets[:1], deadline=0)
    with pytest.raises(prober.TargetError, match="concurrency"):
        prober.run_probes(targets[:1], concurrency=0)


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert prober.percentile(values, 50) == 50
    assert prober.percentile(values, 99) == 99
    assert prober.percentile([3.0], 99) == 3.0
    stats = prober.latency_stats([0.2, 0.1, 0.3])
    assert stats["count"] == 3
    assert stats["min"] == 0.1
    assert stats["max"] == 0.3
    assert stats["mean"] == pytest.approx(0.2)
    assert prober.latency_stats([]) == {"count": 0}


def _result(startup, p99, period=10):
    return {"time_to_first_success": startup, "latency": {"p99": p99}, "timing": {"periodSeconds": period}}


def test_recommendations_cover_startup_and_p99():
    rec = prober.recommend(_result(startup=42.0, p99=0.8), margin=1.5)
    assert rec["readinessProbe"]["timeoutSeconds"] > 0.8
    assert rec["readinessProbe"]["timeoutSeconds"] < rec["readinessProbe"]["periodSeconds"]
    startup = rec["startupProbe"]
    budget = startup["initialDelaySeconds"] + startup["failureThreshold"] * startup["periodSeconds"]
    assert budget == rec["startup_budget_seconds"]
    assert budget >= 42.0 * 1.5
    assert startup["successThreshold"] == 1
    live, ready = rec["livenessProbe"], rec["readinessProbe"]
    assert live["failureThreshold"] * live["periodSeconds"] > ready["failureThreshold"] * ready["periodSeconds"]
    assert rec["compose_healthcheck"]["start_period"] == "63s"


def test_recommended_timeout_strictly_above_slow_p99():
    rec = prober.recommend(_result(startup=1.0, p99=3.0), margin=1.0)
    assert rec["readinessProbe"]["timeoutSeconds"] == 4
    assert rec["startupProbe"]["timeoutSeconds"] > 3.0
    assert rec["readinessProbe"]["periodSeconds"] >= 5
    assert prober.recommend(_result(startup=None, p99=0.0)) is None
