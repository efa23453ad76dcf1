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


def _timed(func) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def bench_lint() -> dict:
    """Both corpora are written first, then measured in turns (1x, 10x, 1x, 10x ...), so that a
    change of load on the shared host during the run falls on both sizes alike.  Wall time is what
    a user waits; CPU time of the process is what the code costs, less disturbed by other builds."""
    engine.lint(definitions=_base_objects(), check_images=False)  # compile the schemas once, untimed
    sizes = {"input": LINT_OBJECTS, f"input_x{LINT_SCALE}": LINT_OBJECTS * LINT_SCALE}
    with tempfile.TemporaryDirectory() as tmp:
        dirs, files = {}, {}
        for label, count in sizes.items():
            dirs[label] = os.path.join(tmp, label)
            files[label] = write_corpus(dirs[label], count)
        samples: dict[str, dict[str, list[float]]] = {label: {} for label in sizes}
        results = {}
        for _run in range(RUNS):
            for label, directory in dirs.items():
                runs = {
                    "baseline_parse_only": lambda d=directory: _parse_only(d),
                    "lint": lambda d=directory: engine.lint(paths=[d], check_images=False),
                    "lint_without_schema": lambda d=directory: engine.lint(paths=[d], check_images=False, schema=False),
                }
                for name, func in runs.items():
                    wall, cpu, result = _timed(func)
                    samples[label].setdefault(f"{name}_seconds", []).append(wall)
                    samples[label].setdefault(f"{name}_cpu_seconds", []).append(cpu)
                    if name == "lint":
                        results[label] = result
    report: dict = {"runs_per_figure": RUNS, "namespaces": NAMESPACES}
    for label, count in sizes.items():
        assert results[label]["inputs"]["objects"] == count, results[label]["inputs"]
        medians = {key: round(statistics.median(values), 3) for key, values in samples[label].items()}
        report[label] = {"objects": count, "files": files[label], **medians, "findings": results[label]["summary"]}
    small, large = report["input"], report[f"input_x{LINT_SCALE}"]
    for key in ("lint_seconds", "lint_cpu_seconds", "baseline_parse_only_seconds", "baseline_parse_only_cpu_seconds"):
        report[f"growth_{key.removesuffix('_seconds')}"] = round(large[key] / small[key], 2)
    report.update(
        target_seconds=LINT_TARGET_SECONDS,
        target_growth=LINT_TARGET_GROWTH,
        meets_target=small["lint_seconds"] < LINT_TARGET_SECONDS and report["growth_lint"] <= LINT_TARGET_GROWTH,
        meets_target_cpu=small["lint_cpu_seconds"] < LINT_TARGET_SECONDS
        and report["growth_lint_cpu"] <= LINT_TARGET_GROWTH,
    )
    return report


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
    for _endpoint in range(ENDPOINTS):
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
