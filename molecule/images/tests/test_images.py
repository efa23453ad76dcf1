"""Verify roles/images on this host's engine: the catalog's images as built by converge.

Reads build-results-dev.json and the results files (written by the role) and checks each image
for real: its user, absent compilers and caches, OCI labels, a HEALTHCHECK derived from the
service catalog that turns healthy in a running container, its size budget, and that the
build CA bundle is in no layer and no history. The fifth service (a worker with no port,
added through catalog_overrides alone) goes through all of it. Then rebuilds the backend
with a failing test (no image must come out) and with one changed .py file (only the top
layer may differ), checks the dev → staging promotion kept the digests, that the second
run on the same inputs built nothing, and the results file's content.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["ansible://localhost"]

OUTPUT_DIR = Path(os.environ.get("IMAGES_OUTPUT_DIR", "/var/lib/goaltrajectory/images"))
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MOZILLA_DIR = Path("/usr/share/ca-certificates/mozilla")
RESULTS_DIR = Path("/var/lib/goaltrajectory/molecule-images/results")
REGISTRY = "127.0.0.1:5000"
SCENARIO = Path(__file__).resolve().parents[1]
PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(PROJECT / ".collections"))
from ansible_collections.goaltrajectory.platform.plugins.module_utils import (  # noqa: E402
    catalog,
    image_results,
)

COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make", "ld")
SHELLS = ("sh", "bash", "dash", "ash", "busybox")
PACKAGE_MANAGERS = ("dpkg", "apt", "apt-get", "pip", "pip3", "npm", "npx", "corepack")
OCI = ("source", "revision", "created", "version")


def _catalog() -> dict:
    """The catalog as converge saw it: the role's defaults plus the scenario's catalog_overrides."""
    services = yaml.safe_load((PROJECT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"]
    text = (SCENARIO / "molecule.yml").read_text().replace("${MOLECULE_SCENARIO_DIRECTORY}", str(SCENARIO))
    host = yaml.safe_load(text)["provisioner"]["inventory"]["hosts"]["all"]["hosts"]["localhost"]
    return catalog.build(services, host["catalog_overrides"])


CATALOG = _catalog()
NAMES = tuple(CATALOG)
# The monitoring stack's images (images_monitoring, on by default), by their results-file names.
MONITORING = tuple(
    key.replace("_", "-")
    for key in yaml.safe_load((PROJECT / "roles/images/vars/main.yml").read_text())["__images_monitoring_images"]
)


def _docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, **kwargs)


def _inspect(ref: str) -> dict:
    return json.loads(_docker("image", "inspect", ref).stdout)[0]


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads((OUTPUT_DIR / "build-results-dev.json").read_text())


@pytest.fixture(scope="module")
def dev_file() -> dict:
    return json.loads((RESULTS_DIR / "dev.json").read_text())


@pytest.fixture(scope="module", params=NAMES)
def image(request, results) -> tuple[str, dict]:
    return request.param, results["images"][request.param]


def test_every_catalog_image_built(results):
    """The catalog's services, the fifth one (worker) included, and the dev stages (dev.target)."""
    assert "worker" in NAMES
    dev_stages = [f"{n}-dev" for n, svc in CATALOG.items() if svc["dev"] and svc["dev"]["target"]]
    assert dev_stages == ["frontend-dev"]
    assert sorted(results["images"]) == sorted([*NAMES, *dev_stages, *MONITORING])


def test_healthcheck_derived_from_the_catalog(image):
    name, built = image
    health = _inspect(built["id"])["Config"]["Healthcheck"]
    svc = CATALOG[name]
    assert health["Test"] == ["CMD", *catalog.health_command(svc, "liveness")]
    assert health["Timeout"] == svc["health"]["timeout"] * 1_000_000_000
    assert health["StartPeriod"] == svc["health"]["startup_seconds"] * 1_000_000_000
    assert health["Interval"] == 30 * 1_000_000_000 and health["Retries"] == 3
    source = Path(svc["image"]["dockerfile"].format(app=PROJECT / "app", docker=PROJECT / "docker"))
    assert not [line for line in source.read_text().splitlines() if line.startswith("HEALTHCHECK")]


def test_dev_stage_has_no_healthcheck(results):
    """Compose sets the dev stage's healthcheck; the image has none of its own."""
    assert not (_inspect(results["images"]["frontend-dev"]["id"])["Config"].get("Healthcheck") or {}).get("Test")


UID_PROGRAMS = {
    # Distroless images have no `id` (nor a shell): ask their own interpreter.
    "python": ["--entrypoint", "python3", "{id}", "-c", "import os; print(os.getuid())"],
    "node": ["--entrypoint", "node", "{id}", "-e", "console.log(process.getuid())"],
}


