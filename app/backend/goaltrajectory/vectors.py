"""A small async client for the ChromaDB server's v2 HTTP API (chromadb 1.x servers).

Only the calls this service needs: heartbeat, get-or-create a collection, upsert, delete, query.
The v1 API answers 410 Gone on 1.x servers, so everything goes to ``/api/v2``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .embedding import DIMENSIONS, EMBEDDING_VERSION

log = logging.getLogger(__name__)


class VectorStoreError(RuntimeError):
    """ChromaDB is unreachable or refused a request."""


@dataclass(frozen=True)
class Neighbour:
    id: str
    distance: float


class ChromaStore:
    def __init__(
        self,
        base_url: str,
        collection: str,
        *,
        tenant: str = "default_tenant",
        database: str = "default_database",
        timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.collection = collection
        self._prefix = f"/api/v2/tenants/{tenant}/databases/{database}/collections"
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._collection_id: str | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, json: Any = None, timeout: float | None = None) -> Any:
        kwargs: dict[str, Any] = {"json": json}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise VectorStoreError(f"ChromaDB {method} {path} failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            raise _NotFound(path)
        if response.is_error:
            raise VectorStoreError(f"ChromaDB {method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    async def heartbeat(self, timeout: float | None = None) -> float:
        """Round-trip time in seconds of ``GET /api/v2/heartbeat``."""
        started = time.perf_counter()
        await self._request("GET", "/api/v2/heartbeat", timeout=timeout)
        return time.perf_counter() - started

    async def check(self, timeout: float | None = None) -> None:
        """Readiness: the server answers and the collection is resolved (created on first use)."""
        await self.heartbeat(timeout)
        if self._collection_id is None:
            await self.ensure_collection()

    async def ensure_collection(self) -> str:
        """Get or create the collection (cosine space) and remember its id."""
        body = {
            "name": self.collection,
            "get_or_create": True,
            "metadata": {"embedding": EMBEDDING_VERSION, "dimensions": DIMENSIONS},
            "configuration": {"hnsw": {"space": "cosine"}},
        }
        result = await self._request("POST", self._prefix, json=body)
        self._collection_id = result["id"]
        return self._collection_id

    async def _collection_call(self, action: str, body: dict[str, Any]) -> Any:
        """POST to ``collections/{id}/{action}``; re-resolve the id once if the collection vanished."""
        for attempt in (1, 2):
            collection_id = self._collection_id or await self.ensure_collection()
            try:
                return await self._request("POST", f"{self._prefix}/{collection_id}/{action}", json=body)
            except _NotFound:
                self._collection_id = None
                if attempt == 2:
                    raise VectorStoreError(f"ChromaDB collection {self.collection!r} not found") from None
                log.warning("chroma collection id is stale; resolving it again", extra={"collection": self.collection})
        raise AssertionError("unreachable")

    async def upsert(self, ids: list[str], embeddings: list[list[float]], documents: list[str]) -> None:
        await self._collection_call(
            "upsert", {"ids": ids, "embeddings": embeddings, "documents": documents, "metadatas": None}
        )

    async def delete(self, ids: list[str]) -> None:
        await self._collection_call("delete", {"ids": ids})

    async def query(self, embedding: list[float], n_results: int) -> list[Neighbour]:
        result = await self._collection_call(
            "query", {"query_embeddings": [embedding], "n_results": n_results, "include": ["distances"]}
        )
        ids = result.get("ids") or [[]]
        distances = result.get("distances") or [[]]
        return [Neighbour(id=i, distance=float(d)) for i, d in zip(ids[0], distances[0], strict=True)]


class _NotFound(VectorStoreError):
    pass
