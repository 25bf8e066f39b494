"""Payments confirmed by banks, guarantees, and securing duties against a guarantee.

Securing reserves guarantee balance: each debit is a `GuaranteeDebit` row (guarantee, amount).
The payment of the duties, or the declaration's rejection or withdrawal (the debt discharged),
frees it: every debit goes back to its own guarantee, once, and no balance ever rises above the
guarantee's amount or falls below zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.declaration.repository import by_number
from smartcustoms.duty import service
from smartcustoms.duty.models import DutyAccount, DutyStatus, Guarantee, GuaranteeDebit, Payment
from smartcustoms.duty.service import money, to_fen
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.party.service import find_by_uscc

_AMOUNT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def parse_amount(raw: str, pointer: str) -> tuple[int, list[Problem]]:
    """An amount in CNY ("123.45", at most two decimals, more than zero) as whole fen, or its problem."""
    if not isinstance(raw, str) or not _AMOUNT.fullmatch(raw):
        return 0, [Problem("DUT-PAY-001", pointer, 'An amount is a decimal string with at most two decimals, e.g. "123.45".')]
    try:
        fen = to_fen(Decimal(raw).quantize(Decimal("0.01")))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        fen = 0
    if fen <= 0:
        return 0, [Problem("DUT-PAY-001", pointer, "The amount must be more than zero.")]
    return fen, []


def _move(session: Session, guarantee_id: int, fen: int) -> bool:
    """Add `fen` to a guarantee's balance (negative: a debit) by one conditional UPDATE; False when it would leave 0..amount.

    PostgreSQL re-checks the condition on the row it locked, SQLite has one writer: concurrent
    debits and restorations never take a balance below zero or above the guarantee's amount.
    """
    within = Guarantee.balance_fen >= -fen if fen < 0 else Guarantee.balance_fen + fen <= Guarantee.amount_fen
    done = session.execute(
        update(Guarantee)
        .where(Guarantee.id == guarantee_id, within)
        .values(balance_fen=Guarantee.balance_fen + fen)
        .execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1


def _journal(session: Session, declaration: Declaration, acc: DutyAccount, action: str, *, now: datetime, after: dict[str, object]) -> None:
    """The account changed now: flushed, and journaled on the declaration by the duty area."""
    acc.updated_at = now
    session.flush()
    record(session, actor=service.ASSESSOR, action=action, subject_type="declaration", subject_id=declaration.number, now=now, after=after)


def secure(session: Session, *, declaration: Declaration, acc: DutyAccount, amount_fen: int, now: datetime) -> bool:
    """Debit `amount_fen` from a guarantee of the importer in force whose balance covers it; False when none does.

    One conditional UPDATE per guarantee tried (`balance_fen >= amount`): PostgreSQL re-checks the
    condition on the row it locked, SQLite has one writer, so the balance never goes below zero.
    """
    today = now.date()
    for g in service.guarantees_in_force(session, declaration.trader_uscc, today):
        if _move(session, g.id, -amount_fen):
            session.add(GuaranteeDebit(declaration_id=declaration.id, guarantee_id=g.id, amount_fen=amount_fen, debited_at=now))
            acc.guarantee_id = g.id
            acc.guaranteed_fen += amount_fen
            acc.status = DutyStatus.guaranteed
            _journal(session, declaration, acc, "duty.guaranteed", now=now, after={"guarantee": g.id, "amount": money(amount_fen)})
            return True
    return False


def pay(
    session: Session, *, number: str, amount: str, reference: str, payer: str | None = None, principal: Principal, now: datetime
) -> tuple[Payment, bool]:
    """Record a bank's payment of a declaration's duties; (payment, True) when the reference was already recorded.

    Idempotent on the reference (the same declaration and amount again answers the first payment;
    anything else under it is 409). The amount must be what is outstanding, else 422 and nothing
    is recorded. A payment restores what a guarantee secured to the guarantee's balance.
    """
    principal.require(Role.bank)
    amount_fen, problems = parse_amount(amount, "/amount")
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        problems.append(
            Problem(
                "DUT-PAY-002", "/reference", "The bank's reference has 1-64 letters, digits or . _ : / -, starting with a letter or digit."
            )
        )
    if problems:
        raise ValidationFailed("The payment cannot be recorded.", problems)
    decl = by_number(session, number=number)
    if decl is None:
        raise NotFound(f"No declaration {number}.", code="declaration_not_found")
    if payer is not None and payer not in (decl.trader_uscc, decl.declarant_uscc):
        problem = Problem("DUT-PAY-004", "/payer", f"{payer} is neither the declarant nor the importer of {number}.")
        raise ValidationFailed("The payment is for another enterprise's declaration.", [problem], code="payer_mismatch")
    _, acc = service.assess(session, declaration=decl, now=now)
    earlier = session.scalar(select(Payment).where(Payment.reference == reference))
    if earlier is not None:
        if earlier.declaration_id == decl.id and earlier.amount_fen == amount_fen:
            return earlier, True
        raise Conflict(
            f"Reference {reference} was already used for another payment; nothing was recorded.", code="payment_reference_reused"
        )
    outstanding = acc.due_fen - acc.paid_fen
    if outstanding <= 0:
        raise Conflict(f"Nothing is due on {number}; nothing was recorded.", code="nothing_to_pay")
    if amount_fen != outstanding:
        problem = Problem("DUT-PAY-003", "/amount", f"{money(outstanding)} CNY is due on {number}, not {money(amount_fen)}.")
        raise ValidationFailed("The amount does not match the duties due; nothing was recorded.", [problem], code="amount_mismatch")
    row = Payment(reference=reference, declaration_id=decl.id, amount_fen=amount_fen, bank=principal.name, received_at=now)
    session.add(row)
    restored = restore(session, declaration=decl, acc=acc, why="paid", now=now)
    acc.paid_fen += amount_fen
    acc.status = DutyStatus.paid
    acc.updated_at = now
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="duty.paid",
        subject_type="declaration",
        subject_id=number,
        now=now,
        after={"reference": reference, "amount": money(amount_fen), "guarantee_restored": money(sum(d.amount_fen for d in restored))},
    )
    return row, False


class GuaranteeInconsistent(Conflict):
    """A guarantee cannot take back a debit without its balance rising above its amount (the records disagree)."""

    default_code = "guarantee_inconsistent"


def debits(session: Session, declaration_id: int, *, open_only: bool = True) -> Sequence[GuaranteeDebit]:
    """The declaration's guarantee debits (those not yet restored, unless asked for all), oldest first."""
    stmt = select(GuaranteeDebit).where(GuaranteeDebit.declaration_id == declaration_id)
    if open_only:
        stmt = stmt.where(GuaranteeDebit.restored_at.is_(None))
    return session.scalars(stmt.order_by(GuaranteeDebit.id)).all()


