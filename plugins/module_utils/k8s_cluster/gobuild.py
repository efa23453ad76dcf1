"""Build Go commands from the Go module proxy into a versioned directory.

A component is one ``go build`` invocation: every package of it is compiled once and all its
commands are linked by the same command. Modules that ``go install mod@version`` cannot build
(Kubernetes, whose go.mod replaces its staging modules with local directories; Traefik, whose
go.mod carries replace and exclude lines) are built through a small generated *wrapper module*
that requires the upstream module, copies its remote ``replace``/``exclude``/``godebug`` lines and
maps each local replace of a module required at ``v0.0.0`` to a published version.

The result lands in ``<dest>`` with a stamp recording a hash of everything that decides the
binaries (module, version, packages, flags, Go version, local sources); a build whose stamp
matches is skipped, so a warm run costs a stat and a hash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

STAMP = ".k8s-cluster-build.json"
WRAPPER_PREFIX = "k8s-cluster.build"
VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
MODULE_RE = re.compile(r"^[a-z0-9.\-]+(\.[a-z]{2,})(/[A-Za-z0-9._~\-]+)*$")
BINARY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
MAJOR_SUFFIX_RE = re.compile(r"^v\d+$")


class BuildError(Exception):
    """A build step failed; ``log_tail`` holds the last lines of its log."""

    def __init__(self, message: str, log_tail: str = "", phase: str = ""):
        super().__init__(message)
        self.log_tail = log_tail
        self.phase = phase


@dataclass
class Component:
    """What to build: a module version (or a local module directory) and its commands."""

    name: str
    version: str
    packages: dict[str, str]
    module: str = ""
    source_dir: str = ""
    staging_version: str = ""
    requires: dict[str, str] = field(default_factory=dict)
    ldflags: dict[str, str] = field(default_factory=dict)
    cgo: bool = False
    tags: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> Component:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and data[k] is not None}
        return cls(**known)

    def validate(self) -> list[str]:
        """Every problem with this component's description, as sentences naming the field."""
        errors = []
        if not BINARY_RE.match(self.name or ""):
            errors.append(f"name {self.name!r} is not a plain word")
        if not VERSION_RE.match(self.version or ""):
            errors.append(f"{self.name}: version {self.version!r} is not a semantic version like v1.2.3")
        if bool(self.module) == bool(self.source_dir):
            errors.append(f"{self.name}: set exactly one of module and source_dir")
        if self.module and not MODULE_RE.match(self.module):
            errors.append(f"{self.name}: module {self.module!r} is not a Go module path")
        if not self.packages:
            errors.append(f"{self.name}: packages is empty")
        for binary, package in self.packages.items():
            if not BINARY_RE.match(binary):
                errors.append(f"{self.name}: binary name {binary!r} is not a plain file name")
            if not package or " " in package:
                errors.append(f"{self.name}: package of {binary!r} is not a Go package path")
        for module, version in self.requires.items():
            if not MODULE_RE.match(module) or not VERSION_RE.match(version):
                errors.append(f"{self.name}: requires entry {module!r}: {version!r} is not a module and version")
        if self.staging_version and not VERSION_RE.match(self.expand(self.staging_version)):
            errors.append(f"{self.name}: staging_version {self.staging_version!r} does not give a version")
        return errors

    def version_parts(self) -> dict[str, str]:
        match = VERSION_RE.match(self.version)
        major, minor, patch = match.groups() if match else ("", "", "")
        return {"version": self.version, "major": major, "minor": minor, "patch": patch}

    def expand(self, template: str, extra: dict[str, str] | None = None) -> str:
        """Fill {version} {major} {minor} {patch} (and {date} {commit} once known) into a template."""
        values = {**self.version_parts(), "date": "", "commit": "", **(extra or {})}
        return template.format(**values)


