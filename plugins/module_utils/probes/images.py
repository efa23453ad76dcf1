# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Look inside local container images through the docker CLI, without starting anything.

A stopped container is created from the image (its entrypoint never runs) and files are
stat'ed with ``docker cp``; the container is removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess

_TIMEOUT = 30


class ImageInspector:
    """Answers 'is this image here', 'its HEALTHCHECK', 'does it contain this binary'; cached."""

    def __init__(self, docker: str = "docker"):
        self.docker = shutil.which(docker)
        self._available: bool | None = None
        self._inspect: dict = {}
        self._containers: dict = {}
        self._binaries: dict = {}

    def _run(self, *args, timeout=_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.docker, *args], capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )

    def available(self) -> bool:
        if self._available is None:
            if not self.docker:
                self._available = False
            else:
                try:
                    self._available = (
                        self._run("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0
                    )
                except (OSError, subprocess.TimeoutExpired):
                    self._available = False
        return self._available

    def inspect(self, image: str) -> dict | None:
        """``docker image inspect`` of a local image, None when absent (never pulls)."""
        if image not in self._inspect:
            result = None
            if self.available():
                proc = self._run("image", "inspect", "--format", "{{json .}}", image)
                if proc.returncode == 0:
                    result = json.loads(proc.stdout)
            self._inspect[image] = result
        return self._inspect[image]

    def healthcheck(self, image: str) -> list | None:
        info = self.inspect(image) or {}
        check = (info.get("Config") or {}).get("Healthcheck") or {}
        test = check.get("Test")
        return test if test and test != ["NONE"] else None

    def path_dirs(self, image: str) -> list[str]:
        info = self.inspect(image) or {}
        for item in (info.get("Config") or {}).get("Env") or []:
            if item.startswith("PATH="):
                return [d for d in item[5:].split(":") if d]
        return ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    def _container(self, image: str) -> str | None:
        if image not in self._containers:
            proc = self._run("create", "--network", "none", "--entrypoint", "/probe-lint-never-runs", image)
            self._containers[image] = proc.stdout.decode().strip() if proc.returncode == 0 else None
        return self._containers[image]

    def exists(self, image: str, path: str) -> bool | None:
        """True/False when the image is local; None when it cannot be checked."""
        if self.inspect(image) is None:
            return None
        cid = self._container(image)
        if not cid:
            return None
        proc = self._run("cp", "-L", f"{cid}:{path}", "-")
        return proc.returncode == 0

    def find_binary(self, image: str, name: str) -> bool | None:
        key = (image, name)
        if key not in self._binaries:
            if "/" in name:
                found = self.exists(image, name)
            else:
                found = None
                for directory in self.path_dirs(image):
                    found = self.exists(image, f"{directory.rstrip('/')}/{name}")
                    if found is None or found:
                        break
            self._binaries[key] = found
        return self._binaries[key]

    def close(self) -> None:
        for cid in [c for c in self._containers.values() if c]:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self._run("rm", "-f", "-v", cid)  # -v: the image's VOLUMEs must not leak
        self._containers.clear()
