"""The clearance path through the API on both databases: lanes to tasks, the draw, review decisions, queries, the queue."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth.models import Role
from smartcustoms.clearance import conditions, settings
from smartcustoms.declaration import repository
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import Task
from tests.conftest import NOW, OPERATOR, World, example
from tests.e2e.helpers import add_staff, lane, lodged, only_task

API = "/api/v1/declarations"
TASKS = "/api/v1/tasks"


def test_yellow_goes_to_a_drawn_officer_who_queries_the_trader_answers_and_the_officer_accepts(
    client: TestClient, world: World, rt: Runtime
) -> None:
    lane(rt, world, "yellow")
    h = add_staff(rt, world, ("li", Role.officer), ("chen", Role.supervisor))
    receipt = lodged(client, world)
    assert receipt["status"] == "under_review" and receipt["assessment"]["lane"] == "yellow"
    number = receipt["number"]

    task = only_task(client, h["li"])
    assert (task["kind"], task["declaration"], task["status"], task["assignees"]) == ("review", number, "open", ["li"])
    assert task["assigned_at"] and task["due_at"] and task["draw"] is None  # the draw: supervisors only
    sup = client.get(f"{TASKS}/{task['id']}", headers=h["chen"]).json()
    assert sup["draw"]["chosen"] == ["li"] and [c["name"] for c in sup["draw"]["candidates"]] == ["li"]
    # Another officer (not drawn), another office's officer and the trader do not see it.
    for who in ("officer", "officer_tianjin", "broker"):
        assert client.get(f"{TASKS}/{task['id']}", headers=world.headers(who)).status_code in (403, 404)

    url = f"{TASKS}/{task['id']}/decision"
    r = client.post(url, json={"decision": "query", "reason": "Invoice unclear", "question": "Send the sales contract."}, headers=h["li"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting"
    # While waiting for the answer, no decision can be taken.
    r = client.post(url, json={"decision": "accept", "reason": "Fine"}, headers=h["li"])
    assert r.status_code == 409 and r.json()["code"] == "task_waiting"

    queries = client.get(f"{API}/{number}", headers=world.headers("broker")).json()["queries"]
    assert [(q["question"], q["answer"]) for q in queries] == [("Send the sales contract.", None)]
    qid = queries[0]["id"]
    up = client.post(f"{API}/{number}/documents", files={"file": ("contract.pdf", b"%PDF-1.4 contract")}, data={"type": "contract"},
                     headers=world.headers("broker"))  # fmt: skip
    assert up.status_code == 201, up.text
    answer = {"answer": "Contract attached.", "documents": [up.json()["id"]]}
    assert client.post(f"{API}/{number}/queries/{qid}/answer", json=answer, headers=world.headers("other")).status_code == 404
    r = client.post(f"{API}/{number}/queries/{qid}/answer", json=answer, headers=world.headers("broker"))
    assert r.status_code == 200, r.text
    again = client.post(f"{API}/{number}/queries/{qid}/answer", json=answer, headers=world.headers("broker"))
    assert again.status_code == 409 and again.json()["code"] == "query_answered"
    back = client.get(f"{TASKS}/{task['id']}", headers=h["li"]).json()
    assert (back["status"], back["assignees"]) == ("open", ["li"])  # back with the same officer

    r = client.post(url, json={"decision": "accept", "reason": "Contract matches the invoice."}, headers=h["li"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["result"]["decision"] == "accept" and done["result"]["passed"] is True
    r = client.post(url, json={"decision": "reject", "reason": "Second thoughts"}, headers=h["li"])
    assert r.status_code in (404, 409)  # done: its holder's assignment is closed, so at most 409
    with rt.read() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        assert conditions.unmet(s, decl) == [] and decl.status.value == "released"
        assert roster.get_officer(s, name="li").load == 0  # the finished task no longer counts against li


def test_red_goes_to_two_drawn_inspectors_and_a_review_inspect_decision_opens_an_inspection(
    client: TestClient, world: World, rt: Runtime
) -> None:
    lane(rt, world, "red")
    h = add_staff(rt, world, ("zhao", Role.inspector), ("qian", Role.inspector), ("sun", Role.inspector))
    receipt = lodged(client, world)
    assert receipt["status"] == "under_inspection"
    tasks = [only_task(client, h[n]) for n in ("zhao", "qian", "sun") if client.get(TASKS, headers=h[n]).json()["total"]]
    assert len(tasks) == 2 and tasks[0]["id"] == tasks[1]["id"]
    assert tasks[0]["kind"] == "inspection" and len(tasks[0]["assignees"]) == 2
    with rt.read() as s:
        decl = repository.by_number(s, number=receipt["number"])
        assert decl is not None
        assert [u.code for u in conditions.unmet(s, decl)] == ["CLR-REL-002", "CLR-REL-003"]


def test_with_nobody_free_the_task_waits_in_the_queue_and_is_drawn_when_an_officer_comes_on_duty(
    client: TestClient, world: World, rt: Runtime
) -> None:
    lane(rt, world, "yellow")
    h = add_staff(rt, world, ("zhou", Role.officer), duty="off")
    receipt = lodged(client, world)
    with rt.read() as s:
        queued = s.scalars(select(Task)).one()
        assert (queued.status.value, queued.assigned_at) == ("waiting", None)
    assert client.get(TASKS, headers=h["zhou"]).json()["total"] == 0
    r = client.patch("/api/v1/officers/zhou", json={"duty": "on"}, headers=world.headers("admin"))
    assert r.status_code == 200, r.text
    task = only_task(client, h["zhou"])
    assert (task["status"], task["assignees"], task["declaration"]) == ("open", ["zhou"], receipt["number"])


def test_two_decisions_at_once_exactly_one_wins_and_the_other_changes_nothing(client: TestClient, world: World, rt: Runtime) -> None:
    lane(rt, world, "yellow")
    h = add_staff(rt, world, ("wu", Role.officer))
    lodged(client, world)
    task = only_task(client, h["wu"])
    url = f"{TASKS}/{task['id']}/decision"
    bodies = [{"decision": "reject", "reason": "Undervalued."}, {"decision": "inspect", "reason": "Look at the goods."}]
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def decide(i: int) -> None:
        barrier.wait()
        answers[i] = client.post(url, json=bodies[i], headers=h["wu"])

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["code"] in ("task_done", "task_conflict")
    winner = bodies[next(i for i, a in enumerate(answers) if a.status_code == 200)]
    with rt.read() as s:
        finished = s.scalar(select(func.count()).where(AuditEntry.action == "task.finished"))
        t = s.get(Task, task["id"])
        assert finished == 1 and t is not None and t.result is not None and t.result["decision"] == winner["decision"]
        decl = s.scalars(select(Task.declaration_id)).first()
        statuses = s.scalars(select(func.count()).select_from(Task)).one()
    assert decl is not None
    assert statuses == (1 if winner["decision"] == "reject" else 2)  # inspect opened one inspection task, reject none


def test_bad_decisions_and_answers_are_refused_with_codes_and_change_nothing(client: TestClient, world: World, rt: Runtime) -> None:
    lane(rt, world, "yellow")
    h = add_staff(rt, world, ("zheng", Role.officer), ("feng", Role.officer), ("chu", Role.supervisor))
    lodged(client, world)
    task = next(t for n in ("zheng", "feng") for t in client.get(TASKS, headers=h[n]).json()["items"])
    holder, other = ("zheng", "feng") if task["assignees"] == ["zheng"] else ("feng", "zheng")
    url = f"{TASKS}/{task['id']}/decision"
    cases = [
        ({"decision": "accept"}, "REV-DEC-002"),
        ({"decision": "approve", "reason": "Fine"}, "REV-DEC-001"),
        ({"decision": "query", "reason": "Unclear"}, "REV-DEC-003"),
        ({"decision": "accept", "reason": "Fine", "question": "Why?"}, "REV-DEC-004"),
    ]
    for body, code in cases:
        r = client.post(url, json=body, headers=h[holder])
        assert r.status_code == 422 and code in [e["code"] for e in r.json()["errors"]], r.text
    assert client.post(url, json={"decision": "accept", "reason": "Fine"}, headers=h[other]).status_code == 404
    r = client.post(url, json={"decision": "accept", "reason": "Fine"}, headers=h["chu"])
    assert r.status_code == 403 and r.json()["code"] == "task_not_assigned"
    # Reassignment: only a supervisor, with a reason, by a new draw that leaves the holder out.
    re_url = f"{TASKS}/{task['id']}/reassignment"
    assert client.post(re_url, json={"reason": "Away"}, headers=h[holder]).status_code == 403
    r = client.post(re_url, json={}, headers=h["chu"])
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "TSK-RSN-001"
    after = client.get(f"{TASKS}/{task['id']}", headers=h["chu"]).json()
    assert after["assignees"] == [holder] and after["status"] == "open"
    r = client.post(re_url, json={"reason": "Holder is ill."}, headers=h["chu"])
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["assignees"] == [other] and [c["name"] for c in moved["draw"]["candidates"]] == [other]
    assert client.get(f"{TASKS}/{task['id']}", headers=h[holder]).status_code == 404
    with rt.read() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "task.reassigned")) == 1


def test_green_is_released_in_the_lodging_request_and_blue_too_with_an_audit_task(client: TestClient, world: World, rt: Runtime) -> None:
    h = add_staff(rt, world, ("ma", Role.officer))
    receipt = lodged(client, world)
    assert receipt["assessment"]["lane"] == "green" and receipt["status"] == "released"
    rel = client.get(f"{API}/{receipt['number']}", headers=world.headers("broker")).json()
    assert rel["status"] == "released" and rel["events"][-1]["event"] == "declaration.released"
    assert client.get(TASKS, headers=h["ma"]).json()["total"] == 0

    lane(rt, world, "blue")
    body = example() | {"client_reference": "BLUE-0001"}
    blue = lodged(client, world, body)
    assert blue["assessment"]["lane"] == "blue" and blue["status"] == "released"
    audit = only_task(client, h["ma"])
    assert (audit["kind"], audit["declaration"], audit["status"]) == ("audit", blue["number"], "open")


def test_a_red_lane_office_that_reviews_first_opens_a_review_then_the_inspection(client: TestClient, world: World, rt: Runtime) -> None:
    lane(rt, world, "red")
    h = add_staff(rt, world, ("he", Role.officer), ("lv", Role.inspector), ("shi", Role.inspector))
    with rt.write() as s:
        settings.set_review_first(s, office="2248", on=True, actor=OPERATOR, now=NOW)
    receipt = lodged(client, world)
    assert receipt["status"] == "under_review"
    review = only_task(client, h["he"])
    r = client.post(f"{TASKS}/{review['id']}/decision", json={"decision": "accept", "reason": "Papers in order."}, headers=h["he"])
    assert r.status_code == 200, r.text
    inspection = only_task(client, h["lv"])
    assert inspection["kind"] == "inspection" and sorted(inspection["assignees"]) == ["lv", "shi"]
    assert client.get(f"{API}/{receipt['number']}", headers=world.headers("broker")).json()["status"] == "under_inspection"
