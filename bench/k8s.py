"""Kubernetes deploy benchmark for roles/k8s against the local cluster; prints JSON.

Three scenarios, each timed through the role (`ansible-playbook playbooks/k8s.yml -i
inventories/local`, which renders, validates, applies server-side and waits for every rollout)
and, in the same run, as the raw equivalent on the same rendered tree: `kubectl apply
--server-side -R -f <tree>` (the Secret with its real values first, since the rendered one holds
keys only) plus `kubectl rollout status` of every Deployment and StatefulSet:

1. cold deploy: no namespace (it is deleted before each side, claims and data with it);
2. no-op redeploy (BENCH_NOOP_RUNS times each, median);
3. one-image change: the backend moves to another image (a variant of the deployed one pushed to
   the local registry); each side moves to its own variant, so neither is a no-op.

The bench uses its own namespace (gt-bench-k8s), never the one molecule or an operator deploys.
It needs the local cluster up and the images pushed: when the images results file is missing it
runs `ansible-playbook deploy.yml -i inventories/local` first (untimed).

Run from the repository root after `make setup`:
    python bench/k8s.py
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "inventories" / "local"
NAMESPACE = "gt-bench-k8s"
KUBECONFIG = "/etc/k8s-cluster/kubeconfigs/admin.conf"
RESULTS = ROOT / "build" / "images" / "local" / "dev.json"
REGISTRY = "127.0.0.1:5000"
NOOP_RUNS = int(os.environ.get("BENCH_NOOP_RUNS", "3"))
TIMEOUT = 1800
# The role's apply task, timed alone from the profile_tasks recap (roles/k8s/tasks/apply.yml).
APPLY_TASK = "Apply the tree, wait for every rollout"


def log(msg: str) -> None:
    print(f"[bench/k8s] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return proc


def kubectl(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return run(["kubectl", "--kubeconfig", KUBECONFIG, *args], check=check, **kwargs)


def timed(func) -> tuple[float, object]:
    start = time.monotonic()
    out = func()
    return round(time.monotonic() - start, 2), out


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        # profile_tasks: the apply task's own time, next to the whole playbook's (timestamps only).
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        )
        self.secrets = self.inventory_secrets()

    def inventory_secrets(self) -> dict:
        data = yaml.safe_load((ROOT / "roles/k8s/defaults/main.yml").read_text())["k8s_secrets"]
        return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}

    def role(self, images: dict | None = None, apply: bool = True, out: Path | None = None) -> dict:
        extra = {"k8s_namespace": NAMESPACE, "k8s_apply": apply, "k8s_output_dir": str(out or self.work / "role")}
        if images:
            extra["k8s_images"] = images
        proc = run(["ansible-playbook", str(ROOT / "playbooks/k8s.yml"), "-i", str(INVENTORY), "-e", json.dumps(extra)],
                   cwd=ROOT, env=self.env)  # fmt: skip
        recap = proc.stdout.split("PLAY RECAP")[-1]
        changed = [int(c) for c in re.findall(r"changed=(\d+)", recap)]
        task = re.search(re.escape(APPLY_TASK) + r" -+ ([0-9.]+)s", recap)
        return {"changed": sum(changed), "apply_task_seconds": float(task.group(1)) if task else None}

    def render(self, images: dict | None, name: str) -> Path:
        """The tree the role renders for these images, without applying (the raw side applies it)."""
        out = self.work / name
        self.role(images, apply=False, out=out)
        return out / "dev" / "k8s"

    def raw(self, tree: Path) -> None:
        # The tree holds no Secret (the role applies it from memory): the raw side makes its own.
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-secrets", "namespace": NAMESPACE},
            "type": "Opaque",
            "data": self.secrets,
        }
        # Namespace first (the Secret lives in it), then the Secret with values, then the rest.
        kubectl("apply", "--server-side", "--field-manager=bench-raw", "-f", str(tree / "base/namespace.yaml"))
        kubectl("apply", "--server-side", "--field-manager=bench-raw", "-f", "-", input=json.dumps(secret))
        files = [str(p) for p in sorted(tree.rglob("*.yaml")) if p.name != "kustomization.yaml"]
        kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=bench-raw",
            *[a for f in files for a in ("-f", f)],
        )
        for kind in ("statefulset", "deployment"):
            names = kubectl("get", kind, "-n", NAMESPACE, "-o", "name").stdout.split()
            for name in names:
                kubectl("rollout", "status", name, "-n", NAMESPACE, "--timeout=600s")

    def delete_namespace(self) -> None:
        kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=300s")

    def variant(self, tag: str) -> str:
        base = json.loads(RESULTS.read_text())["refs"]["backend"]
        target = f"{REGISTRY}/goaltrajectory/bench:{tag}"
        run(["docker", "pull", base])
        run(["docker", "build", "-q", "-t", target, "-"], input=f"FROM {base}\nLABEL ai.goaltrajectory.bench={tag}\n",
            env=dict(os.environ, DOCKER_BUILDKIT="0"))  # fmt: skip
        run(["docker", "push", target])
        digests = run(
            ["docker", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", target]
        ).stdout.split()
        return next(d for d in digests if d.startswith(f"{REGISTRY}/goaltrajectory/bench@"))

    def cold(self) -> dict:
        self.delete_namespace()
        role_s, role = timed(self.role)
        tree = self.render(None, "cold-tree")
        self.delete_namespace()
        raw_s = timed(lambda: self.raw(tree))[0]
        self.delete_namespace()
        return result(role_s, raw_s, role)

    def noop(self) -> dict:
        self.role()
        role_runs = [timed(self.role) for _run in range(NOOP_RUNS)]
        tree = Path(self.work / "role" / "dev" / "k8s")
        raw_runs = [timed(lambda: self.raw(tree))[0] for _run in range(NOOP_RUNS)]
        self.role()  # the role's field manager owns everything again
        out = result(statistics.median(s for s, _out in role_runs), statistics.median(raw_runs), role_runs[-1][1])
        out.update(role_runs_s=[s for s, _out in role_runs], raw_runs_s=raw_runs)
        # The apply step alone (k8s_tree_apply: every object applied, every rollout checked) against the
        # same raw kubectl run; the whole playbook adds Ansible's start and the render + validate.
        tasks = [o["apply_task_seconds"] for _s, o in role_runs]
        if None in tasks:
            raise RuntimeError(f"no '{APPLY_TASK}' time in the profile_tasks recap")
        out["apply_task_seconds"] = statistics.median(tasks)
        out["apply_task_ratio"] = round(out["apply_task_seconds"] / out["raw_seconds"], 2)
        return out

    def one_image(self) -> dict:
        role_image, raw_image = (
            self.variant(f"role-{uuid.uuid4().hex[:6]}"),
            self.variant(f"raw-{uuid.uuid4().hex[:6]}"),
        )
        role_s, role = timed(lambda: self.role({"backend": role_image}))
        tree = self.render({"backend": raw_image}, "change-tree")
        raw_s = timed(lambda: self.raw(tree))[0]
        return result(role_s, raw_s, role)


def result(role_s: float, raw_s: float, role: dict) -> dict:
    return {
        "role_seconds": role_s,
        "raw_seconds": raw_s,
        "ratio": round(role_s / raw_s, 2),
        "role_changed": role["changed"],
    }


def main() -> int:
    if kubectl("get", "--raw", "/readyz", check=False).returncode != 0 or not RESULTS.exists():
        log("bringing the local cluster up and pushing the images (untimed)")
        run(["ansible-playbook", str(ROOT / "deploy.yml"), "-i", str(INVENTORY), "-e", "k8s_apply=false"],
            cwd=ROOT, env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-k8s-") as work:
        bench = Bench(Path(work))
        out = {"bench": "k8s", "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
               "namespace": NAMESPACE, "scenarios": {}}  # fmt: skip
        try:
            for name in ("cold", "noop", "one_image"):
                log(f"scenario {name}")
                out["scenarios"][name] = getattr(bench, name)()
        finally:
            bench.delete_namespace()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
