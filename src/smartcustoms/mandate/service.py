"""Mandate use cases: grant, list, read, revoke, and the check a lodging for another enterprise needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.roles import rule
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.mandate import domain, repository
from smartcustoms.mandate.models import Mandate
from smartcustoms.mandate.repository import Listed
from smartcustoms.mandate.schemas import MandateRead
from smartcustoms.party import service as party_service
from smartcustoms.reference.models import CustomsOffice


class MandateRevoked(Conflict):
    """The mandate was already revoked; nothing changed."""

    default_code = "mandate_revoked"


def grant(
    session: Session,
    *,
    importer_uscc: str,
    broker_uscc: str,
    valid_from: date,
    valid_to: date | None,
    procedures: Sequence[str] | None,
    offices: Sequence[str] | None,
    actor: Actor,
    now: datetime,
) -> Listed:
    """An importer authorises a broker to lodge its declarations; every problem at once, journaled."""
    problems: list[Problem] = []
    importer = party_service.find_by_uscc(session, uscc=importer_uscc)
    if importer is None:
        problems.append(Problem("MND-GRT-005", "/importer", f"No enterprise with USCC {importer_uscc} is registered."))
    broker = None
    malformed = party_service.uscc_problem(broker_uscc, "/broker")
    if malformed is not None:
        problems.append(malformed)
    else:
        broker = party_service.find_by_uscc(session, uscc=broker_uscc)
        if broker is None:
            problems.append(Problem("MND-GRT-001", "/broker", f"No enterprise with USCC {broker_uscc} is registered."))
        elif importer is not None and broker.id == importer.id:
            problems.append(Problem("MND-GRT-002", "/broker", "An enterprise lodges for itself without a mandate; name another broker."))
    if valid_to is not None and valid_to <= valid_from:
        problems.append(Problem("MND-GRT-003", "/valid_to", "valid_to (the first day it no longer applies) must be after valid_from."))
    if offices:
        known = set(
            session.scalars(select(CustomsOffice.code).where(CustomsOffice.code.in_(set(offices)), CustomsOffice.valid_to.is_(None)))
        )
        for i, code in enumerate(offices):
            if code not in known:
                shown = code if code.isprintable() else repr(code)
                problems.append(Problem("MND-GRT-004", f"/offices/{i}", f"{shown} is not a customs office in the reference list."))
    if problems or importer is None or broker is None:
        raise ValidationFailed("The mandate cannot be granted.", problems)
    mandate = Mandate(
        importer_enterprise_id=importer.id,
        broker_enterprise_id=broker.id,
        valid_from=valid_from,
        valid_to=valid_to,
        procedures=sorted(set(procedures)) if procedures else None,
        offices=sorted(set(offices)) if offices else None,
        granted_by=actor.name,
        granted_at=now,
    )
    session.add(mandate)
    session.flush()
    record(
        session,
        actor=actor,
        action="mandate.granted",
        subject_type="mandate",
        subject_id=str(mandate.id),
        now=now,
        after={
            "importer": importer.uscc,
            "broker": broker.uscc,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "procedures": mandate.procedures,
            "offices": mandate.offices,
        },
    )
    return Listed(mandate, importer.uscc, broker.uscc)


def grant_as(
    session: Session,
    *,
    principal: Principal,
    broker_uscc: str,
    valid_from: date,
    valid_to: date | None,
    procedures: Sequence[str] | None,
    offices: Sequence[str] | None,
    now: datetime,
) -> Listed:
    """The caller's enterprise (the importer) grants a broker a mandate; 403 for other roles."""
    if not rule(principal.role).grants_mandates or principal.enterprise_uscc is None:
        raise Forbidden("Only an importer's enterprise users grant mandates.")
    return grant(
        session,
        importer_uscc=principal.enterprise_uscc,
        broker_uscc=broker_uscc,
        valid_from=valid_from,
        valid_to=valid_to,
        procedures=procedures,
        offices=offices,
        actor=principal.actor(),
        now=now,
    )


def _list_scope(principal: Principal) -> int | None:
    """The enterprise whose mandates the caller may list (None: every one); 403 for roles that see none."""
    if principal.role is Role.enterprise:
        return principal.enterprise_id if principal.enterprise_id is not None else 0
    if rule(principal.role).lists_all_mandates:
        return None
    raise Forbidden(f"Mandates are not open to the {principal.role.value} role.")


