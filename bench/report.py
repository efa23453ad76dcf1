"""The speed table of issue 12 from bench/results/*.json, printed and written into bench/README.md.

Reads what `make bench` just wrote (playbooks.json, deploy.json, k8s.json) and replaces the part of
bench/README.md between the `<!-- speed-table -->` markers. Rows whose bench did not run say so.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
START, END = "<!-- speed-table -->", "<!-- /speed-table -->"


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def cell(value, unit: str = " s") -> str:
    return "not run" if value is None else f"{value}{unit}"


def line(label: str, goal: str, role, raw: str, ratio, changed) -> str:
    ratio = "—" if ratio is None else ratio
    changed = "—" if changed is None else changed
    return f"| {label} | {goal} | {role} | {raw} | {ratio} | {changed} |"


def table() -> str:
    play = load("playbooks").get("rows", {})
    deploy = load("deploy").get("scenarios", {})
    k8s = load("k8s").get("scenarios", {})
    rows = ["| run | goal | role | raw tool on the same files | ratio | changed |", "|---|---|---|---|---|---|"]
    for key, label, goal, raw in (
        ("noop_make_deploy", "no-op `make deploy`", "≤ 10 s", None),
        ("noop_make_deploy_mitogen", "the same, `STRATEGY=mitogen_linear` (opt-in)", "≤ 10 s", None),
        ("images_playbook", "`playbooks/images.yml` alone, nothing changed", "—", "`docker build`, unchanged context"),
        ("compose_playbook", "`playbooks/compose.yml` alone, nothing changed", "—", "`docker compose up -d --wait`"),
        ("docker_host_playbook", "`playbooks/docker_host.yml` alone", "—", None),
    ):
        r = play.get(key, {})
        raw_cell = f"{cell(r.get('raw_seconds'))} ({raw})" if raw else "—"
        rows.append(line(label, goal, cell(r.get("seconds")), raw_cell, r.get("ratio"), r.get("changed")))
    for key, label, goal in (
        ("one_file_backend_change", "one-file backend change, build + redeploy", "≤ 1.3x"),
        ("cold_deploy", "cold deploy, golden bases present", "≤ 1.2x"),
        ("noop_redeploy", "compose no-op redeploy (bench project)", "—"),
    ):
        r = deploy.get(key, {})
        rows.append(
            line(label, goal, cell(r.get("role_seconds")), cell(r.get("raw_seconds")), r.get("ratio"), r.get("changed"))
        )
    r = play.get("k8s_render_validate", {})
    rows.append(line("render + validate one Kubernetes environment (unchanged / first)", "≤ 4 s",
                     f"{cell(r.get('seconds'))} / {cell(r.get('first_seconds'))}", "—", None, None))  # fmt: skip
    for key, label, goal in (
        ("noop", "no-op apply to the local cluster", "≤ 2x"),
        ("cold", "cold deploy to the local cluster", "—"),
        ("one_image", "one-image change on the local cluster", "—"),
    ):
        r = k8s.get(key, {})
        raw = f"{cell(r.get('raw_seconds'))} (`kubectl apply --server-side` + `rollout status`)"
        rows.append(line(label, goal, cell(r.get("role_seconds")), raw, r.get("ratio"), r.get("role_changed")))
        if key == "noop":
            rows.append(line("the apply task alone in that no-op (`k8s_tree_apply`)", "—",
                             cell(r.get("apply_task_seconds")), raw, r.get("apply_task_ratio"), None))  # fmt: skip
    return "\n".join(rows)


def main() -> int:
    text = table()
    print(text)
    readme = BENCH / "README.md"
    body = readme.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in body:
        body = re.sub(re.escape(START) + r".*?" + re.escape(END), block, body, flags=re.DOTALL)
    else:
        body = (
            body.rstrip("\n")
            + "\n\n## Speed table (issue 12)\n\nWritten by `make bench` (bench/report.py).\n\n"
            + block
            + "\n"
        )
    readme.write_text(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
