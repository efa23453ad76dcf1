"""Compose deploy benchmark for roles/compose (and roles/images for a rebuild); prints JSON.

Three scenarios, each timed through the role and, in the same run, as the raw `docker compose`
equivalent on the same rendered files (`docker compose -p gt-bench -f docker-compose.yml
-f docker-compose.dev.yml up -d --wait --pull never`):

1. cold deploy: base images present, no containers, networks or volumes of the bench project
   (`docker compose down -v` before each side; the role side also starts without a project dir);
2. no-op redeploy: nothing to change (BENCH_NOOP_RUNS times each, median reported); the role's
   `changed` count from the PLAY RECAP should be 0;
3. one-file backend change: one backend .py file in the bench's copy of app/ is edited, then
   role: `ansible-playbook playbooks/images.yml playbooks/compose.yml` (the images role rebuilds only
         what changed: the backend; the compose play reads the images play's results file),
   raw:  the same `docker build` of the same Dockerfile, context, build args and CA secret
         (tagged as the rendered files reference it), then `docker compose up -d --wait`.
   Each side makes its own, distinct edit, so neither is a BuildKit cache hit.

For every run the services whose containers were recreated are recorded, so the role and the raw
baseline can be seen doing the same work, and the role's five slowest tasks (profile_tasks).

The bench is its own Compose project (gt-bench, /srv/goaltrajectory/bench, ports 23000, 28000,
28001, 25432) and never touches a running dev stack; everything else (secret placeholders, the
dev override) comes from inventories/dev, which every playbook run uses. Images: the image map of
the last healthy dev deploy (/srv/goaltrajectory/dev/releases/last-good.json); when there is
none, the bench first runs
`ansible-playbook deploy.yml -i inventories/dev` (untimed), which builds them and deploys the dev
stack. The rebuilt backend is tagged gt-bench/backend:deploy (and :deploy-env), never
goaltrajectory/*. Image scans and the Debian security check are off (network-bound, and not what
is measured here), as in bench/images.py.

At the end the bench project goes (`docker compose down -v`, its project dir) and the copy of
app/ is deleted; images stay.

Run from the repository root after `make setup`, on a host with the Docker engine running:
    python bench/deploy.py
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "gt-bench"
PROJECT_DIR = Path(os.environ.get("BENCH_PROJECT_DIR", "/srv/goaltrajectory/bench"))
PORTS = {"frontend": 23000, "backend": 28000, "chromadb": 28001, "postgres": 25432}
DEV_RELEASE = Path(os.environ.get("BENCH_DEV_RELEASE", "/srv/goaltrajectory/dev/releases/last-good.json"))
INVENTORY = ROOT / "inventories" / "dev"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NOOP_RUNS = int(os.environ.get("BENCH_NOOP_RUNS", "3"))
WAIT_TIMEOUT = 300  # compose_wait_timeout's default, for both sides
IMAGE_PREFIX = "gt-bench"
IMAGE_TAG = "deploy"
# The file a developer touches; appended to, so the code is unchanged but the layer is not.
ONE_FILE = Path("backend") / "goaltrajectory" / "goals.py"
# Subprocess bounds, seconds.
T_PLAYBOOK = 1800
T_FIRST_DEPLOY = 3600
T_BUILD = 1200
T_COMPOSE = WAIT_TIMEOUT + 120
T_QUICK = 120

# ansible.posix.profile_tasks' summary lines: "<role> : <task> ---------- 1.23s".
TASK_TIME = re.compile(r"^(\S.*?) -{3,} (\d+\.\d+)s$", re.MULTILINE)
TOP_TASKS = 5
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def log(msg: str) -> None:
    print(f"[bench/deploy] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        head = " ".join(str(c) for c in cmd[:8])
        raise RuntimeError(f"{head} ... failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}")
    return proc


def compose(*args: str) -> list[str]:
    files = [f"--file={PROJECT_DIR / name}" for name in ("docker-compose.yml", "docker-compose.dev.yml")]
    return ["docker", "compose", "--project-name", PROJECT, *files, *args]


RAW_UP = ("up", "--detach", "--wait", f"--wait-timeout={WAIT_TIMEOUT}", "--pull=never")


def raw_up() -> float:
    start = time.monotonic()
    run(compose(*RAW_UP), timeout=T_COMPOSE)
    return time.monotonic() - start


def down() -> None:
    """Containers, networks and volumes of the bench project; works without the rendered files."""
    run(["docker", "compose", "--project-name", PROJECT, "down", "--volumes", "--remove-orphans"], timeout=T_QUICK)


def containers() -> dict[str, dict]:
    """Service -> {id, image, status} of the bench project's containers."""
    fmt = '{{.Label "com.docker.compose.service"}}\t{{.ID}}\t{{.Image}}\t{{.Status}}'
    out = run(
        [
            "docker",
            "ps",
            "--all",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}",
            "--format",
            fmt,
        ],
        timeout=T_QUICK,
    ).stdout
    found = {}
    for line in filter(None, out.splitlines()):
        service, cid, image, status = line.split("\t", 3)
        found[service] = {"id": cid, "image": image, "status": status}
    return found


