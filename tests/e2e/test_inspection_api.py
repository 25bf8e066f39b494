"""Physical inspection through the API on each database: steps in order with photos, completion, hold and decision, remote assistance."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.errors import Conflict
from smartcustoms.inspection import service
from smartcustoms.inspection.models import Photo
from smartcustoms.risk.selectivity.models import Outcome
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import TaskKind
from tests.conftest import NOW, World, example
from tests.e2e.helpers import lodge, red_lane
from tests.e2e.inspection_helpers import API, JPEG, png, staff, status_of, task_of

RESULTS: dict[str, dict[str, Any]] = {
    "container_number": {"found": "{container}"},
    "seal": {"found": "{seal}", "condition": "intact"},
    "goods_description": {"description": "Smartphones in retail boxes", "matches_declared": True},
    "marks": {"marks": "SMD / HCMC / 1-120"},
    "counted_quantity": {"counts": [{"line": 1, "quantity": "600"}]},
    "weighed_mass": {"gross_mass_kg": "195.0"},
    "packaging": {"type": "cartons", "packages": 60, "condition": "good"},
    "container_body": {"condition": "intact", "false_compartment": False},
}
SEALS = {"MSKU1234565": "ML-CN4471208", "TGHU9876542": "ML-CN4471209"}


@pytest.fixture
def inspection(client: TestClient, world: World, rt: Runtime) -> tuple[str, int, str]:
    """A red-lane declaration whose inspection task clearance opened and drew two inspectors for: (number, task id, an inspector)."""
    staff(rt, world)
    red_lane(rt, world)
    number = lodge(client, world)
    task = task_of(rt, number, TaskKind.inspection)
    view = client.get(f"{API}/tasks/{task.id}", headers=world.headers("supervisor")).json()
    assert sorted(view["assignees"]) == ["insp_a", "insp_b"]
    # The task clearance opened lists the fixed steps per container, in order, with their ids.
    assert [s["id"] for s in view["steps"]][:3] == ["MSKU1234565.container_number", "MSKU1234565.seal", "MSKU1234565.goods_description"]
    assert len(view["steps"]) == 16 and view["steps"][8]["id"] == "TGHU9876542.container_number"
    return number, task.id, "insp_a"


def _result(step: dict[str, Any]) -> str:
    text = json.dumps(RESULTS[step["kind"]])
    return text.replace("{container}", step["container"]).replace("{seal}", SEALS.get(step["container"], ""))


def _record(
    client: TestClient, world: World, task: int, step_id: str, result: str, who: str = "insp_a", photos: list[Any] | None = None
) -> Any:
    files = [("photos", p) for p in photos or []]
    return client.post(f"{API}/tasks/{task}/steps/{step_id}", data={"result": result}, files=files or None, headers=world.headers(who))


def _all_steps(client: TestClient, world: World, task: int) -> None:
    steps = client.get(f"{API}/tasks/{task}/inspection", headers=world.headers("insp_a")).json()["steps"]
    for n, step in enumerate(steps):
        if step["status"] != "done":
            r = _record(client, world, task, step["id"], _result(step), who="insp_b" if n % 2 else "insp_a")
            assert r.status_code == 200, r.text


def test_steps_are_recorded_in_order_with_photos_archived_by_sha256(client: TestClient, world: World, rt: Runtime, inspection: Any) -> None:
    number, task, _ = inspection
    view = client.get(f"{API}/tasks/{task}/inspection", headers=world.headers("insp_a")).json()
    assert [s["id"] for s in view["steps"][:2]] == ["MSKU1234565.container_number", "MSKU1234565.seal"]
    assert len(view["steps"]) == 16 and view["next_step"] == "MSKU1234565.container_number" and view["declaration"] == number

    r = _record(client, world, task, "MSKU1234565.seal", '{"found": "ML-CN4471208", "condition": "intact"}')
    assert r.status_code == 409 and r.json()["code"] == "step_out_of_order" and r.json()["errors"][0]["code"] == "INS-STEP-003"
    assert _record(client, world, task, "MSKU1234565.nothing", "{}").json()["code"] == "step_not_found"
    pdf = ("scan.jpg", b"%PDF-1.7 not an image", "image/jpeg")
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565"}', photos=[pdf])
    assert r.status_code == 415 and r.json()["errors"][0]["code"] == "INS-PHO-002"
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565", "colour": "red"}')
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "INS-RES-006"
    assert _record(client, world, task, "MSKU1234565.container_number", "{nope").status_code == 422
    # An inspector not drawn does not see the task; a supervisor sees it but does not act on it.
    assert _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565"}', who="inspector").status_code == 404
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565"}', who="supervisor")
    assert r.status_code == 403 and r.json()["code"] == "task_not_assigned"
    rt.settings.max_photo_bytes = 2048
    big = ("big.png", png(200, 200) + b"\x00" * 4096, "image/png")
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565"}', photos=[big])
    assert r.status_code == 413 and r.json()["errors"][0]["code"] == "INS-PHO-001"
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 0

    photos = [("door.png", png(), "image/png"), ("plate.bin", JPEG, "application/octet-stream")]
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565", "note": "plate read"}', photos=photos)
    assert r.status_code == 200, r.text
    step = r.json()["steps"][0]
    assert step["status"] == "done" and step["done_by"] == "insp_a"
    assert step["result"] == {"found": "MSKU1234565", "declared": "MSKU1234565", "matches": True, "note": "plate read"}
    assert [p["content_type"] for p in step["photos"]] == ["image/png", "image/jpeg"]  # known by the bytes, not the name
    grouped = r.json()["photos"]
    assert grouped[0]["container"] == "MSKU1234565" and len(grouped[0]["steps"]["MSKU1234565.container_number"]) == 2
    sha = hashlib.sha256(png()).hexdigest()
    assert step["photos"][0]["sha256"] == sha and rt.store.get(sha) == png()
    got = client.get(f"{API}/tasks/{task}/photos/{sha}", headers=world.headers("supervisor"))
    assert got.status_code == 200 and got.content == png() and got.headers["content-type"] == "image/png"
    assert client.get(f"{API}/tasks/{task}/photos/{sha}", headers=world.headers("inspector")).status_code == 404
    r = _record(client, world, task, "MSKU1234565.container_number", '{"found": "MSKU1234565"}')
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "INS-STEP-002"
    # The other inspector goes on with the next step; the journal has each recording.
    assert _record(client, world, task, "MSKU1234565.seal", '{"found": "ML-XX", "condition": "broken"}', who="insp_b").status_code == 200
    with rt.read() as s:
        actions = s.scalars(
            select(AuditEntry.actor_name).where(AuditEntry.action == "inspection.step_recorded").order_by(AuditEntry.id)
        ).all()
    assert list(actions) == ["insp_a", "insp_b"]
    assert status_of(client, world, number) == "under_inspection"


def test_completion_with_a_discrepancy_holds_and_an_officer_amends_and_continues(
    client: TestClient, world: World, rt: Runtime, inspection: Any
) -> None:
    number, task, _ = inspection
    finding = {"type": "quantity", "line": 1, "container": "MSKU1234565", "found": "1260", "note": "60 more in the back"}
    r = client.post(f"{API}/tasks/{task}/completion", json={"findings": [finding]}, headers=world.headers("insp_a"))
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "INS-DONE-001"
    _all_steps(client, world, task)
    r = client.post(f"{API}/tasks/{task}/completion", json={"findings": [{**finding, "found": "1200"}]}, headers=world.headers("insp_a"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "INS-FND-013"
    r = client.post(f"{API}/tasks/{task}/completion", json={"findings": [finding]}, headers=world.headers("insp_b"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hit"] is True and body["critical"] == 1 and body["declaration_status"] == "held" and body["next"] == "stopped"
    assert body["findings"][0]["declared"] == "1200"
    again = client.post(f"{API}/tasks/{task}/completion", json={"findings": [finding]}, headers=world.headers("insp_a"))
    assert again.status_code == 409 and again.json()["code"] == "task_done"
    with rt.read() as s:
        outcome = s.scalars(select(Outcome).where(Outcome.number == number)).one()
    assert (outcome.source, outcome.hit, outcome.critical) == ("inspection", True, 1)

    r = client.post(
        f"{API}/tasks/{task}/resolution", json={"decision": "amend_and_continue", "reason": "x"}, headers=world.headers("officer")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "INS-RSV-002"
    r = client.post(
        f"{API}/tasks/{task}/resolution",
        json={"decision": "amend_and_continue", "reason": "Quantity as counted"},
        headers=world.headers("broker"),
    )
    assert r.status_code in (403, 404)
    r = client.post(
        f"{API}/tasks/{task}/resolution",
        json={"decision": "amend_and_continue", "reason": "Quantity as counted"},
        headers=world.headers("supervisor"),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (
        out["version"] == 2
        and out["resolution"]["amended"] is True
        and out["declaration_status"] == "released"
        and out["next"] == "released"
    )
    d = client.get(f"{API}/declarations/{number}", headers=world.headers("analyst")).json()
    assert d["declaration"]["items"][0]["quantity"] == "1260"
    r = client.post(
        f"{API}/tasks/{task}/resolution", json={"decision": "reject", "reason": "Changed my mind"}, headers=world.headers("supervisor")
    )
    assert r.status_code == 409


def test_a_clean_inspection_lets_release_go_on_and_a_reject_closes_a_held_one(
    client: TestClient, world: World, rt: Runtime, inspection: Any
) -> None:
    number, task, _ = inspection
    _all_steps(client, world, task)
    assert status_of(client, world, number) == "under_inspection"
    r = client.post(f"{API}/tasks/{task}/completion", json={"findings": []}, headers=world.headers("insp_a"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "INS-FND-002"
    r = client.post(
        f"{API}/tasks/{task}/completion", json={"findings": [], "reason": "All 16 steps, as declared"}, headers=world.headers("insp_a")
    )
    assert r.status_code == 200, r.text
    assert r.json()["hit"] is False and r.json()["declaration_status"] == "released" and r.json()["next"] == "released"
    r = client.post(
        f"{API}/tasks/{task}/resolution", json={"decision": "reject", "reason": "Nothing to decide"}, headers=world.headers("supervisor")
    )
    assert r.status_code == 409 and r.json()["code"] == "nothing_to_resolve"

    other = lodge(client, world, {**_example_with(client_reference="SHIMP-2026-000999")})
    task2 = task_of(rt, other, TaskKind.inspection).id
    _all_steps(client, world, task2)
    concealed = {"type": "concealment", "container": "TGHU9876542", "note": "cigarettes behind a false front wall"}
    r = client.post(f"{API}/tasks/{task2}/completion", json={"findings": [concealed]}, headers=world.headers("insp_a"))
    assert r.status_code == 200 and r.json()["critical"] == 2 and r.json()["declaration_status"] == "held"
    r = client.post(
        f"{API}/tasks/{task2}/resolution", json={"decision": "reject", "reason": "Smuggling: case opened"}, headers=world.headers("officer")
    )
    assert r.status_code == 200, r.text
    assert r.json()["declaration_status"] == "rejected" and status_of(client, world, other) == "rejected"


def _example_with(**changes: Any) -> dict[str, Any]:
    return {**example(), **changes}


def test_a_supervisor_instructs_a_live_inspection_and_the_inspectors_see_it(client: TestClient, world: World, inspection: Any) -> None:
    _, task, _ = inspection
    body = {"text": "Open the cartons at the back; photograph the batteries' labels.", "step_id": "MSKU1234565.packaging"}
    r = client.post(f"{API}/tasks/{task}/instructions", json=body, headers=world.headers("insp_a"))
    assert r.status_code == 403 and r.json()["code"] == "instruction_forbidden"
    assert client.post(f"{API}/tasks/{task}/instructions", json={"text": ""}, headers=world.headers("supervisor")).status_code == 422
    bad = client.post(f"{API}/tasks/{task}/instructions", json={"text": "Look", "step_id": "X.seal"}, headers=world.headers("supervisor"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "INS-INS-002"
    r = client.post(f"{API}/tasks/{task}/instructions", json=body, headers=world.headers("supervisor"))
    assert r.status_code == 201, r.text
    seen = client.get(f"{API}/tasks/{task}/inspection", headers=world.headers("insp_b")).json()["instructions"]
    assert [(i["text"], i["step_id"], i["given_by"]) for i in seen] == [(body["text"], body["step_id"], "supervisor")]
    assert client.get(f"{API}/tasks/{task}/inspection", headers=world.headers("officer")).status_code == 404


def test_two_inspectors_recording_the_same_step_at_once_one_wins(client: TestClient, world: World, rt: Runtime, inspection: Any) -> None:
    _, task, _ = inspection
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def record(who: str) -> None:
        barrier.wait(timeout=10)
        with rt.write() as s:
            try:
                service.record_step(
                    s,
                    task_id=task,
                    step_id="MSKU1234565.container_number",
                    result={"found": "MSKU1234565", "note": who},
                    photos=[service.Upload(data=png(), filename="p.png")],
                    store=rt.store,
                    max_photo_bytes=1 << 20,
                    principal=world.principals[who],
                    now=NOW,
                )
                answers.append(200)
            except Conflict:
                answers.append(409)
                raise

    threads = [threading.Thread(target=_quiet(record), args=(who,)) for who in ("insp_a", "insp_b")]  # PostgreSQL: both at once
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(answers) == [200, 409]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 1
    step = client.get(f"{API}/tasks/{task}/inspection", headers=world.headers("insp_a")).json()["steps"][0]
    assert step["status"] == "done" and step["result"]["note"] == step["done_by"]


def _quiet(fn: Any) -> Any:
    def run(*args: Any) -> None:
        with contextlib.suppress(Conflict):
            fn(*args)

    return run


def test_two_completions_at_once_one_wins_and_the_outcome_is_recorded_once(
    client: TestClient, world: World, rt: Runtime, inspection: Any
) -> None:
    number, task, _ = inspection
    _all_steps(client, world, task)
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def complete(who: str) -> None:
        barrier.wait(timeout=10)
        try:
            with rt.write() as s:
                service.complete(s, task_id=task, findings=[], reason=f"Checked by {who}", principal=world.principals[who], now=NOW)
            answers.append("done")
        except Conflict as exc:
            answers.append(exc.code)

    threads = [threading.Thread(target=complete, args=(who,)) for who in ("insp_a", "insp_b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(answers) in (["done", "task_conflict"], ["done", "task_done"]), answers
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Outcome).where(Outcome.number == number)) == 1
