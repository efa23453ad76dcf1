# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker CLI, as the images modules use it: inspect, BuildKit builds, tags, save, push.

The build itself goes through a CLI because BuildKit secret mounts are needed and Debian 12
has no buildx plugin: `docker buildx build --load` where the plugin answers, otherwise a
CLI older than 23 with BuildKit built in (Debian 12's /usr/bin/docker, 20.10).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from contextlib import contextmanager

BUILTIN_BUILDKIT = re.compile(r"^(1[0-9]|2[0-2])\.")


class DockerError(RuntimeError):
    """A docker command failed; the message says which and why."""


def _run(argv: list[str], *, env: dict | None = None, check: bool = True, timeout: float | None = None):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise DockerError(f"{argv[0]}: not found") from exc
    if check and proc.returncode != 0:
        raise DockerError(
            f"{' '.join(argv[:4])} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}"
        )
    return proc


def find_builder(cli: str, candidates: list[str]) -> dict:
    """{cli, buildx}: the CLI and whether to use `buildx build`; DockerError when none has BuildKit."""
    first = cli or "docker"
    if _run([first, "buildx", "version"], check=False).returncode == 0:
        return {"cli": first, "buildx": True}
    tried = [cli] if cli else list(candidates)
    for candidate in tried:
        proc = _run([candidate, "version", "--format", "{{.Client.Version}}"], check=False)
        if proc.returncode == 0 and BUILTIN_BUILDKIT.match(proc.stdout.strip()):
            return {"cli": candidate, "buildx": False}
    raise DockerError(
        f"No BuildKit builder: `{first} buildx version` failed and none of {', '.join(tried)} is a docker CLI older "
        "than 23 with built-in BuildKit. Install the buildx plugin (docker_host_extra_packages: [docker-buildx]) "
        "or set images_docker_cli."
    )


class Docker:
    def __init__(self, cli: str = "docker") -> None:
        self.cli = cli or "docker"

    def inspect(self, refs: list[str]) -> dict[str, dict]:
        """ref -> `docker image inspect` object, for the refs that exist (one CLI call)."""
        refs = [r for r in dict.fromkeys(refs) if r]
        if not refs:
            return {}
        proc = _run([self.cli, "image", "inspect", *refs], check=False)
        found = {}
        try:
            images = json.loads(proc.stdout or "[]")
        except ValueError:
            images = []
        if proc.returncode == 0 and len(images) == len(refs):
            return dict(zip(refs, images, strict=True))
        # Some are missing: the CLI prints only those it found, so ask one by one.
        for ref in refs:
            one = _run([self.cli, "image", "inspect", ref], check=False)
            if one.returncode == 0:
                found[ref] = json.loads(one.stdout)[0]
        return found

    def tag(self, source: str, target: str) -> None:
        _run([self.cli, "tag", source, target])

    def build(self, builder: dict, argv_tail: list[str], log_path: str | None) -> dict:
        """Run one BuildKit build; {rc, seconds, log_tail}. The full log goes to ``log_path``."""
        argv = [builder["cli"], *(["buildx"] if builder["buildx"] else []), "build", "--progress=plain", *argv_tail]
        if builder["buildx"]:
            argv.insert(-1, "--load")
        env = dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain")
        start = time.monotonic()
        if log_path:
            os.makedirs(os.path.dirname(log_path), exist_ok=True)
            with open(log_path, "w", encoding="utf-8") as log:
                log.write("$ " + " ".join(argv) + "\n")
                log.flush()
                rc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env, check=False).returncode
            with open(log_path, encoding="utf-8", errors="replace") as log:
                tail = log.read()[-4000:]
        else:
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-4000:]
        return {"rc": rc, "seconds": round(time.monotonic() - start, 2), "log_tail": tail, "argv": argv}

    @contextmanager
    def save(self, image: str):
        """A stream of `docker save <image>` (read-only: nothing is created in the engine)."""
        proc = subprocess.Popen([self.cli, "save", image], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
            if proc.wait() != 0:
                raise DockerError(f"docker save {image} failed: {err.strip()[-1000:]}")

    def run_once(self, image: str, options: list[str], command: list[str], timeout: float):
        """`docker run --rm` of a throwaway container; the CompletedProcess."""
        return _run(
            [self.cli, "run", "--rm", "--no-healthcheck", *options, image, *command], check=False, timeout=timeout
        )

    def push(self, ref: str) -> str:
        """Push one tag; the digest the registry answered with."""
        proc = _run([self.cli, "push", ref])
        found = re.findall(r"digest: (sha256:[0-9a-f]{64})", proc.stdout + proc.stderr)
        if not found:
            raise DockerError(f"docker push {ref}: no digest in its output")
        return found[-1]