def default_binary_name(package: str) -> str:
    """The file name ``go build`` gives a main package: its last element, skipping a /vN suffix."""
    parts = package.rstrip("/").split("/")
    if len(parts) > 1 and MAJOR_SUFFIX_RE.match(parts[-1]):
        return parts[-2]
    return parts[-1]


def wrapper_gomod(component: Component, upstream: dict) -> str:
    """The wrapper module's go.mod for ``component`` given ``go mod edit -json`` of the upstream go.mod."""
    lines = [f"module {WRAPPER_PREFIX}/{component.name}", "", f"go {upstream.get('Go') or '1.22'}", ""]
    godebug = upstream.get("Godebug") or []
    if godebug:
        lines += ["godebug ("] + [f"\t{g['Key']}={g['Value']}" for g in godebug] + [")", ""]
    requires = {component.module: component.version, **component.requires}
    lines += ["require ("] + [f"\t{mod} {ver}" for mod, ver in sorted(requires.items())] + [")", ""]

    placeholder = {r["Path"] for r in upstream.get("Require") or [] if r.get("Version") == "v0.0.0"}
    staging = component.expand(component.staging_version) if component.staging_version else ""
    replaces = []
    for rep in upstream.get("Replace") or []:
        old, new = rep["Old"], rep["New"]
        if not new.get("Version"):
            # A local directory in the upstream repository: map it to the published module,
            # but only where upstream requires a placeholder version that nothing else resolves.
            if staging and old["Path"] in placeholder:
                replaces.append(f"\t{old['Path']} => {old['Path']} {staging}")
            continue
        old_spec = old["Path"] + (f" {old['Version']}" if old.get("Version") else "")
        replaces.append(f"\t{old_spec} => {new['Path']} {new['Version']}")
    if replaces:
        lines += ["replace (", *sorted(replaces), ")", ""]
    excludes = [f"\t{e['Path']} {e['Version']}" for e in upstream.get("Exclude") or []]
    if excludes:
        lines += ["exclude (", *sorted(excludes), ")", ""]
    return "\n".join(lines)


def tools_go(packages: dict[str, str]) -> str:
    """A tools.go importing every command so ``go mod tidy`` keeps their dependencies."""
    imports = "\n".join(f'\t_ "{pkg}"' for pkg in sorted(set(packages.values())))
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def ldflags(component: Component, info: dict[str, str]) -> str:
    """-s -w (no symbol table or DWARF) plus -X for every version variable."""
    flags = ["-s", "-w"]
    for symbol, value in sorted(component.ldflags.items()):
        expanded = component.expand(value, info)
        if expanded:  # an unknown commit or date keeps the program's own default
            flags.append(f"-X {symbol}={expanded}")
    return " ".join(flags)


