"""The FastAPI application factory: lifespan, request context middleware, error handlers, probes."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import goals
from .config import Settings
from .db import Database, SchemaNotReady
from .logging import configure_logging, request_id_var
from .metrics import UNMATCHED_ROUTE, Metrics
from .vectors import ChromaStore, VectorStoreError

log = logging.getLogger("goaltrajectory")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})  # probe traffic is logged at DEBUG
_UNAVAILABLE = (psycopg.OperationalError, PoolTimeout, SchemaNotReady, VectorStoreError)


class RequestContextMiddleware:
    """Request id in and out (X-Request-ID), one access log line and the request metrics per request.

    Also the last line of defence: an exception that escapes the app becomes a JSON 500 that
    carries the request id, never a traceback.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not response_started:
                response = JSONResponse({"detail": "internal server error", "request_id": request_id}, 500)
                await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            self.metrics.observe_request(scope["method"], template, status_code, seconds)
            log.log(
                logging.DEBUG if scope["path"] in _QUIET_PATHS and status_code < 500 else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status_code,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _validation_message(errors: list[dict]) -> str:
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg')}" if location else str(error.get("msg")))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more


def create_app(settings: Settings | None = None, *, setup_logging: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()
    if setup_logging:
        configure_logging(settings.log_level)
    metrics = Metrics(settings.version, settings.environment)
    started_at = time.monotonic()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.log_summary(log)
        database = Database(
            settings.database_conninfo,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            timeout=settings.db_connect_timeout,
            auto_migrate=settings.migrate_on_start,
        )
        vectors = ChromaStore(
            settings.chroma_url,
            settings.chroma_collection,
            tenant=settings.chroma_tenant,
            database=settings.chroma_database,
            timeout=max(settings.dependency_timeout, 5.0),
        )
        app.state.db, app.state.vectors = database, vectors
        await database.open()
        # Dependencies may still be starting: log and carry on; /ready reports them until they answer.
        try:
            await database.ensure_schema()
        except (*_UNAVAILABLE, psycopg.Error) as exc:
            log.warning("database not ready at startup", extra={"error": _error_text(exc)})
        try:
            await vectors.ensure_collection()
        except VectorStoreError as exc:
            log.warning("chromadb not ready at startup", extra={"error": _error_text(exc)})
        log.info("startup complete", extra={"version": settings.version})
        try:
            yield
        finally:
            log.info("shutting down: closing the vector client and the database pool")
            await vectors.aclose()
            await database.close()
            log.info("shutdown complete")

    app = FastAPI(
        title="GoalTrajectory.AI backend",
        version=settings.version,
        lifespan=lifespan,
        docs_url="/docs" if settings.environment not in ("production", "prod") else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(goals.router)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Echo location, message and type only: never the submitted input, which may be large or sensitive.
        errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
        return JSONResponse(
            {"detail": _validation_message(errors), "errors": errors, "request_id": request_id_var.get()},
            status_code=422,
        )

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(SchemaNotReady)
    @app.exception_handler(VectorStoreError)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        dependency = "chromadb" if isinstance(exc, VectorStoreError) else "postgres"
        log.error("dependency unavailable", extra={"dependency": dependency, "error": _error_text(exc)})
        return JSONResponse(
            {"detail": f"{dependency} is unavailable, try again later", "request_id": request_id_var.get()},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.get("/health", tags=["probes"])
    async def health() -> dict:
        """Liveness: answers while the event loop runs; touches no dependency."""
        return {
            "status": "ok",
            "version": settings.version,
            "environment": settings.environment,
            "uptime_seconds": round(time.monotonic() - started_at, 3),
        }

    @app.get("/ready", tags=["probes"])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: PostgreSQL (with a current schema) and ChromaDB (with the collection) both answer."""
        timeout = settings.dependency_timeout

        async def check(name: str, probe) -> tuple[str, dict]:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(probe(), timeout)
                result = {"status": "up"}
            except Exception as exc:  # any failure means "not ready"; the reason is reported
                result = {"status": "down", "error": _error_text(exc) if str(exc) else "timeout"}
            seconds = time.perf_counter() - started
            result["latency_ms"] = round(seconds * 1000, 2)
            metrics.observe_dependency(name, result["status"] == "up", seconds)
            return name, result

        async def postgres() -> None:
            await request.app.state.db.ping(timeout)
            await request.app.state.db.ensure_schema()

        async def chromadb() -> None:
            await request.app.state.vectors.check(timeout)

        checks = dict(await asyncio.gather(check("postgres", postgres), check("chromadb", chromadb)))
        ok = all(c["status"] == "up" for c in checks.values())
        body = {
            "status": "ready" if ok else "not_ready",
            "version": settings.version,
            "checks": checks,
            "secrets_configured": settings.secrets_status(),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["probes"])
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/api/config/status", tags=["config"])
    async def config_status() -> dict:
        """Which optional secrets are configured: booleans only, never values."""
        return {
            "environment": settings.environment,
            "version": settings.version,
            "secrets_configured": settings.secrets_status(),
        }

    return app
