"""The roster service on both databases: profiles, the draw among the office's free qualified officers, release, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role, User
from smartcustoms.errors import NotFound, ValidationFailed
from smartcustoms.roster import domain, repository, service
from smartcustoms.roster.models import Assignment, Duty
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR

SUPERVISOR = Actor(id=None, name="test-supervisor", role="supervisor", office="2248")


def _user(rt: Runtime, name: str, role: Role = Role.officer, office: str | None = "2248") -> None:
    with rt.write() as s:
        auth_service.add_user(s, name=name, role=role, office=office, actor=OPERATOR, now=NOW)


def _officer(
    rt: Runtime, name: str, *, role: Role = Role.officer, office: str = "2248", chapters: str = "01-97", capacity: int = 5, duty: str = "on"
) -> None:
    _user(rt, name, role, office)
    with rt.write() as s:
        service.set_officer(s, name=name, chapters=chapters, capacity=capacity, duty=duty, actor=OPERATOR, now=NOW)


def _journal(rt: Runtime, action: str) -> list[AuditEntry]:
    with rt.read() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _open(rt: Runtime) -> list[tuple[str, str]]:
    with rt.read() as s:
        rows = s.execute(
            select(User.name, Assignment.task_ref)
            .join(User, User.id == Assignment.user_id)
            .where(Assignment.released_at.is_(None))
            .order_by(Assignment.id)
        )
        return [(n, t) for n, t in rows]


def test_an_officer_is_put_on_the_roster_with_defaults_then_changed_and_each_change_is_journaled(rt: Runtime) -> None:
    _user(rt, "wang")
    with rt.write() as s:
        first = service.set_officer(s, name="wang", actor=OPERATOR, now=NOW)
    assert (first.chapters, first.capacity, first.duty, first.office, first.load, first.spare) == (
        "01-97",
        service.DEFAULT_CAPACITY,
        Duty.on,
        "2248",
        0,
        10,
    )
    with rt.write() as s:
        changed = service.set_officer(s, name="wang", chapters="84-85, 90", capacity=3, duty="off", actor=SUPERVISOR, now=NOW)
    assert (changed.chapters, changed.capacity, changed.duty, changed.spare) == ("84-85,90", 3, Duty.off, 0)
    with rt.write() as s:
        service.set_officer(s, name="wang", capacity=3, actor=SUPERVISOR, now=NOW)  # no change: nothing journaled
    added, changes = _journal(rt, "officer.added"), _journal(rt, "officer.changed")
    assert [e.after for e in added] == [{"name": "wang", "office": "2248", "chapters": "01-97", "capacity": 10, "duty": "on"}]
    assert [(e.actor_name, e.before, e.after) for e in changes] == [
        (
            "test-supervisor",
            {"chapters": "01-97", "capacity": 10, "duty": "on"},
            {"name": "wang", "office": "2248", "chapters": "84-85,90", "capacity": 3, "duty": "off"},
        )
    ]


def test_bad_input_names_every_problem_and_changes_nothing(rt: Runtime) -> None:
    _officer(rt, "wang", chapters="84", capacity=2)
    with pytest.raises(ValidationFailed) as caught, rt.write() as s:
        service.set_officer(s, name="wang", chapters="85-84,99", capacity=0, duty="sometimes", actor=OPERATOR, now=NOW)
    assert [(p.code, p.pointer) for p in caught.value.problems] == [
        ("ROS-CHP-004", "/chapters"),
        ("ROS-CHP-003", "/chapters"),
        ("ROS-CAP-001", "/capacity"),
        ("ROS-DUTY-001", "/duty"),
    ]
    with rt.read() as s:
        still = service.get_officer(s, name="wang")
    assert (still.chapters, still.capacity, still.duty) == ("84", 2, Duty.on)
    assert len(_journal(rt, "officer.changed")) == 0


def test_only_officials_with_an_office_and_a_roster_role_go_on_the_roster(rt: Runtime) -> None:
    _user(rt, "boss", Role.supervisor, "2248")
    _user(rt, "roaming", Role.inspector, "2248")
    with rt.write() as s:  # an inspector made before office roles needed an office: it has none
        s.execute(update(User).where(User.name == "roaming").values(office_code=None))
    _user(rt, "xray", Role.image_analyst, "2248")
    for name, code in (("boss", "ROS-OFF-001"), ("roaming", "ROS-OFF-002")):
        with pytest.raises(ValidationFailed) as caught, rt.write() as s:
            service.set_officer(s, name=name, actor=OPERATOR, now=NOW)
        assert [p.code for p in caught.value.problems] == [code]
    with pytest.raises(NotFound), rt.write() as s:
        service.set_officer(s, name="nobody", actor=OPERATOR, now=NOW)
    with pytest.raises(NotFound), rt.write() as s:  # a supervisor of another office does not see them
        service.set_officer(s, name="xray", capacity=2, within="0202", actor=OPERATOR, now=NOW)
    with rt.write() as s:
        assert service.set_officer(s, name="xray", within="2248", actor=OPERATOR, now=NOW).role is Role.image_analyst
    with rt.read() as s:
        listed = [(o.name, o.duty) for o in service.list_officers(s, office="2248")]
        assert listed == [("xray", Duty.on)]  # supervisors are not on the roster; the roaming inspector has no office
        assert [o.name for o in service.list_officers(s)] == ["roaming", "xray"]
        assert service.list_officers(s, office="0202", within="2248") == []


def test_the_draw_takes_only_free_qualified_on_duty_officers_of_the_office_in_the_role(rt: Runtime) -> None:
    _officer(rt, "fit", chapters="84-85,90", capacity=2)
    _officer(rt, "narrow", chapters="84")  # not qualified for 85
    _officer(rt, "resting", chapters="01-97", duty="off")
    _officer(rt, "elsewhere", office="0202")
    _officer(rt, "inspector1", role=Role.inspector)
    _user(rt, "unrostered")  # an officer with no profile is never drawn
    for i in range(2):
        with rt.write() as s:
            rec = service.assign(s, office="2248", chapters=[84, 85], task_ref=f"T{i}", roles=(Role.officer,), now=NOW)
        assert rec is not None
        assert rec["candidates"] == [{"name": "fit", "weight": 2 - i}]
        assert rec["chosen"] == ["fit"] and rec["seed_ref"] == f"T{i}/0"
    with rt.write() as s:  # at the cap: nobody is free, the caller queues the task; nothing written
        assert service.assign(s, office="2248", chapters=[84, 85], task_ref="T2", roles=(Role.officer,), now=NOW) is None
    assert _open(rt) == [("fit", "T0"), ("fit", "T1")]
    with rt.read() as s:
        ids = dict(s.execute(select(User.name, User.id)).all())
        assert service.load_of(s, [ids["fit"], ids["narrow"]]) == {ids["fit"]: 2, ids["narrow"]: 0}
        assert service.get_officer(s, name="fit").spare == 0
    assert [e.subject_id for e in _journal(rt, "roster.assigned")] == ["T0", "T1"]
    entry = _journal(rt, "roster.assigned")[0]
    assert entry.after is not None and entry.after["chosen"] == ["fit"] and entry.after["chapters"] == [84, 85]
    # released: free again
    with rt.write() as s:
        assert service.release(s, task_ref="T0", actor=OPERATOR, now=NOW + timedelta(hours=1), reason="done") == 1
        assert service.release(s, task_ref="T0", actor=OPERATOR, now=NOW + timedelta(hours=1)) == 0
    with rt.write() as s:
        rec = service.assign(s, office="2248", chapters=[84, 85], task_ref="T2", roles=(Role.officer,), now=NOW)
    assert rec is not None and rec["chosen"] == ["fit"]
    with rt.write() as s:  # an inspection draws two inspectors; there is one
        assert service.assign(s, office="2248", chapters=[84], task_ref="I1", k=2, roles=(Role.inspector,), now=NOW) is None


def test_a_reassignment_excludes_the_holder_and_every_record_verifies_against_the_office_seed(rt: Runtime) -> None:
    for name in ("a", "b", "c"):
        _officer(rt, name, capacity=3)
    with rt.write() as s:
        first = service.assign(s, office="2248", chapters=[90], task_ref="R1", now=NOW)
    assert first is not None
    holder = first["chosen"][0]
    with rt.write() as s:
        service.release(s, task_ref="R1", names=[holder], actor=SUPERVISOR, now=NOW, reason="reassigned")
        second = service.assign(s, office="2248", chapters=[90], task_ref="R1", exclude=[holder], actor=SUPERVISOR, now=NOW)
    assert second is not None
    assert second["seed_ref"] == "R1/1" and second["excluded"] == [holder]
    assert holder not in [c["name"] for c in second["candidates"]] and second["chosen"][0] != holder
    with rt.read() as s:
        assert service.holders(s, task_ref="R1") == second["chosen"]
        assert service.verify(s, office="2248", draw_record=first)
        assert service.verify(s, office="2248", draw_record=second)
        assert not service.verify(s, office="2248", draw_record={**second, "u": [0.5]})
        assert not service.verify(s, office="0202", draw_record=second)  # never drew there
    assert domain.replay(second) == second["chosen"]
    seeds = _journal(rt, "roster.seed_created")
    assert [(e.subject_id, e.after) for e in seeds] == [("2248", {"seed_ref": first["seed"]})]
    with rt.write() as s:
        pair = service.assign(s, office="2248", chapters=[90], task_ref="I1", k=2, now=NOW)
    assert pair is not None and len(set(pair["chosen"])) == 2 and len(pair["u"]) == 2


def test_bad_draw_requests_are_refused_with_codes(rt: Runtime) -> None:
    with pytest.raises(ValidationFailed) as caught, rt.write() as s:
        service.assign(s, office="", chapters=[0], task_ref="", k=3, now=NOW)
    assert [(p.code, p.pointer) for p in caught.value.problems] == [
        ("ROS-CHP-003", "/chapters"),
        ("ROS-TSK-001", "/office"),
        ("ROS-TSK-002", "/task_ref"),
        ("ROS-TSK-003", "/k"),
    ]


def test_an_assignment_waits_for_a_concurrent_one_and_does_not_push_the_officer_past_the_cap(rt: Runtime) -> None:
    _officer(rt, "solo", capacity=1)
    first_drawn, results = threading.Event(), {}  # type: threading.Event, dict[str, Any]

    def first() -> None:
        with rt.write() as s:
            results["first"] = service.assign(s, office="2248", chapters=[84], task_ref="A", now=NOW)
            first_drawn.set()
            threading.Event().wait(0.4)  # hold the transaction open while the second one tries

    def second() -> None:
        first_drawn.wait(10)
        with rt.write() as s:
            results["second"] = service.assign(s, office="2248", chapters=[84], task_ref="B", now=NOW)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["first"] is not None and results["first"]["chosen"] == ["solo"]
    assert results["second"] is None
    assert _open(rt) == [("solo", "A")]


def test_many_concurrent_assignments_fill_the_caps_exactly(rt: Runtime) -> None:
    for name in ("p", "q", "r"):
        _officer(rt, name, capacity=2)
    start = threading.Barrier(8)
    outcomes: list[Any] = []

    def one(i: int) -> None:
        start.wait(10)
        with rt.write() as s:
            outcomes.append(service.assign(s, office="2248", chapters=[1], task_ref=f"C{i}", now=NOW))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 8
    assert sum(o is not None for o in outcomes) == 6 and sum(o is None for o in outcomes) == 2
    with rt.read() as s:
        per = dict(
            s.execute(
                select(User.name, func.count(Assignment.id)).join(Assignment, Assignment.user_id == User.id).group_by(User.name)
            ).all()
        )
    assert per == {"p": 2, "q": 2, "r": 2}
    _loads_agree(rt)


def _loads_agree(rt: Runtime) -> dict[int, int]:
    """The loads kept with the assignments equal the open assignments counted, for every officer."""
    with rt.read() as s:
        counted = repository.counted_loads(s)
        ids = list(s.scalars(select(User.id)))
        kept = service.load_of(s, ids)
    assert {i: n for i, n in kept.items() if n} == counted
    return counted


def test_loads_follow_draws_and_releases_crossing_in_concurrent_transactions(rt: Runtime) -> None:
    """Release-then-draw in one transaction while others draw: no deadlock, no lost count, caps held."""
    for name in ("p", "q", "r"):
        _officer(rt, name, capacity=3)
    for i in range(6):
        with rt.write() as s:
            assert service.assign(s, office="2248", chapters=[1], task_ref=f"old{i}", now=NOW) is not None
    start, errors, drawn = threading.Barrier(10), [], []  # type: threading.Barrier, list[BaseException], list[Any]

    def one(i: int) -> None:
        start.wait(10)
        try:
            with rt.write() as s:
                if i < 6:  # an officer finishes a task and is given the next one in the same request
                    service.release(s, task_ref=f"old{i}", actor=OPERATOR, now=NOW)
                drawn.append(service.assign(s, office="2248", chapters=[1], task_ref=f"new{i}", now=NOW))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(d is not None for d in drawn) == 9  # 9 places, 6 freed then taken again, 3 left: 9 of the 10 new tasks
    counted = _loads_agree(rt)
    assert sorted(counted.values()) == [3, 3, 3]
    with rt.write() as s:  # releasing everything brings every load back to zero
        for i in range(10):
            service.release(s, task_ref=f"new{i}", actor=OPERATOR, now=NOW)
    assert _loads_agree(rt) == {}


def test_two_first_settings_of_one_officer_at_once_take_turns(rt: Runtime) -> None:
    _user(rt, "newcomer")
    first_set, errors = threading.Event(), []  # type: threading.Event, list[BaseException]

    def first() -> None:
        with rt.write() as s:
            service.set_officer(s, name="newcomer", capacity=4, actor=OPERATOR, now=NOW)
            first_set.set()
            threading.Event().wait(0.4)

    def second() -> None:
        first_set.wait(10)
        try:
            with rt.write() as s:
                service.set_officer(s, name="newcomer", duty="off", actor=OPERATOR, now=NOW)
        except BaseException as exc:  # the unique profile row inserted twice
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with rt.read() as s:
        got = service.get_officer(s, name="newcomer")
    assert (got.capacity, got.duty) == (4, Duty.off)
    assert [e.action for e in _journal(rt, "officer.added") + _journal(rt, "officer.changed")] == ["officer.added", "officer.changed"]


def test_a_disabled_officer_has_no_spare_capacity_and_is_never_drawn(rt: Runtime) -> None:
    _officer(rt, "gone", capacity=3)
    with rt.write() as s:
        auth_service.set_active(s, name="gone", active=False, actor=OPERATOR, now=NOW)
    with rt.read() as s:
        assert service.get_officer(s, name="gone").spare == 0
    with rt.write() as s:
        assert service.assign(s, office="2248", chapters=[1], task_ref="D1", now=NOW) is None
