"""Goals CRUD under /api/goals: rows in PostgreSQL, one vector per goal in ChromaDB.

Each write changes PostgreSQL and ChromaDB inside one database transaction: if ChromaDB refuses,
the transaction rolls back and the client gets 503, so a committed goal always has its vector.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from . import db
from .embedding import embed
from .vectors import ChromaStore

router = APIRouter(prefix="/api/goals", tags=["goals"])

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Status = Literal["active", "completed", "abandoned"]
Progress = Annotated[int, Field(ge=0, le=100)]


class GoalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    status: Status = "active"
    progress: Progress = 0
    target_date: date | None = None


class GoalUpdate(BaseModel):
    """PATCH body: only the fields sent change; ``target_date: null`` clears the date."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    status: Status | None = None
    progress: Progress | None = None
    target_date: date | None = None

    @model_validator(mode="after")
    def _check(self) -> GoalUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of: title, description, status, progress, target_date")
        for name in ("title", "description", "status", "progress"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Goal(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    status: Status
    progress: int
    target_date: date | None
    created_at: datetime
    updated_at: datetime


class GoalPage(BaseModel):
    items: list[Goal]
    total: int
    limit: int
    offset: int


class SimilarGoal(BaseModel):
    goal: Goal
    distance: float = Field(description="Cosine distance to the reference goal: 0 identical, 2 opposite.")


class SimilarGoals(BaseModel):
    goal_id: uuid.UUID
    items: list[SimilarGoal]


def goal_text(title: str, description: str) -> str:
    return f"{title}\n{description}".strip()


def _deps(request: Request) -> tuple[db.Database, ChromaStore]:
    return request.app.state.db, request.app.state.vectors


def _not_found(goal_id: uuid.UUID) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"goal {goal_id} not found")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Goal)
async def create_goal(body: GoalCreate, request: Request, response: Response) -> dict:
    database, vectors = _deps(request)
    async with database.transaction() as conn:
        row = await db.insert_goal(conn, body.model_dump())
        text = goal_text(row["title"], row["description"])
        await vectors.upsert([str(row["id"])], [embed(text)], [text])
    response.headers["Location"] = f"/api/goals/{row['id']}"
    return row


@router.get("", response_model=GoalPage)
async def list_goals(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    database, _vectors = _deps(request)
    async with database.transaction() as conn:
        rows, total = await db.list_goals(conn, limit, offset)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}


@router.get("/{goal_id}", response_model=Goal)
async def read_goal(goal_id: uuid.UUID, request: Request) -> dict:
    database, _vectors = _deps(request)
    async with database.transaction() as conn:
        row = await db.get_goal(conn, goal_id)
    if row is None:
        raise _not_found(goal_id)
    return row


@router.patch("/{goal_id}", response_model=Goal)
async def update_goal(goal_id: uuid.UUID, body: GoalUpdate, request: Request) -> dict:
    database, vectors = _deps(request)
    changes = body.model_dump(include=body.model_fields_set)
    async with database.transaction() as conn:
        before = await db.get_goal(conn, goal_id, for_update=True)
        if before is None:
            raise _not_found(goal_id)
        row = await db.update_goal(conn, goal_id, changes)
        text = goal_text(row["title"], row["description"])
        if text != goal_text(before["title"], before["description"]):
            await vectors.upsert([str(goal_id)], [embed(text)], [text])
    return row


@router.delete("/{goal_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_goal(goal_id: uuid.UUID, request: Request) -> Response:
    database, vectors = _deps(request)
    async with database.transaction() as conn:
        if not await db.delete_goal(conn, goal_id):
            raise _not_found(goal_id)
        await vectors.delete([str(goal_id)])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{goal_id}/similar", response_model=SimilarGoals)
async def similar_goals(goal_id: uuid.UUID, request: Request, limit: Annotated[int, Query(ge=1, le=50)] = 5) -> dict:
    database, vectors = _deps(request)
    async with database.transaction() as conn:
        goal = await db.get_goal(conn, goal_id)
        if goal is None:
            raise _not_found(goal_id)
        neighbours = await vectors.query(embed(goal_text(goal["title"], goal["description"])), limit + 1)
        others = [n for n in neighbours if n.id != str(goal_id)][:limit]
        rows = await db.get_goals(conn, [uuid.UUID(n.id) for n in others])
    items = [{"goal": rows[uuid.UUID(n.id)], "distance": n.distance} for n in others if uuid.UUID(n.id) in rows]
    return {"goal_id": goal_id, "items": items}
