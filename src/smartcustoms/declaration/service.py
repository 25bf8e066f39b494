"""Declaration use cases: lodge, amend, withdraw, move through the lifecycle, follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.roles import DECIDERS, NATIONAL_ROLES
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import domain, numbering, repository, validation
from smartcustoms.declaration.access import TaskReach as TaskReach
from smartcustoms.declaration.access import get_own as get_own
from smartcustoms.declaration.access import get_visible as get_visible
from smartcustoms.declaration.access import limit_task_workers as limit_task_workers
from smartcustoms.declaration.access import scope as scope
from smartcustoms.declaration.access import visible as visible
from smartcustoms.declaration.access import works_on as works_on
from smartcustoms.declaration.models import (
    Declaration,
    DeclarationEvent,
    DeclarationVersion,
    RejectedSubmission,
    Status,
)
from smartcustoms.declaration.schemas import DeclarationCreate
from smartcustoms.declaration.validation import totals, validate
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.kit.db import append
from smartcustoms.kit.outbox import enqueue
from smartcustoms.mandate import service as mandate_service
from smartcustoms.reference.service import catalog

STATUS_TOPIC = "declaration.status"
_EVENTS = cast(Table, DeclarationEvent.__table__)
_VERSIONS = cast(Table, DeclarationVersion.__table__)
# Statuses an official may set by hand; the others are reached through the clearance steps.
OFFICER_DECISIONS = frozenset({Status.rejected, Status.held})


class IllegalTransition(Conflict):
    """The lifecycle does not allow this step from the declaration's current status."""

    default_code = "illegal_transition"


class ClientReferenceReused(Conflict):
    """The client reference was already used for a declaration with different content."""

    default_code = "client_reference_reused"


def _interested(decl: Declaration) -> list[str]:
    # The declarant's USCC is the lodging enterprise's and the trader's is the one whose mandate
    # was checked; neither changes after lodging, so these are the owners' USCCs.
    return sorted({decl.declarant_uscc, decl.trader_uscc})


def record_event(
    session: Session,
    decl: Declaration,
    *,
    event: str,
    from_status: Status | None,
    actor: Actor,
    now: datetime,
    reason: str | None,
    audit_before: dict[str, Any] | None = None,
    audit_after: dict[str, Any] | None = None,
) -> None:
    """Record an event on the declaration, in the journal and in the outbox, in one go."""
    append(
        session,
        _EVENTS,
        {
            "declaration_id": decl.id,
            "event": event,
            "from_status": from_status.value if from_status else None,
            "to_status": decl.status.value,
            "version": decl.version,
            "actor_name": actor.name,
            "actor_role": actor.role,
            "reason": reason,
            "at": now,
        },
    )
    record(
        session,
        actor=actor,
        action=event,
        subject_type="declaration",
        subject_id=decl.number,
        now=now,
        before=audit_before if audit_before is not None else ({"status": from_status.value} if from_status else None),
        after=audit_after if audit_after is not None else {"status": decl.status.value, "version": decl.version},
        reason=reason,
    )
    enqueue(
        session,
        topic=STATUS_TOPIC,
        key=decl.number,
        now=now,
        payload={
            "number": decl.number,
            "client_reference": decl.client_reference,
            "event": event,
            "status": decl.status.value,
            "from_status": from_status.value if from_status else None,
            "version": decl.version,
            "reason": reason,
            "at": now.isoformat(),
            "enterprises": _interested(decl),
        },
    )


# What a closed declaration (rejected, withdrawn) leaves to settle in areas above this one (duty gives
# back what its guarantees secured): they install a hook here, called in the closing transaction.
ClosedHook = Callable[[Session, Declaration, datetime], None]
_when_closed: dict[str, ClosedHook] = {}


def when_closed(hook: ClosedHook) -> None:
    """Install (or replace, by its qualified name) a hook called after a declaration is rejected or withdrawn."""
    _when_closed[f"{hook.__module__}.{hook.__qualname__}"] = hook


def transition(session: Session, *, decl: Declaration, to: Status, actor: Actor, now: datetime, reason: str | None = None) -> Declaration:
    """Move a declaration to another status, if the lifecycle allows; 409 and no change otherwise.

    Reaching rejected or withdrawn calls the installed `when_closed` hooks in the same transaction.
    """
    current = decl.status
    if not domain.can_transition(current, to):
        raise IllegalTransition(f"Declaration {decl.number} is {current.value}; it cannot become {to.value}.")
    decl.status = to
    decl.updated_at = now
    record_event(session, decl, event=domain.event_name(to), from_status=current, actor=actor, now=now, reason=reason)
    if to in (Status.rejected, Status.withdrawn):
        for hook in list(_when_closed.values()):
            hook(session, decl, now)
    return decl