def recreated(before: dict, after: dict) -> list[str]:
    return sorted(s for s in after if before.get(s, {}).get("id") != after[s]["id"])


def assert_healthy(where: str) -> None:
    state = containers()
    bad = {s: c["status"] for s, c in state.items() if "(healthy)" not in c["status"]}
    if len(state) != 4 or bad:
        raise RuntimeError(f"{where}: expected four healthy services, got {state}")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def builder() -> list[str]:
    """The CLI the images role picks: buildx when present, else a docker CLI < 23 (built-in BuildKit)."""
    if run(["docker", "buildx", "version"], timeout=T_QUICK, check=False).returncode == 0:
        return ["docker", "buildx", "build", "--load"]
    for cli in ("docker", "/usr/bin/docker"):
        proc = run([cli, "version", "--format", "{{.Client.Version}}"], timeout=T_QUICK, check=False)
        if proc.returncode == 0 and re.match(r"^(1[0-9]|2[0-2])\.", proc.stdout.strip()):
            return [cli, "build"]
    raise RuntimeError("no BuildKit-capable docker CLI (buildx plugin or a CLI older than 23)")


class Bench:
    def __init__(self, work: Path) -> None:
        self.app = work / "app"
        self.output = work / "images-output"
        log(f"copying app/ to {self.app}")
        shutil.copytree(
            ROOT / "app",
            self.app,
            ignore=shutil.ignore_patterns(
                "node_modules", ".venv", ".next", "__pycache__", ".pytest_cache", "*.tsbuildinfo"
            ),
        )
        self.results = work / "images-results"
        self.env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            # Where the role's time goes: the slowest tasks of each run (timestamps only, no extra work).
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
            "PROFILE_TASKS_TASK_OUTPUT_LIMIT": str(TOP_TASKS),
            "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}",
        }
        self.images = self.image_map()
        log("building the bench's images once (untimed): the images role under its own prefix")
        self.playbook(["playbooks/images.yml"], self.images_vars())

    def image_map(self) -> dict[str, str]:
        if not DEV_RELEASE.exists():
            log(f"{DEV_RELEASE} missing: running `ansible-playbook deploy.yml -i inventories/dev` first (untimed)")
            run(
                ["ansible-playbook", "deploy.yml", "-i", str(INVENTORY)], timeout=T_FIRST_DEPLOY, env=self.env, cwd=ROOT
            )
        images = json.loads(DEV_RELEASE.read_text())["images"]
        missing = [
            ref for ref in images.values() if run(["docker", "image", "inspect", ref], T_QUICK, False).returncode
        ]
        if missing:
            raise RuntimeError(f"images of {DEV_RELEASE} not on this host: {missing}; run `make deploy` first")
        return images

    def compose_vars(self, images: dict[str, str]) -> dict:
        return {
            "compose_environment": "dev",
            "compose_project_name": PROJECT,
            "compose_project_dir": str(PROJECT_DIR),
            "compose_app_source_dir": str(self.app),
            # Its own host ports, through the catalog (the dev stack keeps its own).
            "catalog_overrides": {name: {"host_port": port} for name, port in PORTS.items()},
            "compose_images": images,
            "compose_wait_timeout": WAIT_TIMEOUT,
        }

    def images_vars(self) -> dict:
        return {
            "images_app_dir": str(self.app),
            "images_dockerfiles_dir": str(ROOT / "docker"),
            "images_output_dir": str(self.output),
            "images_repository_prefix": IMAGE_PREFIX,
            "images_tag": IMAGE_TAG,
            "images_environment": "dev",
            "images_results_dir": str(self.results),
            "images_build_ca_bundle": CA_BUNDLE if os.path.exists(CA_BUNDLE) else "",
            "images_security_check": "skip",
            "images_scan": False,
        }

    def playbook(self, playbooks: list[str], extra: dict) -> dict:
        cmd = ["ansible-playbook", "-i", str(INVENTORY), *playbooks, "-e", json.dumps(extra)]
        start = time.monotonic()
        proc = run(cmd, timeout=T_PLAYBOOK, env=self.env, cwd=ROOT)
        seconds = time.monotonic() - start
        recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])} for m in RECAP.findall(proc.stdout)}
        if not recap:
            raise RuntimeError(f"no PLAY RECAP in the output of {' '.join(playbooks)}:\n{proc.stdout[-3000:]}")
        summary = proc.stdout.rsplit("PLAY RECAP", 1)[-1]
        slowest = [f"{secs}s {name.strip()}" for name, secs in TASK_TIME.findall(summary)][:TOP_TASKS]
        return {
            "seconds": seconds,
            "changed": sum(h["changed"] for h in recap.values()),
            "recap": recap,
            "slowest_tasks": slowest,
        }

    def deploy(self, images: dict[str, str]) -> dict:
        return self.playbook(["playbooks/compose.yml"], self.compose_vars(images))

    def edit_one_file(self) -> str:
        marker = uuid.uuid4().hex[:12]
        with open(self.app / ONE_FILE, "a", encoding="utf-8") as handle:
            handle.write(f"\n# bench/deploy.py: one-file change {marker}\n")
        return marker

    # -- scenarios ---------------------------------------------------------------------------

    def cold(self) -> dict:
        log("cold deploy: role")
        down()
        shutil.rmtree(PROJECT_DIR, ignore_errors=True)
        role = self.deploy(self.images)
        after_role = containers()
        assert_healthy("cold deploy (role)")
        log("cold deploy: raw docker compose")
        down()
        raw = raw_up()
        after_raw = containers()
        assert_healthy("cold deploy (raw)")
        return result(role, raw, recreated({}, after_role), recreated({}, after_raw))

    def noop(self) -> dict:
        # The raw cold deploy replaced the containers the role's release record names, so the
        # role's next run records the new ones (changed=1); that run is not a no-op and is not timed.
        log("no-op redeploy: one untimed role run to take over the raw side's containers")
        self.deploy(self.images)
        roles, raws = [], []
        for i in range(NOOP_RUNS):
            log(f"no-op redeploy {i + 1}/{NOOP_RUNS}: role")
            before = containers()
            role = self.deploy(self.images)
            role["recreated"] = recreated(before, containers())
            roles.append(role)
            log(f"no-op redeploy {i + 1}/{NOOP_RUNS}: raw docker compose")
            before = containers()
            raws.append({"seconds": raw_up(), "recreated": recreated(before, containers())})
        assert_healthy("no-op redeploy")
        role_s = statistics.median(r["seconds"] for r in roles)
        raw_s = statistics.median(r["seconds"] for r in raws)
        out = result(
            {
                "seconds": role_s,
                "changed": max(r["changed"] for r in roles),
                "slowest_tasks": roles[-1]["slowest_tasks"],
            },
            raw_s,
            sorted({s for r in roles for s in r["recreated"]}),
            sorted({s for r in raws for s in r["recreated"]}),
        )
        out["runs"] = NOOP_RUNS
        out["role_seconds_all"] = [round(r["seconds"], 2) for r in roles]
        out["raw_seconds_all"] = [round(r["seconds"], 2) for r in raws]
        out["changed_all"] = [r["changed"] for r in roles]
        return out

    def one_file_change(self) -> dict:
        log(f"one-file backend change ({ONE_FILE}): role (images.yml backend + compose.yml)")
        # No backend entry: the compose play takes the backend from the images play's results file.
        images = {k: v for k, v in self.images.items() if k != "backend"}
        extra = {**self.compose_vars(images), **self.images_vars()}
        before = containers()
        previous = run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", f"{IMAGE_PREFIX}/backend:{IMAGE_TAG}"], T_QUICK, False
        ).stdout.strip()
        self.edit_one_file()
        role = self.playbook(["playbooks/images.yml", "playbooks/compose.yml"], extra)
        after_role = containers()
        assert_healthy("one-file change (role)")
        built = json.loads((self.output / "build-results-dev.json").read_text())["images"]["backend"]
        deployed = json.loads((self.results / "dev.json").read_text())["refs"]["backend"]
        if after_role["backend"]["image"] != deployed:
            raise RuntimeError(f"role deployed {after_role['backend']['image']}, the images play built {deployed}")

        log("one-file backend change: raw docker build + docker compose up")
        cmd = [
            *builder(),
            "--progress=plain",
            "--file",
            # The role's effective Dockerfile: the file plus the catalog's HEALTHCHECK.
            str(self.output / "dockerfiles" / "backend.Dockerfile"),
            "--target",
            "runtime",
            "--tag",
            built["ref"],  # what the rendered docker-compose.yml references
            *(f"--build-arg={k}={v}" for k, v in built["build_args"].items()),
        ]
        if os.path.exists(CA_BUNDLE):
            cmd += ["--secret", f"id=build_ca,src={CA_BUNDLE}"]
        cmd.append(str(self.app / "backend"))
        self.edit_one_file()
        start = time.monotonic()
        run(cmd, timeout=T_BUILD, env={**os.environ, "DOCKER_BUILDKIT": "1"})
        build_s = time.monotonic() - start
        up_s = raw_up()
        raw = build_s + up_s
        after_raw = containers()
        assert_healthy("one-file change (raw)")
        new_id = run(["docker", "image", "inspect", "--format", "{{.Id}}", built["ref"]], T_QUICK).stdout.strip()
        running = run(["docker", "inspect", "--format", "{{.Image}}", after_raw["backend"]["id"]], T_QUICK).stdout
        if running.strip() != new_id:
            raise RuntimeError("raw docker compose up did not run the rebuilt backend image")
        out = result(role, raw, recreated(before, after_role), recreated(after_role, after_raw))
        out["raw_build_seconds"] = round(build_s, 2)
        out["raw_up_seconds"] = round(up_s, 2)
        out["backend_image"] = built["ref"]
        out["role_rebuilt_backend"] = built["id"] != previous
        out["raw_builder"] = " ".join(builder())
        return out


