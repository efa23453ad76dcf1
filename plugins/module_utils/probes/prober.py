# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Kubernetes-style probes against live targets, many at once, on a monotonic clock.

Semantics follow the kubelet: the first attempt runs after initialDelaySeconds, then one
attempt per periodSeconds (measured from the start of the previous one), each limited to
timeoutSeconds.  successThreshold consecutive successes make a target ``success``;
for liveness and startup probes failureThreshold consecutive failures make it ``failed``
(the kubelet would restart the container); a readiness probe keeps trying.  Whatever has
not settled when the overall deadline passes is ``timeout``.
"""

from __future__ import annotations

import http.client
import math
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

HANDLERS = ("httpGet", "tcpSocket", "exec")
PROBE_TYPES = ("readiness", "liveness", "startup")
TIMING_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}
USER_AGENT = "goaltrajectory-probe-check/0.1"
BODY_LIMIT = 10 * 1024  # the kubelet reads at most 10 KiB of a probe response


class TargetError(ValueError):
    """A target definition is invalid."""


@dataclass
class Target:
    name: str
    handler: str
    spec: dict
    probe_type: str = "readiness"
    container: str | None = None
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    accepted: list = field(default_factory=lambda: [(200, 399)])
    docker: str = "docker"


def _number(raw: dict, key: str, minimum: float, integer: bool = False):
    value = raw.get(key)
    if value is None:
        value = TIMING_DEFAULTS[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetError(f"{key} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise TargetError(f"{key} must be an integer, got {value!r}")
    if value < minimum:
        raise TargetError(f"{key} must be >= {minimum}, got {value!r}")
    return int(value) if integer else float(value)


def _status_ranges(value) -> list:
    if value is None:
        return [(200, 399)]
    items = value if isinstance(value, list) else [value]
    ranges = []
    for item in items:
        text = str(item)
        low, _sep, high = text.partition("-")
        try:
            ranges.append((int(low), int(high or low)))
        except ValueError as exc:
            raise TargetError(f"accepted_status entry {item!r} is not a code or a low-high range") from exc
    return ranges


def _port(value, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise TargetError(f"{where}.port must be a port number (named ports need a pod), got {value!r}")
    return value


def parse_target(raw: dict, docker: str = "docker") -> Target:
    """Validate one target mapping (a Kubernetes probe plus name/type/container) into a Target."""
    if not isinstance(raw, dict):
        raise TargetError(f"a target must be a mapping, got {raw!r}")
    name = raw.get("name")
    if not name:
        raise TargetError("every target needs a name")
    present = [h for h in HANDLERS if raw.get(h) is not None]
    if len(present) != 1:
        raise TargetError(
            f"target {name}: exactly one of httpGet, tcpSocket, exec is required, got {present or 'none'}"
        )
    handler = present[0]
    spec = dict(raw[handler])
    probe_type = raw.get("type") or "readiness"
    if probe_type not in PROBE_TYPES:
        raise TargetError(f"target {name}: type must be one of {', '.join(PROBE_TYPES)}")
    try:
        if handler == "httpGet":
            scheme = spec.get("scheme", "HTTP")
            if scheme not in ("HTTP", "HTTPS"):
                raise TargetError(f"httpGet.scheme must be HTTP or HTTPS, got {scheme!r}")
            spec["port"] = _port(spec.get("port"), "httpGet")
            path = spec.get("path") or "/"
            spec["path"] = path if path.startswith("/") else "/" + path
        elif handler == "tcpSocket":
            spec["port"] = _port(spec.get("port"), "tcpSocket")
        else:
            command = spec.get("command")
            if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
                raise TargetError("exec.command must be a non-empty list of strings")
        target = Target(
            name=str(name),
            handler=handler,
            spec=spec,
            probe_type=probe_type,
            container=raw.get("container") or None,
            initial_delay=_number(raw, "initialDelaySeconds", 0),
            period=_number(raw, "periodSeconds", 0.01),
            timeout=_number(raw, "timeoutSeconds", 0.01),
            success_threshold=_number(raw, "successThreshold", 1, integer=True),
            failure_threshold=_number(raw, "failureThreshold", 1, integer=True),
            accepted=_status_ranges(raw.get("accepted_status")),
            docker=docker,
        )
    except TargetError as exc:
        raise TargetError(f"target {name}: {exc}") from None
    if probe_type in ("liveness", "startup") and target.success_threshold != 1:
        raise TargetError(f"target {name}: successThreshold must be 1 for {probe_type} probes")
    return target


# --- one attempt ---------------------------------------------------------------------------


def _http(target: Target, timeout: float) -> tuple[bool, str, int | None]:
    spec = target.spec
    host = spec.get("host") or "127.0.0.1"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    for header in spec.get("httpHeaders") or []:
        headers[str(header["name"])] = str(header.get("value", ""))
    headers.update({str(k): str(v) for k, v in (spec.get("headers") or {}).items()})
    if spec.get("scheme", "HTTP") == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe certificates either
        conn = http.client.HTTPSConnection(host, spec["port"], timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, spec["port"], timeout=timeout)
    try:
        conn.request("GET", spec["path"], headers=headers)
        response = conn.getresponse()
        response.read(BODY_LIMIT)
        code = response.status
    finally:
        conn.close()
    ok = any(low <= code <= high for low, high in target.accepted)
    return ok, "" if ok else f"HTTP {code}", code


def _tcp(target: Target, timeout: float) -> tuple[bool, str, None]:
    host = target.spec.get("host") or "127.0.0.1"
    with socket.create_connection((host, target.spec["port"]), timeout=timeout):
        return True, "", None


def _exec(target: Target, timeout: float) -> tuple[bool, str, int | None]:
    argv = list(target.spec["command"])
    if target.container:
        argv = [target.docker, "exec", target.container, *argv]
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return True, "", 0
    detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
    return False, f"exit {proc.returncode}" + (f": {detail[-1][:200]}" if detail else ""), proc.returncode


_ATTEMPT = {"httpGet": _http, "tcpSocket": _tcp, "exec": _exec}


def attempt(target: Target, timeout: float) -> tuple[bool, float, str, int | None]:
    """One probe attempt: (ok, latency seconds, error text, HTTP status or exit code)."""
    started = time.monotonic()
    try:
        ok, error, code = _ATTEMPT[target.handler](target, timeout)
    except (TimeoutError, subprocess.TimeoutExpired):
        ok, error, code = False, f"timed out after {timeout:g}s", None
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        ok, error, code = False, f"{type(exc).__name__}: {exc}", None
    return ok, time.monotonic() - started, error, code


# --- the loop ------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def latency_stats(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "min": round(min(values), 6),
        "mean": round(sum(values) / len(values), 6),
        "p50": round(percentile(values, 50), 6),
        "p95": round(percentile(values, 95), 6),
        "p99": round(percentile(values, 99), 6),
        "max": round(max(values), 6),
    }


def run_target(target: Target, started: float, stop_at: float, samples: int = 0) -> dict:
    """Probe one target until it settles or the deadline passes; then take ``samples`` extra
    latency samples (calibration) if it succeeded and time remains."""
    attempts = successes = failures = 0
    latencies: list[float] = []
    first_success = None
    last_error = ""
    last_code = None
    status = "timeout"
    next_at = started + target.initial_delay
    while True:
        now = time.monotonic()
        if next_at > now:
            if next_at >= stop_at:
                break
            time.sleep(next_at - now)
        begin = time.monotonic()
        if begin >= stop_at:
            break
        ok, latency, error, code = attempt(target, min(target.timeout, max(stop_at - begin, 0.001)))
        attempts += 1
        last_code = code
        if ok:
            latencies.append(latency)
            successes += 1
            failures = 0
            if first_success is None:
                first_success = begin + latency - started
        else:
            failures += 1
            successes = 0
            last_error = error
        if successes >= target.success_threshold:
            status = "success"
            break
        if target.probe_type != "readiness" and failures >= target.failure_threshold:
            status = "failed"
            break
        next_at = begin + target.period
    extra = 0
    while status == "success" and extra < samples and time.monotonic() < stop_at:
        ok, latency, error, _code = attempt(target, min(target.timeout, max(stop_at - time.monotonic(), 0.001)))
        extra += 1
        if ok:
            latencies.append(latency)
        else:
            last_error = error
    return {
        "name": target.name,
        "handler": target.handler,
        "type": target.probe_type,
        "container": target.container,
        "status": status,
        "attempts": attempts,
        "calibration_samples": extra,
        "consecutive_failures": failures,
        "latency": latency_stats(latencies),
        "time_to_first_success": None if first_success is None else round(first_success, 6),
        "last_error": last_error or None,
        "last_code": last_code,
        "elapsed": round(time.monotonic() - started, 6),
        "timing": {
            "initialDelaySeconds": target.initial_delay,
            "periodSeconds": target.period,
            "timeoutSeconds": target.timeout,
            "successThreshold": target.success_threshold,
            "failureThreshold": target.failure_threshold,
        },
    }


def recommend(result: dict, margin: float = 1.5) -> dict | None:
    """Probe settings from a measured startup and latency: a startup budget with ``margin``
    and timeouts strictly above the observed p99."""
    startup = result.get("time_to_first_success")
    if startup is None:
        return None
    p99 = result["latency"].get("p99", 0.0)
    timeout = max(1, math.ceil(p99 * margin))
    if timeout <= p99:
        timeout = math.floor(p99) + 1
    period = max(math.ceil(result["timing"]["periodSeconds"]), timeout + 1)
    startup_period = max(1, min(period, 5))
    startup_timeout = min(timeout, startup_period)
    if startup_timeout <= p99:
        startup_period, startup_timeout = timeout + 1, timeout
    failure = max(1, math.ceil(startup * margin / startup_period))
    readiness = {"periodSeconds": period, "timeoutSeconds": timeout, "successThreshold": 1, "failureThreshold": 3}
    return {
        "startup_seconds": round(startup, 3),
        "observed_p99_seconds": p99,
        "safety_margin": margin,
        "startup_budget_seconds": failure * startup_period,
        "startupProbe": {
            "initialDelaySeconds": 0,
            "periodSeconds": startup_period,
            "timeoutSeconds": startup_timeout,
            "successThreshold": 1,
            "failureThreshold": failure,
        },
        "readinessProbe": readiness,
        "livenessProbe": {**readiness, "failureThreshold": 6},
        "compose_healthcheck": {
            "interval": f"{period}s",
            "timeout": f"{timeout}s",
            "retries": 3,
            "start_period": f"{max(1, math.ceil(startup * margin))}s",
            "start_interval": f"{startup_period}s",
        },
    }


def run_probes(
    targets: list[dict],
    deadline: float = 60.0,
    concurrency: int = 16,
    calibrate: bool = False,
    samples: int = 10,
    safety_margin: float = 1.5,
    docker: str = "docker",
) -> dict:
    """Probe every target (``concurrency`` at a time) within one overall ``deadline`` in seconds."""
    parsed = [parse_target(t, docker) for t in targets]
    names = [t.name for t in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TargetError(f"target names must be unique: {', '.join(duplicates)}")
    if deadline <= 0:
        raise TargetError("deadline must be positive")
    if concurrency < 1:
        raise TargetError("concurrency must be at least 1")
    started = time.monotonic()
    stop_at = started + deadline
    extra = samples if calibrate else 0
    if parsed:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(parsed))) as pool:
            results = list(pool.map(lambda t: run_target(t, started, stop_at, extra), parsed))
    else:
        results = []
    if calibrate:
        for result in results:
            result["recommended"] = recommend(result, safety_margin)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("success", "failed", "timeout")}
    return {
        "results": results,
        "summary": {"targets": len(results), **counts, "elapsed": round(time.monotonic() - started, 6)},
        "failed": counts["success"] != len(results),
    }
