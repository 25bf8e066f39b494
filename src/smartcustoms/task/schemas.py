"""Pydantic bodies of the tasks API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.task.models import TaskKind, TaskStatus


class DrawRead(BaseModel):
    """How the assignees were drawn (supervisors only): replays to the same choice."""

    seed_ref: str
    candidates: list[dict[str, Any]]
    u: list[float]
    chosen: list[str]


class TaskRead(BaseModel):
    """A task as its assignees and supervisors see it."""

    id: int
    kind: TaskKind
    declaration: str = Field(description="the declaration's number")
    status: TaskStatus
    assignees: list[str]
    assigned_at: datetime | None
    due_at: datetime | None
    draw: DrawRead | None = Field(default=None, description="supervisors only")
    steps: list[Any]
    result: dict[str, Any] | None


class TaskPage(BaseModel):
    """A page of tasks, open first."""

    items: list[TaskRead]
    total: int
    limit: int
    offset: int


class DecisionCreate(BaseModel):
    """A review decision; `query` also asks a question."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "query", "inspect", "reject"] | str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=2000)
    question: str | None = Field(default=None, max_length=4000)


class ReassignmentCreate(BaseModel):
    """A supervisor's reassignment, with its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class AnswerCreate(BaseModel):
    """The enterprise's answer to a query: text, and ids of documents uploaded to the declaration."""

    model_config = ConfigDict(extra="forbid")

    answer: str | None = Field(default=None, max_length=4000)
    documents: list[int] = Field(default_factory=list, max_length=20)
