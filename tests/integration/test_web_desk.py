"""The officers' desk pages on both databases: the work queue (paged through every row), the review page and its decision,
the trader's answer to a query, the supervisor's draw and reassignment, the roster page; who sees what, CSRF, errors."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.declaration import repository
from smartcustoms.review.models import Query
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind
from tests.conftest import NOW, OPERATOR, World, example
from tests.e2e.helpers import lane

PASSWORD = "correct-horse-battery"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _user(rt: Runtime, name: str, role: Role, office: str = "2248", *, on_roster: bool = True) -> None:
    with rt.write() as s:
        auth_service.add_user(s, name=name, role=role, office=office, password=PASSWORD, actor=OPERATOR, now=NOW)
        if on_roster:
            roster.set_officer(s, name=name, chapters="01-97", capacity=200, duty="on", actor=OPERATOR, now=NOW)


@pytest.fixture
def browser(client: TestClient) -> Iterator[Any]:
    """A factory of signed-in clients (each with its own cookies) on the test app."""
    opened: list[TestClient] = []

    def sign_in(name: str) -> TestClient:
        c = TestClient(client.app, raise_server_exceptions=False)
        opened.append(c)
        token = CSRF.search(c.get("/login").text)
        assert token
        r = c.post("/login", data={"csrf": token.group(1), "name": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    yield sign_in
    for c in opened:
        c.close()


def _csrf(c: TestClient, path: str) -> str:
    page = c.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def _review(client: TestClient, world: World, rt: Runtime) -> tuple[str, int]:
    """A yellow declaration lodged by the broker; its review task drawn to `officer` (the only one on the roster)."""
    lane(rt, world, "yellow")
    with rt.write() as s:
        roster.set_officer(s, name="officer", capacity=200, actor=OPERATOR, now=NOW)
    r = client.post("/api/v1/declarations", json=example(), headers=world.headers("broker"))
    assert r.status_code == 202 and r.json()["status"] == "under_review", r.text
    task = client.get("/api/v1/tasks", headers=world.headers("officer")).json()["items"][0]
    return r.json()["number"], int(task["id"])


def _task(rt: Runtime, task_id: int) -> Task:
    with rt.read() as s:
        t = s.get(Task, task_id)
        assert t is not None
        s.expunge(t)
        return t


def test_the_queue_pages_through_every_row_filters_and_shows_each_officer_only_theirs(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    number, first = _review(client, world, rt)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        for _ in range(119):
            tasks.open_task(s, declaration=decl, kind=TaskKind.review, actor=OPERATOR, now=NOW)
    officer = browser("officer")
    page1 = officer.get("/tasks")
    assert page1.status_code == 200
    assert "120 tasks" in page1.text and "Page 1 of 3" in page1.text and 'rel="next" href="/tasks?page=2"' in page1.text
    assert page1.text.count(f">{number}</td>") == 50 and 'rel="prev"' not in page1.text
    page3 = officer.get("/tasks?page=3")
    assert f'href="/tasks/{first}"' in page3.text  # oldest first: the lodging's own task (opened now, after NOW) comes last
    assert page3.text.count(f">{number}</td>") == 20 and 'rel="prev" href="/tasks?page=2"' in page3.text and 'rel="next"' not in page3.text
    assert "0 tasks" in officer.get("/tasks?kind=inspection").text
    assert "120 tasks" in officer.get("/tasks?kind=review&status=open").text
    assert "No tasks." in officer.get("/tasks?status=done").text
    # Another office's officer has none; the trader has no queue; a stranger signs in first.
    assert "0 tasks" in browser("officer_tianjin").get("/tasks").text
    assert browser("broker").get("/tasks").status_code == 403
    assert client.get("/tasks", follow_redirects=False).headers["location"] == "/login"
    # The supervisor (national) sees the office's tasks with their holder and age.
    sup = browser("supervisor").get("/tasks?page=1")
    assert "Office tasks" in sup.text and "120 tasks" in sup.text and '<td data-label="Holder">officer</td>' in sup.text
    assert re.search(r'data-label="Age">\d+ d \d+ h · <a href="/tasks/\d+#reassign">Reassign</a><', sup.text)


def test_another_officers_task_answers_404_and_the_trader_of_another_enterprise_404(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    number, task_id = _review(client, world, rt)
    _user(rt, "officer2", Role.officer, on_roster=False)
    assert browser("officer2").get(f"/tasks/{task_id}").status_code == 404
    assert browser("officer_tianjin").get(f"/tasks/{task_id}").status_code == 404
    assert browser("broker").get(f"/tasks/{task_id}").status_code == 404
    assert browser("other").get(f"/declarations/{number}").status_code == 404
    own = browser("officer").get(f"/tasks/{task_id}")
    assert own.status_code == 200 and number in own.text and f'action="/tasks/{task_id}/decision"' in own.text
    assert "Test lane." in own.text  # the rule's reason: the officer sees why it was selected
    assert "The draw" not in own.text  # supervisors only
    with rt.read() as s:  # the officer's reading is journaled
        assert s.scalar(select(func.count()).where(AuditEntry.action == "declaration.read")) == 1


def test_query_answer_and_inspect_through_the_pages(client: TestClient, world: World, rt: Runtime, browser: Any) -> None:
    number, task_id = _review(client, world, rt)
    for name in ("insp1", "insp2"):
        _user(rt, name, Role.inspector)
    officer = browser("officer")
    url = f"/tasks/{task_id}/decision"
    # No CSRF token: refused, nothing changes.
    assert officer.post(url, data={"decision": "accept", "reason": "Fine"}).status_code == 403
    assert _task(rt, task_id).status.value == "open"
    # A query without its question: the problem at its field, in Chinese for a Chinese browser; nothing changes.
    token = _csrf(officer, f"/tasks/{task_id}")
    bad = officer.post(url, data={"csrf": token, "decision": "query", "reason": "Invoice unclear", "question": ""}, headers=ZH)
    assert bad.status_code == 422 and "查询须提出 3 至 2000 个字符的问题。" in bad.text and "Invoice unclear" in bad.text
    no_reason = officer.post(url, data={"csrf": token, "decision": "accept", "reason": " "})
    assert no_reason.status_code == 422 and "Give a reason of 3 to 500 characters." in no_reason.text
    assert _task(rt, task_id).status.value == "open"
    data = {"csrf": token, "decision": "query", "reason": "Invoice unclear", "question": "Send the sales contract."}
    r = officer.post(url, data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task_id}?done=decision"
    assert _task(rt, task_id).status.value == "waiting"
    assert "Your decision is recorded." in officer.get(r.headers["location"]).text

    # The trader sees the open query and answers it with a file; another enterprise cannot.
    broker = browser("broker")
    page = broker.get(f"/declarations/{number}")
    assert "Send the sales contract." in page.text and "answer it below" in page.text
    with rt.read() as s:
        qid = s.scalars(select(Query.id)).one()
    answer_url = f"/declarations/{number}/queries/{qid}/answer"
    other = browser("other")
    assert other.post(answer_url, data={"csrf": _csrf(other, "/declarations/new"), "answer": "Mine"}).status_code == 404
    token = _csrf(broker, f"/declarations/{number}")
    empty = broker.post(answer_url, data={"csrf": token, "answer": " ", "type": "contract"}, files={"file": ("c.pdf", b"%PDF-1.4 c")})
    assert empty.status_code == 422 and "An answer has 1 to 2000 characters." in empty.text
    with rt.read() as s:
        assert repository.documents(s, declaration_id=_task(rt, task_id).declaration_id) == []  # the refused answer kept no file
    files = {"file": ("contract.pdf", b"%PDF-1.4 contract", "application/pdf")}
    r = broker.post(
        answer_url, data={"csrf": token, "answer": "Contract attached.", "type": "contract"}, files=files, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    with rt.read() as s:
        q = s.get(Query, qid)
        assert q is not None and q.answer == "Contract attached." and len(q.documents) == 1
    assert _task(rt, task_id).status.value == "open"
    back = officer.get(f"/tasks/{task_id}")
    assert "Contract attached." in back.text and "1 document attached" in back.text

    # The officer sends it to inspection: an inspection task drawn to the two inspectors.
    r = officer.post(url, data={"csrf": token_of(officer, task_id), "decision": "inspect", "reason": "Contract and goods differ."})
    assert r.status_code == 200 and "Your decision is recorded." in r.text  # followed the redirect
    with rt.read() as s:
        inspection = s.scalars(select(Task).where(Task.kind == TaskKind.inspection)).one()
        assert sorted(tasks.assignees(s, task=inspection)) == ["insp1", "insp2"]
    queue = browser("insp1").get("/tasks")
    assert f'href="/tasks/{inspection.id}/inspection"' in queue.text
    # The same form sent again (a second decision on a task decided already): the conflict in plain words, nothing changed.
    again = officer.post(url, data={"csrf": token_of(officer, task_id), "decision": "reject", "reason": "Second thoughts"}, headers=ZH)
    assert again.status_code == 409 and "您的决定未被记录" in again.text
    assert _task(rt, task_id).result == {
        "decision": "inspect",
        "reason": "Contract and goods differ.",
        "by": "officer",
        "next": "inspection",
        "declaration_version": 1,
    }


def token_of(c: TestClient, task_id: int) -> str:
    return _csrf(c, f"/tasks/{task_id}")


def test_a_supervisor_sees_the_draw_and_reassigns_with_a_reason_by_a_new_draw(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    _, task_id = _review(client, world, rt)
    _user(rt, "officer2", Role.officer)
    _user(rt, "sup", Role.supervisor, on_roster=False)
    sup = browser("sup")
    page = sup.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and "The draw" in page.text and "Seed reference" in page.text
    assert '<td data-label="Candidate">officer</td>' in page.text and "✔" in page.text
    token = CSRF.search(page.text)
    assert token
    url = f"/tasks/{task_id}/reassignment"
    bad = sup.post(url, data={"csrf": token.group(1), "reason": ""})
    assert bad.status_code == 422 and "Give a reason of 3 to 500 characters." in bad.text
    assert browser("officer").post(url, data={"csrf": token_of(browser("officer"), task_id), "reason": "Mine now"}).status_code == 403
    r = sup.post(url, data={"csrf": token.group(1), "reason": "Officer is on leave."}, follow_redirects=False)
    assert r.status_code == 303
    with rt.read() as s:
        t = s.get(Task, task_id)
        assert t is not None and tasks.assignees(s, task=t) == ["officer2"]
    assert browser("officer").get(f"/tasks/{task_id}").status_code == 404  # no longer theirs
    assert browser("officer2").get(f"/tasks/{task_id}").status_code == 200
    # Another office's supervisor does not see it.
    _user(rt, "sup_tj", Role.supervisor, office="0202", on_roster=False)
    assert browser("sup_tj").get(f"/tasks/{task_id}").status_code == 404


def test_the_roster_page_sets_chapters_capacity_and_duty_through_the_service(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    _user(rt, "li", Role.officer)
    admin = browser("admin")
    page = admin.get("/roster?office=2248")
    assert page.status_code == 200 and 'id="officer-li"' in page.text and 'id="officer-officer"' in page.text
    token = CSRF.search(page.text)
    assert token
    bad = admin.post("/roster/li", data={"csrf": token.group(1), "office": "2248", "capacity": "many", "chapters": "84-85"}, headers=ZH)
    assert bad.status_code == 422 and "处理能力为 1 至 1000 的整数。" in bad.text
    r = admin.post("/roster/li", data={"csrf": token.group(1), "office": "2248", "chapters": "84-85,90", "capacity": "7", "duty": "off"})
    assert r.status_code == 200 and "The roster entry of li is saved." in r.text
    with rt.read() as s:
        li = roster.get_officer(s, name="li")
    assert (li.chapters, li.capacity, li.duty and li.duty.value) == ("84-85,90", 7, "off")
    assert admin.post("/roster/li", data={"office": "2248", "capacity": "8"}).status_code == 403  # no CSRF token
    # A supervisor keeps their own office's roster only; officers and traders none.
    _user(rt, "sup", Role.supervisor, on_roster=False)
    _user(rt, "sup_tj", Role.supervisor, office="0202", on_roster=False)
    assert 'id="officer-li"' in browser("sup").get("/roster").text
    tj = browser("sup_tj")
    assert 'id="officer-li"' not in tj.get("/roster").text
    assert tj.post("/roster/li", data={"csrf": _csrf(tj, "/roster"), "capacity": "9"}).status_code == 404
    assert browser("officer").get("/roster").status_code == 403
    assert browser("broker").get("/roster").status_code == 403


def test_two_decisions_sent_at_once_from_the_page_one_wins_the_other_is_told_nothing_was_recorded(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    _, task_id = _review(client, world, rt)
    officer = browser("officer")
    token = token_of(officer, task_id)
    bodies = [{"csrf": token, "decision": "reject", "reason": "Undervalued."}, {"csrf": token, "decision": "accept", "reason": "Fine."}]
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def decide(i: int) -> None:
        barrier.wait()
        answers[i] = officer.post(f"/tasks/{task_id}/decision", data=bodies[i], follow_redirects=False)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [303, 409], [a.text[:200] for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert "your decision was not recorded" in loser.text
    winner = bodies[next(i for i, a in enumerate(answers) if a.status_code == 303)]
    assert _task(rt, task_id).result["decision"] == winner["decision"]  # type: ignore[index]
    with rt.read() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "task.finished")) == 1


def test_an_answer_without_the_csrf_token_changes_nothing(client: TestClient, world: World, rt: Runtime, browser: Any) -> None:
    number, task_id = _review(client, world, rt)
    officer = browser("officer")
    data = {"csrf": token_of(officer, task_id), "decision": "query", "reason": "Unclear", "question": "The contract?"}
    assert officer.post(f"/tasks/{task_id}/decision", data=data, follow_redirects=False).status_code == 303
    with rt.read() as s:
        qid = s.scalars(select(Query.id)).one()
    broker = browser("broker")
    r = broker.post(f"/declarations/{number}/queries/{qid}/answer", data={"answer": "Here."}, files={"file": ("c.pdf", b"%PDF-1.4")})
    assert r.status_code == 403
    with rt.read() as s:
        q = s.get(Query, qid)
        assert q is not None and q.answered_at is None
        assert repository.documents(s, declaration_id=q.declaration_id) == []


def test_putting_an_officer_on_duty_from_the_roster_page_draws_the_waiting_task(
    client: TestClient, world: World, rt: Runtime, browser: Any
) -> None:
    lane(rt, world, "yellow")  # nobody on the roster yet: the review task waits in the office's queue
    r = client.post("/api/v1/declarations", json=example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    with rt.read() as s:
        waiting = s.scalars(select(Task)).one()
        assert (waiting.status.value, waiting.assigned_at) == ("waiting", None)
    admin = browser("admin")
    token = _csrf(admin, "/roster?office=2248")
    saved = admin.post("/roster/officer", data={"csrf": token, "office": "2248", "duty": "on"}, follow_redirects=False)
    assert saved.status_code == 303
    with rt.read() as s:
        drawn = s.get(Task, waiting.id)
        assert drawn is not None and drawn.status.value == "open" and tasks.assignees(s, task=drawn) == ["officer"]
    assert f'href="/tasks/{waiting.id}"' in browser("officer").get("/tasks").text
