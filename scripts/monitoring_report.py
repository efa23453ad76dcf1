"""`make report`: request rate, p95 latency, CPU and memory per service from Prometheus, as plots.

Reads the services from the service catalog (roles/catalog/defaults/main.yml through
plugins/module_utils/catalog.py) and asks Prometheus' HTTP API (/api/v1/query_range) for the last
--range (a Prometheus duration, default 1h):

- every service: CPU (cores) and memory working set (MiB) of its Compose containers, from cAdvisor
  (container_label_com_docker_compose_project / _service);
- services with `metrics` in the catalog (scraped as the job named after them): request rate
  (req/s, http_requests_total) and p95 latency (ms, http_request_duration_seconds_bucket).

Writes into --out (default build/report): one PNG per service (one panel per series), report.md
(every service, its plot and a one-line avg/max summary per series; a series without samples says
"no data") and report.json (the same numbers and the samples). Exits 2, naming the URL, when
Prometheus cannot be reached or rejects a query.

    python scripts/monitoring_report.py [--prometheus URL] [--range 1h] [--step 30s] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import importlib.util
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOG_DEFAULTS = ROOT / "roles/catalog/defaults/main.yml"
MONITORING_DEFAULTS = ROOT / "roles/monitoring/defaults/main.yml"
# Points per series when --step is not given (range / POINTS, at least 1 s).
POINTS = 120
# Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11000
DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
CPU_METRIC = "container_cpu_usage_seconds_total"
MEMORY_METRIC = "container_memory_working_set_bytes"
SERVICE_LABEL = "container_label_com_docker_compose_service"
PROJECT_LABEL = "container_label_com_docker_compose_project"


class ReportError(Exception):
    """Prometheus cannot be reached or answers with an error; the message names the URL."""


def load_catalog_module():
    """plugins/module_utils/catalog.py by path: it imports nothing of Ansible, no collection link needed."""
    spec = importlib.util.spec_from_file_location("goaltrajectory_catalog", ROOT / "plugins/module_utils/catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_services() -> dict[str, dict]:
    """The catalog's services (catalog order resolved by build(): dependencies first)."""
    raw = yaml.safe_load(CATALOG_DEFAULTS.read_text()) or {}
    return load_catalog_module().build(copy.deepcopy(raw["catalog_services"]))


