"""Gate use cases: check a truck (pass records the gate-out, once), officers' holds, the terminals' release feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from smartcustoms.adapters.bus import Bus
from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import ApiToken, User
from smartcustoms.auth.roles import GATE_CHECKERS, GATE_HOLDERS, rule
from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.gate import domain
from smartcustoms.gate.domain import Ask, Line, Outcome
from smartcustoms.gate.models import GateCheck, GateExit, GateFeedEntry, GateHold
from smartcustoms.kit.db import append, insert_rows
from smartcustoms.release import service as release_service
from smartcustoms.release.models import ReleaseContainer
from smartcustoms.task import service as task_service

_CHECKS = cast(Table, GateCheck.__table__)
_EXITS = cast(Table, GateExit.__table__)
_LINES = cast(Table, ReleaseContainer.__table__)
_HOLDS = cast(Table, GateHold.__table__)
_FEED = cast(Table, GateFeedEntry.__table__)
LINES_READ = 20  # a container is reused voyage after voyage: the newest releases are enough
FEED_LIMIT = 500


def require_gate(principal: Principal) -> str:
    """The gate user's office; 403 for every other role."""
    if principal.role not in GATE_CHECKERS or not principal.office:
        raise Forbidden("Gate checks and the release feed are for gate users.")
    return principal.office


def ask_of(body: dict[str, Any]) -> Ask:
    """The gate request from a JSON body; 422 with every problem (nothing to check by, a bad container number ...)."""
    unknown = sorted(set(body) - {"container", "plate", "release", "seal"})
    ask, problems = domain.normalise(body.get("container"), body.get("plate"), body.get("release"), body.get("seal"))
    problems = [Problem("REQ-002", f"/{k}", f"{k} is not a field of a gate check.") for k in unknown] + problems
    if problems:
        raise ValidationFailed("The gate check cannot be made; nothing was recorded.", problems)
    return ask


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def lines(session: Session, ask: Ask, *, office: str = "") -> list[Line]:
    """The release lines the truck may be asking about, newest release first, each with whether it has left (one indexed read)."""
    return _read(session, ask, office=office)[0]


def _statement(by: str) -> Select[Any]:
    """The decision's one read, by `release_number`, `container` or `plate`: built once, with bound values."""
    rc, h, ge = _LINES.c, _HOLDS.c, _EXITS.c
    held = (
        select(func.count(h.id))
        .where(h.container == rc.container, h.lifted_at.is_(None), or_(h.office.is_(None), h.office == bindparam("office")))
        .scalar_subquery()
    )
    return (
        select(rc.id, rc.release_number, rc.declaration_number, rc.office, rc.released_at, rc.container, rc.plate, rc.seals, ge.id, held)
        .select_from(_LINES.outerjoin(_EXITS, ge.release_container_id == rc.id))
        .where(rc[by] == bindparam("value"))
        .order_by(rc.release_id.desc(), rc.id)
        .limit(LINES_READ)
    )


_READS = {by: _statement(by) for by in ("release_number", "container", "plate")}


def _read(session: Session, ask: Ask, *, office: str) -> tuple[list[Line], bool]:
    """The release lines, and whether an officer holds any of their containers at this office's gate: one statement.

    A Core statement built once and run on the session's connection: building and compiling an
    ORM select for each check cost more than the indexed read itself (docs/benchmarks.md).
    """
    by, value = ("release_number", ask.release) if ask.release else ("container", ask.container) if ask.container else ("plate", ask.plate)
    rows = session.connection().execute(_READS[by], {"value": value, "office": office}).all()
    found = [
        Line(
            line_id=r[0],
            release=r[1],
            declaration=r[2],
            office=r[3],
            released_at=_iso(r[4]),
            container=r[5],
            plate=r[6],
            seals=tuple(r[7] or ()),
            gated_out=r[8] is not None,
        )
        for r in rows
    ]
    return found, any(r[9] for r in rows)


