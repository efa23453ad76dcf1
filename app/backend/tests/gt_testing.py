"""Helpers shared by the test modules and conftest.py (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (also used as a 'down' dependency)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    """A complete environment for Settings.from_env, independent of the caller's environment."""
    env = {
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "DEBUG",
        "APP_VERSION": "1.2.3-test",
        "DATABASE_URL": f"postgresql://gt:unused@127.0.0.1:{free_port()}/none",
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(free_port()),
        "CHROMA_COLLECTION": f"test-{uuid.uuid4().hex[:12]}",
        "DB_CONNECT_TIMEOUT": "2",
        "DEPENDENCY_TIMEOUT_SECONDS": "1",
    }
    env.update(overrides)
    return env


def chroma_env(chroma_url: str) -> dict[str, str]:
    parts = urlsplit(chroma_url)
    return {
        "CHROMA_HOST": parts.hostname or "127.0.0.1",
        "CHROMA_PORT": str(parts.port or 8000),
        "CHROMA_SSL": "true" if parts.scheme == "https" else "false",
    }
