"""Goals CRUD and similarity against real PostgreSQL and ChromaDB (integration)."""

import uuid

import httpx
import psycopg
from fastapi.testclient import TestClient
from goaltrajectory.config import Settings
from goaltrajectory.main import create_app

COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def _create(client: TestClient, title: str, **fields: object) -> dict:
    response = client.post("/api/goals", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _chroma_ids(chroma_url: str, collection: str) -> set[str]:
    info = httpx.get(f"{chroma_url}{COLLECTIONS}/{collection}", timeout=5)
    info.raise_for_status()
    got = httpx.post(f"{chroma_url}{COLLECTIONS}/{info.json()['id']}/get", json={"include": []}, timeout=5)
    got.raise_for_status()
    return set(got.json()["ids"])


def test_crud_round_trip(live_client: TestClient) -> None:
    created = live_client.post(
        "/api/goals",
        json={
            "title": "  Run a marathon  ",
            "description": "Sub four hours",
            "progress": 10,
            "target_date": "2027-04-20",
        },
    )
    assert created.status_code == 201
    goal = created.json()
    assert created.headers["Location"] == f"/api/goals/{goal['id']}"
    assert goal["title"] == "Run a marathon" and goal["status"] == "active" and goal["target_date"] == "2027-04-20"

    assert live_client.get(f"/api/goals/{goal['id']}").json() == goal

    patched = live_client.patch(f"/api/goals/{goal['id']}", json={"progress": 55, "target_date": None})
    assert patched.status_code == 200
    assert patched.json()["progress"] == 55 and patched.json()["target_date"] is None
    assert patched.json()["updated_at"] > goal["updated_at"]

    page = live_client.get("/api/goals").json()
    assert page["total"] == 1 and page["items"][0]["id"] == goal["id"]

    assert live_client.delete(f"/api/goals/{goal['id']}").status_code == 204
    missing = live_client.get(f"/api/goals/{goal['id']}")
    assert missing.status_code == 404 and goal["id"] in missing.json()["detail"]
    assert live_client.delete(f"/api/goals/{goal['id']}").status_code == 404
    assert live_client.patch(f"/api/goals/{goal['id']}", json={"progress": 1}).status_code == 404


def test_list_is_newest_first_and_paginated(live_client: TestClient) -> None:
    ids = [_create(live_client, f"Goal number {i}")["id"] for i in range(5)]
    first = live_client.get("/api/goals?limit=2").json()
    second = live_client.get("/api/goals?limit=2&offset=2").json()
    assert first["total"] == 5 and (first["limit"], first["offset"]) == (2, 0)
    assert [g["id"] for g in first["items"] + second["items"]] == ids[::-1][:4]


def test_similar_ranks_related_goals_first(live_client: TestClient) -> None:
    marathon = _create(live_client, "Run a marathon", description="Train for the spring marathon race")
    half = _create(live_client, "Run a half marathon", description="Race training plan")
    _create(live_client, "Learn to play the piano", description="Practice scales every day")
    _create(live_client, "Read twelve books", description="One book a month")
    response = live_client.get(f"/api/goals/{marathon['id']}/similar?limit=3")
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 3
    assert marathon["id"] not in {i["goal"]["id"] for i in items}
    assert items[0]["goal"]["id"] == half["id"]
    assert [i["distance"] for i in items] == sorted(i["distance"] for i in items)
    assert live_client.get(f"/api/goals/{uuid.uuid4()}/similar").status_code == 404


def test_vectors_follow_writes(live_client: TestClient, live_env: dict, chroma_url: str) -> None:
    collection = live_env["CHROMA_COLLECTION"]
    piano = _create(live_client, "Learn to play the piano")
    chess = _create(live_client, "Get better at chess")
    assert _chroma_ids(chroma_url, collection) == {piano["id"], chess["id"]}

    # Re-embedding on a text change: the chess goal becomes a piano goal and moves next to it.
    before = live_client.get(f"/api/goals/{piano['id']}/similar").json()["items"][0]["distance"]
    live_client.patch(f"/api/goals/{chess['id']}", json={"title": "Learn to play the piano well"})
    after = live_client.get(f"/api/goals/{piano['id']}/similar").json()["items"][0]["distance"]
    assert after < before

    live_client.delete(f"/api/goals/{chess['id']}")
    assert _chroma_ids(chroma_url, collection) == {piano["id"]}
    assert live_client.get(f"/api/goals/{piano['id']}/similar").json()["items"] == []


def test_collection_recreated_if_deleted_behind_our_back(
    live_client: TestClient, live_env: dict, chroma_url: str
) -> None:
    _create(live_client, "First goal")
    httpx.delete(f"{chroma_url}{COLLECTIONS}/{live_env['CHROMA_COLLECTION']}", timeout=5).raise_for_status()
    second = _create(live_client, "Second goal")
    assert _chroma_ids(chroma_url, live_env["CHROMA_COLLECTION"]) == {second["id"]}


def test_write_rolls_back_when_chromadb_is_down(clean_database: str, live_env: dict) -> None:
    from gt_testing import free_port

    env = {**live_env, "CHROMA_PORT": str(free_port())}
    with TestClient(create_app(Settings.from_env(env), setup_logging=False)) as client:
        response = client.post("/api/goals", json={"title": "Never stored"})
        assert response.status_code == 503
        assert response.json()["detail"] == "chromadb is unavailable, try again later"
        ready = client.get("/ready")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["postgres"]["status"] == "up" and checks["chromadb"]["status"] == "down"
    with psycopg.connect(clean_database) as conn:
        assert conn.execute("SELECT count(*) FROM goals").fetchone()[0] == 0


def test_ready_and_metrics_with_both_dependencies_up(live_client: TestClient) -> None:
    ready = live_client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert {name: c["status"] for name, c in body["checks"].items()} == {"postgres": "up", "chromadb": "up"}
    assert all(c["latency_ms"] >= 0 for c in body["checks"].values())
    goal = _create(live_client, "Measure me")
    live_client.get(f"/api/goals/{goal['id']}")
    text = live_client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/api/goals",status="201"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/goals/{goal_id}",status="200"} 1.0' in text
    assert 'dependency_up{dependency="postgres"} 1.0' in text
    assert 'dependency_up{dependency="chromadb"} 1.0' in text
