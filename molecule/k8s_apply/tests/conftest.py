"""Helpers for verifying the app on the local cluster: kubectl, the ingress, the role, goals."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
KUBECONFIG = "/etc/k8s-cluster/kubeconfigs/admin.conf"
NS = "goaltrajectory-local"
HOST = "goaltrajectory.localhost"
INGRESS = "http://127.0.0.1:30080"
REGISTRY = "127.0.0.1:5000"
WORK = Path("/var/lib/goaltrajectory/molecule-k8s-apply")  # host_vars/*.yml of this scenario
RESULTS = WORK / "images" / "dev.json"


def kubectl(
    *args: str, stdin: str | None = None, check: bool = True, timeout: int = 180
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["kubectl", "--kubeconfig", KUBECONFIG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    return proc


def get(kind: str, name: str = "", *args: str) -> dict:
    return json.loads(kubectl("get", kind, *([name] if name else []), "-n", NS, "-o", "json", *args).stdout)


def pods(app: str) -> list[dict]:
    return get("pods", "", "-l", f"app.kubernetes.io/name={app}")["items"]


def until(what: str, probe, timeout: float = 180, interval: float = 2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (AssertionError, OSError, ValueError) as exc:
            last = exc
            if isinstance(exc, AssertionError):
                last = f"{exc}"
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s; last seen: {last!r}")


def http(method: str, path: str, body=None, timeout: float = 10) -> tuple[int, object]:
    """A request through the ingress (Traefik's NodePort) with the app's Host header."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{INGRESS}{path}", data=data, method=method, headers={"Host": HOST, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(
                raw
            ) if raw and resp.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def exec_in(app: str, *argv: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run a command in the first Ready pod of a service."""
    pod = next(p for p in pods(app) if p["metadata"].get("deletionTimestamp") is None)
    return kubectl("exec", "-n", NS, pod["metadata"]["name"], "--", *argv, check=check)


def role(*extra: str, playbook: str = "playbooks/k8s.yml", timeout: int = 1800) -> subprocess.CompletedProcess:
    """A playbook of ours against this scenario's inventory (inventories/local)."""
    inventory = str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    env = dict(os.environ, ANSIBLE_CONFIG=str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.cfg"))
    env["ANSIBLE_FORCE_COLOR"] = "0"
    return subprocess.run(
        ["ansible-playbook", str(PROJECT / playbook), "-i", inventory, *extra],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def recap_changed(output: str) -> int:
    import re

    counts = re.findall(r"^\S+\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output, re.MULTILINE)
    assert counts, output[-3000:]
    return sum(map(int, counts))


def refs() -> dict:
    return json.loads(RESULTS.read_text())["refs"]


def pushed_variant(base_ref: str, tag: str, dockerfile_tail: str) -> str:
    """A new image made from a deployed one, pushed to the local registry; its digest reference."""
    repo = f"{REGISTRY}/goaltrajectory/drill"
    target = f"{repo}:{tag}"
    subprocess.run(["docker", "pull", base_ref], capture_output=True, check=True)
    subprocess.run(
        ["docker", "build", "-q", "-t", target, "-"],
        input=f"FROM {base_ref}\n{dockerfile_tail}\n",
        text=True,
        capture_output=True,
        check=True,
        env=dict(os.environ, DOCKER_BUILDKIT="0"),
    )
    subprocess.run(["docker", "push", target], capture_output=True, check=True)
    digest = subprocess.run(
        ["docker", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return next(d for d in digest if d.startswith(repo + "@"))


@pytest.fixture(scope="session")
def goal():
    """A goal and its similarity results, written once and read after every drill."""
    text = f"Run a marathon under four hours {uuid.uuid4().hex[:8]}"
    status, created = http("POST", "/api/goals", {"title": text, "description": "train five days a week"})
    assert status == 201, created
    http("POST", "/api/goals", {"title": "Run a half marathon", "description": "train three days a week"})
    status, similar = http("GET", f"/api/goals/{created['id']}/similar")
    assert status == 200 and similar["items"], similar
    return created, similar["items"]


def assert_goal_intact(goal) -> None:
    created, similar = goal

    def read():
        status, fetched = http("GET", f"/api/goals/{created['id']}")
        if status != 200:
            return None
        _status, again = http("GET", f"/api/goals/{created['id']}/similar")
        return fetched, again

    fetched, again = until("the goal answers through the ingress", read, timeout=240)
    assert fetched["title"] == created["title"]
    assert [g["goal"]["id"] for g in again["items"]] == [g["goal"]["id"] for g in similar]


def rendered(kind_file: str) -> dict:
    return yaml.safe_load((WORK / "rendered" / "dev" / "k8s" / kind_file).read_text())


def utc_now() -> str:
    """Now as the API server stamps events (RFC 3339, seconds), to compare with their times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def quota_refusals(since: str) -> list[str]:
    """Messages of the pod creations the ResourceQuota refused at or after `since`."""
    events = json.loads(
        kubectl("get", "events", "-n", NS, "-o", "json", "--field-selector", "reason=FailedCreate").stdout
    )["items"]
    return [
        e["message"]
        for e in events
        if "exceeded quota" in e["message"] and (e.get("lastTimestamp") or e.get("eventTime") or "") >= since
    ]


def wait_all_ready(timeout: int = 300) -> None:
    for kind in ("deployment", "statefulset"):
        for obj in get(kind)["items"]:
            kubectl("rollout", "status", f"{kind}/{obj['metadata']['name']}", "-n", NS, f"--timeout={timeout}s",
                    timeout=timeout + 30)  # fmt: skip
