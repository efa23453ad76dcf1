"""The service catalog: merge, checks that name the field, derived values."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog


def test_default_catalog_in_dependency_order(services):
    order = list(services)
    assert set(order) == {"postgres", "chromadb", "backend", "frontend"}
    assert order.index("postgres") < order.index("backend") < order.index("frontend")
    assert order.index("chromadb") < order.index("backend")


def test_reverse_edges_say_who_may_connect(services):
    assert [c["name"] for c in services["postgres"]["clients"]] == ["backend"]
    assert [c["name"] for c in services["backend"]["clients"]] == ["frontend"]
    assert services["frontend"]["clients"] == []


def test_overrides_merge_key_by_key_and_null_removes(raw_catalog):
    merged = catalog.build(
        copy.deepcopy(raw_catalog),
        {"backend": {"replicas": 2, "autoscale": {"max": 5}}, "frontend": None},
    )
    assert "frontend" not in merged
    assert merged["backend"]["replicas"] == 2
    assert merged["backend"]["autoscale"] == {"min": 1, "max": 5, "cpu": 70}


def test_removing_a_service_others_connect_to_names_the_client(raw_catalog):
    with pytest.raises(catalog.CatalogError, match=r"backend\.connects_to\.postgres: no service 'postgres'"):
        catalog.build(copy.deepcopy(raw_catalog), {"postgres": None})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"backend": {"ports": [{"name": "http", "port": 70000}]}}, r"backend\.ports\[0\]\.port: must be at least 1"),
        ({"backend": {"ports": [{"name": "a-very-long-port-name", "port": 80}]}}, r"backend\.ports\[0\]\.name"),
        ({"backend": {"health": {"port": "web"}}}, r"backend\.health\.port: 'web' is not a port name"),
        ({"backend": {"health": {"command": ["true"]}}}, r"backend\.health: give either `command` or `port`"),
        ({"backend": {"resources": {"limits": {"memory": "1GB"}}}}, r"backend\.resources\.limits\.memory: '1GB'"),
        ({"backend": {"env": {"X": "{nope}"}}}, r"backend\.env\.X: unknown placeholder"),
        ({"backend": {"user": 0}}, r"backend\.user: must be at least 10000"),
        ({"backend": {"colour": "blue"}}, r"backend: unknown key\(s\) colour"),
        ({"chromadb": {"replicas": 2}}, r"chromadb: a service with volumes runs one replica"),
        ({"postgres": {"connects_to": {"backend": {}}}}, r"dependency cycle"),
        ({"frontend": {"publish": ["qa"]}}, r"frontend\.publish: 'qa' is not one of dev, staging, prod"),
        ({"backend": {"dev": {"mounts": [{"source": "/etc", "target": "/x"}]}}}, r"must be relative"),
        ({"backend": {"image": {"distroless": "yes"}}}, r"backend\.image\.distroless: must be true or false"),
        (
            {"frontend": {"health": {"port": None, "liveness": None, "command": ["/bin/sh", "-c", "true"]}}},
            r"frontend\.health\.command: the image is distroless .* no /bin/sh",
        ),
    ],
)
def test_bad_fields_are_named(raw_catalog, override, message):
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.build(copy.deepcopy(raw_catalog), override)


def test_health_commands_run_inside_the_container(services):
    backend = catalog.health_command(services["backend"], "readiness")
    assert backend[0] == "python3" and backend[-2:] == ["http://127.0.0.1:8000/ready", "3"]
    frontend = catalog.health_command(services["frontend"])
    assert frontend[:2] == ["node", "-e"] and frontend[-2] == "http://127.0.0.1:3000/api/health"
    assert catalog.health_command(services["postgres"])[0:2] == ["sh", "-c"]


def test_backend_and_frontend_are_distroless_and_check_health_without_a_shell(services):
    assert [name for name, svc in services.items() if svc["image"]["distroless"]] == ["backend", "frontend"]
    for name in ("backend", "frontend"):
        assert catalog.health_command(services[name])[0] in ("python3", "node")
    # A non-distroless image may keep its shell health command.
    assert catalog.health_command(services["postgres"])[0] == "sh"


def test_env_fills_placeholders_and_peer_addresses(services):
    settings = {"environment": "production", "log_level": "INFO", "postgres_db": "db", "postgres_user": "u"}
    env = catalog.env_for(services["backend"], settings, lambda peer: f"{peer}.svc")
    assert env["ENVIRONMENT"] == "production" and env["POSTGRES_DB"] == "db"
    assert env["POSTGRES_HOST"] == "postgres.svc" and env["POSTGRES_PORT"] == "5432"
    assert env["CHROMA_HOST"] == "chromadb.svc" and env["CHROMA_PORT"] == "8000"
    front = catalog.env_for(services["frontend"], settings, lambda peer: peer)
    assert front["BACKEND_URL"] == "http://backend:8000"


def test_base_images_cover_every_build(services):
    assert set(catalog.base_images(services)) == {"postgres", "python", "python_build", "node", "node_build"}


def test_scratch_directories_get_volume_names(services):
    assert services["postgres"]["scratch"] == [
        {"name": "tmp", "path": "/tmp"},
        {"name": "var-run-postgresql", "path": "/var/run/postgresql"},
    ]