def tree_hash(path: str) -> str:
    """Hash of the files under a local module directory (names and contents)."""
    digest = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def spec_hash(component: Component, go_version: str) -> str:
    """Everything that decides the binaries, hashed: a changed value means a rebuild."""
    spec = {
        "module": component.module,
        "version": component.version,
        "packages": component.packages,
        "staging_version": component.staging_version,
        "requires": component.requires,
        "ldflags": component.ldflags,
        "cgo": component.cgo,
        "tags": component.tags,
        "env": component.env,
        "go": go_version,
        "flags": ["-trimpath", "-s", "-w"],
    }
    if component.source_dir:
        spec["source"] = tree_hash(component.source_dir)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def read_stamp(dest: str) -> dict:
    try:
        return json.loads((Path(dest) / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def status(component: Component, dest: str, go_version: str) -> dict:
    """Whether ``dest`` holds this exact build: stamp hash matches and every binary is there."""
    stamp = read_stamp(dest)
    want = spec_hash(component, go_version)
    missing = [b for b in component.packages if not os.access(Path(dest) / b, os.X_OK)]
    current = stamp.get("hash") == want and not missing
    reason = "up to date"
    if not stamp:
        reason = "not built yet"
    elif stamp.get("hash") != want:
        reason = "build settings changed"
    elif missing:
        reason = f"binaries missing: {', '.join(missing)}"
    return {
        "name": component.name,
        "version": component.version,
        "dest": dest,
        "current": current,
        "reason": reason,
        "hash": want,
        "built_seconds": stamp.get("seconds"),
        "built_cpu_seconds": stamp.get("cpu_seconds"),
        "binaries": {b: str(Path(dest) / b) for b in component.packages},
    }


def go_version(go: str) -> str:
    """The version of the go command at ``go`` (``go env GOVERSION``)."""
    try:
        proc = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"cannot run {go}: {exc.strerror}", phase="go") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BuildError(f"cannot run {go}: {proc.stderr.strip() or 'no output'}", phase="go")
    return proc.stdout.strip()


def statuses(components: list[dict], dest_root: str, go: str) -> list[dict]:
    """status() of each component in <dest_root>/<name>/<version>, with one ``go env``: what a
    read-only caller (the images role's plan) needs to know which builds are current. Raises
    BuildError naming every field at fault."""
    comps = [Component.from_dict(c) for c in components]
    problems = [e for c in comps for e in c.validate()]
    if problems:
        raise BuildError("; ".join(problems), phase="spec")
    version = go_version(go) if comps else ""
    return [status(c, f"{dest_root}/{c.name}/{c.version}", version) for c in comps]


class Builder:
    """Runs the go commands of one component, logging every phase with timestamps."""

    def __init__(self, go: str, cache_dir: str, log_path: str, goproxy: str = "", jobs: int = 0):
        self.go = go
        self.cache_dir = Path(cache_dir)
        self.log_path = Path(log_path)
        self.goproxy = goproxy
        self.jobs = jobs

    def env(self, component: Component) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")
            or k.lower() in ("https_proxy", "http_proxy", "no_proxy")
        }
        env.update(
            {
                "PATH": f"{Path(self.go).parent}:{env.get('PATH', '/usr/bin:/bin')}",
                "HOME": env.get("HOME", "/root"),
                "GOCACHE": str(self.cache_dir / "go-build"),
                "GOMODCACHE": str(self.cache_dir / "go-mod"),
                "GOPATH": str(self.cache_dir / "gopath"),
                "GOFLAGS": "-modcacherw",
                "GOTOOLCHAIN": "local",
                "GOTELEMETRY": "off",
                "CGO_ENABLED": "1" if component.cgo else "0",
            }
        )
        if self.goproxy:
            env["GOPROXY"] = self.goproxy
        env.update(component.env)
        return env

    def log(self, text: str) -> None:
        with self.log_path.open("a") as fh:
            fh.write(f"== {time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")

    def run(self, argv: list[str], cwd: str, env: dict[str, str], phase: str, capture: bool = False) -> str:
        """Run a go command; its output streams into the log (``tail -f`` shows progress)."""
        self.log(f"{phase}: {' '.join(argv)}")
        with self.log_path.open("ab") as fh:
            start = fh.tell()
            proc = subprocess.run(
                argv, cwd=cwd, env=env, stdout=subprocess.PIPE if capture else fh, stderr=fh, check=False
            )
        if proc.returncode != 0:
            with self.log_path.open("rb") as fh:
                fh.seek(start)
                out = fh.read().decode(errors="replace")
            raise BuildError(f"{phase} failed (exit {proc.returncode})", log_tail=tail(out, 40), phase=phase)
        return proc.stdout.decode(errors="replace") if capture else ""

    def go_version(self) -> str:
        return go_version(self.go)

    def prepare(self, component: Component, work_dir: str) -> tuple[str, dict[str, str]]:
        """Write and tidy the wrapper module; return its directory and version info (date, commit)."""
        env = self.env(component)
        if component.source_dir:
            return component.source_dir, {}
        raw = self.run(
            [self.go, "mod", "download", "-json", f"{component.module}@{component.version}"],
            cwd="/",
            env=env,
            phase="download",
            capture=True,
        )
        meta = json.loads(raw[raw.index("{") :])
        info = json.loads(Path(meta["Info"]).read_text()) if meta.get("Info") else {}
        upstream = json.loads(
            self.run(
                [self.go, "mod", "edit", "-json", meta["GoMod"]], cwd="/", env=env, phase="read go.mod", capture=True
            )
        )
        work = Path(work_dir)
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        (work / "go.mod").write_text(wrapper_gomod(component, upstream))
        (work / "tools.go").write_text(tools_go(component.packages))
        self.run([self.go, "mod", "tidy"], cwd=str(work), env=env, phase="tidy")
        version_info = {
            "date": info.get("Time", ""),
            "commit": (info.get("Origin") or {}).get("Hash", ""),
        }
        return str(work), version_info

    def build(self, component: Component, dest: str, work_dir: str) -> dict:
        """Build ``component`` into ``dest`` under a lock (a second build of it waits, then finds it done)."""
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        with open(Path(dest).parent / f".{Path(dest).name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = status(component, dest, self.go_version())
            if state["current"]:
                return {**state, "seconds": 0.0, "prepare_seconds": 0.0, "built": False, "bytes": 0}
            return {**self._build(component, dest, work_dir), "built": True}

    def _build(self, component: Component, dest: str, work_dir: str) -> dict:
        """Build ``component`` into ``dest`` (replaced atomically) and stamp it."""
        start = time.monotonic()
        cpu_start = cpu_seconds()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("")
        self.log(f"component {component.name} {component.version}")
        go_version = self.go_version()
        module_dir, info = self.prepare(component, work_dir)
        prepared = time.monotonic()
        staging = Path(f"{dest}.partial")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        argv = [self.go, "build", "-v", "-trimpath", "-ldflags", ldflags(component, info)]
        if self.jobs:
            argv += ["-p", str(self.jobs)]
        if component.tags:
            argv += ["-tags", ",".join(component.tags)]
        packages = list(component.packages.values())
        if len(packages) == 1:
            argv += ["-o", str(staging / next(iter(component.packages)))]
        else:
            argv += ["-o", str(staging) + "/"]
        argv += packages
        self.run(argv, cwd=module_dir, env=self.env(component), phase="build")
        for binary, package in component.packages.items():
            built = staging / default_binary_name(package)
            if len(packages) > 1 and built.name != binary:
                built.rename(staging / binary)
            os.chmod(staging / binary, 0o755)  # noqa: S103 - programs are world-executable, like /usr/bin
        seconds = round(time.monotonic() - start, 1)
        cpu = round(cpu_seconds() - cpu_start, 1)
        stamp = {
            "hash": spec_hash(component, go_version),
            "name": component.name,
            "module": component.module or component.source_dir,
            "version": component.version,
            "go": go_version,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "prepare_seconds": round(prepared - start, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staging / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        old = Path(f"{dest}.old")
        if old.exists():
            shutil.rmtree(old)
        if Path(dest).exists():
            Path(dest).rename(old)
        staging.rename(dest)
        if old.exists():
            shutil.rmtree(old)
        self.log(f"done in {seconds}s ({cpu}s CPU)")
        sizes = {b: (Path(dest) / b).stat().st_size for b in component.packages}
        return {
            "name": component.name,
            "version": component.version,
            "dest": dest,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "prepare_seconds": stamp["prepare_seconds"],
            "go": go_version,
            "binaries": {b: str(Path(dest) / b) for b in component.packages},
            "bytes": sum(sizes.values()),
        }


def cpu_seconds() -> float:
    """User + system CPU time of every finished child process (go and the compilers it ran)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


@contextlib.contextmanager
def component_lock(cache_dir: str, comp):
    """An exclusive lock per component and version, held while it builds (blocks until free)."""
    lock_dir = os.path.join(cache_dir, "locks")
    os.makedirs(lock_dir, exist_ok=True)
    with open(os.path.join(lock_dir, f"{comp.name}-{comp.version}.lock"), "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
