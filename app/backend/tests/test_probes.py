"""/health, /ready, /metrics and /api/config/status with both dependencies down (no servers needed)."""

import re

from fastapi.testclient import TestClient


def test_health_answers_without_dependencies(offline_client: TestClient) -> None:
    response = offline_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"] == "1.2.3-test" and body["environment"] == "test"


def test_ready_is_503_and_reports_each_dependency(offline_client: TestClient) -> None:
    response = offline_client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    for name in ("postgres", "chromadb"):
        check = body["checks"][name]
        assert check["status"] == "down" and check["error"] and isinstance(check["latency_ms"], float)
    assert body["secrets_configured"]["SUPABASE_SERVICE_ROLE_KEY"] is True


def test_config_status_reports_booleans_only(offline_client: TestClient) -> None:
    response = offline_client.get("/api/config/status")
    assert response.status_code == 200
    assert response.json()["secrets_configured"] == {
        "SUPABASE_SERVICE_ROLE_KEY": True,
        "GEMINI_API_KEY": False,
        "OPENROUTER_API_KEY": False,
    }
    assert "sb-secret-value-123" not in response.text


def test_metrics_use_route_templates_and_dependency_gauges(offline_client: TestClient) -> None:
    offline_client.get("/api/goals/0b6f4f0e-6a53-4d2e-9d1f-0a8b8c1f2e3d/similar?limit=0")
    offline_client.get("/health")
    offline_client.get("/ready")
    offline_client.get("/no/such/path/12345")
    text = offline_client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/api/goals/{goal_id}/similar",status="422"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert "/no/such/path" not in text
    assert re.search(
        r'http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="/ready",status="503"\}', text
    )
    assert 'dependency_up{dependency="postgres"} 0.0' in text
    assert 'dependency_up{dependency="chromadb"} 0.0' in text
    assert 'dependency_check_latency_seconds{dependency="chromadb"}' in text
    assert 'goaltrajectory_build_info{environment="test",version="1.2.3-test"} 1.0' in text
