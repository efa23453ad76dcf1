#!/usr/bin/env python3
"""Benchmarks for goaltrajectory.platform's probe modules; prints JSON.

1. probe_lint at scale: a generated corpus of 5,400 Kubernetes objects in about 5,000 files (the size
   of the real-world run of issue 14) and the same corpus ten times larger.  Targets: under 3 s for
   5,400 objects, and time(10x) <= 11 x time(1x), i.e. linear.  The raw baseline of the same run is
   parsing the same files with PyYAML's C loader and nothing else.  Each figure is the median of
   BENCH_RUNS runs (default 3): the build hosts are shared, so single timings are noisy.
2. probe_check on 100 local HTTP endpoints (each answering after 20 ms) concurrently versus one
   after another in the same run, against a 10x target.

Run from the repository root after `make setup`: python bench/probes.py
"""

from __future__ import annotations

import copy
import http.server
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, prober  # noqa: E402

LINT_OBJECTS = 5400
LINT_TARGET_SECONDS = 3.0
LINT_SCALE = 10
LINT_TARGET_GROWTH = 11.0
# A fixed number of namespaces: the larger corpus has larger namespaces, so work that grows with
# the number of workloads per namespace (selector matching) shows up in the growth figure.
NAMESPACES = 5
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PROBE_TARGET_RATIO = 10.0
ENDPOINTS = 100
ENDPOINT_DELAY = 0.02


def _base_objects() -> list[dict]:
    with open(os.path.join(ROOT, "tests", "unit", "probes", "fixtures", "good", "k8s.yaml"), encoding="utf-8") as fh:
        return list(yaml.safe_load_all(fh))


def corpus(count: int):
    """(file name, [objects]) pairs: per app a Deployment, Service, HPA and NetworkPolicy, like a
    rendered tree; every tenth app keeps its Deployment and Service in one file; every seventh app
    has a planted defect so the rules have findings to report."""
    deploy, svc, netpol, hpa = _base_objects()
    made = app = 0
    while made < count:
        name, ns = f"app{app}", f"ns{app % NAMESPACES}"
        labels = {"app": name, "tier": "web" if app % 2 else "api"}
        d = copy.deepcopy(deploy)
        d["metadata"].update(name=name, namespace=ns)
        d["spec"]["selector"]["matchLabels"] = dict(labels)
        d["spec"]["template"]["metadata"]["labels"] = dict(labels)
        if app % 7 == 0:
            d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["successThreshold"] = 2
        s = copy.deepcopy(svc)
        s["metadata"].update(name=name, namespace=ns)
        s["spec"]["selector"] = dict(labels)
        h = copy.deepcopy(hpa)
        h["metadata"].update(name=name, namespace=ns)
        h["spec"]["scaleTargetRef"]["name"] = name
        n = copy.deepcopy(netpol)
        n["metadata"].update(name=f"{name}-policy", namespace=ns)
        n["spec"]["podSelector"] = {"matchLabels": {"app": name}}
        objects = [d, s, h, n][: count - made]
        made += len(objects)
        if app % 10 == 0 and len(objects) >= 2:
            yield f"{name}/app.yaml", objects[:2]
            rest = objects[2:]
        else:
            rest = objects
        for obj in rest:
            yield f"{name}/{obj['kind'].lower()}.yaml", [obj]
        app += 1


def write_corpus(directory: str, count: int) -> int:
    files = 0
    for filename, objects in corpus(count):
        path = os.path.join(directory, filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump_all(objects, handle)
        files += 1
    return files


def _parse_only(directory: str) -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for root, _dirs, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), encoding="utf-8") as handle:
                list(yaml.load_all(handle, Loader=loader))


def _median(func, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(count: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_corpus(tmp, count)
        parse_s, _ = _median(lambda: _parse_only(tmp), RUNS)
        lint_s, result = _median(lambda: engine.lint(paths=[tmp], check_images=False), RUNS)
        plain_s, _ = _median(lambda: engine.lint(paths=[tmp], check_images=False, schema=False), RUNS)
    assert result["inputs"]["objects"] == count, result["inputs"]
    return {
        "objects": count,
        "files": files,
        "seconds": round(lint_s, 3),
        "seconds_without_schema": round(plain_s, 3),
        "baseline_parse_only_seconds": round(parse_s, 3),
        "overhead_vs_parse": round(lint_s / parse_s, 2) if parse_s else None,
        "findings": result["summary"],
    }


def bench_lint() -> dict:
    engine.lint(definitions=_base_objects(), check_images=False)  # compile the schemas once, untimed
    small = measure(LINT_OBJECTS)
    large = measure(LINT_OBJECTS * LINT_SCALE)
    growth = large["seconds"] / small["seconds"]
    parse_growth = large["baseline_parse_only_seconds"] / small["baseline_parse_only_seconds"]
    return {
        "runs_per_figure": RUNS,
        "namespaces": NAMESPACES,
        "input": small,
        f"input_x{LINT_SCALE}": large,
        "growth": round(growth, 2),
        "baseline_parse_only_growth": round(parse_growth, 2),
        "target_seconds": LINT_TARGET_SECONDS,
        "target_growth": LINT_TARGET_GROWTH,
        "meets_target": small["seconds"] < LINT_TARGET_SECONDS and growth <= LINT_TARGET_GROWTH,
    }


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(ENDPOINT_DELAY)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def bench_probe() -> dict:
    servers = []
    for _ in range(ENDPOINTS):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
    targets = [{"name": f"e{i}", "httpGet": {"port": s.server_address[1]}} for i, s in enumerate(servers)]
    try:
        prober.run_probes(targets[:5], deadline=30)  # warm-up
        started = time.perf_counter()
        sequential = prober.run_probes(targets, deadline=120, concurrency=1)
        sequential_s = time.perf_counter() - started
        started = time.perf_counter()
        concurrent = prober.run_probes(targets, deadline=120, concurrency=ENDPOINTS)
        concurrent_s = time.perf_counter() - started
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    ratio = sequential_s / concurrent_s
    return {
        "endpoints": ENDPOINTS,
        "endpoint_delay_seconds": ENDPOINT_DELAY,
        "sequential_seconds": round(sequential_s, 3),
        "concurrent_seconds": round(concurrent_s, 3),
        "sequential_success": sequential["summary"]["success"],
        "concurrent_success": concurrent["summary"]["success"],
        "speedup": round(ratio, 1),
        "target_speedup": PROBE_TARGET_RATIO,
        "meets_target": ratio >= PROBE_TARGET_RATIO
        and sequential["summary"]["success"] == concurrent["summary"]["success"] == ENDPOINTS,
    }


def main() -> int:
    report = {
        "bench": "probes",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "lint": bench_lint(),
        "probe": bench_probe(),
    }
    print(json.dumps(report, indent=2))
    return 0  # timing targets are reported (meets_target), never enforced: the build hosts are shared


if __name__ == "__main__":
    sys.exit(main())