def test_runs_as_non_root_uid(image):
    name, built = image
    user = _inspect(built["id"])["Config"]["User"]
    assert user, f"{name} has no USER"
    argv = UID_PROGRAMS.get(CATALOG[name]["runtime"], ["--entrypoint", "id", "{id}", "-u"])
    uid = _docker("run", "--rm", *[a.format(id=built["id"]) for a in argv]).stdout.strip()
    assert int(uid) >= 10000, f"{name} runs as uid {uid}"


def _files(image_id: str) -> dict[str, tarfile.TarInfo]:
    """The image's filesystem as `docker export` gives it (no shell needed in the image)."""
    cid = _docker("create", image_id).stdout.strip()
    try:
        with (
            subprocess.Popen(["docker", "export", cid], stdout=subprocess.PIPE) as proc,
            tarfile.open(fileobj=proc.stdout, mode="r|") as tar,
        ):
            return {"/" + member.name.removeprefix("./").lstrip("/"): member for member in tar}
    finally:
        _docker("rm", cid, check=False)


def _on_path(files: dict, names, dirs) -> list[str]:
    return [f"{d}/{n}" for n in names for d in dirs if f"{d}/{n}" in files or f"/usr{d}/{n}" in files]


def test_no_compilers_or_package_caches(image):
    name, built = image
    files = _files(built["id"])
    env = dict(e.split("=", 1) for e in _inspect(built["id"])["Config"].get("Env") or [])
    dirs = [d for d in env.get("PATH", "").split(":") if d] + ["/usr/bin", "/usr/local/bin", "/bin"]
    shipped = _on_path(files, COMPILERS, dirs)
    for cache in ("/root/.cache/pip", "/root/.npm", "/var/lib/apt/lists", "/var/cache/apt/archives"):
        inside = [p for p in files if p.startswith(cache + "/") and p.rsplit("/", 1)[-1] not in ("partial", "lock")]
        shipped += inside
    assert not shipped, f"{name} ships: {shipped}"


DISTROLESS = tuple(name for name in NAMES if CATALOG[name]["image"]["distroless"])


@pytest.mark.parametrize("name", DISTROLESS)
def test_distroless_images_have_no_shell_or_package_manager(name, results):
    """backend and frontend (catalog image.distroless) carry no shell and no package manager."""
    built = results["images"][name]
    assert built["policy"]["passed"], built["policy"]["violations"]
    files = _files(built["id"])
    dirs = ["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/venv/bin"]
    found = _on_path(files, (*SHELLS, *PACKAGE_MANAGERS), dirs)
    assert not found, f"{name} ships {found}"


