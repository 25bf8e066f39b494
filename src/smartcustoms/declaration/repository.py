"""Every query of the declaration area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Connection, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from smartcustoms.declaration.models import (
    Declaration,
    DeclarationEvent,
    DeclarationVersion,
    Document,
    NumberCounter,
    RejectedSubmission,
    Status,
)


class Lodged(NamedTuple):
    """What a retry of a lodging needs to know about the declaration first lodged under its reference."""

    number: str
    submitted_sha256: str
    receipt: dict[str, Any]


# Built once and run on the connection (no ORM objects): every lodging asks it, and nearly always
# the answer is that the reference is new. On the connection it neither flushes the session nor
# writes its queued rows first: it reads what earlier transactions committed, which is what an
# idempotency check is about (it runs first in a lodging's transaction).
_BY_REFERENCE = select(Declaration.number, Declaration.submitted_sha256, Declaration.receipt).where(
    Declaration.submitter_enterprise_id == bindparam("enterprise_id"),
    Declaration.client_reference == bindparam("client_reference"),
)


def by_reference(session: Session, *, enterprise_id: int, client_reference: str) -> Lodged | None:
    """The declaration an enterprise lodged under a client reference."""
    row = session.connection().execute(_BY_REFERENCE, {"enterprise_id": enterprise_id, "client_reference": client_reference}).first()
    return Lodged(*row) if row is not None else None


def by_number(session: Session, *, number: str) -> Declaration | None:
    """The declaration with this number."""
    return session.scalar(select(Declaration).where(Declaration.number == number))


def _reserve_stmt(dialect: Any) -> Any:
    ins = dialect.insert(NumberCounter).values(
        office=bindparam("office"), year=bindparam("year"), flag=bindparam("flag"), last=bindparam("size", type_=BigInteger)
    )
    return ins.on_conflict_do_update(
        index_elements=[NumberCounter.office, NumberCounter.year, NumberCounter.flag],
        set_={"last": NumberCounter.last + ins.excluded.last},
    ).returning(NumberCounter.last)


# One upsert (a new counter starts at `size`), built once: this runs in every lodging.
_RESERVE = {"postgresql": _reserve_stmt(postgresql), "sqlite": _reserve_stmt(sqlite)}


def reserve_numbers(db: Session | Connection, *, office: str, year: int, flag: str, size: int) -> int:
    """Advance the counter of an office, year and direction by `size`; returns the last number reserved.

    The counter's row stays locked until the transaction ends.
    """
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    return int(db.execute(_RESERVE[dialect], {"office": office, "year": year, "flag": flag, "size": size}).scalar_one())


def next_sequence(session: Session, *, office: str, year: int, flag: str) -> int:
    """Take the next sequence number for an office, year and direction (row-locked until commit)."""
    return reserve_numbers(session, office=office, year=year, flag=flag, size=1)


def scoped(stmt: Select[Any], *, enterprise_id: int | None, office: str | None) -> Select[Any]:
    """Restrict a query to what an enterprise (the declarant or the importer/exporter it owns) or an office may see."""
    if enterprise_id is not None:
        stmt = stmt.where(or_(Declaration.submitter_enterprise_id == enterprise_id, Declaration.trader_enterprise_id == enterprise_id))
    if office is not None:
        stmt = stmt.where(Declaration.office == office)
    return stmt


def page(
    session: Session,
    *,
    enterprise_id: int | None,
    office: str | None,
    status: Status | None,
    kind: str | None,
    lodged_from: datetime | None,
    lodged_to: datetime | None,
    limit: int,
    offset: int,
    only: Any = None,
) -> tuple[Sequence[Declaration], int]:
    """A page of declarations, newest first, and the total matching; `only`: a select of the declaration ids allowed."""
    stmt = scoped(select(Declaration), enterprise_id=enterprise_id, office=office)
    if only is not None:
        stmt = stmt.where(Declaration.id.in_(only))
    if status is not None:
        stmt = stmt.where(Declaration.status == status)
    if kind is not None:
        stmt = stmt.where(Declaration.kind == kind)
    if lodged_from is not None:
        stmt = stmt.where(Declaration.lodged_at >= lodged_from)
    if lodged_to is not None:
        stmt = stmt.where(Declaration.lodged_at < lodged_to)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Declaration.lodged_at.desc(), Declaration.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


def events(session: Session, *, declaration_id: int) -> Sequence[DeclarationEvent]:
    """A declaration's events, oldest first."""
    return session.scalars(
        select(DeclarationEvent).where(DeclarationEvent.declaration_id == declaration_id).order_by(DeclarationEvent.id)
    ).all()


def versions(session: Session, *, declaration_id: int) -> Sequence[DeclarationVersion]:
    """A declaration's versions, oldest first."""
    return session.scalars(
        select(DeclarationVersion).where(DeclarationVersion.declaration_id == declaration_id).order_by(DeclarationVersion.version)
    ).all()


def version(session: Session, *, declaration_id: int, number: int) -> DeclarationVersion | None:
    """One version of a declaration."""
    return session.scalar(
        select(DeclarationVersion).where(DeclarationVersion.declaration_id == declaration_id, DeclarationVersion.version == number)
    )


def documents(session: Session, *, declaration_id: int) -> Sequence[Document]:
    """A declaration's documents, in upload order."""
    return session.scalars(select(Document).where(Document.declaration_id == declaration_id).order_by(Document.id)).all()


def status_counts(session: Session) -> dict[str, int]:
    """How many declarations are in each status."""
    return {str(s): n for s, n in session.execute(select(Declaration.status, func.count()).group_by(Declaration.status))}


def rejected_codes(session: Session, *, since: datetime) -> Sequence[list[Any]]:
    """The rule codes of each submission refused since a time."""
    return session.scalars(select(RejectedSubmission.codes).where(RejectedSubmission.at >= since)).all()
