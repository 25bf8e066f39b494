"""Duty use cases: assess a declaration (and reassess after changes), the duties body, and the release condition.

Payments and guarantees are in `duty.payments`; the revenue report in `duty.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.config import get_settings
from smartcustoms.declaration.models import Declaration
from smartcustoms.declaration.repository import documents
from smartcustoms.duty import domain
from smartcustoms.duty.models import DutyAccount, DutyAssessment, DutyStatus, Guarantee
from smartcustoms.errors import NotFound, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.reference.service import rate_for
from smartcustoms.tariff import service as tariff

ASSESSOR = Actor.system("duty")
CNY = "CNY"
CERTIFICATE = "certificate_of_origin"


@dataclass(frozen=True)
class Unmet:
    """A release condition that does not hold (the shape of `clearance.conditions.Unmet`)."""

    code: str
    message: str


def to_fen(amount: Decimal) -> int:
    """An amount already rounded to the fen, as whole fen."""
    return int(amount.scaleb(2))


def from_fen(fen: int) -> Decimal:
    """Whole fen as an amount with two decimals."""
    return Decimal(fen).scaleb(-2).quantize(domain.ZERO)


def money(fen: int) -> str:
    """Whole fen as the string an API shows ("123.45")."""
    return str(from_fen(fen))


def _dec(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return None


def _rates(found: tariff.Rates | None) -> domain.Rates | None:
    if found is None:
        return None
    ln = found.line
    prefs = tuple(domain.Preference(p.agreement, frozenset(p.origins.split()), p.rate) for p in found.preferences)
    return domain.Rates(
        code=ln.code,
        mfn=ln.mfn_rate,
        general=ln.general_rate,
        provisional=ln.provisional_rate,
        specific=ln.specific_rate,
        specific_unit=ln.specific_unit,
        consumption=ln.consumption_rate,
        vat=ln.vat_rate,
        preferences=prefs,
    )


def goods_of(
    session: Session,
    decl: Declaration,
    *,
    threshold: Decimal | None = None,
    without_mfn: frozenset[str] | None = None,
    payload: dict[str, Any] | None = None,
) -> domain.Goods:
    """What the assessment needs: items with the tariff in force on the day of lodging, the month's customs rate, documents.

    `payload`: the goods as found (inspection findings applied) instead of as declared.
    """
    settings = get_settings()
    p = decl.payload if payload is None else payload
    on = decl.lodged_at.date()
    rate = Decimal(1) if decl.currency == CNY else rate_for(session, currency=decl.currency, on=on)
    certificate = any(d.get("type") == CERTIFICATE for d in p.get("documents") or []) or any(
        d.doc_type == CERTIFICATE for d in documents(session, declaration_id=decl.id)
    )
    lines = p.get("items") or []
    found = tariff.rates_on_many(session, codes=[str(it.get("hs_code", "")) for it in lines], on=on)
    cache = {code: _rates(r) for code, r in found.items()}
    items: list[domain.Item] = []
    for it in lines:
        code = str(it.get("hs_code", ""))
        items.append(
            domain.Item(
                line=int(it.get("line", len(items) + 1)),
                value=_dec(it.get("value")) or domain.ZERO,
                quantity=_dec(it.get("quantity")) or domain.ZERO,
                unit=str(it.get("unit", "")),
                origin=str(it.get("origin", "")),
                rates=cache[code],
                net_mass_kg=_dec(it.get("net_mass_kg")),
            )
        )
    return domain.Goods(
        incoterm=str(p.get("incoterm", "")),
        exchange_rate=rate,
        freight=_dec(p.get("freight")),
        insurance=_dec(p.get("insurance")),
        certificate_of_origin=certificate,
        items=items,
        without_mfn=without_mfn if without_mfn is not None else frozenset(settings.duty_general_origins.upper().split()),
        threshold=threshold if threshold is not None else settings.duty_waiver_threshold,
    )


def compute(session: Session, decl: Declaration, payload: dict[str, Any] | None = None) -> tuple[domain.Assessment, dict[str, Any]]:
    """The declaration's current duties (of `payload`, the goods as found, if given) and their stored detail.

    422 listing every item that cannot be assessed.
    """
    try:
        assessed = domain.assess(goods_of(session, decl, payload=payload))
    except domain.DutyProblems as exc:
        raise ValidationFailed(f"The duties of {decl.number} cannot be assessed.", exc.problems, code="duty_not_assessable") from exc
    items = (decl.payload if payload is None else payload).get("items") or []
    detail = {
        "currency": CNY,
        "items": [
            {
                "line": i.line,
                "chapter": str(items[n].get("hs_code", ""))[:2],
                "origin": str(items[n].get("origin", "")),
                "customs_value": str(i.customs_value),
                "rate_kind": i.rate_kind,
                "rate": str(i.rate),
                "agreement": i.agreement,
                "duty": str(i.duty),
                "consumption_tax": str(i.consumption_tax),
                "vat": str(i.vat),
            }
            for n, i in enumerate(assessed.items)
        ],
        "totals": {k: str(v) for k, v in assessed.totals.items()},
        "waived": [{"tax": t, "amount": str(v)} for t, v in assessed.waived.items()],
    }
    return assessed, detail


def latest(session: Session, declaration_id: int) -> DutyAssessment | None:
    """The declaration's newest stored assessment."""
    stmt = select(DutyAssessment).where(DutyAssessment.declaration_id == declaration_id)
    return session.scalar(stmt.order_by(DutyAssessment.version.desc(), DutyAssessment.revision.desc()).limit(1))


