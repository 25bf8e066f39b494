"""The demo's duties: its importers' guarantees, and its bank paying the declarations that wait for their duties."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.duty import payments
from smartcustoms.duty import service as duty_service
from smartcustoms.runtime import Runtime

SYSTEM = Actor(id=None, name="demo-loader", role="admin")


# Guarantees (CNY) securing the demo importers' duties: released at lodging; Ningbo's is small, so
# most of its declarations wait in `duty_assessed` until the demo's bank pays them (`pay`).
DEMO_GUARANTEES = {1: "1000000000.00", 2: "1000000000.00", 3: "20000.00", 4: "1000000000.00"}


def guarantees(rt: Runtime, now: datetime, usccs: Sequence[str]) -> None:
    """Each demo importer's guarantee (`usccs`: demo.ENTERPRISES' in order), unless it has one."""
    with rt.write() as s:
        for idx, amount in DEMO_GUARANTEES.items():
            if not payments.guarantees(s, uscc=usccs[idx]):
                payments.add_guarantee(s, uscc=usccs[idx], amount=amount, expires=None, actor=SYSTEM, now=now)


def pay(s: Session, number: str, bank: Principal, when: datetime) -> None:
    """The demo's bank pays every declaration waiting for its duties but one in four (left waiting, to be seen)."""
    decl = s.scalar(select(Declaration).where(Declaration.number == number))
    if decl is None or decl.status is not Status.duty_assessed or not decl.id % 4:
        return
    acc = duty_service.account(s, decl.id)
    if acc is not None and acc.due_fen > acc.paid_fen:
        due = duty_service.money(acc.due_fen - acc.paid_fen)
        clearance.pay(s, number=number, amount=due, reference=f"DEMO-{number}", payer=None, principal=bank, now=when)
