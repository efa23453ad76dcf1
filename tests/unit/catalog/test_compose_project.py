"""The Compose project derived from the catalog."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import compose_project as cp


def test_dev_files_and_override(services, compose_settings):
    files = cp.build(services, compose_settings)
    assert list(files) == ["docker-compose.yml", "docker-compose.dev.yml"]
    dev = files["docker-compose.dev.yml"]["services"]
    assert dev["frontend"]["image"] == "goaltrajectory/frontend-dev:1"
    assert dev["backend"]["volumes"] == ["/src/app/backend/goaltrajectory:/app/goaltrajectory:ro"]
    assert dev["chromadb"]["ports"] == ["127.0.0.1:8001:8000"]
    assert "--reload" in dev["backend"]["command"]


def test_networks_let_each_service_reach_only_its_peers(services, compose_settings):
    base = cp.build(services, {**compose_settings, "environment": "prod"})["docker-compose.yml"]
    members = {name: set(svc["networks"]) for name, svc in base["services"].items()}
    assert members["frontend"] == {"backend", "frontend"}
    assert members["backend"] == {"backend", "postgres", "chromadb"}
    assert members["postgres"] == {"postgres"}
    # prod: the data stores are published nowhere and have no egress: their networks are internal.
    assert base["networks"]["postgres"] == {"internal": True}
    assert base["networks"]["chromadb"] == {"internal": True}
    assert base["networks"]["backend"] == {"internal": False}


def test_dev_publishes_the_data_stores_so_their_networks_route(services, compose_settings):
    base = cp.build(services, compose_settings)["docker-compose.yml"]
    assert base["networks"]["postgres"] == {"internal": False}


def test_healthcheck_is_readiness_and_dollars_are_escaped(services, compose_settings):
    base = cp.build(services, compose_settings)["docker-compose.yml"]["services"]
    assert base["backend"]["healthcheck"]["test"][-2] == "http://127.0.0.1:8000/ready"
    assert '"$$POSTGRES_USER"' in base["postgres"]["healthcheck"]["test"][-1]
    assert base["backend"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "chromadb": {"condition": "service_healthy"},
    }
    assert all(svc["restart"] == "unless-stopped" for svc in base.values())


def test_secrets_are_files_read_through_file_variables(services, compose_settings):
    base = cp.build(services, compose_settings)["docker-compose.yml"]
    backend = base["services"]["backend"]
    assert backend["environment"]["GEMINI_API_KEY_FILE"] == "/run/secrets/gemini_api_key"
    assert "GEMINI_API_KEY" not in backend["environment"]
    assert base["secrets"]["postgres_password"] == {"file": "/srv/gt/secrets/postgres_password"}
    assert "secrets" not in base["services"]["frontend"]


def test_prod_override_hardens_and_sizes_from_the_catalog(services, compose_settings):
    prod = cp.build(services, {**compose_settings, "environment": "prod"})["docker-compose.prod.yml"]["services"]
    assert prod["backend"]["read_only"] is True and prod["backend"]["cap_drop"] == ["ALL"]
    assert prod["backend"]["deploy"]["resources"]["limits"] == {"cpus": "1", "memory": "1024m"}
    assert prod["frontend"]["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "512m"}
    assert prod["postgres"]["tmpfs"] == ["/tmp", "/var/run/postgresql"]
    assert [n for n, s in prod.items() if "ports" in s] == ["frontend"]


def test_worker_joins_only_postgres_network(with_worker, compose_settings):
    base = cp.build(with_worker, compose_settings)["docker-compose.yml"]
    assert base["services"]["worker"]["networks"] == ["postgres"]
    assert base["services"]["worker"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_missing_image_is_named(services, compose_settings):
    settings = {**compose_settings, "images": {"backend": "x"}}
    with pytest.raises(cp.ComposeError, match="no image reference for 'postgres'"):
        cp.build(services, settings)


@pytest.mark.parametrize(("quantity", "docker"), [("512Mi", "512m"), ("1Gi", "1024m"), ("1G", "1000000000")])
def test_memory_in_docker_syntax(quantity, docker):
    assert cp.docker_memory(quantity) == docker


def test_probe_targets_and_summary(services):
    containers = [
        {"Service": "backend", "Name": "gt-backend-1", "Image": "b:1", "Health": "healthy",
         "Publishers": [{"PublishedPort": 8000}]},
        {"Service": "postgres", "Name": "gt-postgres-1", "Image": "p:1", "Health": "healthy",
         "Publishers": [{"PublishedPort": 5432}]},
    ]  # fmt: skip
    targets = cp.probe_targets(services, containers, "127.0.0.1")
    names = [t["name"] for t in targets]
    assert names == ["backend (in container)", "backend (http://127.0.0.1:8000)",
                     "postgres (in container)", "postgres (tcp 127.0.0.1:5432)"]  # fmt: skip
    assert targets[1]["httpGet"]["path"] == "/ready"
    probes = [{"name": n, "status": "success"} for n in names]
    lines = cp.summary(services, containers, probes, "127.0.0.1")
    assert lines[0].startswith("backend   health=healthy  probes=success  b:1 http://127.0.0.1:8000")
    assert lines[1].endswith("postgresql://127.0.0.1:5432")


def test_missing_images_by_tag_digest_or_id():
    infos = [{"Id": "sha256:1", "RepoTags": ["a:1"], "RepoDigests": ["r/b@sha256:2"]}]
    assert cp.missing_images({"a": "a:1", "b": "r/b@sha256:2", "c": "sha256:1", "d": "d:1"}, infos) == ["d: d:1"]


def _container(service, running=True, health="healthy", aliases=None, mode="gt_default", cid=None):
    networks = {"gt_postgres": {"Aliases": aliases if aliases is not None else [f"gt-{service}-1", service, "abc"]}}
    return {
        "Id": cid or f"{service}-0123456789abcdef",
        "Name": f"/gt-{service}-1",
        "Config": {"Labels": {"com.docker.compose.service": service}, "Image": f"gt/{service}:1"},
        "Image": f"sha256:{service}",
        "State": {"Running": running, "Status": "running" if running else "exited", "Health": {"Status": health}},
        "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {"Networks": networks},
    }


def test_repairs_find_lost_aliases_unhealthy_and_stopped_services():
    inspected = [
        _container("backend"),
        _container("postgres", aliases=["abc"]),
        _container("chromadb", health="unhealthy"),
        _container("frontend", running=False, health=None),
        _container("orphan", running=False),
        _container("worker", aliases=[], mode="none"),
    ]
    found = cp.repairs(inspected, ["backend", "postgres", "chromadb", "frontend", "worker"])
    assert found == [
        {"service": "postgres", "reason": "postgres: no alias 'postgres' on network gt_postgres"},
        {"service": "chromadb", "reason": "chromadb: health unhealthy"},
        {"service": "frontend", "reason": "frontend: exited"},
    ]


RELEASE = {"images": {"backend": "b@sha256:1"}, "files": [{"path": "docker-compose.yml", "content": "x"}]}


def _recorded(**containers):
    return {**RELEASE, "containers": containers or {"backend": "backend-0123", "postgres": "postgres-0123"}}


def test_settled_only_when_the_recorded_containers_run_this_release_healthy():
    running = [_container("backend"), _container("postgres")]
    services = ["backend", "postgres"]
    ids = {"gt/backend:1": "sha256:backend", "gt/postgres:1": "sha256:postgres"}
    assert cp.settled(running, services, _recorded(), RELEASE, ids)
    # what leaves the work to `up --wait`:
    assert not cp.settled(running, services, {}, RELEASE, ids)  # no release recorded yet
    assert not cp.settled(running, services, _recorded(), {**RELEASE, "images": {"backend": "b@sha256:2"}}, ids)
    assert not cp.settled(running, services, _recorded(), {**RELEASE, "files": []}, ids)
    assert not cp.settled([_container("backend", cid="other"), running[1]], services, _recorded(), RELEASE, ids)
    assert not cp.settled([running[0]], services, _recorded(), RELEASE, ids)  # a container removed
    assert not cp.settled([*running, _container("worker")], services, _recorded(), RELEASE, ids)  # one added
    assert not cp.settled([_container("backend", health="starting"), running[1]], services, _recorded(), RELEASE, ids)
    assert not cp.settled([_container("backend", aliases=[]), running[1]], services, _recorded(), RELEASE, ids)
    assert not cp.settled(running, services, _recorded(backend="", postgres=""), RELEASE, ids)
    # the backend's tag rebuilt in place (same reference, a new ID), or gone from the engine:
    assert not cp.settled(running, services, _recorded(), RELEASE, {**ids, "gt/backend:1": "sha256:rebuilt"})
    assert not cp.settled(running, services, _recorded(), RELEASE, {"gt/postgres:1": "sha256:postgres"})


def test_ps_records_from_inspect_read_like_compose_ps():
    inspected = [_container("backend")]
    inspected[0]["NetworkSettings"]["Ports"] = {
        "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}],
        "9/tcp": None,
    }
    inspected.append({**_container("once"), "Config": {"Labels": {"com.docker.compose.service": "x",
                                                                  "com.docker.compose.oneoff": "True"}}})  # fmt: skip
    records = cp.ps_records(inspected)
    assert records == [
        {"ID": "backend-0123456789abcdef", "Name": "gt-backend-1", "Service": "backend", "Image": "gt/backend:1",
         "State": "running", "Health": "healthy", "Publishers": [{"PublishedPort": 8000, "TargetPort": 8000}]}
    ]  # fmt: skip
