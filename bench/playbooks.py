"""No-op entry points, each against its raw tool in the same run; prints JSON.

On the dev inventory with the dev stack already up (the bench runs `make deploy` first,
untimed, when it is not), each timed BENCH_NOOP_RUNS times, median reported:

* `make deploy` (deploy.yml -i inventories/dev): must report changed=0; no raw equivalent; and the
  same with `STRATEGY=mitogen_linear` (the README's opt-in), to show what Mitogen saves;
* playbooks/images.yml alone vs `docker build` of the backend's unchanged context;
* playbooks/compose.yml alone vs `docker compose up -d --wait` on the same rendered files;
* playbooks/docker_host.yml alone (no raw equivalent);
* render + validate one Kubernetes environment (prod, k8s_apply=false, made-up digests), a
  first run into an empty directory and an unchanged one.

Run from the repository root after `make setup`: python bench/playbooks.py
"""

from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy import builder  # the CLI the images role picks (bench/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_NOOP_RUNS", "3"))
PROJECT_DIR = Path("/srv/goaltrajectory/dev")
RECAP = re.compile(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.MULTILINE)
DIGESTS = {
    n: f"registry.example.com/goaltrajectory/{n}@sha256:{'b' * 64}"
    for n in ("backend", "frontend", "chromadb", "postgres")
}


def log(msg: str) -> None:
    print(f"[bench/playbooks] {msg}", file=sys.stderr, flush=True)


ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
       "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}"}  # fmt: skip


def timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    kwargs.setdefault("env", ENV)
    kwargs.setdefault("cwd", ROOT)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600, **kwargs)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return seconds, proc


def changed(proc: subprocess.CompletedProcess) -> int:
    return sum(int(c) for c, _failed in RECAP.findall(proc.stdout))


def median_of(cmd: list[str]) -> dict:
    runs = [timed(cmd) for _run in range(RUNS)]
    return {
        "seconds": round(statistics.median(s for s, _proc in runs), 2),
        "runs_s": [round(s, 2) for s, _proc in runs],
        "changed": max(changed(p) for _seconds, p in runs),
    }


def playbook(path: str, *extra: str) -> list[str]:
    return ["ansible-playbook", path, "-i", "inventories/dev", *extra]


def main() -> int:
    if not (PROJECT_DIR / "releases/last-good.json").exists():
        log("no dev stack: make deploy first (untimed)")
        timed(["make", "deploy"])
    refs = json.loads((ROOT / "build/images/dev.json").read_text())
    backend = refs["images"]["backend"]
    out = {"benchmark": "playbooks", "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
           "runs": RUNS, "loadavg_start": [round(x, 2) for x in os.getloadavg()], "rows": {}}  # fmt: skip
    rows = out["rows"]
    log("make deploy, nothing changed")
    timed(["make", "deploy"])  # settle: the first no-op after a change may still record something
    rows["noop_make_deploy"] = median_of(["make", "deploy"])
    log("the same under Mitogen's strategy (make deploy STRATEGY=mitogen_linear)")
    rows["noop_make_deploy_mitogen"] = median_of(["make", "deploy", "STRATEGY=mitogen_linear"])
    log("images.yml alone vs docker build of an unchanged context")
    rows["images_playbook"] = median_of(playbook("playbooks/images.yml"))
    effective = Path("/var/lib/goaltrajectory/images/dockerfiles/backend.Dockerfile")  # the role's, HEALTHCHECK added
    raw = [timed([*builder(), "-q", "--file", str(effective), "--target", "runtime",
                  *(f"--build-arg={k}={v}" for k, v in backend["build_args"].items()),
                  "--secret", "id=build_ca,src=/etc/ssl/certs/ca-certificates.crt", backend["context"]],
                 env={**ENV, "DOCKER_BUILDKIT": "1"})[0] for _run in range(RUNS)]  # fmt: skip
    rows["images_playbook"].update(raw_seconds=round(statistics.median(raw), 2), raw="docker build (unchanged context)")
    log("compose.yml alone vs docker compose up -d --wait")
    rows["compose_playbook"] = median_of(playbook("playbooks/compose.yml"))
    raw = [timed(["docker", "compose", "up", "-d", "--wait"], cwd=PROJECT_DIR)[0] for _run in range(RUNS)]
    rows["compose_playbook"].update(raw_seconds=round(statistics.median(raw), 2), raw="docker compose up -d --wait")
    log("docker_host.yml alone")
    rows["docker_host_playbook"] = median_of(playbook("playbooks/docker_host.yml"))
    with tempfile.TemporaryDirectory(prefix="bench-k8s-render-") as out_dir:
        render = ["ansible-playbook", "playbooks/k8s.yml", "-i", "inventories/prod",
                  "--vault-id", "test@molecule/k8s/vault-pass.txt", "-e", "k8s_apply=false",
                  "-e", f"k8s_output_dir={out_dir}", "-e", json.dumps({"k8s_images": DIGESTS})]  # fmt: skip
        log("render + validate one Kubernetes environment")
        first, _proc = timed(render)
        rows["k8s_render_validate"] = {"first_seconds": round(first, 2), **median_of(render)}
    for row in rows.values():
        if row.get("raw_seconds"):
            row["ratio"] = round(row["seconds"] / row["raw_seconds"], 2)
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