def active_holds(session: Session, *, container: str | None, office: str) -> list[str]:
    """The reasons of the holds officers put on the container, at this office's gate or at every gate."""
    if container is None:
        return []
    h = GateHold
    return list(
        session.scalars(
            select(h.reason)
            .where(h.container == container, h.lifted_at.is_(None), or_(h.office.is_(None), h.office == office))
            .order_by(h.id)
        )
    )


def inspected_seals(session: Session, *, declaration: str, container: str | None) -> tuple[str, ...]:
    """The seals inspectors found (and recorded) on the container, e.g. the customs seal put on after an inspection."""
    decl_id = session.scalar(select(Declaration.id).where(Declaration.number == declaration))
    if decl_id is None or container is None:
        return ()
    found = []
    for task in task_service.tasks_of(session, declaration_id=decl_id):
        for step in task.steps or []:
            result = step.get("result") if isinstance(step, dict) else None
            if step.get("kind") == "seal" and step.get("container") == container and isinstance(result, dict) and result.get("found"):
                found.append(str(result["found"]))
    return tuple(found)


def evaluate(session: Session, ask: Ask, *, office: str) -> Outcome:
    """The decision from the database, changing nothing."""
    found, held = _read(session, ask, office=office)
    line, _ = domain.choose(ask, found)
    box = ask.container or (line.container if line else None)
    # The holds' reasons are read only when there is one (the read above counts them), or when no release names the container.
    holds = active_holds(session, container=box, office=office) if held or not found else []
    outcome = domain.decide(ask, found, holds=holds)
    if line is not None and any(r.code == domain.SEAL_DIFFERS for r in outcome.reasons):
        seen = inspected_seals(session, declaration=line.declaration, container=line.container)
        if seen:
            found = [ln if ln.line_id != line.line_id else _with_inspected(ln, seen) for ln in found]
            outcome = domain.decide(ask, found, holds=active_holds(session, container=ask.container or line.container, office=office))
    return outcome


def _with_inspected(line: Line, seals: tuple[str, ...]) -> Line:
    return replace(line, inspected_seals=seals)


def _gate_out(session: Session, line: Line, *, ask: Ask, office: str, who: str, now: datetime, offline: bool) -> bool:
    """Record that the line's container left; False when it already had (a concurrent check passed it first).

    One statement, `INSERT ... ON CONFLICT (release_container_id) DO NOTHING`: on PostgreSQL a
    racing second insert waits for the first transaction and then inserts nothing; SQLite's
    writers take turns.
    """
    dialect = session.get_bind().dialect.name
    stmt = _EXIT_INSERTS.get(dialect)
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = _EXIT_INSERTS[dialect] = (
            insert(_EXITS)
            .values({name: bindparam(name) for name in _EXIT_COLUMNS})
            .on_conflict_do_nothing(index_elements=["release_container_id"])
            .returning(_EXITS.c.id)
        )
    values = {
        "release_container_id": line.line_id,
        "release_number": line.release,
        "container": line.container,
        "plate": ask.plate or line.plate,
        "office": office,
        "gated_by": who,
        "gated_at": now,
        "offline": offline,
    }
    return session.connection().execute(stmt, values).scalar_one_or_none() is not None


_EXIT_COLUMNS = ("release_container_id", "release_number", "container", "plate", "office", "gated_by", "gated_at", "offline")
_EXIT_INSERTS: dict[str, Any] = {}


def check(
    session: Session, *, ask: Ask, principal: Principal, now: datetime, ref: str | None = None, offline_outcome: Outcome | None = None
) -> Outcome:
    """Decide whether the truck may leave; a pass records the gate-out (a container leaves once, whatever races); every check is journaled.

    `offline_outcome` is a decision the gate took offline and now reconciles (`ref` names it): a
    pass is recorded as a gate-out unless the container left meanwhile, which is reported as a
    conflict.
    """
    office = require_gate(principal)
    outcome = offline_outcome or evaluate(session, ask, office=office)
    conflict = False
    line = outcome.line if outcome.passed else None
    if line is not None and not _gate_out(session, line, ask=ask, office=office, who=principal.name, now=now, offline=ref is not None):
        left = domain.Reason(domain.GATED_OUT, f"{line.container or line.plate} has already left.")
        conflict = offline_outcome is not None
        outcome = Outcome(passed=False, reasons=(left,), line=line, extra={"conflict": conflict} if conflict else {})
    journal(session, ask=ask, outcome=outcome, principal=principal, now=now, ref=ref, conflict=conflict)
    return outcome


