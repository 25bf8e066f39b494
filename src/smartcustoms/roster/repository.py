"""Every query of the roster area."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from smartcustoms.auth.models import Role, User
from smartcustoms.roster.domain import mask_pattern
from smartcustoms.roster.models import ROSTER_ROLES, Assignment, DispatchSeed, Duty, OfficerLoad, OfficerProfile

# A transaction-scoped advisory lock per office on PostgreSQL while a draw reads loads and writes
# assignments, keyed by a number of our own and the schema and office (several deployments may
# share one database in schemas). On SQLite a writing transaction holds the one write lock.
DISPATCH_LOCK_CLASS = 0x524F_5354


class OfficerRow(NamedTuple):
    """An official who may be on the roster, with their profile (None until set) and open load."""

    user_id: int
    name: str
    role: Role
    office: str | None
    active: bool
    chapters: str | None
    capacity: int | None
    duty: Duty | None
    load: int


class PoolRow(NamedTuple):
    """An on-duty officer of an office who may be drawn, with what the draw needs."""

    user_id: int
    name: str
    capacity: int
    load: int


_LOAD = func.coalesce(OfficerLoad.open_tasks, 0).label("load")  # no row yet: never held a task


def load_of(session: Session, user_ids: Collection[int]) -> dict[int, int]:
    """Open tasks per officer (every asked id present, 0 for none): the one definition of load, kept in `roster_load`."""
    loads = dict.fromkeys(user_ids, 0)
    if loads:
        rows = session.execute(select(OfficerLoad.user_id, OfficerLoad.open_tasks).where(OfficerLoad.user_id.in_(list(loads))))
        loads.update({user_id: int(n) for user_id, n in rows})
    return loads


def counted_loads(session: Session) -> dict[int, int]:
    """Open assignments counted per officer (those with any): what `roster_load` must hold, for checks."""
    stmt = select(Assignment.user_id, func.count(Assignment.id)).where(Assignment.released_at.is_(None)).group_by(Assignment.user_id)
    return {user_id: int(n) for user_id, n in session.execute(stmt)}


def officers(session: Session, *, office: str | None = None, name: str | None = None) -> list[OfficerRow]:
    """Users of the roster roles (by name), with their profiles and loads; one office's or one name's."""
    stmt = (
        select(
            User.id,
            User.name,
            User.role,
            User.office_code,
            User.active,
            OfficerProfile.chapters,
            OfficerProfile.capacity,
            OfficerProfile.duty,
            _LOAD,
        )
        .outerjoin(OfficerProfile, OfficerProfile.user_id == User.id)
        .outerjoin(OfficerLoad, OfficerLoad.user_id == User.id)
        .where(User.role.in_(ROSTER_ROLES))
        .order_by(User.name)
    )
    if office is not None:
        stmt = stmt.where(User.office_code == office)
    if name is not None:
        stmt = stmt.where(User.name == name)
    return [OfficerRow(*row) for row in session.execute(stmt)]


def user_named(session: Session, name: str, *, lock: bool = False) -> User | None:
    """The user with this name; `lock`: until the transaction ends, so that two first settings of a profile take turns.

    FOR NO KEY UPDATE on PostgreSQL: rows that refer to the user (assignments, tokens) can still be written.
    """
    stmt = select(User).where(User.name == name)
    return session.scalar(stmt.with_for_update(key_share=True) if lock else stmt)


def profile(session: Session, user_id: int) -> OfficerProfile | None:
    """The roster profile of a user."""
    return session.get(OfficerProfile, user_id)


# Built once: every draw runs it, for up to hundreds of officers.
_POOL = (
    select(User.id, User.name, OfficerProfile.capacity, _LOAD)
    .join(OfficerProfile, OfficerProfile.user_id == User.id)
    .outerjoin(OfficerLoad, OfficerLoad.user_id == User.id)
    .where(
        User.office_code == bindparam("office"),
        User.active.is_(True),
        User.role.in_(bindparam("roles", expanding=True)),
        OfficerProfile.duty == Duty.on,
        OfficerProfile.capacity > _LOAD,
        OfficerProfile.chapter_mask.like(bindparam("mask")),
    )
)


def pool(session: Session, *, office: str, roles: Sequence[Role], chapters: Collection[int] = ()) -> list[PoolRow]:
    """On-duty, active officers of the office in the roles, under their caps and qualified for every one of the chapters.

    Run on the connection, not through the ORM (a third of the time for 500 rows): it reads
    loads, which this area always writes on the connection at once.
    """
    params = {"office": office, "roles": [r.value for r in roles], "mask": mask_pattern(chapters)}
    rows = session.connection().execute(_POOL, params).all()
    return [PoolRow(*row) for row in rows]


def _office_lock_of(office: ColumnElement[str]) -> ColumnElement[Any]:
    key = func.hashtext(func.current_schema() + literal(":") + office)
    return func.pg_advisory_xact_lock(literal(DISPATCH_LOCK_CLASS, Integer), key)


_LOCK = select(_office_lock_of(bindparam("office")))


_SEED_AND_DRAWS = select(
    select(DispatchSeed.seed).where(DispatchSeed.office == bindparam("office")).scalar_subquery(),
    select(func.count(Assignment.id)).where(Assignment.task_ref == bindparam("task_ref")).scalar_subquery(),
)


_SEED_DRAWS_AND_LOCK = _SEED_AND_DRAWS.add_columns(_office_lock_of(bindparam("office")))


def lock_office(session: Session, *, office: str, task_ref: str) -> tuple[int | None, int]:
    """Let one draw at a time work at the office until this transaction ends; the office's seed and the task's draws.

    PostgreSQL: a transaction-scoped advisory lock, taken in the statement that reads the seed (None
    before the office's first draw) and how many assignment rows the task has ever had, which do
    not depend on it. SQLite: a writing transaction already holds the one write lock.
    """
    stmt = _SEED_DRAWS_AND_LOCK if session.get_bind().dialect.name == "postgresql" else _SEED_AND_DRAWS
    seed, n, *_ = session.connection().execute(stmt, {"office": office, "task_ref": task_ref}).one()
    return (None if seed is None else int(seed)), int(n or 0)


def _load_upsert(insert_of: Any) -> Any:
    ins = insert_of(OfficerLoad)
    set_ = {"open_tasks": OfficerLoad.open_tasks + ins.excluded.open_tasks}
    return ins.on_conflict_do_update(index_elements=[OfficerLoad.user_id], set_=set_)


# Built once (a draw and a release each run one): add to an officer's load, making its row at their first task.
_ADD_LOAD = {"postgresql": _load_upsert(postgresql.insert), "sqlite": _load_upsert(sqlite.insert)}
_ADD_ASSIGNMENTS = insert(Assignment)


def _add_loads(session: Session, deltas: Counter[int]) -> None:
    """Add to officers' loads, lowest id first."""
    rows = [{"user_id": user_id, "open_tasks": n} for user_id, n in sorted(deltas.items()) if n]
    if rows:
        session.connection().execute(_ADD_LOAD[session.get_bind().dialect.name], rows)


def add_assignments(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert assignment rows (user_id, task_ref, office, assigned_at) and count them into their officers' loads.

    Called by a draw, which holds the office's lock (`lock_office`).
    """
    session.connection().execute(_ADD_ASSIGNMENTS, rows)
    _add_loads(session, Counter(int(str(r["user_id"])) for r in rows))


def open_assignments(session: Session, *, task_ref: str) -> list[Assignment]:
    """The task's open assignments, oldest first."""
    stmt = select(Assignment).where(Assignment.task_ref == task_ref, Assignment.released_at.is_(None)).order_by(Assignment.id)
    return list(session.scalars(stmt))


def open_assignments_of(session: Session, *, task_refs: Collection[str]) -> list[Assignment]:
    """The open assignments of several tasks, oldest first."""
    if not task_refs:
        return []
    stmt = select(Assignment).where(Assignment.task_ref.in_(list(task_refs)), Assignment.released_at.is_(None))
    return sorted(session.scalars(stmt), key=lambda a: a.id)  # sorted here: ORDER BY id would lead SQLite to scan by id


def names_of(session: Session, user_ids: Collection[int]) -> dict[int, str]:
    """User names by id."""
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(list(user_ids)))).all())


