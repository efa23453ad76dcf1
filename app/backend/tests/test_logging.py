"""JSON logs: one object per line, the request id in every line of a request, secrets never logged."""

import io
import json
import logging

import pytest
from fastapi.testclient import TestClient
from goaltrajectory.config import Settings
from goaltrajectory.logging import JsonFormatter, configure_logging, request_id_var
from goaltrajectory.main import create_app
from gt_testing import base_env


def test_formatter_emits_one_json_object_per_line() -> None:
    record = logging.LogRecord("goaltrajectory", logging.WARNING, __file__, 1, "multi\nline %s", ("msg",), None)
    record.dependency = "postgres"
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "multi\nline msg"
    assert entry["level"] == "warning" and entry["request_id"] == "req-1" and entry["dependency"] == "postgres"


def test_exceptions_are_kept_inside_the_json_line() -> None:
    with pytest.raises(ValueError, match="boom") as caught:
        raise ValueError("boom")
    exc_info = (caught.type, caught.value, caught.tb)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["exc_type"] == "ValueError" and "boom" in entry["exc"]


def test_app_logs_json_with_request_id_and_never_secrets(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    secret = "sk-or-v1-very-secret-value"
    settings = Settings.from_env(base_env(OPENROUTER_API_KEY=secret, GEMINI_API_KEY="gm-another-secret"))
    with TestClient(create_app(settings, setup_logging=False)) as client:
        response = client.get("/api/config/status", headers={"X-Request-ID": "abc-123"})
        generated = client.get("/health").headers["X-Request-ID"]
        client.get("/ready", headers={"X-Request-ID": "bad id with spaces\x7f"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert len(generated) == 32
    output = stream.getvalue()
    assert secret not in output and "gm-another-secret" not in output
    entries = [json.loads(line) for line in output.splitlines()]  # every line parses
    messages = {e["message"] for e in entries}
    assert {"configuration loaded", "startup complete", "shutdown complete"} <= messages
    access = [e for e in entries if e["message"] == "request"]
    assert any(e["request_id"] == "abc-123" and e["route"] == "/api/config/status" for e in access)
    ready = next(e for e in access if e["path"] == "/ready")
    assert ready["request_id"] != "bad id with spaces\x7f" and ready["status"] == 503
    loaded = next(e for e in entries if e["message"] == "configuration loaded")
    assert loaded["secrets_configured"] == {
        "SUPABASE_SERVICE_ROLE_KEY": False,
        "GEMINI_API_KEY": True,
        "OPENROUTER_API_KEY": True,
    }
