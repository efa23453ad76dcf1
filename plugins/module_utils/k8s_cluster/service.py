"""One cluster component as a supervised service: a systemd unit, or a ``daemon`` (libslack) client.

Where PID 1 is systemd the component gets a unit (Restart=always, output appended to its log
file). Elsewhere (build VMs, containers) Debian's ``daemon`` supervises it: it respawns the
process when it exits, keeps a pid file under the run directory and appends its output to the
same log file. Either way the *spec* of the running instance (command line, environment, and
the content of the files it reads) is hashed and kept next to the pid file; a changed spec
restarts the component, an unchanged one is left running.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMON_RESPAWN = ["--respawn", "--acceptable=10", "--attempts=10", "--delay=10", "--limit=0"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class ServiceSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    log_file: str = ""
    run_dir: str = "/run/k8s-cluster"
    kill_mode: str = "control-group"
    description: str = ""

    def validate(self, require_binary: bool = True) -> list[str]:
        """Problems with the spec; ``require_binary=False`` in check mode (a real run builds it first)."""
        errors = []
        if not self.name or "/" in self.name or " " in self.name:
            errors.append(f"service name {self.name!r} must be a plain word")
        if not self.argv:
            errors.append(f"{self.name}: argv is empty")
        elif not os.path.isabs(self.argv[0]):
            errors.append(f"{self.name}: the command {self.argv[0]!r} must be an absolute path")
        elif require_binary and not os.access(self.argv[0], os.X_OK):
            errors.append(f"{self.name}: {self.argv[0]} is not an executable file")
        if self.kill_mode not in ("control-group", "process"):
            errors.append(f"{self.name}: kill_mode must be control-group or process")
        return errors


def pick_manager(choice: str = "auto") -> str:
    """``systemd`` where PID 1 is systemd (it keeps /run/systemd/system), else ``daemon``."""
    if choice != "auto":
        return choice
    return "systemd" if os.path.isdir("/run/systemd/system") else "daemon"


def file_digest(path: str) -> str:
    """Content hash of a config file; size, mtime and inode of a large binary (it lives in a versioned path)."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    if st.st_size > 4 * 1024 * 1024:
        return f"stat:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def spec_hash(spec: ServiceSpec) -> str:
    data = {
        "argv": spec.argv,
        "env": spec.env,
        "files": {f: file_digest(f) for f in sorted(set([spec.argv[0], *spec.files]))},
        "kill_mode": spec.kill_mode,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def systemd_unit(spec: ServiceSpec) -> str:
    env = "".join(f'Environment="{k}={v}"\n' for k, v in sorted(spec.env.items()))
    command = " ".join(shlex.quote(a) for a in spec.argv)
    return (
        "# Managed by goaltrajectory.platform k8s_cluster; changes are overwritten.\n"
        "[Unit]\n"
        f"Description={spec.description or spec.name}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Service]\n"
        f"ExecStart={command}\n"
        f"{env}"
        "Restart=always\n"
        "RestartSec=5\n"
        f"KillMode={spec.kill_mode}\n"
        "Delegate=yes\n"
        f"StandardOutput=append:{spec.log_file}\n"
        f"StandardError=append:{spec.log_file}\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


class Manager:
    """Start, stop and inspect one service; ``kind`` is ``systemd`` or ``daemon``."""

    def __init__(self, kind: str, daemon: str = "daemon", systemctl: str = "systemctl", unit_dir: str = ""):
        self.kind = kind
        self.daemon = daemon
        self.systemctl = systemctl
        self.unit_dir = Path(unit_dir or "/etc/systemd/system")

    # --- state files ----------------------------------------------------------------------
    @staticmethod
    def spec_file(spec: ServiceSpec) -> Path:
        return Path(spec.run_dir) / f"{spec.name}.spec"

    def running_hash(self, spec: ServiceSpec) -> str:
        try:
            return json.loads(self.spec_file(spec).read_text()).get("hash", "")
        except (OSError, ValueError):
            return ""

    # --- process state --------------------------------------------------------------------
    def _daemon_args(self, spec: ServiceSpec) -> list[str]:
        return [self.daemon, f"--name={spec.name}", f"--pidfiles={spec.run_dir}"]

    def is_running(self, spec: ServiceSpec) -> bool:
        if self.kind == "systemd":
            return subprocess.run([self.systemctl, "is-active", "--quiet", spec.name], check=False).returncode == 0
        return subprocess.run([*self._daemon_args(spec), "--running"], check=False).returncode == 0

    def pid(self, spec: ServiceSpec) -> int:
        """The component's own pid (the supervisor's child under daemon), 0 when not running."""
        if self.kind == "systemd":
            out = subprocess.run(
                [self.systemctl, "show", "-p", "MainPID", "--value", spec.name],
                capture_output=True,
                text=True,
                check=False,
            )
            return int(out.stdout.strip() or 0)
        try:
            supervisor = int((Path(spec.run_dir) / f"{spec.name}.pid").read_text().strip())
            children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        except (OSError, ValueError):
            return 0
        return int(children[0]) if children else 0

    # --- actions --------------------------------------------------------------------------
    def start(self, spec: ServiceSpec) -> None:
        Path(spec.run_dir).mkdir(parents=True, exist_ok=True)
        Path(spec.log_file).parent.mkdir(parents=True, exist_ok=True)
        env = {"PATH": DEFAULT_PATH, **spec.env}
        if self.kind == "systemd":
            unit = self.unit_dir / f"{spec.name}.service"
            content = systemd_unit(spec)
            if not unit.exists() or unit.read_text() != content:
                unit.write_text(content)
                os.chmod(unit, 0o644)
                self._run([self.systemctl, "daemon-reload"])
            self._run([self.systemctl, "enable", spec.name])
            self._run([self.systemctl, "restart", spec.name])
        else:
            with open(spec.log_file, "a") as log:
                log.write(f"== {time.strftime('%Y-%m-%dT%H:%M:%S')} k8s_cluster: starting {spec.name}\n")
            argv = [*self._daemon_args(spec), *DAEMON_RESPAWN, f"--output={spec.log_file}", "--chdir=/"]
            argv += [f"--env={k}={v}" for k, v in sorted(env.items())]
            self._run([*argv, "--", *spec.argv])
        self.spec_file(spec).write_text(json.dumps({"hash": spec_hash(spec), "argv": spec.argv}) + "\n")

    def stop(self, spec: ServiceSpec, timeout: float = 30) -> None:
        if self.kind == "systemd":
            self._run([self.systemctl, "stop", spec.name])
            self._run([self.systemctl, "disable", spec.name])
        elif self.is_running(spec):
            child = self.pid(spec)
            subprocess.run([*self._daemon_args(spec), "--stop"], check=False)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (self.is_running(spec) or _alive(child)):
                time.sleep(0.2)
            if child and _alive(child):
                os.kill(child, signal.SIGKILL)
        self.spec_file(spec).unlink(missing_ok=True)

    @staticmethod
    def _run(argv: list[str]) -> None:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])}... failed ({proc.returncode}): {proc.stderr.strip()}")


def _alive(pid: int) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def ensure(manager: Manager, spec: ServiceSpec, state: str, check_mode: bool) -> str:
    """Bring the service to ``state``; return the action taken: none, started, restarted or stopped."""
    running = manager.is_running(spec)
    if state == "stopped":
        if not running:
            if not check_mode:
                manager.spec_file(spec).unlink(missing_ok=True)
            return "none"
        if not check_mode:
            manager.stop(spec)
        return "stopped"
    want = spec_hash(spec)
    if running and state == "started" and manager.running_hash(spec) == want:
        return "none"
    action = "restarted" if running else "started"
    if not check_mode:
        if running:
            manager.stop(spec)
        manager.start(spec)
    return action