def close(session: Session, assignments: Collection[Assignment], *, at: datetime) -> None:
    """Mark assignments released (only those still open) and take them off their officers' loads.

    Takes the lock of each office concerned first (PostgreSQL), as a draw does before it adds to
    loads, so that a release and a draw in one transaction and the reverse in another never wait
    on each other's rows.
    """
    if not assignments:
        return
    ids = sorted(a.id for a in assignments)
    if session.get_bind().dialect.name == "postgresql":
        for office in sorted({a.office for a in assignments}):
            session.connection().execute(_LOCK, {"office": office})
    closed = session.execute(
        update(Assignment)
        .where(Assignment.id.in_(ids), Assignment.released_at.is_(None))
        .values(released_at=at)
        .returning(Assignment.user_id),
        execution_options={"synchronize_session": False},
    ).scalars()
    _add_loads(session, Counter({user_id: -n for user_id, n in Counter(closed).items()}))


def seed_of(session: Session, office: str) -> int | None:
    """The office's dispatch seed."""
    return session.scalar(select(DispatchSeed.seed).where(DispatchSeed.office == office))


def insert_seed(session: Session, *, office: str, seed: int, now: datetime) -> bool:
    """Store the office's first dispatch seed unless another transaction just did; True if this one did."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DispatchSeed)
    stmt = ins.values(office=office, seed=seed, created_at=now).on_conflict_do_nothing(index_elements=[DispatchSeed.office])
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