def restore(session: Session, *, declaration: Declaration, acc: DutyAccount, why: str, now: datetime) -> list[GuaranteeDebit]:
    """Give every open debit of the declaration back to its own guarantee (the account locked by the caller); the debits restored.

    One conditional UPDATE per debit (`balance + amount <= amount of the guarantee`), so a balance
    never rises above the guarantee's amount; a debit is marked restored in the same transaction,
    so it is given back once. Journaled (`guarantee.restored`, each guarantee and amount).
    """
    found = list(debits(session, declaration.id))
    for d in found:
        if not _move(session, d.guarantee_id, d.amount_fen):
            raise GuaranteeInconsistent(
                f"Guarantee {d.guarantee_id} cannot take back {money(d.amount_fen)} CNY of {declaration.number} without exceeding "
                "its amount; nothing was changed. Customs will check the guarantee's records."
            )
        d.restored_at, d.restored_by = now, why
    if found:
        acc.guaranteed_fen = max(0, acc.guaranteed_fen - sum(d.amount_fen for d in found))
        debits_restored = [{"guarantee": d.guarantee_id, "amount": money(d.amount_fen)} for d in found]
        _journal(session, declaration, acc, "guarantee.restored", now=now, after={"why": why, "debits": debits_restored})
    return found


def discharge(session: Session, declaration: Declaration, now: datetime) -> None:
    """A rejected or withdrawn declaration owes no duties: what its guarantees secured is given back to each."""
    if declaration.status not in (Status.rejected, Status.withdrawn):
        return
    acc = service.account(session, declaration.id, lock=True)
    if acc is not None and debits(session, declaration.id):
        restore(session, declaration=declaration, acc=acc, why=declaration.status.value, now=now)
        acc.status = DutyStatus.paid if acc.paid_fen >= acc.due_fen else DutyStatus.unpaid


declaration_service.when_closed(discharge)


def add_guarantee(session: Session, *, uscc: str, amount: str, expires: date | None, actor: Actor, now: datetime) -> Guarantee:
    """Register an enterprise's guarantee of `amount` CNY (balance = amount), optionally until a day. Journaled."""
    fen, problems = parse_amount(amount, "/amount")
    if find_by_uscc(session, uscc=uscc) is None:
        problems.append(Problem("DUT-GUA-001", "/uscc", f"No registered enterprise {uscc}."))
    if expires is not None and expires < now.date():
        problems.append(Problem("DUT-GUA-002", "/expires", "The guarantee would already have expired."))
    if problems:
        raise ValidationFailed("The guarantee cannot be added.", problems)
    row = Guarantee(uscc=uscc, amount_fen=fen, balance_fen=fen, expires_on=expires, created_at=now)
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="guarantee.added",
        subject_type="guarantee",
        subject_id=str(row.id),
        now=now,
        after={"uscc": uscc, "amount": money(fen), "expires": expires.isoformat() if expires else None},
    )
    return row


def guarantees(session: Session, *, uscc: str | None = None) -> Sequence[Guarantee]:
    """Guarantees (of one enterprise if given), oldest first."""
    stmt = select(Guarantee).order_by(Guarantee.id)
    return session.scalars(stmt.where(Guarantee.uscc == uscc) if uscc else stmt).all()


def read_guarantee(g: Guarantee) -> dict[str, object]:
    """A guarantee as the API and CLI show it."""
    return {
        "id": g.id,
        "uscc": g.uscc,
        "amount": money(g.amount_fen),
        "balance": money(g.balance_fen),
        "expires": g.expires_on.isoformat() if g.expires_on else None,
        "created_at": g.created_at.isoformat(),
    }
