"""PostgreSQL: numbered idempotent migrations, a small async connection pool and the goals queries."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

# Serialises migrations across replicas that start at the same time (any constant bigint works).
_MIGRATION_LOCK_ID = 0x47_54_4D_49_47  # "GTMIG"

# (version, name, SQL). Append only: never edit a migration that has shipped.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "create goals",
        """
        CREATE TABLE goals (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
            status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'abandoned')),
            progress    smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
            target_date date,
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX goals_created_at_idx ON goals (created_at DESC, id);
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(conninfo: str) -> list[int]:
    """Apply pending migrations in one transaction under an advisory lock; return the versions applied."""
    applied: list[int] = []
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, statement in MIGRATIONS:
            if version in done:
                continue
            conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(version)
            log.info("migration applied", extra={"schema_version": version, "migration": name})
    return applied


GOAL_COLUMNS = ("id", "title", "description", "status", "progress", "target_date", "created_at", "updated_at")
_RETURNING = SQL(", ").join(Identifier(c) for c in GOAL_COLUMNS)
UPDATABLE = frozenset({"title", "description", "status", "progress", "target_date"})


class SchemaNotReady(RuntimeError):
    """The database schema is older than this code and auto-migration is off."""


def schema_version(conninfo: str) -> int:
    """The highest applied migration, 0 for an empty database."""
    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


class Database:
    """The pool plus a flag recording that the schema is known to be current.

    With ``auto_migrate`` the first use applies pending migrations; without it (the deploy runs
    ``python -m goaltrajectory.migrate``) the first use only checks that the schema is current.
    """

    def __init__(
        self, conninfo: str, *, min_size: int = 1, max_size: int = 5, timeout: float = 5.0, auto_migrate: bool = True
    ) -> None:
        self.conninfo = conninfo
        self.timeout = timeout
        self.auto_migrate = auto_migrate
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=timeout,
            check=AsyncConnectionPool.check_connection,  # drop connections broken by a server restart
            kwargs={"row_factory": dict_row},
            name="goaltrajectory",
        )
        self.schema_ready = False
        self._schema_lock = asyncio.Lock()

    async def open(self) -> None:
        # wait=False: the process starts (and /health answers) while PostgreSQL is still down.
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def ensure_schema(self) -> None:
        if self.schema_ready:
            return
        async with self._schema_lock:
            if self.schema_ready:
                return
            if self.auto_migrate:
                await asyncio.to_thread(migrate, self.conninfo)
            else:
                current = await asyncio.to_thread(schema_version, self.conninfo)
                if current < SCHEMA_VERSION:
                    raise SchemaNotReady(
                        f"database schema version {current} < {SCHEMA_VERSION}; run `python -m goaltrajectory.migrate`"
                    )
            self.schema_ready = True

    async def ping(self, timeout: float) -> float:
        """Seconds for ``SELECT 1`` through the pool, including the wait for a connection."""
        started = time.perf_counter()
        async with asyncio.timeout(timeout), self.pool.connection(timeout=timeout) as conn:
            await conn.execute("SELECT 1")
        return time.perf_counter() - started

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled connection inside a transaction: committed on success, rolled back on any exception."""
        await self.ensure_schema()
        async with self.pool.connection() as conn, conn.transaction():
            yield conn


async def insert_goal(conn: psycopg.AsyncConnection, values: dict[str, Any]) -> dict[str, Any]:
    columns = [c for c in values if c in UPDATABLE]
    query = SQL("INSERT INTO goals ({}) VALUES ({}) RETURNING {}").format(
        SQL(", ").join(Identifier(c) for c in columns),
        SQL(", ").join(SQL("%s") for _column in columns),
        _RETURNING,
    )
    cur = await conn.execute(query, [values[c] for c in columns])
    return await cur.fetchone()


async def get_goal(conn: psycopg.AsyncConnection, goal_id: uuid.UUID, *, for_update: bool = False) -> dict | None:
    query = SQL("SELECT {} FROM goals WHERE id = %s").format(_RETURNING)
    if for_update:
        query = query + SQL(" FOR UPDATE")
    cur = await conn.execute(query, (goal_id,))
    return await cur.fetchone()


async def list_goals(conn: psycopg.AsyncConnection, limit: int, offset: int) -> tuple[list[dict], int]:
    cur = await conn.execute(
        SQL("SELECT {} FROM goals ORDER BY created_at DESC, id LIMIT %s OFFSET %s").format(_RETURNING),
        (limit, offset),
    )
    rows = await cur.fetchall()
    total = await (await conn.execute("SELECT count(*) AS n FROM goals")).fetchone()
    return rows, total["n"]


async def get_goals(conn: psycopg.AsyncConnection, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    if not ids:
        return {}
    cur = await conn.execute(SQL("SELECT {} FROM goals WHERE id = ANY(%s)").format(_RETURNING), (ids,))
    return {row["id"]: row for row in await cur.fetchall()}


async def update_goal(conn: psycopg.AsyncConnection, goal_id: uuid.UUID, values: dict[str, Any]) -> dict | None:
    columns = [c for c in values if c in UPDATABLE]
    if not columns:
        return await get_goal(conn, goal_id)
    assignments = SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in columns)
    query = SQL("UPDATE goals SET {}, updated_at = now() WHERE id = %s RETURNING {}").format(assignments, _RETURNING)
    cur = await conn.execute(query, [*(values[c] for c in columns), goal_id])
    return await cur.fetchone()


async def delete_goal(conn: psycopg.AsyncConnection, goal_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM goals WHERE id = %s", (goal_id,))
    return cur.rowcount == 1
