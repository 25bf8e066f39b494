"""Every query of the mandate area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from smartcustoms.mandate.models import Mandate
from smartcustoms.party.models import Enterprise

_IMPORTER = aliased(Enterprise, name="importer")
_BROKER = aliased(Enterprise, name="broker")
_WITH_PARTIES = (
    select(Mandate, _IMPORTER.uscc, _BROKER.uscc)
    .join(_IMPORTER, _IMPORTER.id == Mandate.importer_enterprise_id)
    .join(_BROKER, _BROKER.id == Mandate.broker_enterprise_id)
)


class Listed(NamedTuple):
    """A mandate and its parties' USCCs."""

    mandate: Mandate
    importer: str
    broker: str


def by_id(session: Session, *, mandate_id: int) -> Listed | None:
    """One mandate with its parties."""
    row = session.execute(_WITH_PARTIES.where(Mandate.id == mandate_id)).first()
    return Listed(*row) if row is not None else None


class Terms(NamedTuple):
    """What a mandate allows: its period and, if it restricts them, the procedures and offices."""

    valid_from: date
    valid_to: date | None
    procedures: list[Any] | None
    offices: list[Any] | None


# One statement, built once (a broker's every lodging asks it): the importer's id, with one row per
# unrevoked mandate it granted the broker (a row of NULLs when there is none; no row: not registered).
_GRANTED = (
    select(Enterprise.id, Mandate.id, Mandate.valid_from, Mandate.valid_to, Mandate.procedures, Mandate.offices)
    .outerjoin(
        Mandate,
        and_(
            Mandate.importer_enterprise_id == Enterprise.id,
            Mandate.broker_enterprise_id == bindparam("broker_id"),
            Mandate.revoked_at.is_(None),
        ),
    )
    .where(Enterprise.uscc == bindparam("importer_uscc"))
)


def granted(session: Session, *, importer_uscc: str, broker_id: int) -> tuple[int | None, Sequence[Terms]]:
    """The importer's enterprise id (None if not registered) and the unrevoked mandates it granted the broker."""
    rows = session.execute(_GRANTED, {"importer_uscc": importer_uscc, "broker_id": broker_id}).all()
    if not rows:
        return None, []
    return rows[0][0], [Terms(*r[2:]) for r in rows if r[1] is not None]


def page(session: Session, *, enterprise_id: int | None, limit: int, offset: int) -> list[Listed]:
    """Mandates granted or received by an enterprise (every one when None), newest first."""
    stmt = _WITH_PARTIES
    if enterprise_id is not None:
        stmt = stmt.where(or_(Mandate.importer_enterprise_id == enterprise_id, Mandate.broker_enterprise_id == enterprise_id))
    return [Listed(*r) for r in session.execute(stmt.order_by(Mandate.id.desc()).limit(limit).offset(offset))]