def result(role: dict, raw_s: float, role_recreated: list[str], raw_recreated: list[str]) -> dict:
    return {
        "role_seconds": round(role["seconds"], 2),
        "raw_seconds": round(raw_s, 2),
        "ratio": round(role["seconds"] / raw_s, 2) if raw_s else None,
        "changed": role["changed"],
        "role_slowest_tasks": role["slowest_tasks"],
        "role_recreated": role_recreated,
        "raw_recreated": raw_recreated,
    }


def version(cmd: list[str]) -> str:
    proc = run(cmd, timeout=T_QUICK, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else f"unknown ({proc.stderr.strip()[:200]})"


def metadata() -> dict:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "docker": version(["docker", "version", "--format", "{{.Server.Version}}"]),
        "compose": version(["docker", "compose", "version", "--short"]),
        "ansible": version([str(ROOT / ".venv/bin/ansible"), "--version"]).splitlines()[0],
        "project": {"name": PROJECT, "dir": str(PROJECT_DIR), "ports": PORTS},
        "raw_command": " ".join(compose(*RAW_UP)),
    }


def main() -> int:
    run(["docker", "info"], timeout=T_QUICK)
    meta = metadata()
    down()  # leftovers of an interrupted run hold the ports
    busy = [p for p in PORTS.values() if not port_free(p)]
    if busy:
        raise SystemExit(f"ports in use: {busy}; free them or change PORTS in bench/deploy.py")
    work = Path(tempfile.mkdtemp(prefix="gt-bench-deploy-"))
    try:
        bench = Bench(work)
        out = {"benchmark": "deploy", **meta, "images": bench.images, "scenarios": {}}
        out["scenarios"]["cold_deploy"] = bench.cold()
        out["scenarios"]["noop_redeploy"] = bench.noop()
        out["scenarios"]["one_file_backend_change"] = bench.one_file_change()
        out["host"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        log("cleaning up: docker compose down -v, project dir, app copy (images stay)")
        try:
            down()
        finally:
            shutil.rmtree(PROJECT_DIR, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
