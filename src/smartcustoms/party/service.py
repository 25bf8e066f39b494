"""Registering and finding enterprises."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.party.models import CreditRating, Enterprise
from smartcustoms.party.schemas import EnterpriseCreate


def uscc_problem(value: str, pointer: str) -> Problem | None:
    """A problem if the value is not a valid USCC (format and check character)."""
    if not isinstance(value, str) or len(value) != 18:
        return Problem("PTY-USCC-001", pointer, "A USCC has exactly 18 characters.")
    try:
        stdnum_uscc.validate(value)
    except stdnum_uscc.InvalidChecksum:
        return Problem("PTY-USCC-002", pointer, f"The USCC {value} has a wrong check character.")
    except Exception:
        return Problem("PTY-USCC-001", pointer, f"{value} is not a valid USCC.")
    return None


def add(session: Session, *, data: EnterpriseCreate, actor: Actor, now: datetime) -> Enterprise:
    """Register an enterprise; the USCC must be valid and not yet registered."""
    uscc = data.uscc.strip().upper()
    problem = uscc_problem(uscc, "/uscc")
    if problem:
        raise ValidationFailed("The enterprise cannot be registered.", [problem])
    if find_by_uscc(session, uscc=uscc) is not None:
        raise Conflict(f"An enterprise with USCC {uscc} is already registered.", code="enterprise_exists")
    ent = Enterprise(
        uscc=uscc,
        name=data.name,
        address=data.address,
        region=data.region,
        credit=data.credit,
        out_of_town=data.out_of_town,
        created_at=now,
    )
    session.add(ent)
    session.flush()
    record(
        session,
        actor=actor,
        action="enterprise.added",
        subject_type="enterprise",
        subject_id=uscc,
        now=now,
        after=data.model_dump(mode="json"),
    )
    return ent


def set_credit(session: Session, *, uscc: str, credit: CreditRating, reason: str, actor: Actor, now: datetime) -> Enterprise:
    """Change an enterprise's credit rating, with a reason."""
    ent = find_by_uscc(session, uscc=uscc)
    if ent is None:
        raise NotFound(f"No enterprise with USCC {uscc}.")
    before = ent.credit.value
    ent.credit = credit
    record(
        session,
        actor=actor,
        action="enterprise.credit_changed",
        subject_type="enterprise",
        subject_id=uscc,
        now=now,
        before={"credit": before},
        after={"credit": credit.value},
        reason=reason,
    )
    return ent


def find_by_uscc(session: Session, *, uscc: str) -> Enterprise | None:
    """The enterprise with this USCC, if registered."""
    return session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))


def get(session: Session, *, enterprise_id: int) -> Enterprise | None:
    """The enterprise with this id."""
    return session.get(Enterprise, enterprise_id)


def list_all(session: Session, *, limit: int = 100, offset: int = 0) -> Sequence[Enterprise]:
    """Registered enterprises by USCC."""
    return session.scalars(select(Enterprise).order_by(Enterprise.uscc).limit(limit).offset(offset)).all()
