"""A gate server's station: check online, fall back on the local copy when the database is unreachable, refresh and reconcile.

The runtime owns one station per process and its worker keeps the copy current and reconciles
offline decisions once the database answers again; `smartcustoms gate sync` does the same by hand.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.gate import service
from smartcustoms.gate.domain import Ask, Outcome, Reason
from smartcustoms.gate.local import GateUser, LocalCopy

Unit = Callable[[], AbstractContextManager[Session]]
KEEP_SECONDS = 30 * 86_400  # the copy keeps the releases of the last 30 days


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means the database cannot be reached (rather than a bad statement)."""
    return isinstance(exc, OperationalError | InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


@dataclass(frozen=True)
class Checked:
    """A gate check's answer: the outcome, whether it was decided offline, and its offline ref."""

    outcome: Outcome
    offline: bool = False
    ref: str | None = None


@dataclass
class SyncReport:
    """What a synchronisation did."""

    releases: int = 0
    reconciled: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"releases": self.releases, "reconciled": self.reconciled, "conflicts": self.conflicts}


def principal_of(user: GateUser) -> Principal:
    """The principal of a gate user known to the local copy."""
    return Principal(user.user_id, user.name, Role.gate, None, None, user.office)


class Station:
    """One process's gate: the database first, the local copy when it is away."""

    def __init__(self, copy: LocalCopy) -> None:
        self.copy = copy

    def check(self, write: Unit, *, ask: Ask, principal: Principal, now: datetime) -> Checked:
        """Decide online (recording the gate-out and the journal entry) or, with the database unreachable, from the local copy."""
        office = service.require_gate(principal)
        try:
            with write() as s:
                outcome = service.check(s, ask=ask, principal=principal, now=now)
        except Exception as exc:
            if not unreachable(exc):
                raise
            user = GateUser(principal.user_id, principal.name, office)
            outcome, ref = self.copy.decide(ask, user=user, now=now.timestamp(), at=now.isoformat())
            return Checked(outcome, offline=True, ref=ref)
        if outcome.passed and outcome.line is not None:
            with contextlib.suppress(Exception):  # the copy learns it at the next refresh anyway
                self.copy.mark_gated_out(release=outcome.line.release, container=outcome.line.container)
        return Checked(outcome)

    def refresh(self, read: Unit, *, wall: float | None = None) -> int:
        """Bring the copy up to date from the database: new releases, gate-outs, holds, gate users; returns the releases taken."""
        after, exits_after = int(self.copy.meta("feed", "0")), int(self.copy.meta("exits", "0"))
        taken = 0
        while True:
            with read() as s:
                releases, cursor = service.feed_all(s, after=after)
                exits = service.exits_after(s, after=exits_after)
                holds = service.holds_in_force(s)
                users = service.gate_users(s)
            self.copy.apply(
                releases=releases,
                feed_cursor=cursor,
                exits=exits,
                exits_cursor=exits[-1][0] if exits else exits_after,
                holds=holds,
                users=users,
                refreshed_at=wall if wall is not None else time.time(),
                keep_seconds=KEEP_SECONDS,
            )
            taken += len(releases)
            if cursor == after and not exits:
                return taken
            after, exits_after = cursor, exits[-1][0] if exits else exits_after

    def reconcile(self, write: Unit) -> SyncReport:
        """Write the offline checks into the database, once each: passes become gate-outs unless the container left meanwhile (a conflict)."""
        report = SyncReport()
        for item in self.copy.pending():
            principal = principal_of(item.user)
            at = datetime.fromisoformat(item.at)
            with write() as s:
                if service.reconciled(s, refs=[item.ref]):
                    result = "already"
                else:
                    found = service.lines(s, Ask(release=item.release, container=item.container)) if item.release else []
                    line = next((ln for ln in found if ln.container == item.container), None)
                    reasons = tuple(Reason(r["code"], r["message"]) for r in item.reasons)
                    offline = Outcome(passed=item.decision == "pass" and line is not None, reasons=reasons, line=line)
                    outcome = service.check(s, ask=item.ask, principal=principal, now=at, ref=item.ref, offline_outcome=offline)
                    result = "conflict" if outcome.extra.get("conflict") else "recorded"
            self.copy.settle(item.ref, result=result, at=datetime.now(at.tzinfo).isoformat())
            report.reconciled += 1
            if result == "conflict":
                report.conflicts.append(
                    {"ref": item.ref, "at": item.at, "gate": item.user.name, "release": item.release, "container": item.container}
                )
        return report

    def sync(self, read: Unit, write: Unit) -> SyncReport:
        """Reconcile what was decided offline, then refresh the copy."""
        report = self.reconcile(write)
        report.releases = self.refresh(read)
        return report