def account(session: Session, declaration_id: int, *, lock: bool = False) -> DutyAccount | None:
    """The declaration's duty account (locked for update if asked, on PostgreSQL)."""
    stmt = select(DutyAccount).where(DutyAccount.declaration_id == declaration_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _settle_status(acc: DutyAccount) -> DutyStatus:
    if acc.paid_fen >= acc.due_fen:
        return DutyStatus.paid
    if acc.guaranteed_fen > 0 and acc.paid_fen + acc.guaranteed_fen >= acc.due_fen:
        return DutyStatus.guaranteed
    return DutyStatus.unpaid


def assess(session: Session, *, declaration: Declaration, actor: Actor = ASSESSOR, now: datetime) -> tuple[DutyAssessment, DutyAccount]:
    """Store the assessment of the declaration's current version (once) and bring its account up to date.

    A version assessed after an earlier one (an amendment) records the difference: revenue
    recovered when positive, a refund due when negative (journaled).
    """
    acc = account(session, declaration.id, lock=True)
    last = latest(session, declaration.id)
    if last is not None and last.version == declaration.version and acc is not None:
        return last, acc
    assessed, detail = compute(session, declaration)
    source = "lodging" if last is None else "amendment"
    return store(
        session, declaration=declaration, assessed=assessed, detail=detail, source=source, acc=acc, last=last, actor=actor, now=now
    )


def reassess_as_found(
    session: Session, *, declaration: Declaration, found: dict[str, Any], actor: Actor, now: datetime
) -> DutyAssessment | None:
    """Reassess the current version's duties with the goods as an inspection found them (`found`: the content corrected).

    A new revision of the version, its difference against the assessment before (recovered > 0,
    refund < 0) journaled; the account is due the new total. None when the findings change nothing
    duties are assessed on, or the declaration is an export. 422 when the goods as found cannot be assessed.
    """
    if declaration.kind != "import" or not domain.goods_differ(declaration.payload, found):
        return None
    acc = account(session, declaration.id, lock=True)
    last = latest(session, declaration.id)
    if last is None or last.version != declaration.version or acc is None:
        _, acc = assess(session, declaration=declaration, now=now)
        last = latest(session, declaration.id)
    assessed, detail = compute(session, declaration, payload=found)
    row, _ = store(
        session, declaration=declaration, assessed=assessed, detail=detail, source="inspection", acc=acc, last=last, actor=actor, now=now
    )
    return row


def store(
    session: Session,
    *,
    declaration: Declaration,
    assessed: domain.Assessment,
    detail: dict[str, Any],
    source: str,
    acc: DutyAccount | None,
    last: DutyAssessment | None,
    actor: Actor,
    now: datetime,
) -> tuple[DutyAssessment, DutyAccount]:
    """Store an assessment after `last` (a new version, or the next revision of the same version) and update the account."""
    total = to_fen(assessed.totals["total"])
    difference = 0 if last is None else total - last.total_fen
    revision = last.revision + 1 if last is not None and last.version == declaration.version else 0
    row = DutyAssessment(
        declaration_id=declaration.id,
        version=declaration.version,
        revision=revision,
        source=source,
        office=declaration.office,
        total_fen=total,
        difference_fen=difference,
        detail=detail,
        assessed_at=now,
    )
    session.add(row)
    if acc is None:
        acc = DutyAccount(
            declaration_id=declaration.id, status=DutyStatus.unpaid, due_fen=total, paid_fen=0, guaranteed_fen=0, updated_at=now
        )
        session.add(acc)
    acc.due_fen = total
    acc.status = _settle_status(acc)
    acc.updated_at = now
    session.flush()
    what = {"version": declaration.version, "revision": revision, "source": source, "total": money(total), "status": acc.status.value}
    if last is None:
        record(session, actor=actor, action="duty.assessed", subject_type="declaration", subject_id=declaration.number, now=now, after=what)
    else:
        record(
            session,
            actor=actor,
            action="duty.reassessed",
            subject_type="declaration",
            subject_id=declaration.number,
            now=now,
            before={"version": last.version, "revision": last.revision, "total": money(last.total_fen)},
            after={**what, "difference": money(difference), "kind": difference_kind(difference)},
        )
    return row, acc


def difference_kind(difference_fen: int) -> str:
    """What a reassessment's difference is: revenue `recovered`, a `refund_due`, or `unchanged`."""
    return "recovered" if difference_fen > 0 else "refund_due" if difference_fen < 0 else "unchanged"


def history(session: Session, declaration_id: int) -> Sequence[DutyAssessment]:
    """Every stored assessment of the declaration, oldest first."""
    stmt = select(DutyAssessment).where(DutyAssessment.declaration_id == declaration_id)
    return session.scalars(stmt.order_by(DutyAssessment.version, DutyAssessment.revision)).all()


def body(session: Session, *, declaration: Declaration) -> dict[str, Any]:
    """The duties body: the current version's items and totals (computed when not yet stored), status and waived taxes."""
    last = latest(session, declaration.id)
    detail = last.detail if last is not None and last.version == declaration.version else compute(session, declaration)[1]
    # (an inspection's revision of the current version is the current assessment: the goods as found)
    acc = account(session, declaration.id)
    total = to_fen(Decimal(detail["totals"]["total"]))
    status = acc.status if acc is not None and acc.due_fen == total else DutyStatus.paid if total == 0 else DutyStatus.unpaid
    keys = ("line", "customs_value", "rate_kind", "duty", "consumption_tax", "vat")
    rows = history(session, declaration.id)
    recovered = sum(a.difference_fen for a in rows if a.difference_fen > 0)
    paid = acc.paid_fen if acc is not None else 0
    return {
        "currency": CNY,
        "items": [{k: i[k] for k in keys} for i in detail["items"]],
        "totals": detail["totals"],
        "status": status.value,
        "waived": detail["waived"],
        "reassessments": [
            {
                "version": a.version,
                "revision": a.revision,
                "source": a.source,
                "total": money(a.total_fen),
                "difference": money(a.difference_fen),
                "kind": difference_kind(a.difference_fen),
                "assessed_at": a.assessed_at.isoformat(),
            }
            for a in rows[1:]
        ],
        "recovered": money(recovered),
        "refund_due": money(max(0, paid - total)),
    }


def guarantees_in_force(session: Session, uscc: str, today: Any) -> Sequence[Guarantee]:
    stmt = select(Guarantee).where(Guarantee.uscc == uscc, (Guarantee.expires_on.is_(None)) | (Guarantee.expires_on >= today))
    return session.scalars(stmt.order_by(Guarantee.id)).all()


def _not_assessable(exc: ValidationFailed | NotFound) -> Unmet:
    said = " ".join(p.message for p in exc.problems)
    return Unmet("duty_not_assessable", f"{exc.detail} {said}".strip())


def _unpaid(declaration: Declaration, outstanding: int) -> Unmet:
    return Unmet("duty_unpaid", f"Duties of {money(outstanding)} CNY are unpaid and no guarantee of {declaration.trader_uscc} covers them.")


def release_condition(session: Session, declaration: Declaration, *, now: datetime | None = None) -> list[Unmet]:
    """Release condition: duties paid, guaranteed, or nothing to pay (exports owe no import duties).

    Unpaid duties are secured against the importer's guarantee when its balance covers them: the
    balance is debited by one conditional UPDATE (`balance >= amount`), so concurrent releases
    never take it below zero; the account is locked meanwhile so a declaration is debited once.
    """
    from smartcustoms.duty import payments  # payments imports this module

    if declaration.kind != "import":
        return []
    when = now or utcnow()
    try:
        _, acc = assess(session, declaration=declaration, now=when)
    except (ValidationFailed, NotFound) as exc:
        return [_not_assessable(exc)]
    outstanding = acc.due_fen - acc.paid_fen - acc.guaranteed_fen
    if outstanding <= 0:
        return []
    if payments.secure(session, declaration=declaration, acc=acc, amount_fen=outstanding, now=when):
        return []
    return [_unpaid(declaration, outstanding)]


def release_preview(session: Session, declaration: Declaration, *, today: Any = None) -> list[Unmet]:
    """The release condition as a read, changing nothing: what it would answer now (a guarantee that covers counts)."""
    if declaration.kind != "import":
        return []
    try:
        body_now = body(session, declaration=declaration)
    except (ValidationFailed, NotFound) as exc:
        return [_not_assessable(exc)]
    acc = account(session, declaration.id)
    due = to_fen(Decimal(body_now["totals"]["total"]))
    outstanding = due - (acc.paid_fen + acc.guaranteed_fen if acc is not None else 0)
    if outstanding <= 0:
        return []
    day = today or utcnow().date()
    if any(g.balance_fen >= outstanding for g in guarantees_in_force(session, declaration.trader_uscc, day)):
        return []
    return [_unpaid(declaration, outstanding)]