def monitoring_defaults() -> dict:
    return yaml.safe_load(MONITORING_DEFAULTS.read_text()) or {}


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration (1h, 90m, 1h30m, 15s, 500ms) or a plain number of seconds."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        match = DURATION_RE.match(text)
        if not text or not match:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a Prometheus duration (e.g. 1h, 30m, 1h30m, 15s)"
            ) from None
        seconds = sum(int(n) * unit for n, unit in zip(match.groups(), DURATION_UNITS, strict=True) if n)
    if seconds <= 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"{text!r}: must be longer than 0 s")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for whole seconds (3600 -> 1h, 90 -> 1m30s); else ms."""
    if seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    seconds, out = int(seconds), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


def prometheus_url(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def query_range(base: str, expr: str, start: float, end: float, step: float, timeout: float) -> list[dict]:
    """The result matrix of one range query; ReportError naming the URL when that fails."""
    params = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step})
    url = f"{base}/api/v1/query_range?{params}"
    try:
        # The scheme is checked to be http(s) by prometheus_url.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:500]
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        raise ReportError(f"Prometheus at {base} rejected the query {expr!r}: HTTP {err.code}: {detail}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ReportError(f"cannot reach Prometheus at {base}: {reason}") from err
    except ValueError as err:
        raise ReportError(f"Prometheus at {base} answered something other than JSON: {err}") from err
    if body.get("status") != "success":
        raise ReportError(f"Prometheus at {base} failed the query {expr!r}: {body.get('error', body)}")
    return body["data"]["result"]


def panels(project: str, window: str) -> list[dict]:
    """The series of the report: query, the label naming the service, unit and scale."""
    selector = f'{{{PROJECT_LABEL}="{project}"}}'
    return [
        {
            "key": "cpu",
            "title": "CPU",
            "unit": "cores",
            "source": "cadvisor",
            "by": SERVICE_LABEL,
            "scale": 1.0,
            "query": f"sum by ({SERVICE_LABEL}) (rate({CPU_METRIC}{selector}[{window}]))",
        },
        {
            "key": "memory",
            "title": "Memory working set",
            "unit": "MiB",
            "source": "cadvisor",
            "by": SERVICE_LABEL,
            "scale": 1 / (1 << 20),
            "query": f"sum by ({SERVICE_LABEL}) ({MEMORY_METRIC}{selector})",
        },
        {
            "key": "requests",
            "title": "Request rate",
            "unit": "req/s",
            "source": "metrics",
            "by": "job",
            "scale": 1.0,
            "query": f"sum by (job) (rate(http_requests_total[{window}]))",
        },
        {
            "key": "p95",
            "title": "p95 latency",
            "unit": "ms",
            "source": "metrics",
            "by": "job",
            "scale": 1000.0,
            "query": "histogram_quantile(0.95, sum by (job, le) "
            f"(rate(http_request_duration_seconds_bucket[{window}])))",
        },
    ]


def samples_by_name(result: list[dict], label: str, scale: float) -> dict[str, list[list[float]]]:
    """[[unix time, value], ...] per value of `label`; NaN/Inf (no requests for a quantile) dropped."""
    out: dict[str, list[list[float]]] = {}
    for series in result:
        name = series["metric"].get(label)
        if name is None:
            continue
        points = out.setdefault(name, [])
        for stamp, value in series.get("values", []):
            number = float(value)
            if math.isfinite(number):
                points.append([float(stamp), number * scale])
    for points in out.values():
        points.sort()
    return out


def summarize(points: list[list[float]]) -> dict:
    if not points:
        return {"status": "no data", "points": 0, "avg": None, "max": None, "last": None}
    values = [v for _t, v in points]
    return {
        "status": "ok",
        "points": len(values),
        "avg": sum(values) / len(values),
        "max": max(values),
        "last": values[-1],
    }


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def summary_line(series: dict) -> str:
    head = f"{series['title']} ({series['unit']})"
    if series["status"] != "ok":
        return f"{head}: no data"
    return (
        f"{head}: avg {number(series['avg'])}, max {number(series['max'])}, "
        f"last {number(series['last'])} ({series['points']} points)"
    )


def broken_at_gaps(samples: list[list[float]], step: float) -> tuple[list, list[float]]:
    """Times and values with a NaN wherever more than two steps are missing, so no line bridges a gap."""
    times, values, previous = [], [], None
    for stamp, value in samples:
        if previous is not None and stamp - previous > 2 * step:
            times.append(dt.datetime.fromtimestamp(previous + step, dt.UTC))
            values.append(math.nan)
        times.append(dt.datetime.fromtimestamp(stamp, dt.UTC))
        values.append(value)
        previous = stamp
    return times, values


def plot(path: Path, service: str, series: list[dict], report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    columns = 2 if len(series) > 2 else 1
    rows = math.ceil(len(series) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3 * rows + 0.6), squeeze=False, sharex=True)
    t0, t1 = (dt.datetime.fromtimestamp(report[key], dt.UTC) for key in ("start", "end"))
    for ax, entry in zip(axes.flat, series, strict=False):
        ax.set_title(f"{entry['title']} ({entry['unit']})", fontsize=10)
        ax.set_xlim(t0, t1)
        ax.grid(True, alpha=0.3)
        if entry["samples"]:
            ax.plot(*broken_at_gaps(entry["samples"], report["step_seconds"]), linewidth=1.4)
            ax.set_ylim(bottom=0)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
            ax.set_yticks([])
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=dt.UTC))
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("UTC")
    fig.suptitle(f"{service} — last {report['range']}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def iso(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def markdown(report: dict) -> str:
    lines = [
        f"# Monitoring report: {report['project']}",
        "",
        f"Prometheus {report['prometheus']}, last {report['range']} ({iso(report['start'])} to "
        f"{iso(report['end'])}), step {report['step']}, rate window {report['rate_window']}.",
        "",
    ]
    for name, service in report["services"].items():
        lines += [f"## {name}", "", f"![{name}]({service['plot']})", ""]
        lines += [f"- {summary_line(s)}" for s in service["series"].values()]
        if not service["metrics"]:
            lines.append("- Request rate and p95 latency: not measured (no `metrics` for it in the catalog)")
        lines.append("")
    missing = [
        f"{name} {series['title']}"
        for name, service in report["services"].items()
        for series in service["series"].values()
        if series["status"] != "ok"
    ]
    lines.append(f"Series without data: {', '.join(missing)}." if missing else "Every series has data.")
    return "\n".join(lines) + "\n"


def build_report(args: argparse.Namespace, services: dict[str, dict]) -> dict:
    step = args.step or max(1.0, math.floor(args.range / POINTS))
    if args.range / step + 1 > MAX_POINTS:
        raise ReportError(
            f"--range {format_duration(args.range)} at --step {format_duration(step)} is more than "
            f"{MAX_POINTS} points per series (Prometheus' limit); use a larger --step"
        )
    # Grafana's $__rate_interval: at least four scrapes, and at least one step plus a scrape.
    window = max(4 * args.scrape_interval, step + args.scrape_interval)
    end = math.floor(time.time() / step) * step
    start = end - args.range
    report = {
        "prometheus": args.prometheus,
        "project": args.project,
        "range": format_duration(args.range),
        "step": format_duration(step),
        "step_seconds": step,
        "rate_window": format_duration(window),
        "start": start,
        "end": end,
        "services": {},
    }
    fetched = {}
    for panel in panels(args.project, format_duration(window)):
        result = query_range(args.prometheus, panel["query"], start, end, step, args.timeout)
        fetched[panel["key"]] = (panel, samples_by_name(result, panel["by"], panel["scale"]))
    for name, service in services.items():
        series = {}
        for panel, by_name in fetched.values():
            if panel["source"] == "metrics" and not service.get("metrics"):
                continue
            samples = by_name.get(name, [])
            series[panel["key"]] = {
                "title": panel["title"],
                "unit": panel["unit"],
                "query": panel["query"],
                "label": {panel["by"]: name},
                **summarize(samples),
                "samples": samples,
            }
        report["services"][name] = {"plot": f"{name}.png", "metrics": bool(service.get("metrics")), "series": series}
    return report


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, service in report["services"].items():
        plot(out / service["plot"], name, list(service["series"].values()), report)
    (out / "report.md").write_text(markdown(report))
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")


def arguments(argv: list[str] | None) -> argparse.Namespace:
    defaults = monitoring_defaults()
    bind = defaults.get("monitoring_bind_address", "127.0.0.1")
    port = (defaults.get("monitoring_host_ports") or {}).get("prometheus", 9090)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--prometheus",
        type=prometheus_url,
        default=f"http://{bind}:{port}",
        help="Prometheus base URL (default: the monitoring role's defaults, %(default)s)",
    )
    parser.add_argument(
        "--range",
        type=parse_duration,
        default=parse_duration("1h"),
        help="how far back, a Prometheus duration (default 1h)",
    )
    parser.add_argument(
        "--step",
        type=parse_duration,
        default=None,
        help=f"resolution, a Prometheus duration (default: range / {POINTS}, at least 1s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "build/report",
        help="output directory (default: build/report in the repository)",
    )
    parser.add_argument(
        "--project",
        default=defaults.get("monitoring_compose_project", "goaltrajectory"),
        help="the app's Compose project label (default %(default)s)",
    )
    parser.add_argument(
        "--scrape-interval",
        type=parse_duration,
        default=parse_duration(str(defaults.get("monitoring_scrape_interval", "15s"))),
        help="Prometheus' scrape interval, for the rate window (default: the monitoring defaults)",
    )
    parser.add_argument("--timeout", type=float, default=30, help="seconds per HTTP request (default 30)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    try:
        report = build_report(args, load_services())
    except ReportError as err:
        print(f"monitoring report: {err}", file=sys.stderr)
        return 2
    write(report, args.out)
    for line in markdown(report).splitlines():
        if line.startswith(("## ", "- ", "Series without", "Every series")):
            print(line)
    print(f"Report: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
