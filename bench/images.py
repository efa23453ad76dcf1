"""Image build benchmark for roles/images; prints JSON.

For each image (BENCH_IMAGES, default backend,frontend,chromadb,postgres) and in the same run:

* through the role (ansible-playbook playbooks/images.yml, policy and SBOM included):
  cold build (BuildKit cache pruned), warm build (nothing changed), and the build after a
  one-file change in the app source (backend: a .py file; frontend: a page);
* the same three builds with a plain `docker build` of the same Dockerfile, context and
  build args (no role, no policy), as the raw baseline;
* image size and bytes added over the runtime base image.

Golden bases are built once by the first role run (or reused) and are not part of any
timing. The sources are copied to a temporary directory, so the checkout is never touched;
images are tagged gt-bench/<name>:bench and nothing is pushed.

Run from the repository root after `make setup`: python bench/images.py

`python bench/images.py --sizes [--results FILE] [NAME=IMAGE ...]` measures sizes only, without
building or pruning anything: for each image of a role run's build-results-dev.json (default
/var/lib/goaltrajectory/images/build-results-dev.json), or the IMAGE given for NAME (measured against
the same runtime base), its size, its base's size, the bytes over the base, the catalog budget,
and the shells and package managers its filesystem holds (`docker export`, no shell needed).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = [n for n in os.environ.get("BENCH_IMAGES", "backend,frontend,chromadb,postgres").split(",") if n]
CA_BUNDLE = os.environ.get("BENCH_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
PREFIX = "gt-bench"
TAG = "bench"
# The file a developer touches, per image; chromadb and postgres have no app source.
ONE_FILE = {
    "backend": ("backend", "goaltrajectory/__init__.py", "\n# bench: one-file change {n}\n"),
    "frontend": ("frontend", "src/app/page.tsx", "\n// bench: one-file change {n}\n"),
}


def log(msg: str) -> None:
    print(f"[bench/images] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        head = " ".join(cmd[:6])
        raise RuntimeError(f"{head}... failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    return proc


def timed(cmd: list[str], **kwargs) -> float:
    start = time.monotonic()
    run(cmd, **kwargs)
    return round(time.monotonic() - start, 2)


def prune_build_cache() -> None:
    run(["docker", "builder", "prune", "--all", "--force"])


def builder() -> list[str]:
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "buildx", "build", "--load"]
    return ["/usr/bin/docker", "build"]


def inspect(ref: str) -> dict:
    return json.loads(run(["docker", "image", "inspect", ref]).stdout)[0]


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.app = work / "app"
        shutil.copytree(
            ROOT / "app",
            self.app,
            ignore=shutil.ignore_patterns("node_modules", ".next", "__pycache__", ".pytest_cache", "*.tsbuildinfo"),
        )
        self.output = work / "output"
        self.changes = 0

    def role(self) -> float:
        """The images play; the content keys rebuild only images whose tag is gone or inputs changed."""
        extra = {
            "images_hosts": "all",
            "ansible_python_interpreter": str(ROOT / ".venv/bin/python"),
            "images_app_dir": str(self.app),
            "images_dockerfiles_dir": str(ROOT / "docker"),
            "images_output_dir": str(self.output),
            "images_repository_prefix": PREFIX,
            "images_tag": TAG,
            "images_environment": "bench-env",
            # The runtime images only (no dev stages, nothing pushed).
            "images_build_dev_stages": False,
            "images_build_ca_bundle": CA_BUNDLE if os.path.exists(CA_BUNDLE) else "",
            "images_security_check": "skip",
            "images_scan": False,
        }
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}",
        }
        cmd = [
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            str(ROOT / "playbooks/images.yml"),
            "-e",
            json.dumps(extra),
        ]
        return timed(cmd, env=env, cwd=ROOT)

    def results(self) -> dict:
        return json.loads((self.output / "build-results-bench-env.json").read_text())["images"]

    def plain(self, name: str, build_args: dict) -> float:
        context = {"backend": self.app / "backend", "frontend": self.app / "frontend"}.get(name, ROOT / "docker" / name)
        cmd = [
            *builder(),
            "--progress=plain",
            "--file",
            # The role's effective Dockerfile: the file plus the catalog's HEALTHCHECK.
            str(self.output / "dockerfiles" / f"{name}.Dockerfile"),
            "--target",
            "runtime",
            "--tag",
            f"{PREFIX}/{name}:plain",
            *(f"--build-arg={k}={v}" for k, v in build_args.items()),
        ]
        if os.path.exists(CA_BUNDLE):
            cmd += ["--secret", f"id=build_ca,src={CA_BUNDLE}"]
        return timed([*cmd, str(context)], env={**os.environ, "DOCKER_BUILDKIT": "1"})

    def change_one_file(self, name: str) -> bool:
        if name not in ONE_FILE:
            return False
        ctx, rel, text = ONE_FILE[name]
        self.changes += 1
        with open(self.app / ctx / rel, "a", encoding="utf-8") as handle:
            handle.write(text.format(n=self.changes))
        return True

    def measure(self, name: str) -> dict:
        for ref in (f"{PREFIX}/{name}:{TAG}", f"{PREFIX}/{name}:plain"):
            subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)
        log(f"{name}: role, cold")
        prune_build_cache()
        role = {"cold_s": self.role()}
        log(f"{name}: role, warm")
        role["warm_s"] = self.role()
        if self.change_one_file(name):
            log(f"{name}: role, one-file change")
            role["one_file_change_s"] = self.role()
        built = self.results()[name]
        log(f"{name}: plain docker build, cold")
        prune_build_cache()
        plain = {"cold_s": self.plain(name, built["build_args"])}
        log(f"{name}: plain docker build, warm")
        plain["warm_s"] = self.plain(name, built["build_args"])
        if self.change_one_file(name):
            log(f"{name}: plain docker build, one-file change")
            plain["one_file_change_s"] = self.plain(name, built["build_args"])
        image = inspect(built["id"])
        base = inspect(built["base"])
        before = inspect(f"{PREFIX}/{name}:{TAG}")["RootFS"]["Layers"]
        return {
            "role": role,
            "plain_docker_build": plain,
            "role_overhead_warm_s": round(role["warm_s"] - plain["warm_s"], 2),
            "size_bytes": image["Size"],
            "base": built["base"],
            "base_size_bytes": base["Size"],
            "bytes_over_base": image["Size"] - base["Size"],
            "layers": len(before),
        }


DEFAULT_RESULTS = "/var/lib/goaltrajectory/images/build-results-dev.json"
SYSTEM_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/venv/bin")


def _policy_lists() -> tuple[list[str], list[str]]:
    import yaml  # in .venv (make setup)

    defaults = yaml.safe_load((ROOT / "roles/images/defaults/main.yml").read_text())
    return defaults["images_policy_shells"], defaults["images_policy_package_managers"]


def _export_names(ref: str) -> set[str]:
    cid = run(["docker", "create", ref]).stdout.strip()
    try:
        with (
            subprocess.Popen(["docker", "export", cid], stdout=subprocess.PIPE) as proc,
            tarfile.open(fileobj=proc.stdout, mode="r|") as tar,
        ):
            return {"/" + member.name.removeprefix("./").lstrip("/") for member in tar}
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True, check=False)


def sizes(argv: list[str]) -> dict:
    results_file = DEFAULT_RESULTS
    if argv[:1] == ["--results"]:
        results_file, argv = argv[1], argv[2:]
    built = json.loads(Path(results_file).read_text())["images"]
    given = dict(arg.split("=", 1) for arg in argv)
    shells, managers = _policy_lists()
    out = {}
    for name, item in sorted(built.items()):
        if item.get("dev") or (given and name not in given):
            continue
        ref = given.get(name, item["ref"] if not item.get("id") else item["id"])
        image, base = inspect(ref), inspect(item["base"])
        names = _export_names(ref)
        found = [f"{d}/{n}" for n in (*shells, *managers) for d in SYSTEM_DIRS if f"{d}/{n}" in names]
        out[name] = {
            "image": given.get(name, item["ref"]),
            "size_bytes": image["Size"],
            "base": item["base"],
            "base_size_bytes": base["Size"],
            "bytes_over_base": image["Size"] - base["Size"],
            "budget_mb": item.get("budget_mb"),
            "layers": len(image["RootFS"]["Layers"]),
            "shells_and_package_managers": found,
        }
    return {"benchmark": "image sizes", "results_file": results_file, "images": out}


def main() -> int:
    if sys.argv[1:2] == ["--sizes"]:
        print(json.dumps(sizes(sys.argv[2:]), indent=2, sort_keys=True))
        return 0
    with tempfile.TemporaryDirectory(prefix="gt-bench-images-") as tmp:
        bench = Bench(Path(tmp))
        log("golden bases and a first build (untimed)")
        bench.role()
        out = {
            "benchmark": "images",
            "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
            "docker": run(["docker", "version", "--format", "{{.Server.Version}}"]).stdout.strip(),
            "builder": " ".join(builder()),
            "images": {},
        }
        for name in NAMES:
            out["images"][name] = bench.measure(name)
        for name in NAMES:
            for tag in ("plain", TAG, "bench-env"):
                subprocess.run(["docker", "rmi", f"{PREFIX}/{name}:{tag}"], capture_output=True, check=False)
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
