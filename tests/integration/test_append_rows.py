"""Append-only rows (journal, events, outbox, versions) are written in batches but behave like any other write."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import StatementError

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import JOURNAL, Actor, record
from smartcustoms.declaration.models import Declaration, DeclarationEvent, DeclarationVersion
from smartcustoms.kit.db import append, appends_held, write_appends
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


# --- the rows as stored: the same whichever way they are written -----------------------------------

_AWKWARD = [
    "plain",
    'quotes " and \\ backslash',
    "line\nbreak\ttab",
    "汉字 and émigré and 🚢",
    "",
    "%(p0)s :name ? $1 ::json",
]


def _journal_rows(n: int) -> list[dict[str, object]]:
    shanghai = timezone(timedelta(hours=8))
    return [
        {
            "at": NOW + timedelta(microseconds=i) if i % 2 else (NOW + timedelta(seconds=i)).astimezone(shanghai),
            "actor_id": 2**31 - 1 - i if i % 3 else None,
            "actor_name": _AWKWARD[i % len(_AWKWARD)],
            "role": "admin",
            "office": None,
            "action": "test.shape",
            "subject_type": "test",
            "subject_id": str(i),
            "before": None if i % 2 else {"z": 1, "a": [1, 2.5, None, True], "nested": {"k": _AWKWARD[i % len(_AWKWARD)]}},
            "after": {"i": i, "big": 2**60, "text": _AWKWARD[(i + 1) % len(_AWKWARD)]},
            "reason": None if i % 4 == 0 else _AWKWARD[(i + 2) % len(_AWKWARD)],
        }
        for i in range(n)
    ]


def _stored(rt: Runtime, action: str) -> list[tuple[object, ...]]:
    with rt.read() as s:
        rows = s.execute(
            select(
                AuditEntry.at,
                AuditEntry.actor_id,
                AuditEntry.actor_name,
                AuditEntry.role,
                AuditEntry.office,
                AuditEntry.subject_id,
                AuditEntry.before,
                AuditEntry.after,
                AuditEntry.reason,
            )
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def test_rows_written_in_one_batch_read_back_exactly_as_rows_inserted_one_by_one(rt: Runtime) -> None:
    rows = _journal_rows(24)
    with rt.write() as s:
        for row in rows:
            append(s, JOURNAL, row)
    with rt.write() as s:  # the plain way: SQLAlchemy's insert, one row at a time
        for row in rows:
            s.execute(insert(JOURNAL), [{**row, "action": "test.plain"}])
    batched, plain = _stored(rt, "test.shape"), _stored(rt, "test.plain")
    assert len(batched) == 24 and batched == plain
    assert [r[5] for r in batched] == [str(i) for i in range(24)]  # ids in the order appended
    assert all(r[0].tzinfo is not None and r[0].utcoffset() == timedelta(0) for r in batched)  # type: ignore[attr-defined]
    assert list(batched[0][6]) == ["z", "a", "nested"]  # type: ignore[arg-type]  # JSON keys as written
    with rt.read() as s:  # as stored, not as decoded: None is JSON null both ways, and the JSON text is the same
        stored = {
            action: s.execute(
                text(
                    "SELECT before IS NULL, CAST(before AS TEXT), CAST(after AS TEXT), reason IS NULL FROM audit_entry "
                    "WHERE action = :action ORDER BY id"
                ),
                {"action": action},
            ).all()
            for action in ("test.shape", "test.plain")
        }
    assert stored["test.shape"] == stored["test.plain"]
    assert not any(row[0] for row in stored["test.shape"])


def test_a_naive_time_in_a_queued_row_is_refused_and_nothing_is_written(rt: Runtime) -> None:
    row = {**_journal_rows(1)[0], "at": datetime(2026, 1, 1, 12, 0)}
    with pytest.raises((ValueError, StatementError)), rt.write() as s:
        append(s, JOURNAL, row)
    assert _stored(rt, "test.shape") == []


def test_queued_rows_of_several_tables_take_one_statement_on_postgresql(rt: Runtime) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with rt.write() as s:
        for i in range(3):
            record(s, actor=WHO, action="test.appended", subject_type="test", subject_id=str(i), now=NOW)
            enqueue(s, topic="test", key=str(i), payload={"i": i}, now=NOW)
        s.connection()  # the transaction begins before counting
        event.listen(rt.engine, "before_cursor_execute", count)
        try:
            write_appends(s)
        finally:
            event.remove(rt.engine, "before_cursor_execute", count)
    expected = 1 if rt.engine.dialect.name == "postgresql" else 2  # one executemany per table elsewhere
    assert len(statements) == expected, statements
    assert _journal(rt) == ["0", "1", "2"]
    with rt.read() as s:
        assert list(s.scalars(select(OutboxMessage.key).where(OutboxMessage.topic == "test").order_by(OutboxMessage.id))) == ["0", "1", "2"]


def test_rows_of_one_table_with_differing_keys_are_refused_on_both_databases_and_nothing_is_written(rt: Runtime) -> None:
    rows = _journal_rows(2)
    del rows[1]["reason"]  # not carried by the one statement: SQLAlchemy's insert refuses it everywhere
    with pytest.raises(StatementError), rt.write() as s:
        for row in rows:
            append(s, JOURNAL, row)
    assert _stored(rt, "test.shape") == []
