"""Verify the compose scenario: health, isolation, users, data survival, rollback, hot reload."""

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://localhost"]

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
PROJECT = "gt-molecule"
PROJECT_DIR = "/srv/goaltrajectory/molecule-compose"
APP_COPY = Path("/tmp/gt-molecule-compose/app")
BACKEND = "http://127.0.0.1:18000"
FRONTEND = "http://127.0.0.1:13000"
COMPOSE = ["docker", "compose", "-p", PROJECT, "-f", f"{PROJECT_DIR}/docker-compose.yml",
           "-f", f"{PROJECT_DIR}/docker-compose.dev.yml"]  # fmt: skip
SERVICES = {"postgres", "chromadb", "backend", "frontend"}
MONITORING = f"{PROJECT}-monitoring"  # deploy.yml's monitoring play: its own project


def run(argv, check=True, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=check, **kwargs)


def services():
    """Service name -> the container's `docker compose ps` record."""
    lines = run([*COMPOSE, "ps", "--all", "--format", "json"]).stdout.splitlines()
    return {rec["Service"]: rec for rec in map(json.loads, filter(None, lines))}


def container_image(service):
    return run(["docker", "inspect", "--format", "{{.Image}}", services()[service]["Name"]]).stdout.strip()


def http(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def deploy(*extra, playbook="compose.yml"):
    """A playbook of ours (the compose play by default) against this scenario's inventory."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        ["ansible-playbook", str(ROOT / "playbooks" / playbook), "-i", str(inventory), *extra],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False, timeout=900,
    )  # fmt: skip


def current_images():
    """The image map of the running release, as the compose role recorded it."""
    return json.loads(Path(PROJECT_DIR, "releases/last-good.json").read_text())["images"]


def derived_image(tag, dockerfile_tail):
    """A new backend image made from the running one (no rebuild of the app itself)."""
    base = services()["backend"]["Image"]
    dockerfile = f"FROM {base}\n{dockerfile_tail}\n"
    run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    return tag


@pytest.fixture(scope="module")
def goal():
    text = f"Run a marathon under four hours {uuid.uuid4().hex[:8]}"
    status, created = http("POST", f"{BACKEND}/api/goals", {"title": text, "description": "train five days a week"})
    assert status == 201, created
    http("POST", f"{BACKEND}/api/goals", {"title": "Run a half marathon", "description": "train three days a week"})
    _status, similar = http("GET", f"{BACKEND}/api/goals/{created['id']}/similar")
    assert similar["items"], "a second running goal should be similar"
    return created, similar["items"]


def assert_goal_intact(goal):
    created, similar = goal
    status, fetched = http("GET", f"{BACKEND}/api/goals/{created['id']}")
    assert status == 200 and fetched["title"] == created["title"]
    _status, again = http("GET", f"{BACKEND}/api/goals/{created['id']}/similar")
    assert [g["goal"]["id"] for g in again["items"]] == [g["goal"]["id"] for g in similar]


def wait_healthy(timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = {name: rec.get("Health") for name, rec in services().items()}
        if set(state) == SERVICES and all(h == "healthy" for h in state.values()):
            return state
        time.sleep(2)
    raise AssertionError(f"not healthy after {timeout}s: {state}")


def test_all_four_services_healthy():
    assert wait_healthy(30)


def test_the_monitoring_stack_scrapes_this_project():
    """deploy.yml's monitoring play: its own project on this scenario's networks, every target up."""
    with urllib.request.urlopen("http://127.0.0.1:19090/api/v1/targets?state=active", timeout=10) as resp:
        targets = json.loads(resp.read())["data"]["activeTargets"]
    jobs = {t["labels"]["job"]: t for t in targets}
    assert {"backend", "frontend", "postgres-exporter", "cadvisor", "node", "prometheus", "alertmanager"} == set(jobs)
    assert all(t["health"] == "up" for t in targets), [(t["labels"]["job"], t["lastError"]) for t in targets]
    prometheus = json.loads(run(["docker", "inspect", "gt-molecule-monitoring-prometheus-1"]).stdout)[0]
    assert set(prometheus["NetworkSettings"]["Networks"]) == {
        "gt-molecule-monitoring_monitoring",
        f"{PROJECT}_backend",
        f"{PROJECT}_frontend",
    }


def monitoring_containers():
    """Service -> (container ID, state) of the monitoring project."""
    ids = run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={MONITORING}"])
    inspected = json.loads(run(["docker", "inspect", *ids.stdout.split()]).stdout)
    return {c["Config"]["Labels"]["com.docker.compose.service"]: (c["Id"], c["State"]["Status"]) for c in inspected}


def monitoring_up_task(output):
    """What the monitoring play's `up` task did: its status line (skipping, ok or changed)."""
    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if f"Start the monitoring stack (project {MONITORING})" in line)
    return next(line.split(":")[0] for line in lines[at + 1 :] if line.split(":")[0] in {"skipping", "ok", "changed"})


