"""The task table: every kind of officer work on a declaration, with its draw, steps and result."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class TaskKind(enum.StrEnum):
    """What the work is."""

    review = "review"
    inspection = "inspection"
    image_review = "image_review"
    audit = "audit"


class TaskStatus(enum.StrEnum):
    """Where a task stands: being worked (open), waiting (for an officer to be free, or for the enterprise), done."""

    open = "open"
    waiting = "waiting"
    done = "done"


class Task(Base):
    """One piece of officer work on one declaration.

    The assignees are the roster's open assignments with task_ref `task:{id}` (see `ref`); a task
    nobody could be drawn for waits (`status` waiting, `assigned_at` None) in its office's queue.
    `row_version` is SQLAlchemy's version counter: two concurrent changes of one task, exactly one wins.
    """

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_office_status", "office", "status", "created_at"),
        Index("ix_task_declaration", "declaration_id"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    kind: Mapped[TaskKind] = mapped_column(Enum(TaskKind, native_enum=False, length=20))
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    office: Mapped[str] = mapped_column(String(8))
    status: Mapped[TaskStatus] = mapped_column(Enum(TaskStatus, native_enum=False, length=10))
    k: Mapped[int] = mapped_column(Integer, default=1)  # how many assignees the task is drawn for
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    draw: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def ref(self) -> str:
        """The roster's task reference of this task (its assignments carry it)."""
        return task_ref(self.id)


def task_ref(task_id: int) -> str:
    """The roster task reference of a task id."""
    return f"task:{task_id}"
