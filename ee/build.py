"""Build the execution environment (execution-environment.yml) offline, with ansible-builder v3.

Our build hosts pull no image and their build containers reach PyPI only through a TLS-intercepting
proxy whose CA must never enter an image. So nothing inside the build goes to the network:

- the base is our golden Python image (roles/images builds it from Debian packages);
- the collection tarball is built here, and its dependency collections are copied from the pinned
  `ansible` package in .venv (Galaxy is unreachable); ansible-galaxy installs them --offline;
- docker (Debian's docker.io), kubectl (roles/k8s_cluster) and cosign (roles/images) are the
  binaries this host has;
- every wheel the build's pip needs is built here first (`pip wheel`, host Python = image Python,
  Debian 12's 3.11) into build/ee/wheels and served on 127.0.0.1 for the build (docker build
  --network host), passed as build arguments, never as ENV.

Each step prints when it starts and ends, with its time; ansible-builder's output goes to
build/ee/build.log and its stage lines to stdout. Run through `make ee`, which provides the
binaries first.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "ee"
VENV_BIN = Path(sys.executable).parent
# What ansible-builder's own scripts install with pip (bindep and its helpers in the builder stage,
# the container init in the final one); pip itself is bootstrapped from its wheel (no ensurepip in
# Debian's python3.11).
BUILDER_PIP = ["pip", "bindep", "pyyaml", "packaging", "dumb-init==1.2.5"]


def step(name):
    """Print a step's start and end with its duration (long steps say what they are doing)."""

    def wrap(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            print(f"[ee] {name} ...", flush=True)
            start = time.monotonic()
            result = func(*args, **kwargs)
            print(f"[ee] {name}: done in {time.monotonic() - start:.1f} s", flush=True)
            return result

        return run

    return wrap


def fail(message):
    sys.exit(f"ee/build.py: {message}")


def load_definition(path):
    definition = yaml.safe_load(path.read_text())
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    tags = definition.get("options", {}).get("tags", [])
    wanted = f"goaltrajectory-ee:{galaxy['version']}"
    if wanted not in tags:
        fail(f"{path.name}: options.tags must hold {wanted} (galaxy.yml version), found {tags}")
    return definition, galaxy


def installed_collections():
    """The collections the pinned `ansible` package ships in .venv, by FQCN."""
    import ansible_collections

    found = {}
    for base in ansible_collections.__path__:
        for manifest in Path(base).glob("*/*/MANIFEST.json"):
            info = json.loads(manifest.read_text())["collection_info"]
            found[f"{info['namespace']}.{info['name']}"] = (manifest.parent, info)
    return found


@step("staging the collection and its dependencies")
def stage_collections(definition, galaxy):
    dest = OUT / "collections"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    entries = definition["dependencies"]["galaxy"]["collections"]
    named = {Path(e["name"]).name for e in entries if e.get("type") == "dir"}
    available = installed_collections()
    # Every dependency of ours, transitively, must be listed: the install is --offline.
    needed, queue = set(), list(galaxy.get("dependencies", {}))
    while queue:
        fqcn = queue.pop()
        if fqcn in needed:
            continue
        if fqcn not in available:
            fail(f"galaxy.yml dependency {fqcn} is not in .venv's ansible package (make setup)")
        needed.add(fqcn)
        queue.extend(available[fqcn][1].get("dependencies") or {})
    missing = sorted(needed - named)
    if missing:
        fail(f"execution-environment.yml: dependencies.galaxy.collections lacks {', '.join(missing)}")
    for fqcn in sorted(named):
        if fqcn not in available:
            fail(f"execution-environment.yml: {fqcn} is not in .venv's ansible package")
        shutil.copytree(available[fqcn][0], dest / fqcn)
    build = subprocess.run(
        [VENV_BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", str(OUT), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode:
        fail(f"ansible-galaxy collection build failed:\n{build.stdout}{build.stderr}")
    tarball = OUT / f"goaltrajectory-platform-{galaxy['version']}.tar.gz"
    shutil.move(tarball, dest / "goaltrajectory-platform.tar.gz")
    return sorted(named)


@step("copying docker, kubectl and cosign")
def stage_binaries(binaries):
    sources = {name: Path(path).resolve() for name, path in binaries.items()}
    for name, source in sources.items():
        if not source.is_file() or not os.access(source, os.X_OK):
            fail(f"--{name} {binaries[name]}: no executable there (make ee builds kubectl and cosign first)")
    dest = OUT / "bin"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name, source in sources.items():
        shutil.copy2(source, dest / name)


def pip_requirements(definition, collections):
    """Everything pip installs during the build, as requirement lines."""
    deps = definition["dependencies"]
    lines = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], *BUILDER_PIP]
    files = [ROOT / deps["python"]]
    for meta in [ROOT / "meta" / "execution-environment.yml"] + [
        OUT / "collections" / fqcn / "meta" / "execution-environment.yml" for fqcn in collections
    ]:
        if meta.is_file():
            python = (yaml.safe_load(meta.read_text()).get("dependencies") or {}).get("python")
            if python:
                files.append(meta.parents[1] / python)
        elif (meta.parents[1] / "requirements.txt").is_file():
            files.append(meta.parents[1] / "requirements.txt")
    for path in files:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


@step("building the wheelhouse (cached by its requirements)")
def build_wheelhouse(requirements):
    wheels = OUT / "wheels"
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    stamp = wheels / ".requirements-sha256"
    if stamp.is_file() and stamp.read_text() == digest:
        print(f"[ee]   {len(list(wheels.glob('*.whl')))} wheels, requirements unchanged", flush=True)
        return wheels
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    (OUT / "requirements-all.txt").write_text("\n".join(requirements) + "\n")
    result = subprocess.run(
        [VENV_BIN / "python", "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "-w", str(wheels), "-r", str(OUT / "requirements-all.txt")],
        check=False,
    )  # fmt: skip
    if result.returncode:
        fail(f"pip wheel failed for {OUT / 'requirements-all.txt'}")
    stamp.write_text(digest)
    print(f"[ee]   {len(list(wheels.glob('*.whl')))} wheels", flush=True)
    return wheels


def serve(directory):
    """Serve the wheelhouse on 127.0.0.1 (an ephemeral port) for the build's pip."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@step("ansible-builder build")
def build_image(definition_path, wheels, tag):
    (pip_wheel,) = [p.name for p in wheels.glob("pip-*.whl")]
    server = serve(wheels)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    argv = [
        VENV_BIN / "ansible-builder", "build", "-v", "3",
        "--file", str(definition_path), "--context", str(OUT / "context"),
        "--container-runtime", "docker",
        "--build-arg", f"PIP_FIND_LINKS={url}", "--build-arg", "PIP_NO_INDEX=1",
        "--build-arg", f"EE_PIP_WHEEL={pip_wheel}",
        # Galaxy is unreachable: every collection comes from the staged files and directories.
        "--build-arg", "ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline",
        # No package manager runs (no system packages): skip its `clean all`.
        "--build-arg", "PKGMGR_PRESERVE_CACHE=always",
        "--extra-build-cli-args", "--network host",
    ]  # fmt: skip
    log = OUT / "build.log"
    print(f"[ee]   log: {log}", flush=True)
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            out.write(line)
            if line.startswith("Step "):  # the classic builder's one line per instruction
                print(f"[ee]   {line.rstrip()[:160]}", flush=True)
        rc = proc.wait()
    server.shutdown()
    if rc:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        fail(f"ansible-builder build failed (exit {rc}); last lines of {log}:\n{tail}")
    inspect = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}} {{.Size}}", tag],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    image_id, size = inspect.stdout.split()
    print(f"[ee]   {tag}: {image_id}, {int(size) / 1e6:.1f} MB", flush=True)
    return image_id, int(size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--definition", default=str(ROOT / "execution-environment.yml"))
    parser.add_argument("--docker", default="/usr/bin/docker", help="the docker CLI (Debian's docker.io)")
    parser.add_argument("--kubectl", default="/usr/local/bin/kubectl", help="kubectl (roles/k8s_cluster)")
    parser.add_argument("--cosign", required=True, help="cosign (roles/images, images_tools_dir)")
    args = parser.parse_args()
    start = time.monotonic()
    definition_path = Path(args.definition)
    definition, galaxy = load_definition(definition_path)
    stage_binaries({"docker": args.docker, "kubectl": args.kubectl, "cosign": args.cosign})
    collections = stage_collections(definition, galaxy)
    wheels = build_wheelhouse(pip_requirements(definition, collections))
    tag = f"goaltrajectory-ee:{galaxy['version']}"
    image_id, size = build_image(definition_path, wheels, tag)
    result = {"tag": tag, "id": image_id, "size_bytes": size, "seconds": round(time.monotonic() - start, 1)}
    (OUT / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
