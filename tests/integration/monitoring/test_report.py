"""`make report` (scripts/monitoring_report.py) against the dev stack's Prometheus, as `make deploy` runs it.

The report names every catalog service, every plot it lists is a real PNG with real dimensions, and
CPU and memory of every service have samples; a series without samples says "no data"; an
unreachable Prometheus fails naming its URL.
"""

from __future__ import annotations

import copy
import json
import struct
import subprocess
import sys

import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog

from ..conftest import ROOT

SCRIPT = ROOT / "scripts/monitoring_report.py"
SERVICES = catalog.build(
    copy.deepcopy(yaml.safe_load((ROOT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"])
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must follow the signature."""
    assert data[:8] == PNG_SIGNATURE, data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, (length, kind)
    return struct.unpack(">II", data[16:24])


def test_report_names_every_service_with_real_plots(dev_stack, tmp_path):
    result = _report("--range", "10m", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    markdown = (tmp_path / "report.md").read_text()
    report = json.loads((tmp_path / "report.json").read_text())

    assert list(report["services"]) == list(SERVICES)
    for name, spec in SERVICES.items():
        assert f"## {name}\n" in markdown, markdown
        service = report["services"][name]
        expected = {"cpu", "memory"} | ({"requests", "p95"} if spec["metrics"] else set())
        assert set(service["series"]) == expected, service["series"].keys()
        for key in ("cpu", "memory"):
            series = service["series"][key]
            assert series["status"] == "ok" and series["points"] > 0, (name, key, series)
            assert len(series["samples"]) == series["points"]
            assert 0 <= series["avg"] <= series["max"], (name, key, series)
        assert service["series"]["memory"]["max"] > 1, (name, "a running container uses more than 1 MiB")
        for series in service["series"].values():
            assert series["status"] in ("ok", "no data"), series
            line = f"- {series['title']} ({series['unit']}): "
            assert line + ("avg " if series["status"] == "ok" else "no data") in markdown, (line, markdown)

    # Every PNG that report.md lists: a file in the report directory, a PNG with real dimensions.
    listed = [line.split("](", 1)[1].rstrip(")") for line in markdown.splitlines() if line.startswith("![")]
    assert sorted(listed) == sorted(s["plot"] for s in report["services"].values()), listed
    for plot in listed:
        data = (tmp_path / plot).read_bytes()
        width, height = _png_size(data)
        assert width >= 400 and height >= 300, (plot, width, height)
        assert len(data) > 10_000, (plot, len(data), "an empty plot compresses to a few KB")


def test_series_without_samples_say_no_data(dev_stack, tmp_path):
    result = _report("--range", "10m", "--project", "no-such-project", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    markdown = (tmp_path / "report.md").read_text()
    report = json.loads((tmp_path / "report.json").read_text())
    for name in SERVICES:
        assert f"## {name}\n" in markdown, markdown
        for key in ("cpu", "memory"):
            series = report["services"][name]["series"][key]
            assert series["status"] == "no data" and series["points"] == 0 and series["avg"] is None, series
        assert _png_size((tmp_path / f"{name}.png").read_bytes())[0] > 0
    assert "- CPU (cores): no data" in markdown, markdown
    assert "- Memory working set (MiB): no data" in markdown, markdown


def test_unreachable_prometheus_fails_naming_the_url(tmp_path):
    url = "http://127.0.0.1:9"
    result = _report("--prometheus", url, "--range", "10m", "--out", str(tmp_path / "out"))
    assert result.returncode != 0, result.stdout + result.stderr
    assert f"cannot reach Prometheus at {url}" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists(), "nothing is written when Prometheus cannot be read"
