"""Bad requests get 422 with a readable message, never a 500 — checked with both dependencies down."""

import pytest
from fastapi.testclient import TestClient

GOAL_ID = "8c1d8a0e-2f4e-4a53-9a57-2a4a5f0f6b11"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "body.title: Field required"),
        ({"title": ""}, "body.title: String should have at least 1 character"),
        ({"title": "   "}, "body.title: String should have at least 1 character"),
        ({"title": "x" * 201}, "body.title: String should have at most 200 characters"),
        ({"title": "ok", "progress": 150}, "body.progress: Input should be less than or equal to 100"),
        ({"title": "ok", "progress": "lots"}, "body.progress: Input should be a valid integer"),
        ({"title": "ok", "status": "paused"}, "body.status: Input should be 'active', 'completed' or 'abandoned'"),
        ({"title": "ok", "target_date": "next year"}, "body.target_date: Input should be a valid date"),
        ({"title": "ok", "owner": "me"}, "body.owner: Extra inputs are not permitted"),
        (["title"], "body: Input should be a valid dictionary"),
        ({"title": 42}, "body.title: Input should be a valid string"),
    ],
)
def test_create_rejects_bad_bodies(offline_client: TestClient, body: object, expected: str) -> None:
    response = offline_client.post("/api/goals", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert expected in payload["detail"]
    assert payload["errors"] and all(set(e) <= {"loc", "msg", "type"} for e in payload["errors"])
    assert payload["request_id"] == response.headers["X-Request-ID"]


def test_malformed_json_is_422(offline_client: TestClient) -> None:
    response = offline_client.post(
        "/api/goals", content=b'{"title": "x",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"]


def test_submitted_values_are_not_echoed(offline_client: TestClient) -> None:
    response = offline_client.post("/api/goals", json={"title": "ok", "progress": "sk-live-should-not-echo"})
    assert response.status_code == 422 and "sk-live-should-not-echo" not in response.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "send at least one of"),
        ({"title": None}, "title cannot be null"),
        ({"progress": -1}, "body.progress: Input should be greater than or equal to 0"),
    ],
)
def test_patch_rejects_bad_bodies(offline_client: TestClient, body: dict, expected: str) -> None:
    response = offline_client.patch(f"/api/goals/{GOAL_ID}", json=body)
    assert response.status_code == 422 and expected in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/goals/not-a-uuid", "path.goal_id: Input should be a valid UUID"),
        ("DELETE", "/api/goals/123", "path.goal_id: Input should be a valid UUID"),
        ("GET", "/api/goals?limit=0", "query.limit: Input should be greater than or equal to 1"),
        ("GET", "/api/goals?offset=-5", "query.offset"),
        ("GET", f"/api/goals/{GOAL_ID}/similar?limit=500", "query.limit: Input should be less than or equal to 50"),
    ],
)
def test_bad_paths_and_queries_are_422(offline_client: TestClient, method: str, path: str, expected: str) -> None:
    response = offline_client.request(method, path)
    assert response.status_code == 422 and expected in response.json()["detail"]


def test_valid_request_with_database_down_is_503_not_500(offline_client: TestClient) -> None:
    response = offline_client.post("/api/goals", json={"title": "Run a marathon"})
    assert response.status_code == 503
    assert response.json()["detail"] == "postgres is unavailable, try again later"
    assert response.headers["Retry-After"] == "5"