def listed(session: Session, *, principal: Principal, limit: int = 100, offset: int = 0) -> list[Listed]:
    """Mandates the caller's enterprise granted or received; admins see every one."""
    return repository.page(session, enterprise_id=_list_scope(principal), limit=limit, offset=offset)


def list_all(session: Session, *, uscc: str | None, limit: int = 1000, offset: int = 0) -> list[Listed]:
    """Mandates granted or received by an enterprise, or every one (the operator's view)."""
    enterprise_id = None
    if uscc is not None:
        ent = party_service.find_by_uscc(session, uscc=uscc)
        if ent is None:
            raise NotFound(f"No enterprise with USCC {uscc}.")
        enterprise_id = ent.id
    return repository.page(session, enterprise_id=enterprise_id, limit=limit, offset=offset)


def get_for(session: Session, *, mandate_id: int, principal: Principal) -> Listed:
    """One mandate, for its two parties and admins; 404 for any other enterprise, as if it did not exist."""
    scope = _list_scope(principal)
    found = repository.by_id(session, mandate_id=mandate_id)
    if found is None or (scope is not None and scope not in (found.mandate.importer_enterprise_id, found.mandate.broker_enterprise_id)):
        raise NotFound(f"No mandate {mandate_id}.")
    return found


def revoke(session: Session, *, mandate_id: int, reason: str | None, principal: Principal | None, actor: Actor, now: datetime) -> Listed:
    """Revoke a mandate (the importer's users; the operator when `principal` is None); journaled, kept on record."""
    if principal is None:
        found = repository.by_id(session, mandate_id=mandate_id)
        if found is None:
            raise NotFound(f"No mandate {mandate_id}.")
    else:
        if principal.role is not Role.enterprise:
            raise Forbidden("Only the importer that granted a mandate revokes it.")
        found = get_for(session, mandate_id=mandate_id, principal=principal)
        if found.mandate.importer_enterprise_id != principal.enterprise_id:
            raise Forbidden("Only the importer that granted a mandate revokes it.")
    m = found.mandate
    if m.revoked_at is not None:
        raise MandateRevoked(f"Mandate {mandate_id} was already revoked.")
    m.revoked_at, m.revoked_by, m.revocation_reason = now, actor.name, reason
    record(
        session,
        actor=actor,
        action="mandate.revoked",
        subject_type="mandate",
        subject_id=str(m.id),
        now=now,
        before={"revoked": False},
        after={"revoked": True, "importer": found.importer, "broker": found.broker},
        reason=reason,
    )
    return found


def lodging_problem(
    session: Session, *, lodger_id: int, trader_uscc: str, pointer: str, on: date, procedure: str, office: str
) -> tuple[int | None, Problem | None]:
    """For a lodging in another enterprise's name: that enterprise's id, and a problem unless it granted
    the lodging enterprise a mandate in force on the day that covers the procedure and the office."""
    trader_id, terms = repository.granted(session, importer_uscc=trader_uscc, broker_id=lodger_id)
    if trader_id is None:
        return None, Problem(
            "DEC-MND-001", pointer, f"{trader_uscc} is not a registered enterprise; declarations are lodged only for registered ones."
        )
    for m in terms:
        if domain.covers(
            valid_from=m.valid_from,
            valid_to=m.valid_to,
            revoked=False,
            procedures=m.procedures,
            offices=m.offices,
            on=on,
            procedure=procedure,
            office=office,
        ):
            return trader_id, None
    return trader_id, Problem(
        "DEC-MND-002",
        pointer,
        f"Your enterprise holds no mandate from {trader_uscc} in force on {on.isoformat()} for the {procedure} procedure at office "
        f"{office}; the importer grants one (POST /api/v1/mandates).",
    )


def read(found: Listed, *, today: date) -> MandateRead:
    """A mandate as the API shows it, with its status on the day."""
    m = found.mandate
    return MandateRead(
        id=m.id,
        importer=found.importer,
        broker=found.broker,
        valid_from=m.valid_from,
        valid_to=m.valid_to,
        procedures=m.procedures,
        offices=m.offices,
        status=domain.status(valid_from=m.valid_from, valid_to=m.valid_to, revoked=m.revoked_at is not None, on=today),
        granted_by=m.granted_by,
        granted_at=m.granted_at,
        revoked_by=m.revoked_by,
        revoked_at=m.revoked_at,
        revocation_reason=m.revocation_reason,
    )