def _trader_pointer(decl: DeclarationCreate) -> str:
    return "/importer/uscc" if decl.importer is not None else "/exporter/uscc"


def _parties(
    session: Session, decl: DeclarationCreate, *, principal: Principal, lodged: Declaration | None, on: date
) -> tuple[int | None, list[Problem]]:
    """The importer/exporter's enterprise id and the problems with the parties.

    The lodging enterprise is the declarant; lodging in another enterprise's name needs that
    enterprise's mandate in force on the day (for the procedure and office, if it names them).
    An amendment keeps both parties.
    """
    trader = decl.importer or decl.exporter
    assert trader is not None  # validation requires it
    pointer = _trader_pointer(decl)
    if lodged is not None:
        problems = [
            Problem("DEC-AMD-004", ptr, f"The {who} of a lodged declaration cannot change; withdraw it and lodge a new one.")
            for ptr, who, new, old in (
                ("/declarant/uscc", "declarant", decl.declarant.uscc, lodged.declarant_uscc),
                (pointer, pointer.split("/")[1], trader.uscc, lodged.trader_uscc),
            )
            if new != old
        ]
        if problems:
            return lodged.trader_enterprise_id, problems
    if lodged is None and decl.declarant.uscc != principal.enterprise_uscc:
        return None, [Problem("DEC-PTY-003", "/declarant/uscc", "Your enterprise must be the declarant of the declarations it lodges.")]
    if trader.uscc == principal.enterprise_uscc:
        return principal.enterprise_id, []  # lodging for itself: no mandate needed
    assert principal.enterprise_id is not None
    trader_id, problem = mandate_service.lodging_problem(
        session,
        lodger_id=principal.enterprise_id,
        trader_uscc=trader.uscc,
        pointer=pointer,
        on=on,
        procedure=decl.procedure,
        office=decl.office,
    )
    return trader_id, [problem] if problem else []


def _check(
    session: Session, raw: Any, *, principal: Principal, now: datetime, lodged: Declaration | None = None
) -> tuple[DeclarationCreate, int | None]:
    parsed, problems = validate(raw, catalog=catalog(session), today=now.date())
    trader_id = None
    if parsed is not None and not problems:
        trader_id, party_problems = _parties(session, parsed, principal=principal, lodged=lodged, on=now.date())
        problems.extend(party_problems)
    if parsed is None or problems:
        raise ValidationFailed(f"The declaration has {len(problems)} problem(s); nothing was stored.", problems)
    return parsed, trader_id


def lodge(session: Session, *, raw: Any, principal: Principal, now: datetime) -> tuple[dict[str, Any], bool]:
    """Lodge a declaration; returns (receipt, replayed). Same reference and content replays the receipt."""
    receipt, decl = intake(session, raw=raw, principal=principal, now=now)
    return receipt, decl is None


