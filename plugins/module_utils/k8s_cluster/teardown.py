"""Take a stopped single-node cluster off the host without touching anything else on it.

Pods are killed through the cluster's own containerd socket (never Docker's), leftover shims
of that socket are ended by pid, mounts under the cluster's directories and the pods' network
namespaces are unmounted, the CNI bridge is deleted, and the iptables chains and ipsets that
kube-proxy (KUBE-*), kube-router (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*, KUBE-SRC-*,
KUBE-DST-*) and the CNI plugins (CNI-*) created are removed with the rules that jump to them.
Docker's chains (DOCKER*) are never touched. With ``purge`` the state directories go too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

CHAIN_PREFIXES = ("KUBE-", "CNI-")
IPSET_PREFIXES = ("KUBE-", "kube-router", "inet6:KUBE-", "inet6:kube-router")
TABLES = ("filter", "nat", "mangle", "raw")


class Runner:
    """Runs commands (or, in check mode, only records them)."""

    def __init__(self, check_mode: bool = False):
        self.check_mode = check_mode
        self.actions: list[str] = []

    def act(self, description: str, argv: list[str] | None = None) -> None:
        self.actions.append(description)
        if argv and not self.check_mode:
            subprocess.run(argv, capture_output=True, check=False)

    @staticmethod
    def read(argv: list[str]) -> str:
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError:
            return ""
        return proc.stdout if proc.returncode == 0 else ""


# --- containers -----------------------------------------------------------------------------------------
def containers(runner: Runner, ctr: str, socket: str, namespace: str = "k8s.io") -> list[dict]:
    """Containers of the cluster's containerd with their network namespace path, if any."""
    if not os.path.exists(socket):
        return []
    base = [ctr, "--address", socket, "--namespace", namespace]
    out = []
    for cid in runner.read([*base, "containers", "ls", "-q"]).split():
        netns = ""
        try:
            info = json.loads(runner.read([*base, "containers", "info", cid]) or "{}")
            for ns in ((info.get("Spec") or {}).get("linux") or {}).get("namespaces") or []:
                if ns.get("type") == "network" and ns.get("path"):
                    netns = ns["path"]
        except ValueError:
            pass
        out.append({"id": cid, "netns": netns})
    return out


def remove_containers(runner: Runner, ctr: str, socket: str, items: list[dict], namespace: str = "k8s.io") -> None:
    base = [ctr, "--address", socket, "--namespace", namespace]
    running = set(runner.read([*base, "tasks", "ls", "-q"]).split())
    for item in items:
        if item["id"] in running:
            runner.act(f"kill task {item['id'][:12]}", [*base, "tasks", "kill", "--signal", "SIGKILL", item["id"]])
    if running and not runner.check_mode:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
            line.split()[-1] == "RUNNING"
            for line in runner.read([*base, "tasks", "ls"]).splitlines()[1:]
            if line.split()
        ):
            time.sleep(0.5)
    for item in items:
        if item["id"] in running:
            runner.act(f"delete task {item['id'][:12]}", [*base, "tasks", "delete", "--force", item["id"]])
        runner.act(f"delete container {item['id'][:12]}", [*base, "containers", "delete", item["id"]])


def shim_pids(socket: str) -> list[int]:
    """Shims started by the containerd listening on ``socket`` (their -address argument)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
            pids.append(int(proc.name))
    return sorted(pids)


def end_shims(runner: Runner, socket: str) -> None:
    for pid in shim_pids(socket):
        runner.actions.append(f"end shim pid {pid}")
        if not runner.check_mode:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- mounts, namespaces, links ---------------------------------------------------------------------------
def mounts_under(prefixes: list[str], mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points at or below any prefix, deepest first."""
    points = []
    try:
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].encode().decode("unicode_escape")
        if any(point == p.rstrip("/") or point.startswith(p.rstrip("/") + "/") for p in prefixes):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def unmount(runner: Runner, points: list[str]) -> None:
    for point in points:
        runner.act(f"unmount {point}", ["umount", "--lazy", point])


def remove_netns(runner: Runner, paths: list[str]) -> None:
    for path in sorted(set(p for p in paths if p)):
        if os.path.exists(path):
            runner.act(f"unmount netns {path}", ["umount", "--lazy", path])
            if not runner.check_mode:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def delete_link(runner: Runner, name: str) -> None:
    if os.path.exists(f"/sys/class/net/{name}"):
        runner.act(f"delete link {name}", ["ip", "link", "delete", name])


# --- netfilter -------------------------------------------------------------------------------------------
def ours(chain: str) -> bool:
    return chain.startswith(CHAIN_PREFIXES)


def chain_cleanup(save_output: str) -> tuple[list[list[str]], list[str]]:
    """From one table's iptables-save text: rules to delete (jumps from other chains) and our chains."""
    chains = [line[1:].split()[0] for line in save_output.splitlines() if line.startswith(":")]
    mine = [c for c in chains if ours(c)]
    deletes = []
    for line in save_output.splitlines():
        if not line.startswith("-A "):
            continue
        parts = shlex.split(line)
        chain = parts[1]
        if ours(chain):
            continue
        for flag in ("-j", "-g"):
            if flag in parts and parts.index(flag) + 1 < len(parts) and ours(parts[parts.index(flag) + 1]):
                deletes.append(["-D", *parts[1:]])
                break
    return deletes, mine


def clean_netfilter(runner: Runner) -> None:
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool) is None:
            continue
        for table in TABLES:
            saved = runner.read([f"{tool}-save", "-t", table])
            deletes, chains = chain_cleanup(saved)
            for rule in deletes:
                runner.act(f"{tool} -t {table} {' '.join(rule)}", [tool, "-w", "-t", table, *rule])
            for chain in chains:
                runner.act(f"{tool} -t {table} -F {chain}", [tool, "-w", "-t", table, "-F", chain])
            for chain in chains:
                runner.act(f"{tool} -t {table} -X {chain}", [tool, "-w", "-t", table, "-X", chain])
    if shutil.which("ipset"):
        for name in runner.read(["ipset", "list", "-n"]).split():
            if name.startswith(IPSET_PREFIXES):
                runner.act(f"ipset destroy {name}", ["ipset", "destroy", name])


def purge(runner: Runner, paths: list[str]) -> None:
    for path in paths:
        if os.path.lexists(path):
            runner.actions.append(f"remove {path}")
            if runner.check_mode:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
