"""The demo's port gate: trucks leave with part of what was released at the gate user's office.

So that a newcomer sees the whole path, lodging → duty → release → gate-out: the demo's `gate`
user checks the containers released at its office more than a day before `now`, most of them
(those with an even line id, and every third of the rest), through the same service the API
calls (`gate.service.check`: the decision, the gate-out, the journal), with the seal declared.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from smartcustoms.auth.service import Principal
from smartcustoms.gate import service as gate_service
from smartcustoms.gate.domain import Ask
from smartcustoms.gate.models import GateExit
from smartcustoms.release.models import ReleaseContainer
from smartcustoms.runtime import Runtime


def gate_out(rt: Runtime, gate: Principal, now: datetime) -> int:
    """Let trucks out with released containers of the gate's office; returns how many passed (idempotent)."""
    rc = ReleaseContainer
    with rt.read() as s:
        rows = s.execute(
            select(rc.id, rc.container, rc.seals, rc.released_at)
            .outerjoin(GateExit, GateExit.release_container_id == rc.id)
            .where(rc.office == gate.office, rc.container.is_not(None), GateExit.id.is_(None), rc.released_at < now - timedelta(days=1))
            .order_by(rc.id)
        ).all()
    passed = 0
    for line_id, container, seals, released_at in rows:
        if line_id % 2 and line_id % 3:
            continue  # still in the yard
        seal = seals[0] if seals else None
        with rt.write() as s:
            out = gate_service.check(s, ask=Ask(container=container, seal=seal), principal=gate, now=released_at + timedelta(hours=20))
        passed += out.passed
    return passed