def test_monitoring_deploy_skips_up_on_the_running_stack_and_starts_a_stopped_container():
    """A no-op monitoring run leaves the stack alone (no `up`); a container stopped by hand is started again."""
    before = monitoring_containers()
    assert {state for _id, state in before.values()} == {"running"}, before
    result = deploy(playbook="monitoring.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert monitoring_up_task(result.stdout) == "skipping", result.stdout[-3000:]
    assert monitoring_containers() == before

    run(["docker", "stop", before["alertmanager"][0]])
    result = deploy(playbook="monitoring.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert monitoring_up_task(result.stdout) == "changed", result.stdout[-3000:]
    after = monitoring_containers()
    assert {state for _id, state in after.values()} == {"running"}, after
    recorded = json.loads(Path("/srv/goaltrajectory/molecule-monitoring/releases/last-good.json").read_text())
    assert recorded["containers"] == {service: cid for service, (cid, _state) in after.items()}


def test_published_urls_answer():
    assert http("GET", f"{BACKEND}/ready")[0] == 200
    status, body = http("GET", f"{FRONTEND}/api/health")
    assert status == 200 and body["status"] == "ok"


def test_check_mode_after_converge_changes_nothing():
    """deploy.yml --check --diff on the converged host: nothing would change, and nothing did."""
    sys.path.insert(0, str(ROOT / "molecule" / "shared"))
    import check_mode

    files = check_mode.files_state(PROJECT_DIR)
    engine = check_mode.engine_state()
    result = check_mode.converge_check()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert check_mode.changed_count(output) == 0, output[-3000:]
    assert check_mode.files_state(PROJECT_DIR) == files
    assert check_mode.engine_state() == engine


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_container_runs_as_non_root(service):
    name = services()[service]["Name"]
    # Every process of the container, as the host's ps sees it (distroless images have no `id`).
    lines = run(["docker", "top", name, "axo", "pid,uid,comm"]).stdout.splitlines()[1:]
    uids = {line.split()[1] for line in lines}
    assert uids and all(u.isdigit() and int(u) >= 10000 for u in uids), f"{service} runs as uids {uids}"


NODE_CONNECT = (
    "const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});"
    "s.setTimeout(3000,()=>process.exit(2));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));"
)


@pytest.mark.parametrize(("target", "port", "reachable"), [("backend", 8000, True), ("postgres", 5432, False),
                                                           ("chromadb", 8000, False)])  # fmt: skip
def test_frontend_network_reach(target, port, reachable):
    frontend = services()["frontend"]["Name"]
    result = run(["docker", "exec", frontend, "node", "-e", NODE_CONNECT, target, str(port)], check=False)
    assert (result.returncode == 0) == reachable, (target, result.returncode, result.stderr)


def test_redeploy_with_new_backend_image_keeps_goal(goal):
    before = current_images()
    ids_before = {name: rec["ID"] for name, rec in services().items()}
    new = derived_image(f"gt-molecule/backend:upgrade-{uuid.uuid4().hex[:6]}", "LABEL ai.goaltrajectory.test=upgrade")
    result = deploy("-e", json.dumps({"compose_images": {**before, "backend": new}}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert services()["backend"]["Image"] == new
    ids_after = {name: rec["ID"] for name, rec in services().items()}
    # Only the backend was recreated.
    assert {n for n in SERVICES if ids_before[n] != ids_after[n]} == {"backend"}
    assert_goal_intact(goal)


def test_a_tag_rebuilt_in_place_recreates_only_its_service(goal):
    """Same reference, new ID (a rebuild of uncommitted work keeps its tag): not a no-op."""
    images = current_images()
    ids_before = {name: rec["ID"] for name, rec in services().items()}
    derived_image(images["backend"], f"LABEL ai.goaltrajectory.test=rebuilt-{uuid.uuid4().hex[:6]}")
    rebuilt = run(["docker", "image", "inspect", "--format", "{{.Id}}", images["backend"]]).stdout.strip()
    assert container_image("backend") != rebuilt
    result = deploy("-e", json.dumps({"compose_images": images}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert container_image("backend") == rebuilt
    ids_after = {name: rec["ID"] for name, rec in services().items()}
    assert {n for n in SERVICES if ids_before[n] != ids_after[n]} == {"backend"}
    assert_goal_intact(goal)


def test_data_survives_down_and_deploy(goal):
    images = current_images()
    run([*COMPOSE, "down"])
    result = deploy("-e", json.dumps({"compose_images": images}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_goal_intact(goal)


def test_data_survives_killed_containers(goal):
    images = current_images()
    for service in ("postgres", "chromadb"):
        run(["docker", "kill", services()[service]["Name"]])
    result = deploy("-e", json.dumps({"compose_images": images}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_goal_intact(goal)


def aliases(service):
    networks = json.loads(run(["docker", "inspect", services()[service]["Name"]]).stdout)[0]["NetworkSettings"][
        "Networks"
    ]
    return {network: endpoint["Aliases"] or [] for network, endpoint in networks.items()}


def test_deploy_repairs_a_container_that_lost_its_network_alias(goal):
    """What Compose 2.40 on Engine 20.10 does when it rebuilds a changed network: same container, no alias."""
    name = services()["postgres"]["Name"]
    network = f"{PROJECT}_postgres"
    run(["docker", "network", "disconnect", network, name])
    run(["docker", "network", "connect", network, name])
    assert "postgres" not in aliases("postgres")[network]
    result = deploy("-e", json.dumps({"compose_images": current_images()}))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    flat = " ".join(output.split()).replace("''", "'")  # the YAML callback wraps and quotes messages
    assert "Recreated, and ready now: postgres: no alias 'postgres' on network" in flat, output
    assert "postgres" in aliases("postgres")[network]
    assert_goal_intact(goal)


def test_engine_restart_brings_the_stack_back_ready(goal):
    """restart: unless-stopped in every environment: after the engine restarts, every service is ready again."""
    run(["service", "docker", "restart"], timeout=180)
    deadline = time.monotonic() + 120
    while subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the engine did not come back"
        time.sleep(2)
    wait_healthy(180)  # healthy = ready: the Compose healthchecks are the readiness checks
    assert http("GET", f"{BACKEND}/ready")[0] == 200
    assert_goal_intact(goal)


def test_broken_backend_release_rolls_back(goal):
    good = current_images()
    broken = derived_image(
        f"gt-molecule/backend:broken-{uuid.uuid4().hex[:6]}",
        # ENTRYPOINT, not CMD: the dev override replaces the command.
        'ENTRYPOINT ["python3", "-c", "import sys; print(\'boom: broken release\', flush=True); sys.exit(3)"]',
    )
    result = deploy("-e", json.dumps({"compose_images": {**good, "backend": broken}, "compose_wait_timeout": 60}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Services not healthy" in output and "backend" in output, output
    assert "boom: broken release" in output, "the backend's last log lines are quoted"
    assert "Rolled back to the last healthy release" in output, output
    wait_healthy(120)
    assert services()["backend"]["Image"] == good["backend"]
    assert_goal_intact(goal)


def test_dev_override_reloads_backend_source_without_rebuild():
    image = container_image("backend")
    source = APP_COPY / "backend/goaltrajectory/__init__.py"
    original = source.read_text()
    marker = f"0.1.0+reload.{uuid.uuid4().hex[:6]}"
    try:
        source.write_text(original.replace('__version__ = "0.1.0"', f'__version__ = "{marker}"'))
        deadline = time.monotonic() + 60
        version = None
        while time.monotonic() < deadline:
            try:
                version = http("GET", f"{BACKEND}/health", timeout=3)[1].get("version")
            except OSError:
                version = None
            if version == marker:
                break
            time.sleep(1)
        assert version == marker, f"/health still reports {version}"
        assert container_image("backend") == image, "no new image was built"
    finally:
        source.write_text(original)


def test_prod_override_runs_hardened():
    """The prod override, as a second project: read-only, no capabilities, limits, only the frontend published."""
    images = {k: v for k, v in current_images().items() if k != "frontend-dev"}
    prod = {
        "compose_environment": "prod",
        "compose_project_name": "gt-molecule-prod",
        "compose_project_dir": "/srv/goaltrajectory/molecule-compose-prod",
        "catalog_overrides": {"frontend": {"host_port": 13100}, "backend": {"host_port": 18100},
                              "chromadb": {"host_port": 18101}, "postgres": {"host_port": 15532}},
        "compose_images": images,
        # The images molecule builds here are local and unsigned; signature checks: tests/integration/images.
        "compose_verify_signatures": False,
        "compose_secrets": {name: f"molecule-{name.lower()}-{uuid.uuid4().hex[:8]}" for name in
                            ("SUPABASE_SERVICE_ROLE_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY", "POSTGRES_PASSWORD")},
    }  # fmt: skip
    try:
        result = deploy("-e", json.dumps(prod))
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert not any(value in output for value in prod["compose_secrets"].values()), "a secret reached the output"
        for service in SERVICES:
            cfg = json.loads(run(["docker", "inspect", f"gt-molecule-prod-{service}-1"]).stdout)[0]["HostConfig"]
            assert cfg["ReadonlyRootfs"] is True, service
            assert cfg["CapDrop"] == ["ALL"], service
            assert "no-new-privileges:true" in cfg["SecurityOpt"], service
            assert cfg["RestartPolicy"]["Name"] == "unless-stopped", service
            assert cfg["Memory"] > 0 and cfg["NanoCpus"] > 0, service
            published = {port for port, binds in (cfg["PortBindings"] or {}).items() if binds}
            assert published == ({"3000/tcp"} if service == "frontend" else set()), (service, published)
        status, body = http("GET", "http://127.0.0.1:13100/api/health")
        assert status == 200 and body["environment"] == "production"
    finally:
        destroy = deploy("-e", json.dumps({**prod, "compose_purge_volumes": True}), playbook="destroy.yml")
        assert destroy.returncode == 0, destroy.stdout + destroy.stderr
