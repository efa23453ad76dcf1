"""probe_check against real local HTTP and TCP servers and a real container (docker exec)."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import prober


def by_name(result):
    return {r["name"]: r for r in result["results"]}


def test_http_and_tcp_success(http_server, tcp_server):
    port, behaviour = http_server()
    result = prober.run_probes(
        [
            {
                "name": "web",
                "httpGet": {"port": port, "path": "/health", "httpHeaders": [{"name": "X-Probe", "value": "yes"}]},
            },
            {"name": "db", "tcpSocket": {"port": tcp_server}},
        ],
        deadline=10,
    )
    assert result["failed"] is False
    assert result["summary"] == {**result["summary"], "targets": 2, "success": 2, "failed": 0, "timeout": 0}
    web, db = by_name(result)["web"], by_name(result)["db"]
    assert (web["status"], web["attempts"], web["last_code"], web["last_error"]) == ("success", 1, 200, None)
    assert web["latency"]["count"] == 1
    assert 0 < web["latency"]["p99"] < 1
    assert behaviour.requests[0]["path"] == "/health"
    assert behaviour.requests[0]["headers"]["X-Probe"] == "yes"
    assert db["status"] == "success"
    assert db["time_to_first_success"] is not None


def test_startup_is_measured(http_server):
    port, behaviour = http_server(ready_after=0.6)
    result = prober.run_probes(
        [{"name": "slow", "type": "startup", "httpGet": {"port": port}, "periodSeconds": 0.1, "failureThreshold": 50}],
        deadline=10,
    )
    slow = by_name(result)["slow"]
    assert slow["status"] == "success"
    # Upper bound is loose: CI machines are loaded; the lower bound is the real check.
    assert 0.6 <= slow["time_to_first_success"] < 3.0
    assert slow["attempts"] >= 5
    assert slow["last_error"] == "HTTP 503"
    # One attempt per period: on average, since a late arrival shortens the following gap.
    span = behaviour.requests[-1]["at"] - behaviour.requests[0]["at"]
    assert span / (len(behaviour.requests) - 1) >= 0.09


def test_liveness_fails_after_failure_threshold(http_server):
    port, behaviour = http_server(ready_after=3600)
    result = prober.run_probes(
        [{"name": "sick", "type": "liveness", "httpGet": {"port": port}, "periodSeconds": 0.05, "failureThreshold": 4}],
        deadline=10,
    )
    sick = by_name(result)["sick"]
    assert (sick["status"], sick["attempts"], sick["consecutive_failures"]) == ("failed", 4, 4)
    assert sick["last_error"] == "HTTP 503"
    assert result["failed"] is True
    assert len(behaviour.requests) == 4


def test_readiness_keeps_trying_until_the_deadline(free_port):
    started = time.monotonic()
    result = prober.run_probes(
        [{"name": "closed", "tcpSocket": {"port": free_port}, "periodSeconds": 0.1, "failureThreshold": 1}],
        deadline=0.8,
    )
    closed = by_name(result)["closed"]
    assert closed["status"] == "timeout"
    assert closed["attempts"] >= 5  # readiness ignores failureThreshold
    assert "ConnectionRefused" in closed["last_error"]
    assert 0.7 <= time.monotonic() - started < 2.0


def test_timeout_and_success_threshold(http_server):
    port, _behaviour = http_server(delay=0.5)
    result = prober.run_probes(
        [{"name": "slow", "type": "liveness", "httpGet": {"port": port}, "timeoutSeconds": 0.1, "periodSeconds": 0.2}],
        deadline=5,
    )
    assert by_name(result)["slow"]["status"] == "failed"
    assert by_name(result)["slow"]["last_error"] == "timed out after 0.1s"
    port, behaviour = http_server()
    result = prober.run_probes(
        [{"name": "steady", "httpGet": {"port": port}, "successThreshold": 3, "periodSeconds": 0.05}], deadline=5
    )
    assert by_name(result)["steady"]["attempts"] == 3
    assert len(behaviour.requests) == 3


def test_accepted_status_and_initial_delay(http_server):
    port, behaviour = http_server(status=418)
    started = time.monotonic()
    result = prober.run_probes(
        [
            {"name": "teapot", "httpGet": {"port": port}, "accepted_status": ["418"], "initialDelaySeconds": 0.3},
            {"name": "strict", "type": "liveness", "httpGet": {"port": port}, "periodSeconds": 0.05},
        ],
        deadline=5,
    )
    assert by_name(result)["teapot"]["status"] == "success"
    assert by_name(result)["strict"]["status"] == "failed"
    assert by_name(result)["strict"]["last_error"] == "HTTP 418"
    first_teapot = min(r["at"] for r in behaviour.requests) - started
    assert first_teapot >= 0  # the strict target probes at once; the teapot only after its delay
    assert by_name(result)["teapot"]["time_to_first_success"] >= 0.3


def test_targets_run_concurrently(http_server):
    targets = []
    for index in range(20):
        port, _behaviour = http_server(delay=0.3)
        targets.append({"name": f"t{index}", "httpGet": {"port": port}})
    started = time.monotonic()
    result = prober.run_probes(targets, deadline=20, concurrency=20)
    elapsed = time.monotonic() - started
    assert result["summary"]["success"] == 20
    assert elapsed < 20 * 0.3 / 4  # sequentially it would take 6 s


def test_calibrate_recommends_above_p99(http_server):
    port, _behaviour = http_server(ready_after=0.4, delay=0.02)
    result = prober.run_probes(
        [{"name": "api", "type": "startup", "httpGet": {"port": port}, "periodSeconds": 0.1, "failureThreshold": 100}],
        deadline=10,
        calibrate=True,
        samples=8,
    )
    api = by_name(result)["api"]
    assert api["calibration_samples"] == 8
    assert api["latency"]["count"] == 9
    rec = api["recommended"]
    assert rec["readinessProbe"]["timeoutSeconds"] > api["latency"]["p99"]
    assert rec["startup_budget_seconds"] >= api["time_to_first_success"] * 1.5
    assert rec["startup_seconds"] == pytest.approx(api["time_to_first_success"], abs=0.001)


def test_local_exec_probe():
    result = prober.run_probes(
        [
            {"name": "yes", "exec": {"command": ["true"]}},
            {"name": "no", "type": "liveness", "exec": {"command": ["sh", "-c", "echo broken >&2; exit 3"]}},
        ],
        deadline=5,
    )
    assert by_name(result)["yes"]["status"] == "success"
    assert by_name(result)["no"]["last_error"] == "exit 3: broken"


def test_exec_probe_in_a_container(container):
    def mark_ready():
        time.sleep(0.8)
        subprocess.run(["docker", "exec", container, "touch", "/tmp/ready"], check=True, capture_output=True)

    thread = threading.Thread(target=mark_ready)
    thread.start()
    try:
        result = prober.run_probes(
            [
                {
                    "name": "ready-file",
                    "type": "startup",
                    "container": container,
                    "exec": {"command": ["test", "-f", "/tmp/ready"]},
                    "periodSeconds": 0.2,
                    "timeoutSeconds": 5,
                    "failureThreshold": 100,
                },
                {
                    "name": "missing",
                    "type": "liveness",
                    "container": "gt-probes-does-not-exist",
                    "exec": {"command": ["true"]},
                    "periodSeconds": 0.1,
                    "timeoutSeconds": 5,
                    "failureThreshold": 2,
                },
            ],
            deadline=30,
            calibrate=True,
            samples=3,
        )
    finally:
        thread.join()
    ready = by_name(result)["ready-file"]
    assert ready["status"] == "success"
    assert ready["time_to_first_success"] >= 0.8
    assert ready["last_error"].startswith("exit 1")
    assert ready["recommended"]["startupProbe"]["failureThreshold"] >= 1
    missing = by_name(result)["missing"]
    assert missing["status"] == "failed"
    assert "No such container" in missing["last_error"]
