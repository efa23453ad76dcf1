"""The real server process: `python -m goaltrajectory` under uvicorn, the healthcheck command, SIGTERM.

Both dependencies are down (closed ports), which the process must tolerate: liveness passes,
readiness fails, and SIGTERM still shuts it down cleanly with exit code 0.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from gt_testing import base_env, free_port

BACKEND = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(BACKEND), "PYTHONUNBUFFERED": "1"}
    env.update(base_env(**extra))
    return env


def _wait_for_health(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not answer /health within 30s")


def test_serves_healthchecks_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    key_file = tmp_path / "gemini"
    key_file.write_text("gm-file-secret-987\n")
    env = _env(PORT=str(port), SUPABASE_SERVICE_ROLE_KEY="sb-env-secret-654", GEMINI_API_KEY_FILE=str(key_file))
    process = subprocess.Popen(
        [sys.executable, "-m", "goaltrajectory"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_health(port, process)
        check = [sys.executable, "-m", "goaltrajectory.healthcheck"]
        assert subprocess.run(check, env=env, capture_output=True, check=False).returncode == 0
        not_ready = subprocess.run([*check, "/ready"], env=env, capture_output=True, text=True, check=False)
        assert not_ready.returncode == 1 and "503" in not_ready.stderr
        assert (
            httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "probe-1"}).headers["x-request-id"]
            == "probe-1"
        )
        process.send_signal(signal.SIGTERM)
        output, _stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # uvicorn finishes the graceful shutdown, then re-raises SIGTERM so the exit status says why it stopped.
    assert process.returncode in (0, -signal.SIGTERM), output
    lines = output.splitlines()
    entries = [json.loads(line) for line in lines]  # nothing but JSON objects on stdout
    messages = [e["message"] for e in entries]
    assert "startup complete" in messages
    assert messages.index("shutdown complete") > messages.index(
        "shutting down: closing the vector client and the database pool"
    )
    assert "sb-env-secret-654" not in output and "gm-file-secret-987" not in output
    assert any(e.get("logger", "").startswith("uvicorn") for e in entries)
    assert not any("color_message" in e for e in entries)


def test_invalid_configuration_exits_2_with_a_json_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "goaltrajectory"],
        env=_env(LOG_LEVEL="chatty"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    entry = json.loads(result.stdout.strip().splitlines()[-1])
    assert entry["message"] == "invalid configuration" and "LOG_LEVEL" in entry["error"]


def test_healthcheck_fails_when_nothing_listens() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "goaltrajectory.healthcheck"],
        env=_env(PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1 and "unhealthy" in result.stderr
