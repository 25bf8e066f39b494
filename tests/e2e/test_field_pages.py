"""The field pages on each database: the inspection on a phone (steps in order with photos, completion, release),
remote assistance (instructions the inspectors see), the X-ray review (regions and verdict); who sees what, CSRF, bad photos."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.inspection.models import Instruction, Photo
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import Task, TaskKind
from smartcustoms.xray.models import Scan
from tests.conftest import World
from tests.e2e.field_helpers import answers, browser_of, csrf_of, current_step, field_staff, files, text_of
from tests.e2e.helpers import lodge, red_lane
from tests.e2e.inspection_helpers import API, JPEG, png, status_of, task_of

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def inspection(client: TestClient, world: World, rt: Runtime) -> tuple[str, int]:
    """A red-lane declaration whose inspection task was drawn to insp_a and insp_b: (number, task id)."""
    field_staff(rt, world)
    red_lane(rt, world)
    number = lodge(client, world)
    return number, task_of(rt, number, TaskKind.inspection).id


def _steps_done(rt: Runtime, task: int) -> list[str]:
    with rt.read() as s:
        row = s.get(Task, task)
        assert row is not None
        return [st["id"] for st in row.steps if st["status"] == "done"]


def test_two_inspectors_work_the_steps_on_the_page_with_photos_and_the_clean_completion_releases(
    client: TestClient, world: World, rt: Runtime, inspection: tuple[str, int]
) -> None:
    number, task = inspection
    a, b = browser_of(client, "insp_a"), browser_of(client, "insp_b")
    page = a.get(f"/tasks/{task}/inspection")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert f"Inspection of declaration {number}" in text and "0 of 16 steps done" in text
    assert 'capture="environment"' in page.text and 'accept="image/jpeg,image/png"' in page.text and "multiple" in page.text
    assert current_step(a, task) == "MSKU1234565.container_number"
    assert f'hx-get="/tasks/{task}/inspection/instructions"' in page.text

    photo = ("door.png", png(40, 30), "image/png")
    csrf_a, csrf_b = csrf_of(a, f"/tasks/{task}/inspection"), csrf_of(b, f"/tasks/{task}/inspection")
    first = "MSKU1234565.container_number"
    r = a.post(
        f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_a, **answers(first)}, files=files(photo), follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task}/inspection?recorded={first}"
    assert "Step recorded: Container number · MSKU1234565." in text_of(a.get(r.headers["location"]).text)
    # The other inspector goes on from where the first stopped; they take turns to the end.
    n = 1
    while (step := current_step(b if n % 2 else a, task)) is not None:
        who, csrf = (b, csrf_b) if n % 2 else (a, csrf_a)
        extra = files(("plate.jpg", JPEG, "image/jpeg")) if step.endswith(".seal") else None
        r = who.post(f"/tasks/{task}/inspection/steps/{step}", data={"csrf": csrf, **answers(step)}, files=extra, follow_redirects=False)
        assert r.status_code == 303, text_of(r.text)
        n += 1
    assert n == 16 and len(_steps_done(rt, task)) == 16
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 3
        actors = s.scalars(select(AuditEntry.actor_name).where(AuditEntry.action == "inspection.step_recorded")).all()
    assert sorted(set(actors)) == ["insp_a", "insp_b"] and len(actors) == 16
    page = a.get(f"/tasks/{task}/inspection")
    assert "16 of 16 steps done" in text_of(page.text) and f'action="/tasks/{task}/inspection/completion"' in page.text

    # No findings needs a reason: refused at the reason's field, nothing changed.
    r = a.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf_a, "reason": ""})
    assert r.status_code == 422 and "Say in 3 to 500 characters what was checked" in text_of(r.text)
    assert status_of(client, world, number) == "under_inspection"
    r = b.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf_b, "reason": "All 16 steps as declared."}, follow_redirects=False)
    assert r.status_code == 303
    done = b.get(f"/tasks/{task}/inspection")
    text = text_of(done.text)
    assert "The inspection is complete" in text and "No discrepancy" in text and "released" in text
    release = re.search(r'href="/releases/([0-9A-Z]+)"', done.text)
    assert release is not None and status_of(client, world, number) == "released"
    assert b.get(f"/releases/{release.group(1)}").status_code == 200


def test_who_may_see_and_act_on_the_inspection_page(client: TestClient, world: World, rt: Runtime, inspection: tuple[str, int]) -> None:
    number, task = inspection
    first = "MSKU1234565.container_number"
    anon = browser_of(client, None)
    assert anon.get(f"/tasks/{task}/inspection", follow_redirects=False).headers["location"] == "/login"
    assert anon.post(f"/tasks/{task}/inspection/steps/{first}", data=answers(first), follow_redirects=False).status_code == 303
    other = browser_of(client, "inspector")  # an inspector of the office, not drawn for this task
    r = other.get(f"/tasks/{task}/inspection")
    assert r.status_code == 404 and "No such task, or it is not yours to see." in text_of(r.text)
    assert other.get(f"/tasks/{task}/inspection/instructions").status_code == 404
    r = other.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_of(other, "/"), **answers(first)})
    assert r.status_code == 404
    a = browser_of(client, "insp_a")
    # A form without its CSRF token, or with another session's, changes nothing.
    assert a.post(f"/tasks/{task}/inspection/steps/{first}", data=answers(first)).status_code == 403
    r = a.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_of(other, "/"), **answers(first)})
    assert r.status_code == 403 and "The form has expired" in text_of(r.text)
    assert a.post(f"/tasks/{task}/inspection/completion", data={"reason": "Nothing to see."}).status_code == 403
    # A supervisor who opens the inspection is taken to remote assistance; the supervisor cannot record a step.
    sup = browser_of(client, "supervisor")
    r = sup.get(f"/tasks/{task}/inspection", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task}/assist"
    r = sup.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_of(sup, "/"), **answers(first)})
    assert r.status_code == 403 and "This task is not assigned to you" in text_of(r.text)
    # A task of another kind is no inspection.
    assert browser_of(client, "officer").get(f"/tasks/{task}/inspection").status_code == 404
    assert _steps_done(rt, task) == [] and status_of(client, world, number) == "under_inspection"


def test_bad_photos_out_of_order_steps_and_bad_answers_are_clear_errors_in_the_pages_language(
    client: TestClient, world: World, rt: Runtime, inspection: tuple[str, int]
) -> None:
    _, task = inspection
    first, seal = "MSKU1234565.container_number", "MSKU1234565.seal"
    zh = browser_of(client, "insp_a", **ZH)
    csrf = csrf_of(zh, f"/tasks/{task}/inspection")
    pdf = ("scan.jpg", b"%PDF-1.7 not an image", "image/jpeg")
    r = zh.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf, **answers(first)}, files=files(pdf))
    assert r.status_code == 415
    assert "照片" in text_of(r.text) and "JPEG" in text_of(r.text) and 'value="MSKU1234565"' in r.text  # the answers are kept
    en = browser_of(client, "insp_b")
    csrf_en = csrf_of(en, f"/tasks/{task}/inspection")
    r = en.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_en, **answers(first)}, files=files(pdf))
    assert r.status_code == 415 and "A file is not a photo: only JPEG or PNG images are accepted" in text_of(r.text)
    rt.settings.max_photo_bytes = 2048
    big = ("big.png", png(200, 200) + b"\x00" * 4096, "image/png")
    r = en.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_en, **answers(first)}, files=files(big))
    assert r.status_code == 413 and "A photo is larger than the limit" in text_of(r.text)
    r = en.post(f"/tasks/{task}/inspection/steps/{seal}", data={"csrf": csrf_en, **answers(seal)})
    assert r.status_code == 409 and "An earlier step is still open: steps are recorded in order." in text_of(r.text)
    r = zh.post(f"/tasks/{task}/inspection/steps/{seal}", data={"csrf": csrf, **answers(seal)})
    assert r.status_code == 409 and "按顺序" in text_of(r.text)
    r = en.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_en, "found": ""})
    assert r.status_code == 422 and "Fill this in." in text_of(r.text)
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 0
    assert _steps_done(rt, task) == []
    # Counting: a quantity that is no number comes back at its line's field.
    assert en.post(f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_en, **answers(first)}).status_code == 200
    assert en.post(f"/tasks/{task}/inspection/steps/{seal}", data={"csrf": csrf_en, **answers(seal)}).status_code == 200
    step = "MSKU1234565.goods_description"
    r = en.post(f"/tasks/{task}/inspection/steps/{step}", data={"csrf": csrf_en, "description": "Phones"})
    assert r.status_code == 422 and "Choose yes or no." in text_of(r.text) and 'value="Phones"' in r.text
    # A step recorded already (by the other inspector, from a page left open) says so.
    r = zh.post(f"/tasks/{task}/inspection/steps/{seal}", data={"csrf": csrf, **answers(seal)})
    assert r.status_code == 409 and "已记录" in text_of(r.text)
    assert _steps_done(rt, task) == [first, seal]


def test_a_supervisor_follows_the_inspection_and_instructs_the_inspectors(
    client: TestClient, world: World, rt: Runtime, inspection: tuple[str, int]
) -> None:
    _, task = inspection
    a, sup = browser_of(client, "insp_a"), browser_of(client, "supervisor")
    first = "MSKU1234565.container_number"
    csrf_a = csrf_of(a, f"/tasks/{task}/inspection")
    r = a.post(
        f"/tasks/{task}/inspection/steps/{first}", data={"csrf": csrf_a, **answers(first)}, files=files(("d.png", png(), "image/png"))
    )
    assert r.status_code == 200
    page = sup.get(f"/tasks/{task}/assist")
    assert page.status_code == 200, page.text
    assert f'hx-get="/tasks/{task}/assist/live"' in page.text and "1 of 16 steps done" in text_of(page.text)
    live = sup.get(f"/tasks/{task}/assist/live")
    assert live.status_code == 200 and f"/api/v1/tasks/{task}/photos/" in live.text and "done by insp_a" in text_of(live.text)
    sha = re.search(r'/api/v1/tasks/\d+/photos/([0-9a-f]{64})"', live.text)
    assert sha is not None and sup.get(f"/api/v1/tasks/{task}/photos/{sha.group(1)}").content == png()
    csrf = csrf_of(sup, f"/tasks/{task}/assist")
    r = sup.post(f"/tasks/{task}/assist/instructions", data={"csrf": csrf, "text": "  "})
    assert r.status_code == 422 and "Write an instruction of 1 to 2000 characters." in text_of(r.text)
    r = sup.post(
        f"/tasks/{task}/assist/instructions", data={"csrf": csrf, "text": "Open the last row of cartons.", "step_id": "MSKU1234565.nothing"}
    )
    assert r.status_code == 422 and "Choose a step of this inspection." in text_of(r.text)
    assert sup.post(f"/tasks/{task}/assist/instructions", data={"text": "No token"}).status_code == 403
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Instruction)) == 0
    text = "Open the last row of cartons."
    r = sup.post(
        f"/tasks/{task}/assist/instructions", data={"csrf": csrf, "text": text, "step_id": "MSKU1234565.seal"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task}/assist?sent=1"
    # The inspectors' page polls its instructions: the new one is there, about its step.
    fragment = a.get(f"/tasks/{task}/inspection/instructions")
    assert fragment.status_code == 200 and text in text_of(fragment.text) and "Seal number and condition" in text_of(fragment.text)
    zh = browser_of(client, "insp_b", **ZH)
    zh_page = text_of(zh.get(f"/tasks/{task}/inspection").text)
    assert "科长的指令" in zh_page and text in zh_page and "封志号及状况" in zh_page
    # Only supervisors of the office assist: the inspectors get 403, strangers 404.
    assert a.get(f"/tasks/{task}/assist").status_code == 403
    assert a.post(f"/tasks/{task}/assist/instructions", data={"csrf": csrf_a, "text": "Mine"}).status_code == 403
    assert browser_of(client, "inspector").get(f"/tasks/{task}/assist").status_code == 404
    assert browser_of(client, "broker").get(f"/tasks/{task}/assist/live").status_code == 404
    with rt.read() as s:
        assert s.scalars(select(Instruction.text)).all() == [text]


def test_the_analyst_marks_regions_and_a_suspect_verdict_sends_the_declaration_to_physical_inspection(
    client: TestClient, world: World, rt: Runtime
) -> None:
    field_staff(rt, world)
    red_lane(rt, world, "yellow")  # a review first: the suspect scan is what sends the goods to inspection
    number = lodge(client, world)
    files_ = {"image": ("scan.png", png(64, 48), "image/png")}
    scan = client.post(
        f"{API}/scans", data={"declaration": number, "container": "MSKU1234565"}, files=files_, headers=world.headers("scanner")
    )
    assert scan.status_code == 201, scan.text
    task = scan.json()["task"]
    inspections = len([t for t in _tasks(rt) if t == TaskKind.inspection])
    x = browser_of(client, "xray_a")
    page = x.get(f"/tasks/{task}/xray")
    assert page.status_code == 200, page.text
    assert f'src="/api/v1/scans/{scan.json()["id"]}/image"' in page.text and 'src="/static/xray.js"' in page.text
    assert 'data-width="64" data-height="48"' in page.text and x.get(f"/api/v1/scans/{scan.json()['id']}/image").content == png(64, 48)
    csrf = csrf_of(x, f"/tasks/{task}/xray")
    r = x.post(f"/tasks/{task}/xray", data={"csrf": csrf, "verdict": "suspect", "regions": "[]"})
    assert r.status_code == 422 and "A suspect verdict needs at least one region marked on the image" in text_of(r.text)
    outside = json.dumps([{"x": 60, "y": 10, "width": 10, "height": 5}])
    r = x.post(f"/tasks/{task}/xray", data={"csrf": csrf, "verdict": "suspect", "regions": outside})
    assert r.status_code == 422 and "runs past the edge of the image" in text_of(r.text)
    assert x.post(f"/tasks/{task}/xray", data={"verdict": "clear", "regions": "[]"}).status_code == 403
    assert browser_of(client, "supervisor").post(f"/tasks/{task}/xray", data={"csrf": csrf, "verdict": "clear"}).status_code == 403
    with rt.read() as s:
        assert s.scalar(select(Scan.verdict)) is None
    regions = json.dumps([{"x": 10, "y": 8, "width": 20, "height": 12, "label": "dense mass behind the cartons"}])
    r = x.post(
        f"/tasks/{task}/xray",
        data={"csrf": csrf, "verdict": "suspect", "regions": regions, "note": "Look behind row 3."},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task}/xray"
    done = text_of(x.get(f"/tasks/{task}/xray").text)
    assert "Reviewed: suspect: physical inspection" in done and "A physical inspection was opened" in done
    assert "Region 1: at 10, 8, 20 × 12 pixels · dense mass behind the cartons" in done
    with rt.read() as s:
        row = s.scalar(select(Scan))
        assert row is not None and row.verdict == "suspect" and row.regions[0]["width"] == 20 and row.note == "Look behind row 3."
    assert len([t for t in _tasks(rt) if t == TaskKind.inspection]) == inspections + 1
    assert status_of(client, world, number) == "under_inspection"
    assert browser_of(client, "supervisor").get(f"/tasks/{task}/xray").status_code == 200
    assert browser_of(client, "inspector").get(f"/tasks/{task}/xray").status_code == 404
    assert x.post(f"/tasks/{task}/xray", data={"csrf": csrf, "verdict": "clear", "regions": "[]"}).status_code == 409


def _tasks(rt: Runtime) -> list[TaskKind]:
    with rt.read() as s:
        return list(s.scalars(select(Task.kind)).all())


def test_findings_are_recorded_from_the_completion_form_with_problems_at_their_fields_and_hold_the_declaration(
    client: TestClient, world: World, rt: Runtime, inspection: tuple[str, int]
) -> None:
    number, task = inspection
    zh = browser_of(client, "insp_b", **ZH)
    csrf = csrf_of(zh, f"/tasks/{task}/inspection")
    while (step := current_step(zh, task)) is not None:
        assert zh.post(f"/tasks/{task}/inspection/steps/{step}", data={"csrf": csrf, **answers(step)}).status_code == 200
    finding = {"finding-0-type": "quantity", "finding-0-found": "2990", "finding-0-container": "MSKU1234565"}
    r = zh.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf, **finding})
    assert r.status_code == 422 and "请选择该发现涉及的申报商品项。" in text_of(r.text)
    assert '<details class="findings" open>' in r.text and 'value="2990"' in r.text
    r = zh.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf, **finding, "finding-0-line": "2", "finding-0-found": "3000"})
    assert r.status_code == 422 and "查见情况与申报一致：不构成查验发现。" in text_of(r.text)
    assert status_of(client, world, number) == "under_inspection"
    r = zh.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf, **finding, "finding-0-line": "2"}, follow_redirects=False)
    assert r.status_code == 303
    done = text_of(zh.get(f"/tasks/{task}/inspection").text)
    assert "发现不符：报关单已扣留，待关员处理。" in done and "数量不符 · 第 2 项: 2990" in done and "已扣留" in done
    assert status_of(client, world, number) == "held"
    with rt.read() as s:
        row = s.get(Task, task)
        assert row is not None and row.result is not None
        assert row.result["findings"] == [
            {"type": "quantity", "line": 2, "container": "MSKU1234565", "declared": "3000", "found": "2990", "note": None}
        ]
    assert zh.post(f"/tasks/{task}/inspection/completion", data={"csrf": csrf, "reason": "Again."}).status_code == 409
