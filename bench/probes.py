#!/usr/bin/env python3
"""Benchmarks for goaltrajectory.platform's probe modules; prints JSON.

1. probe_lint on 1,000 generated manifests (one object per file) against a 5 s target, next to
   the raw cost of only parsing the same YAML.
2. probe_check on 100 local HTTP endpoints (each answering after 20 ms) concurrently versus one
   after another in the same run, against a 10x target.

Run from the repository root after `make setup`: python bench/probes.py
"""

from __future__ import annotations

import http.server
import json
import os
import platform
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, prober  # noqa: E402

LINT_TARGET_SECONDS = 5.0
PROBE_TARGET_RATIO = 10.0
MANIFESTS = 1000
ENDPOINTS = 100
ENDPOINT_DELAY = 0.02


def manifests(count: int):
    """Deployment, Service, HPA and NetworkPolicy per app, like the real k8s/ tree."""
    base = os.path.join(ROOT, "tests", "unit", "probes", "fixtures", "good", "k8s.yaml")
    with open(base, encoding="utf-8") as handle:
        deploy, svc, netpol, hpa = list(yaml.safe_load_all(handle))
    made = 0
    app = 0
    while made < count:
        name = f"app{app}"
        labels = {"app": name}
        d = json.loads(json.dumps(deploy))
        d["metadata"]["name"] = name
        d["spec"]["selector"]["matchLabels"] = labels
        d["spec"]["template"]["metadata"]["labels"] = labels
        if app % 7 == 0:  # some findings so the rules have work to report
            d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["successThreshold"] = 2
        s = json.loads(json.dumps(svc))
        s["metadata"]["name"] = name
        s["spec"]["selector"] = labels
        h = json.loads(json.dumps(hpa))
        h["metadata"]["name"] = name
        h["spec"]["scaleTargetRef"]["name"] = name
        n = json.loads(json.dumps(netpol))
        n["metadata"]["name"] = f"{name}-deny"
        for obj in (d, s, h, n):
            if made < count:
                yield f"{name}-{obj['kind'].lower()}.yaml", obj
                made += 1
        app += 1


def bench_lint() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for filename, obj in manifests(MANIFESTS):
            with open(os.path.join(tmp, filename), "w", encoding="utf-8") as handle:
                yaml.safe_dump(obj, handle)
        started = time.perf_counter()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name), encoding="utf-8") as handle:
                list(yaml.load_all(handle, Loader=loader))
        parse_only = time.perf_counter() - started

        timings = {}
        for label, schema in (("with_schema", True), ("without_schema", False)):
            started = time.perf_counter()
            result = engine.lint(paths=[tmp], check_images=False, schema=schema)
            timings[label] = time.perf_counter() - started
            assert result["inputs"]["objects"] == MANIFESTS
    seconds = timings["with_schema"]
    return {
        "manifests": MANIFESTS,
        "rules": len(engine.rule_table()),
        "findings": result["summary"],
        "seconds": round(seconds, 3),
        "seconds_without_schema": round(timings["without_schema"], 3),
        "baseline_parse_only_seconds": round(parse_only, 3),
        "overhead_vs_parse": round(seconds / parse_only, 2) if parse_only else None,
        "target_seconds": LINT_TARGET_SECONDS,
        "meets_target": seconds < LINT_TARGET_SECONDS,
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
    return 0 if report["lint"]["meets_target"] and report["probe"]["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