def intake(session: Session, *, raw: Any, principal: Principal, now: datetime) -> tuple[dict[str, Any], Declaration | None]:
    """Lodge a declaration; returns its receipt and the new declaration, or the first receipt and None on a replay."""
    if principal.role is not Role.enterprise or principal.enterprise_id is None:
        raise Forbidden("Only enterprise users lodge declarations.")
    ref = raw.get("client_reference") if isinstance(raw, dict) else None
    if isinstance(ref, str) and not validation.has_control_characters(ref):  # else validation says so
        existing = repository.by_reference(session, enterprise_id=principal.enterprise_id, client_reference=ref)
        if existing is not None:
            if existing.submitted_sha256 == domain.content_sha256(raw):
                return existing.receipt, None
            raise ClientReferenceReused(
                f"Client reference {ref} was already used for declaration {existing.number} with different content; use a new reference.",
                [Problem("DEC-IDM-001", "/client_reference", "This client reference was already used for a different declaration.")],
            )
    decl_in, trader_id = _check(session, raw, principal=principal, now=now)
    payload = decl_in.model_dump(mode="json", exclude_none=True)
    sha = domain.content_sha256(payload)
    total, count = totals(decl_in)
    trader = decl_in.importer or decl_in.exporter
    assert trader is not None  # validation requires it
    seq = numbering.take(session, office=decl_in.office, year=now.year, flag="1" if decl_in.kind == "import" else "0")
    number = domain.declaration_number(decl_in.office, now.year, decl_in.kind, seq)
    arrival = decl_in.transport.arrival_on
    advance = arrival is not None and arrival > now.date()
    receipt = {
        "number": number,
        "status": Status.accepted.value,
        "client_reference": decl_in.client_reference,
        "lodged_at": now.isoformat(),
        "version": 1,
        "advance": advance,
        "links": {"self": f"/api/v1/declarations/{number}", "documents": f"/api/v1/declarations/{number}/documents"},
    }
    decl = Declaration(
        number=number,
        kind=decl_in.kind,
        procedure=decl_in.procedure,
        status=Status.lodged,
        client_reference=decl_in.client_reference,
        submitter_enterprise_id=principal.enterprise_id,
        trader_enterprise_id=trader_id,
        declarant_uscc=decl_in.declarant.uscc,
        trader_uscc=trader.uscc,
        office=decl_in.office,
        port=decl_in.port_of_entry or decl_in.port_of_exit or "",
        currency=decl_in.currency,
        total_value=total,
        item_count=count,
        arrival_on=arrival,
        advance=advance,
        version=1,
        content_sha256=sha,
        # Idempotency compares what the trader sent, so this hash is of the submitted JSON.
        submitted_sha256=domain.content_sha256(raw),
        payload=payload,
        receipt=receipt,
        lodged_at=now,
        updated_at=now,
    )
    session.add(decl)
    session.flush()  # for its id, which the version, events and assessment refer to
    append(
        session,
        _VERSIONS,
        {
            "declaration_id": decl.id,
            "version": 1,
            "payload": payload,
            "content_sha256": sha,
            "reason": None,
            "actor_name": principal.name,
            "created_at": now,
        },
    )
    actor = principal.actor()
    record_event(
        session,
        decl,
        event="declaration.lodged",
        from_status=None,
        actor=actor,
        now=now,
        reason=None,
        audit_after={"status": "lodged", "version": 1, "content_sha256": sha, "advance": advance},
    )
    transition(
        session,
        decl=decl,
        to=Status.accepted,
        actor=Actor.system("intake"),
        now=now,
        reason="All intake checks passed." + (" Advance declaration: goods not yet arrived." if advance else ""),
    )
    return receipt, decl


def record_rejection(session: Session, *, raw: Any, principal: Principal | None, problems: Sequence[Problem], now: datetime) -> None:
    """Keep a refused submission for statistics only: who, when, which rule codes."""
    ref = raw.get("client_reference") if isinstance(raw, dict) else None
    session.add(
        RejectedSubmission(
            enterprise_id=principal.enterprise_id if principal else None,
            client_reference=validation.without_control_characters(ref)[:64] if isinstance(ref, str) else None,
            codes=sorted({p.code for p in problems}),
            problem_count=len(problems),
            at=now,
        )
    )


def amend(session: Session, *, number: str, patch: dict[str, Any], reason: str, principal: Principal, now: datetime) -> Declaration:
    """Amend a declaration with a merge patch and a reason; the new content is validated in full."""
    decl = get_own(session, number=number, principal=principal, doing="amends")
    if decl.status not in domain.AMENDABLE:
        raise IllegalTransition(f"Declaration {number} is {decl.status.value}; it can no longer be amended.", code="not_amendable")
    problems = []
    for fixed in ("client_reference", "kind"):
        if fixed in patch:
            problems.append(
                Problem(
                    f"DEC-AMD-00{1 if fixed == 'client_reference' else 2}",
                    f"/patch/{fixed}",
                    f"The {fixed.replace('_', ' ')} of a lodged declaration cannot change.",
                )
            )
    if problems:
        raise ValidationFailed("The amendment cannot be made.", problems)
    return revise(session, decl=decl, content=domain.merge_patch(decl.payload, patch), reason=reason, principal=principal, now=now)