def test_oci_labels(image, results):
    name, built = image
    labels = _inspect(built["id"])["Config"]["Labels"]
    for key in OCI:
        assert labels.get(f"org.opencontainers.image.{key}"), f"{name}: label {key} missing"
    assert labels["org.opencontainers.image.revision"] == results["revision"]
    assert labels["org.opencontainers.image.version"] == results["tag"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", labels["org.opencontainers.image.created"])
    assert labels["org.goaltrajectory.sbom"].endswith(f"/{name}.cdx.json")


def test_sbom_stored_and_valid(image):
    name, built = image
    sbom = json.loads(Path(built["sbom"]).read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert len(sbom["components"]) > 5, f"{name}: SBOM lists {len(sbom['components'])} components"


def test_bytes_over_base_within_budget(image):
    name, built = image
    over = _inspect(built["id"])["Size"] - _inspect(built["base"])["Size"]
    assert over == built["bytes_over_base"]
    assert built["budget_mb"] == CATALOG[name]["image"]["budget_mb"]
    assert over <= built["budget_mb"] * 1_000_000, f"{name}: {over / 1e6:.1f} MB over {built['base']}"


HEALTH_ENV = {
    "backend": ["-e", "MIGRATE_ON_START=false"],
    "postgres": ["-e", "POSTGRES_PASSWORD=molecule-only", "-e", "POSTGRES_DB=goals"],
}


def test_healthcheck_turns_healthy(image):
    name, built = image
    health = _inspect(built["id"])["Config"]["Healthcheck"]["Test"]
    assert health[0] == "CMD" and "curl" not in " ".join(health)
    cname = f"gt-molecule-health-{name}"
    _docker("rm", "-f", cname, check=False)
    _docker(
        "run",
        "-d",
        "--name",
        cname,
        "--health-interval=2s",
        "--health-start-period=60s",
        *HEALTH_ENV.get(name, []),
        built["id"],
    )
    try:
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:
            state = json.loads(_docker("inspect", cname).stdout)[0]["State"]
            status = state.get("Health", {}).get("Status", "")
            if status == "healthy" or not state["Running"]:
                break
            time.sleep(2)
        logs = _docker("logs", "--tail", "20", cname, check=False)
        assert status == "healthy", f"{name}: {status}\n{logs.stdout}{logs.stderr}"
    finally:
        _docker("rm", "-f", cname, check=False)


def _extra_ca_certs() -> list[bytes]:
    """DER bytes of the certificates in the build CA bundle that Debian's ca-certificates lacks."""
    pem = re.findall(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", CA_BUNDLE.read_text(), re.S)
    stock = set()
    for crt in MOZILLA_DIR.glob("*.crt"):
        for body in re.findall(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", crt.read_text(), re.S):
            stock.add(base64.b64decode("".join(body.split())))
    ders = [base64.b64decode("".join(body.split())) for body in pem]
    return [der for der in ders if der not in stock]


def test_build_ca_bundle_in_no_image(image, tmp_path):
    name, built = image
    extra = _extra_ca_certs()
    assert extra, "the build CA bundle has no certificate beyond Debian's: nothing to look for"
    needles = []
    for der in extra:
        b64 = base64.b64encode(der).decode()
        needles += [der[40:104], b64[64:128].encode()]
    bundle_sha = hashlib.sha256(CA_BUNDLE.read_bytes()).hexdigest()
    history = _docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", built["id"]).stdout
    assert not any(n.decode(errors="ignore") in history for n in needles)
    cid = _docker("create", built["id"]).stdout.strip()
    try:
        with (
            subprocess.Popen(["docker", "export", cid], stdout=subprocess.PIPE) as proc,
            tarfile.open(fileobj=proc.stdout, mode="r|") as tar,
        ):
            for member in tar:
                if not member.isfile():
                    continue
                data = tar.extractfile(member).read()
                assert hashlib.sha256(data).hexdigest() != bundle_sha, f"{name}: {member.name} is the bundle"
                for needle in needles:
                    assert needle not in data, f"{name}: {member.name} holds a build CA certificate"
    finally:
        _docker("rm", cid, check=False)


def _builder() -> list[str]:
    if _docker("buildx", "version", check=False).returncode == 0:
        return ["docker", "buildx", "build", "--load"]
    return ["/usr/bin/docker", "build"]


def _build_backend(results: dict, context: Path, tag: str) -> subprocess.CompletedProcess:
    built = results["images"]["backend"]
    args = [f"--build-arg={k}={v}" for k, v in built["build_args"].items()]
    cmd = [
        *_builder(),
        "--progress=plain",
        "--file",
        built["dockerfile"],
        "--target",
        "runtime",
        "--secret",
        f"id=build_ca,src={CA_BUNDLE}",
        "--tag",
        tag,
        *args,
        str(context),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, check=False)


@pytest.fixture()
def backend_copy(tmp_path) -> Path:
    src = PROJECT / "app/backend"
    dst = tmp_path / "backend"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return dst


def test_failing_unit_test_blocks_the_image(results, backend_copy):
    (backend_copy / "tests/test_molecule_must_fail.py").write_text("def test_fails():\n    assert False\n")
    tag = "gt-molecule/backend:failing-tests"
    _docker("rmi", "-f", tag, check=False)
    build = _build_backend(results, backend_copy, tag)
    assert build.returncode != 0, "a backend with a failing test produced an image"
    assert "test_molecule_must_fail" in build.stderr
    assert _docker("image", "inspect", tag, check=False).returncode != 0


def test_one_file_change_rebuilds_only_the_top_layer(results, backend_copy):
    init = backend_copy / "goaltrajectory/__init__.py"
    init.write_text(init.read_text() + "\n# molecule: one-file change\n")
    tag = "gt-molecule/backend:one-file-change"
    build = _build_backend(results, backend_copy, tag)
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        before = _inspect(results["images"]["backend"]["id"])["RootFS"]["Layers"]
        after = _inspect(tag)["RootFS"]["Layers"]
        assert len(before) == len(after)
        assert before[:-1] == after[:-1], "layers below the application layer changed"
        assert before[-1] != after[-1]
    finally:
        _docker("rmi", "-f", tag, check=False)


def _manifest_digest(name: str, tag: str) -> str:
    req = urllib.request.Request(
        f"http://{REGISTRY}/v2/goaltrajectory/{name}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


@pytest.mark.parametrize("name", NAMES)
def test_pushed_and_promoted_by_digest(name, results):
    dev_refs = json.loads((RESULTS_DIR / "dev.json").read_text())["refs"]
    staging_refs = json.loads((RESULTS_DIR / "staging.json").read_text())["refs"]
    digest = _manifest_digest(name, "dev")
    assert dev_refs[name] == f"{REGISTRY}/goaltrajectory/{name}@{digest}"
    assert _manifest_digest(name, results["tag"]) == digest
    assert _manifest_digest(name, "staging") == digest
    assert staging_refs[name] == dev_refs[name]


def test_results_file_is_the_interface(dev_file, results):
    """<images_results_dir>/dev.json: refs by digest once pushed, the local tag for dev stages."""
    assert dev_file["environment"] == "dev"
    assert dev_file["tag"] == results["tag"]
    assert dev_file["registry"] == REGISTRY
    assert sorted(dev_file["refs"]) == sorted(results["images"])
    assert dev_file["refs"]["frontend-dev"] == f"{REGISTRY}/goaltrajectory/frontend-dev:{results['tag']}"
    refs = image_results.choose(
        image_results.parse(json.dumps(dev_file), "dev.json"),
        {},
        list(NAMES),
        source="dev.json",
        variable="images",
        environment="dev",
        require_digest=True,
    )
    for name, ref in refs.items():
        assert ref.startswith(f"{REGISTRY}/goaltrajectory/{name}@sha256:")
        assert dev_file["images"][name]["id"] == results["images"][name]["id"]
        assert (
            dev_file["images"][name]["inputs_digest"] == _inspect(ref)["Config"]["Labels"]["org.goaltrajectory.inputs"]
        )


def test_promotion_results_file():
    staging = json.loads((RESULTS_DIR / "staging.json").read_text())
    assert staging["environment"] == "staging"
    assert staging["promoted_from"] == "dev"
    assert sorted(staging["refs"]) == sorted([*NAMES, *MONITORING])


@pytest.mark.parametrize("name", MONITORING)
def test_monitoring_images_built_pushed_and_promoted_with_the_apps(name, results):
    """One program on an empty base, as nobody, no shell; pushed under its content and environment tags and
    promoted by digest with the app's images. Perses also carries its plugin archives and CUE module cache."""
    assert len(MONITORING) == 8 and {"kube-state-metrics", "perses"} <= set(MONITORING)
    built = results["images"][name]
    content_tag, env_tag = (ref.rsplit(":", 1)[1] for ref in built["tags"])
    assert env_tag == "dev" and built["ref"] == f"{REGISTRY}/goaltrajectory/{name}:{content_tag}"
    digest = _manifest_digest(name, "dev")
    assert _manifest_digest(name, content_tag) == digest == _manifest_digest(name, "staging")
    dev_refs = json.loads((RESULTS_DIR / "dev.json").read_text())["refs"]
    staging_refs = json.loads((RESULTS_DIR / "staging.json").read_text())["refs"]
    assert dev_refs[name] == staging_refs[name] == f"{REGISTRY}/goaltrajectory/{name}@{digest}"
    config = _inspect(built["id"])["Config"]
    assert config["User"] == "65534:65534"
    files = {p for p, member in _files(built["id"]).items() if not member.isdir()}
    programs = {p for p in files if p.startswith("/usr/local/bin/")}
    assert config["Entrypoint"][0] in programs and len(programs) == (2 if name == "prometheus" else 1)
    # Besides the programs: its users and groups, a data directory, and what the engine puts in every container.
    engine = {"/.dockerenv", "/dev/console", "/etc/hostname", "/etc/hosts", "/etc/mtab", "/etc/resolv.conf"}
    share = {p for p in files if p.startswith("/usr/share/perses/")} if name == "perses" else set()
    if name == "perses":
        archives = {p.rsplit("/", 1)[1] for p in share if p.startswith("/usr/share/perses/plugins-archive/")}
        assert archives == {"prometheus.tar.gz", "timeserieschart.tar.gz"}, share
        assert (
            any(p.endswith("/cue.mod/module.cue") for p in share)
            and "CUE_CACHE_DIR=/usr/share/perses/cue" in config["Env"]
        )
    assert files - programs - engine - share <= {"/etc/passwd", "/etc/group", "/data/.keep"}, files
    assert not _on_path(files, SHELLS + PACKAGE_MANAGERS, ["/bin", "/usr/bin", "/usr/local/bin"])


def test_second_run_built_nothing():
    """The third converge play ran the role on unchanged inputs: its plan built nothing."""
    noop = json.loads((OUTPUT_DIR / "molecule-noop.json").read_text())
    assert noop["built"] == []
    assert noop["apply"] == 0
    assert {entry["action"] for entry in noop["plan"].values()} == {"unchanged"}


def _state() -> dict:
    images = _docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    files = {
        str(p): p.stat().st_mtime_ns for d in (RESULTS_DIR, OUTPUT_DIR) for p in sorted(d.rglob("*")) if p.is_file()
    }
    return {"images": sorted(images.split("\n")), "files": files}


def test_check_mode_reports_what_would_be_built_and_changes_nothing(tmp_path, results):
    """--check --diff after a one-file backend change: says backend would build and why; nothing changes."""
    text = (SCENARIO / "molecule.yml").read_text().replace("${MOLECULE_SCENARIO_DIRECTORY}", str(SCENARIO))
    host = yaml.safe_load(text)["provisioner"]["inventory"]["hosts"]["all"]["hosts"]["localhost"]
    extra = {k: v for k, v in host.items() if not k.startswith("ansible_")}
    # The sources and tag converge built from (molecule may run the role from an installed copy).
    app_dir = Path(results["images"]["backend"]["context"]).parent
    extra.update(
        images_app_dir=str(app_dir),
        images_dockerfiles_dir=str(Path(results["images"]["postgres"]["context"]).parent),
        images_tag=results["tag"],
    )
    (tmp_path / "vars.json").write_text(json.dumps(extra))
    (tmp_path / "play.yml").write_text(
        "- name: Images in check mode\n  hosts: localhost\n  gather_facts: false\n"
        "  roles:\n    - role: goaltrajectory.platform.images\n"
    )
    source = app_dir / "backend/goaltrajectory/__init__.py"
    original = source.read_bytes()
    before = _state()
    try:
        source.write_bytes(original + b"\n# molecule: check mode\n")
        run = subprocess.run(
            [
                str(PROJECT / ".venv/bin/ansible-playbook"),
                "-i",
                "localhost,",
                "-c",
                "local",
                "--check",
                "--diff",
                "-e",
                f"@{tmp_path / 'vars.json'}",
                "-e",
                f"ansible_python_interpreter={PROJECT / '.venv/bin/python'}",
                str(tmp_path / "play.yml"),
            ],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "ANSIBLE_CONFIG": str(PROJECT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"},
        )
    finally:
        source.write_bytes(original)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-5000:]
    assert "backend: build (context files changed: goaltrajectory/__init__.py)" in out, out[-5000:]
    for name in NAMES:
        if name != "backend":
            assert f"{name}: unchanged" in out, out[-5000:]
    assert _state() == before, "check mode changed an image, a tag or a file"


def _playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        ["ansible-playbook", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def test_prod_renders_by_digest_from_a_promoted_build(tmp_path):
    """Promote staging -> prod without building, render the prod tree from the results file, and find
    every image reference pinned by a digest the registry serves."""
    inventory = str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)
    promote = _playbook(str(PROJECT / "playbooks/images.yml"), "-i", inventory, "-e", "images_hosts=all",
                        "-e", "images_build=false",
                        "-e", "images_promote_from=staging", "-e", "images_promote_to=prod")  # fmt: skip
    assert promote.returncode == 0, promote.stdout[-3000:]
    assert "changed=" in promote.stdout and "skipping: no hosts matched" not in promote.stdout
    rendered = _playbook(str(PROJECT / "playbooks/k8s.yml"), "-i", str(PROJECT / "inventories/prod"),
                         "--vault-id", f"test@{PROJECT / 'molecule/k8s/vault-pass.txt'}",
                         "-e", f"images_results_dir={RESULTS_DIR}", "-e", "k8s_apply=false",
                         "-e", f"k8s_output_dir={tmp_path}")  # fmt: skip
    assert rendered.returncode == 0, rendered.stdout[-3000:]
    prod_refs = json.loads((RESULTS_DIR / "prod.json").read_text())["refs"]
    seen = {}
    for path in (tmp_path / "prod" / "k8s").rglob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] in ("Deployment", "StatefulSet"):
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            seen[obj["metadata"]["name"]] = container["image"]
    assert sorted(seen) == sorted(n for n in NAMES if n != "worker")  # the prod inventory's catalog
    for name, ref in seen.items():
        assert ref == prod_refs[name]
        repository, digest = ref.removeprefix(f"{REGISTRY}/").split("@")
        assert digest.startswith("sha256:")
        req = urllib.request.Request(
            f"http://{REGISTRY}/v2/{repository}/manifests/{digest}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        with urllib.request.urlopen(req, timeout=10) as response:
            assert response.status == 200 and response.headers["Docker-Content-Digest"] == digest
