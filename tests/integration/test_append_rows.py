"""Append-only rows (journal, events, outbox, versions) are written in batches but behave like any other write."""

from __future__ import annotations

from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor, record
from smartcustoms.declaration.models import Declaration, DeclarationEvent, DeclarationVersion
from smartcustoms.kit.db import appends_held
from smartcustoms.kit.outbox import OutboxMessage, enqueue
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example

WHO = Actor(id=None, name="tester", role="admin")


def _journal(rt: Runtime) -> list[str]:
    with rt.read() as s:
        return list(s.scalars(select(AuditEntry.subject_id).where(AuditEntry.action == "test.appended").order_by(AuditEntry.id)))


def test_queued_rows_are_seen_by_the_next_query_in_the_same_transaction_in_the_order_they_were_queued(rt: Runtime) -> None:
    with rt.write() as s:
        for i in range(5):
            record(s, actor=WHO, action="test.appended", subject_type="test", subject_id=str(i), now=NOW)
            enqueue(s, topic="test", key=str(i), payload={"i": i}, now=NOW)
        seen = list(s.scalars(select(AuditEntry.subject_id).where(AuditEntry.action == "test.appended").order_by(AuditEntry.id)))
        assert seen == ["0", "1", "2", "3", "4"]
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == "test")) == 5
    assert _journal(rt) == ["0", "1", "2", "3", "4"]


def test_queued_rows_are_lost_with_a_rolled_back_transaction_and_do_not_leak_into_the_next(rt: Runtime) -> None:
    try:
        with rt.write() as s:
            record(s, actor=WHO, action="test.appended", subject_type="test", subject_id="refused", now=NOW)
            raise RuntimeError("the action is refused after the journal entry was queued")
    except RuntimeError:
        pass
    with rt.write() as s:
        record(s, actor=WHO, action="test.appended", subject_type="test", subject_id="accepted", now=NOW)
    assert _journal(rt) == ["accepted"]


def test_held_rows_wait_for_the_commit_and_are_then_written(rt: Runtime) -> None:
    with rt.write() as s:
        with appends_held(s):
            record(s, actor=WHO, action="test.appended", subject_type="test", subject_id="held", now=NOW)
            assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.appended")) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.appended")) == 1
    assert _journal(rt) == ["held"]


def test_a_lodging_writes_its_version_events_journal_and_outbox_rows_in_its_transaction(rt: Runtime, world: World) -> None:
    with rt.write() as s:
        receipt, replayed = selectivity.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    assert not replayed
    with rt.read() as s:
        decl = s.scalars(select(Declaration).where(Declaration.number == receipt["number"])).one()
        assert decl.status.value == "assessed" and decl.receipt == receipt
        events = list(
            s.scalars(select(DeclarationEvent.event).where(DeclarationEvent.declaration_id == decl.id).order_by(DeclarationEvent.id))
        )
        assert events == ["declaration.lodged", "declaration.accepted", "declaration.assessed"]
        versions = s.scalars(select(DeclarationVersion).where(DeclarationVersion.declaration_id == decl.id)).all()
        assert [(v.version, v.content_sha256) for v in versions] == [(1, decl.content_sha256)]
        journal = list(s.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == decl.number).order_by(AuditEntry.id)))
        assert journal == events
        outbox = list(s.scalars(select(OutboxMessage.payload).where(OutboxMessage.key == decl.number).order_by(OutboxMessage.id)))
        assert [m["event"] for m in outbox] == events and [m["status"] for m in outbox] == ["lodged", "accepted", "assessed"]
