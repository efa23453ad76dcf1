"""Settings read once from the environment.

Secrets may come from ``NAME`` or from a file named by ``NAME_FILE`` (Docker/Kubernetes secrets).
Their values live in :class:`Secret`, whose ``repr``/``str`` never show them, and the service only
ever reports whether each one is configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import __version__

SECRET_NAMES = ("SUPABASE_SERVICE_ROLE_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY")
ENVIRONMENTS = ("development", "dev", "test", "staging", "production", "prod")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """The environment holds an unusable setting; the message names the variable."""


class Secret:
    """A secret value that cannot leak through repr, str, logging or JSON encoding by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or None

    @property
    def configured(self) -> bool:
        return self._value is not None

    def reveal(self) -> str | None:
        return self._value

    def __repr__(self) -> str:
        return "Secret(configured)" if self.configured else "Secret(not configured)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_secret(env: Mapping[str, str], name: str) -> Secret:
    """``NAME`` or the contents of the file at ``NAME_FILE`` (trailing newline stripped); both set is an error."""
    value = env.get(name)
    path = env.get(f"{name}_FILE")
    if value and path:
        raise ConfigError(f"both {name} and {name}_FILE are set; set only one")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path} cannot be read: {exc.strerror}") from None
    return Secret(value)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (true/false)")


def _database_conninfo(env: Mapping[str, str], connect_timeout: int) -> str:
    """A libpq conninfo from DATABASE_URL, or from POSTGRES_HOST/PORT/DB/USER/PASSWORD(_FILE)."""
    url = env.get("DATABASE_URL", "").strip()
    password = read_secret(env, "POSTGRES_PASSWORD")
    if url:
        try:
            params = conninfo_to_dict(url)
        except Exception:  # psycopg.ProgrammingError: libpq's message may quote the URL, password included
            raise ConfigError("DATABASE_URL is not a valid postgresql:// URL or key=value conninfo string") from None
        if password.configured and "password" not in params:
            params["password"] = password.reveal()
    else:
        params = {
            "host": env.get("POSTGRES_HOST", "localhost"),
            "port": _int(env, "POSTGRES_PORT", 5432, 1, 65535),
            "dbname": env.get("POSTGRES_DB", "goaltrajectory"),
            "user": env.get("POSTGRES_USER", "goaltrajectory"),
        }
        if password.configured:
            params["password"] = password.reveal()
    params.setdefault("connect_timeout", connect_timeout)
    params.setdefault("application_name", "goaltrajectory-backend")
    return make_conninfo(**params)


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    version: str = __version__
    log_level: str = "INFO"
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all of its interfaces
    port: int = 8000
    database_conninfo: str = field(default="", repr=False)
    db_pool_min_size: int = 1
    db_pool_max_size: int = 5
    db_connect_timeout: int = 5
    migrate_on_start: bool = True
    chroma_host: str = "localhost"
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_tenant: str = "default_tenant"
    chroma_database: str = "default_database"
    chroma_collection: str = "goals"
    dependency_timeout: float = 2.0
    secrets: dict[str, Secret] = field(default_factory=lambda: {name: Secret(None) for name in SECRET_NAMES})

    @property
    def chroma_url(self) -> str:
        scheme = "https" if self.chroma_ssl else "http"
        return f"{scheme}://{self.chroma_host}:{self.chroma_port}"

    @property
    def database_target(self) -> str:
        """host:port/dbname of the database, safe to log (no user, no password)."""
        params = conninfo_to_dict(self.database_conninfo) if self.database_conninfo else {}
        return f"{params.get('host', '')}:{params.get('port', 5432)}/{params.get('dbname', '')}"

    def secrets_status(self) -> dict[str, bool]:
        return {name: secret.configured for name, secret in self.secrets.items()}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = env.get("ENVIRONMENT", "development").strip().lower() or "development"
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"ENVIRONMENT={environment!r} is not one of {', '.join(ENVIRONMENTS)}")
        log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        collection = env.get("CHROMA_COLLECTION", "goals").strip()
        if not 3 <= len(collection) <= 512:
            raise ConfigError("CHROMA_COLLECTION must be 3-512 characters long")
        pool_min = _int(env, "DB_POOL_MIN_SIZE", 1, 0, 100)
        pool_max = _int(env, "DB_POOL_MAX_SIZE", 5, 1, 100)
        if pool_max < max(pool_min, 1):
            raise ConfigError(f"DB_POOL_MAX_SIZE={pool_max} is smaller than DB_POOL_MIN_SIZE={pool_min}")
        connect_timeout = _int(env, "DB_CONNECT_TIMEOUT", 5, 1, 300)
        return cls(
            environment=environment,
            version=(env.get("APP_VERSION") or env.get("VERSION") or __version__).strip(),
            log_level=log_level,
            host=env.get("HOST", "0.0.0.0"),  # noqa: S104 - see the field default
            port=_int(env, "PORT", 8000, 1, 65535),
            database_conninfo=_database_conninfo(env, connect_timeout),
            db_pool_min_size=pool_min,
            db_pool_max_size=pool_max,
            db_connect_timeout=connect_timeout,
            migrate_on_start=_bool(env, "MIGRATE_ON_START", True),
            chroma_host=env.get("CHROMA_HOST", "localhost").strip() or "localhost",
            chroma_port=_int(env, "CHROMA_PORT", 8000, 1, 65535),
            chroma_ssl=_bool(env, "CHROMA_SSL", False),
            chroma_tenant=env.get("CHROMA_TENANT", "default_tenant"),
            chroma_database=env.get("CHROMA_DATABASE", "default_database"),
            chroma_collection=collection,
            dependency_timeout=_float(env, "DEPENDENCY_TIMEOUT_SECONDS", 2.0, 0.1, 60.0),
            secrets={name: read_secret(env, name) for name in SECRET_NAMES},
        )

    def log_summary(self, logger: logging.Logger) -> None:
        """One startup line with the effective, non-secret settings."""
        logger.info(
            "configuration loaded",
            extra={
                "environment": self.environment,
                "version": self.version,
                "database": self.database_target,
                "chroma": self.chroma_url,
                "chroma_collection": self.chroma_collection,
                "secrets_configured": self.secrets_status(),
            },
        )
