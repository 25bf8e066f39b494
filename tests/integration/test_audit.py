"""The journal is append-only in the database itself, and every state change writes exactly one entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import repository, service
from smartcustoms.declaration.models import Status
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)


def _row(rt: Runtime, entry_id: int) -> tuple[Any, ...]:
    with rt.read() as s:
        e = s.get(AuditEntry, entry_id)
        assert e is not None
        return (e.at, e.actor_id, e.actor_name, e.role, e.office, e.action, e.subject_type, e.subject_id, e.before, e.after, e.reason)


def _count(rt: Runtime) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _first_id(rt: Runtime) -> int:
    with rt.read() as s:
        found = s.scalar(select(func.min(AuditEntry.id)))
        assert found is not None
        return int(found)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET actor_name = 'mallory', reason = 'covering tracks' WHERE id = :id",
        "UPDATE audit_entry SET action = action WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
        "DELETE FROM audit_entry",
    ],
    ids=["update", "noop-update", "delete-one", "delete-all"],
)
def test_the_database_refuses_to_change_or_remove_a_journal_entry(rt: Runtime, world: World, statement: str) -> None:
    entry_id = _first_id(rt)
    before, count = _row(rt, entry_id), _count(rt)
    with pytest.raises(DBAPIError, match="append-only"), rt.write() as s:
        s.execute(text(statement), {"id": entry_id})
    assert _row(rt, entry_id) == before
    assert _count(rt) == count


def test_the_orm_cannot_change_a_journal_entry_either(rt: Runtime, world: World) -> None:
    entry_id = _first_id(rt)
    before = _row(rt, entry_id)
    with pytest.raises(DBAPIError, match="append-only"), rt.write() as s:
        entry = s.get(AuditEntry, entry_id)
        assert entry is not None
        entry.reason = "rewritten"
    with pytest.raises(DBAPIError, match="append-only"), rt.write() as s:
        entry = s.get(AuditEntry, entry_id)
        s.delete(entry)
    assert _row(rt, entry_id) == before


def test_appending_to_the_journal_still_works(rt: Runtime, world: World) -> None:
    count = _count(rt)
    with rt.write() as s:
        s.add(
            AuditEntry(
                at=NOW,
                actor_id=None,
                actor_name="t",
                role="system",
                office=None,
                action="test.appended",
                subject_type="test",
                subject_id="1",
            )
        )
    assert _count(rt) == count + 1


def _declaration_journal(rt: Runtime, number: str) -> list[tuple[Any, ...]]:
    with rt.read() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "declaration", AuditEntry.subject_id == number).order_by(AuditEntry.id)
        ).all()
        return [(e.at, e.actor_id, e.actor_name, e.role, e.office, e.action, e.before, e.after, e.reason) for e in rows]


def test_every_state_change_of_a_lodge_amend_withdraw_flow_has_exactly_one_journal_entry(rt: Runtime, world: World) -> None:
    broker = world.principals["broker"]
    t1, t2, t3 = NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=9)
    with rt.write() as s:
        receipt, _ = service.lodge(s, raw=example(), principal=broker, now=t1)
    number = receipt["number"]
    with rt.read() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        sha1 = decl.content_sha256
    items = example()["items"]
    items[0]["quantity"] = "1250"
    with rt.write() as s:
        decl = service.amend(s, number=number, patch={"items": items}, reason="Supplier shipped 50 more", principal=broker, now=t2)
        sha2 = decl.content_sha256
    with rt.write() as s:
        service.withdraw(s, number=number, reason="Declared under the wrong procedure", principal=broker, now=t3)

    journal = _declaration_journal(rt, number)
    assert journal == [
        (
            t1,
            broker.user_id,
            "broker",
            "enterprise",
            None,
            "declaration.lodged",
            None,
            {"status": "lodged", "version": 1, "content_sha256": sha1, "advance": True},
            None,
        ),
        (
            t1,
            None,
            "intake",
            "system",
            None,
            "declaration.accepted",
            {"status": "lodged"},
            {"status": "accepted", "version": 1},
            "All intake checks passed. Advance declaration: goods not yet arrived.",
        ),
        (
            t2,
            broker.user_id,
            "broker",
            "enterprise",
            None,
            "declaration.amended",
            {"version": 1, "content_sha256": sha1},
            {"version": 2, "content_sha256": sha2, "changed": ["items"]},
            "Supplier shipped 50 more",
        ),
        (
            t3,
            broker.user_id,
            "broker",
            "enterprise",
            None,
            "declaration.withdrawn",
            {"status": "accepted"},
            {"status": "withdrawn", "version": 2},
            "Declared under the wrong procedure",
        ),
    ]
    with rt.read() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        events = [e.event for e in repository.events(s, declaration_id=decl.id)]
    # one journal entry per recorded event, no more, no less
    assert [row[5] for row in journal] == events


@pytest.mark.usefixtures("under_review")  # the officer decides on a declaration of their review task
def test_an_officers_decision_is_journalled_with_the_office(rt: Runtime, world: World) -> None:
    officer = world.principals["officer"]
    with rt.write() as s:
        number = clearance.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)[0]["number"]
    with rt.write() as s:
        service.decide(s, number=number, to=Status.held, reason="Origin certificate to be verified", principal=officer, now=NOW)
    last = _declaration_journal(rt, number)[-1]
    assert last == (
        NOW,
        officer.user_id,
        "officer",
        "officer",
        "2248",
        "declaration.held",
        {"status": "under_review"},
        {"status": "held", "version": 1},
        "Origin certificate to be verified",
    )


def test_a_refused_transition_adds_no_journal_entry_and_changes_nothing(rt: Runtime, world: World) -> None:
    with rt.write() as s:
        number = service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)[0]["number"]
    journal, count = _declaration_journal(rt, number), _count(rt)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        for target in (Status.lodged, Status.accepted, Status.released):
            with pytest.raises(service.IllegalTransition) as refused:
                service.transition(s, decl=decl, to=target, actor=Actor.system("test"), now=NOW, reason="should not happen")
            assert refused.value.code == "illegal_transition"
        s.flush()
        # even inside the same, still open, transaction nothing was added
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == count
        assert decl.status is Status.accepted and decl.updated_at == NOW
    assert _declaration_journal(rt, number) == journal
    assert _count(rt) == count


def test_a_refused_withdrawal_of_a_withdrawn_declaration_adds_no_journal_entry(rt: Runtime, world: World) -> None:
    broker = world.principals["broker"]
    with rt.write() as s:
        number = service.lodge(s, raw=example(), principal=broker, now=NOW)[0]["number"]
    with rt.write() as s:
        service.withdraw(s, number=number, reason="not needed", principal=broker, now=NOW)
    count = _count(rt)
    with pytest.raises(service.IllegalTransition), rt.write() as s:
        service.withdraw(s, number=number, reason="again", principal=broker, now=NOW)
    with pytest.raises(service.IllegalTransition), rt.write() as s:
        service.amend(s, number=number, patch={"freight": "1.00"}, reason="late", principal=broker, now=NOW)
    assert _count(rt) == count