def journal(
    session: Session, *, ask: Ask, outcome: Outcome, principal: Principal, now: datetime, ref: str | None = None, conflict: bool = False
) -> None:
    """Write the check to the gate's register and the journal (an offline one once, by its ref)."""
    reasons = [r.as_dict() for r in outcome.reasons]
    number = outcome.line.release if outcome.line else ask.release
    append(
        session,
        _CHECKS,
        {
            "ref": ref,
            "office": principal.office or "",
            "checked_by": principal.name,
            "checked_at": now,
            "container": ask.container,
            "plate": ask.plate,
            "release_number": number,
            "seal": ask.seal,
            "decision": outcome.decision,
            "reasons": reasons,
            "offline": ref is not None,
        },
    )
    subject = ask.container or (outcome.line.container if outcome.line else None) or ask.plate or ask.release or "-"
    after: dict[str, Any] = {"decision": outcome.decision, "reasons": reasons, "release": number, "plate": ask.plate, "seal": ask.seal}
    if ref is not None:
        after |= {"offline": True, "ref": ref}
    action = "gate.conflict" if conflict else ("gate.passed" if outcome.passed else "gate.held")
    record(session, actor=principal.actor(), action=action, subject_type="container", subject_id=subject, now=now, after=after)


def reconciled(session: Session, *, refs: Sequence[str]) -> set[str]:
    """Which offline checks are already in the register."""
    if not refs:
        return set()
    return set(session.scalars(select(GateCheck.ref).where(GateCheck.ref.in_(list(refs)))))


# Officers' holds


def _holder(principal: Principal) -> None:
    if principal.role not in GATE_HOLDERS:
        raise Forbidden("Only officers, supervisors and admins hold containers at the gate.")


def hold(session: Session, *, container: Any, reason: Any, office: Any, principal: Principal, now: datetime) -> GateHold:
    """Hold a container at the gate (an office-bound officer: at their office's gate; national roles: one office's or every gate)."""
    _holder(principal)
    ask, problems = domain.normalise(container, None, None, None)
    problems = [p for p in problems if p.code != "GATE-REQ-001"]
    if ask.container is None and not problems:
        problems.append(Problem("GATE-REQ-004", "/container", "Name the container to hold."))
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        problems.append(Problem("GATE-REQ-005", "/reason", "Say why the container is held (up to 500 characters)."))
    at = principal.office if rule(principal.role).office_bound else office
    if at is not None and (not isinstance(at, str) or not at.isdigit() or len(at) > 8):
        problems.append(Problem("GATE-REQ-006", "/office", "office must be a customs office code, e.g. 2248."))
    if problems:
        raise ValidationFailed("The hold was not made; nothing was changed.", problems)
    found = GateHold(container=ask.container, office=at, reason=str(reason).strip(), held_by=principal.name, held_at=now)
    session.add(found)
    session.flush()
    _journal_hold(session, found, "gate.hold_placed", principal, now, after={"hold": found.id, "office": at, "reason": found.reason})
    return found


def _journal_hold(session: Session, found: GateHold, action: str, principal: Principal, now: datetime, **change: Any) -> None:
    record(session, actor=principal.actor(), action=action, subject_type="container", subject_id=found.container, now=now, **change)


def lift(session: Session, *, hold_id: int, principal: Principal, now: datetime) -> GateHold:
    """Lift a hold (an office-bound officer: only their office's); 404 for a hold the caller may not see or already lifted."""
    _holder(principal)
    found = session.get(GateHold, hold_id, with_for_update=True)
    mine = found is not None and (not rule(principal.role).office_bound or found.office == principal.office)
    if found is None or not mine or found.lifted_at is not None:
        raise NotFound(f"No hold {hold_id} in force.", code="gate_hold_not_found")
    found.lifted_by, found.lifted_at = principal.name, now
    _journal_hold(
        session, found, "gate.hold_lifted", principal, now, before={"hold": found.id, "reason": found.reason}, after={"lifted": True}
    )
    return found