def revise(
    session: Session,
    *,
    decl: Declaration,
    content: Any,
    reason: str,
    principal: Principal,
    now: datetime,
    by_declarant: bool = True,
    note: str | None = None,
    changed: list[str] | None = None,
    invalid: str = "",
) -> Declaration:
    """Make `content` the declaration's next version: validated in full, kept with its reason, journaled `declaration.amended`.

    The one amendment path: the declarant's amendment (`amend`: its parties checked too) and an
    officer's correction to an inspection's findings (`by_declarant=False`; `note` is the event's
    reason, `changed` what it changed, `invalid` the sentence when the content is not valid).
    The caller checks who may amend and when. 422 and nothing stored when the content is not valid
    or changes nothing.
    """
    if by_declarant:
        decl_in, _ = _check(session, content, principal=principal, now=now, lodged=decl)
    else:
        parsed, problems = validate(content, catalog=catalog(session), today=now.date())
        if parsed is None or problems:
            raise ValidationFailed(invalid or f"The declaration has {len(problems)} problem(s); nothing was stored.", problems)
        decl_in = parsed
    payload = decl_in.model_dump(mode="json", exclude_none=True)
    sha = domain.content_sha256(payload)
    if sha == domain.content_sha256(decl.payload):
        raise ValidationFailed(
            "The amendment changes nothing.", [Problem("DEC-AMD-003", "/patch", "The amendment changes nothing in the declaration.")]
        )
    before = {"version": decl.version, "content_sha256": decl.content_sha256}
    if changed is None:
        changed = sorted(k for k in set(payload) | set(decl.payload) if payload.get(k) != decl.payload.get(k))
    total, count = totals(decl_in)
    decl.version += 1
    decl.payload = payload
    decl.content_sha256 = sha
    decl.office, decl.procedure = decl_in.office, decl_in.procedure
    decl.port = decl_in.port_of_entry or decl_in.port_of_exit or ""
    decl.currency, decl.total_value, decl.item_count = decl_in.currency, total, count
    decl.arrival_on = decl_in.transport.arrival_on
    decl.advance = decl.arrival_on is not None and decl.arrival_on > now.date()
    decl.updated_at = now
    session.add(
        DeclarationVersion(
            declaration_id=decl.id,
            version=decl.version,
            payload=payload,
            content_sha256=sha,
            reason=reason,
            actor_name=principal.name,
            created_at=now,
        )
    )
    record_event(
        session,
        decl,
        event="declaration.amended",
        from_status=decl.status,
        actor=principal.actor(),
        now=now,
        reason=note or reason,
        audit_before=before,
        audit_after={"version": decl.version, "content_sha256": sha, "changed": changed},
    )
    return decl


def withdraw(session: Session, *, number: str, reason: str, principal: Principal, now: datetime) -> Declaration:
    """Withdraw a declaration before release, with a reason."""
    decl = get_own(session, number=number, principal=principal, doing="withdraws")
    return transition(session, decl=decl, to=Status.withdrawn, actor=principal.actor(), now=now, reason=reason)


def versions(session: Session, *, number: str, principal: Principal) -> Sequence[DeclarationVersion]:
    """Every version of a declaration the principal may see."""
    decl = get_visible(session, number=number, principal=principal)
    return repository.versions(session, declaration_id=decl.id)


def version(session: Session, *, number: str, version: int, principal: Principal) -> DeclarationVersion:
    """One version of a declaration the principal may see."""
    decl = get_visible(session, number=number, principal=principal)
    found = repository.version(session, declaration_id=decl.id, number=version)
    if found is None:
        raise NotFound(f"Declaration {number} has no version {version}.")
    return found


def decide(session: Session, *, number: str, to: Status, reason: str, principal: Principal, now: datetime) -> Declaration:
    """An official moves a declaration in its lifecycle (reject, hold, ...), with a reason."""
    if principal.role not in DECIDERS:
        raise Forbidden("Only officers, supervisors and admins take decisions on declarations.")
    if to not in OFFICER_DECISIONS:
        raise ValidationFailed(
            "That decision is not taken by hand.",
            [
                Problem(
                    "DEC-DCS-001",
                    "/to",
                    f"Officers may decide {', '.join(sorted(s.value for s in OFFICER_DECISIONS))}; "
                    f"{to.value} is reached through the clearance steps.",
                )
            ],
        )
    decl = get_visible(session, number=number, principal=principal)
    return transition(session, decl=decl, to=to, actor=principal.actor(), now=now, reason=reason)


def rejection_summary(session: Session, *, principal: Principal, since: datetime) -> dict[str, Any]:
    """How many submissions were refused since a time, and how often each rule fired (officials)."""
    if principal.role not in NATIONAL_ROLES:
        raise Forbidden("Rejection statistics are open to analysts, supervisors and admins.")
    by_code: dict[str, int] = {}
    total = 0
    for codes in repository.rejected_codes(session, since=since):
        total += 1
        for code in codes:
            by_code[code] = by_code.get(code, 0) + 1
    return {"since": since.isoformat(), "total": total, "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])))}