def holds(session: Session, *, principal: Principal) -> Sequence[GateHold]:
    """The holds in force the caller may see (office-bound roles: their office's and every gate's)."""
    _holder(principal)
    h = GateHold
    stmt = select(h).where(h.lifted_at.is_(None)).order_by(h.id)
    if rule(principal.role).office_bound:
        stmt = stmt.where(or_(h.office.is_(None), h.office == principal.office))
    return session.scalars(stmt).all()


# The terminals' release feed


def fan_out(session: Session, messages: Sequence[tuple[int, str, dict[str, Any], datetime]], *, bus: Bus) -> int:
    """The relay's part for terminals: each release message goes to its office's feed and bus subject; returns how many."""
    rows = []
    for msg_id, topic, payload, created_at in messages:
        if topic != release_service.TOPIC or payload.get("event") != "release.issued":
            continue
        office = str(payload.get("office", ""))
        bus.publish(f"smartcustoms.gate.{office}", payload, msg_id=f"gate-{msg_id}")
        rows.append({"office": office, "outbox_id": msg_id, "number": str(payload.get("number", "")), "payload": payload, "at": created_at})
    if rows:
        insert_rows(session, _FEED, rows)
    return len(rows)


def feed(session: Session, *, office: str, after: int, limit: int) -> tuple[Sequence[GateFeedEntry], int]:
    """An office's release messages after a cursor, in order, and the cursor to resume from."""
    fe = GateFeedEntry
    rows = session.scalars(select(fe).where(fe.office == office, fe.id > after).order_by(fe.id).limit(min(limit, FEED_LIMIT))).all()
    return rows, rows[-1].id if rows else after


def feed_for(session: Session, *, principal: Principal, after: int, limit: int) -> tuple[Sequence[GateFeedEntry], int]:
    """The gate user's office's release feed."""
    return feed(session, office=require_gate(principal), after=after, limit=limit)


def exits_after(session: Session, *, after: int, limit: int = 5000) -> list[tuple[int, int, str | None, str]]:
    """Gate-outs after an id (id, release line, container, release number), for the gates' local copies."""
    ge = GateExit
    stmt = select(ge.id, ge.release_container_id, ge.container, ge.release_number).where(ge.id > after).order_by(ge.id).limit(limit)
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(stmt)]


def holds_in_force(session: Session) -> list[tuple[str, str | None, str]]:
    """Every hold in force (container, office, reason), for the gates' local copies."""
    h = GateHold
    return [(r[0], r[1], r[2]) for r in session.execute(select(h.container, h.office, h.reason).where(and_(h.lifted_at.is_(None))))]


def system_actor() -> Actor:
    """The gate's own synchronisation, as the journal records it."""
    return Actor.system("gate-sync")


def feed_all(session: Session, *, after: int, limit: int = 5000) -> tuple[list[dict[str, Any]], int]:
    """Every office's release messages after a cursor (for the gates' local copies) and the cursor to resume from."""
    fe = GateFeedEntry
    rows = session.execute(select(fe.id, fe.payload).where(fe.id > after).order_by(fe.id).limit(limit)).all()
    return [r[1] for r in rows], rows[-1][0] if rows else after


def gate_users(session: Session) -> list[tuple[str, int, str, str]]:
    """The gate users' live tokens (hash, user id, name, office), so a gate authenticates them while the database is away."""
    u, t = User, ApiToken
    stmt = (
        select(t.token_sha256, u.id, u.name, u.office_code)
        .join(u, u.id == t.user_id)
        .where(u.role.in_(list(GATE_CHECKERS)), u.active.is_(True), t.revoked_at.is_(None), u.office_code.is_not(None))
    )
    return [(r[0], r[1], r[2], str(r[3])) for r in session.execute(stmt)]
