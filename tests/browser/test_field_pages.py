"""The field pages in a real browser, on phones (390x844), beyond the whole journey of test_clearance_journey: a
supervisor's instruction reaches two inspectors (one in English, one in Chinese) while they record steps with photos, and
follows them on the assistance page; the image analyst marks a region on an X-ray in Chinese and sends the goods to
physical inspection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, expect

from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import repository
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import TaskKind
from smartcustoms.xray import service as xray
from tests.browser.conftest import START, Lodged, sign_in
from tests.browser.journey_helpers import NO_SIDEWAYS_SCROLL, PHONE, camera_photo, current_step, fill_step, sign_in_as, watch
from tests.conftest import NOW, World, example
from tests.e2e.field_helpers import field_staff, xray_png
from tests.e2e.inspection_helpers import task_of

pytestmark = pytest.mark.slow


@pytest.fixture
def staffed(rt: Runtime, world: World) -> None:
    """Two inspectors and an image analyst on the roster of office 2248, before anything is lodged."""
    field_staff(rt, world)


@pytest.fixture
def inspection(staffed: None, red: str, rt: Runtime) -> tuple[str, int]:
    """The red-lane declaration and its inspection task, drawn to insp_a and insp_b (clearance takes it on from its lane)."""
    with rt.write() as s:
        decl = repository.by_number(s, number=red)
        assert decl is not None
        assert clearance.proceed(s, declaration=decl, now=NOW + timedelta(minutes=41)) == "opened:inspection"
    return red, task_of(rt, red, TaskKind.inspection).id


@pytest.fixture
def scanned(staffed: None, lodged: Lodged, rt: Runtime, world: World) -> tuple[str, int]:
    """A yellow-lane declaration (a rule on its printed manuals) with an X-ray scan of its first container: (number, review task)."""
    rule = RuleCreate(
        valid_from=START,
        code="PRM-DOC-031",
        name="Printed matter",
        reason="Printed matter is checked against the import licence.",
        instructions="Compare the titles with the licence.",
        condition={"fact": "hs6", "op": "eq", "value": "490199"},
        lane="yellow",
    )
    with rt.write() as s:
        r = rules.propose(s, data=rule, principal=world.principals["analyst"], now=NOW)
        rules.approve(s, code=r.code, version=r.version, note="Checked.", principal=world.principals["supervisor"], now=NOW)
    raw = example()
    raw["client_reference"] = "SHIMP-2026-000131"
    with rt.write() as s:
        receipt, _ = clearance.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW + timedelta(minutes=50))
    assert receipt["assessment"]["lane"] == "yellow", receipt
    with rt.write() as s:
        _, task = xray.receive_scan(
            s,
            number=receipt["number"],
            container="MSKU1234565",
            data=xray_png(),
            store=rt.store,
            max_bytes=rt.settings.max_scan_bytes,
            principal=world.principals["scanner"],
            now=NOW + timedelta(minutes=55),
        )
        return str(receipt["number"]), task.id


@pytest.fixture
def second_phone(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """Another phone, set to Simplified Chinese: the second inspector's."""
    ctx = browser.new_context(base_url=base_url, locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    yield ctx
    ctx.close()


def test_a_supervisor_follows_the_inspection_and_instructs_the_inspectors_on_their_phones(
    inspection: tuple[str, int], phone: BrowserContext, second_phone: BrowserContext, desktop: BrowserContext, shots: Path
) -> None:
    """The whole inspection (steps, photos, completion, release receipt) is test_clearance_journey's: here, what the
    supervisor adds while it runs, to an inspector in English and one in Chinese."""
    number, task = inspection
    a, b = phone.new_page(), second_phone.new_page()
    sup = desktop.new_page()
    problems = watch(a), watch(b), watch(sup)
    sign_in_as(a, "insp_a")
    sign_in_as(b, "insp_b", "zh-Hans")
    a.goto(f"/tasks/{task}/inspection")
    expect(a.get_by_role("heading", level=1)).to_have_text(f"Inspection of declaration {number}")

    # A supervisor on a desktop follows the inspection and sends an instruction; the inspector's page shows it by itself.
    sign_in(sup, "supervisor")
    sup.goto(f"/tasks/{task}/assist")
    expect(sup.get_by_role("heading", level=1)).to_have_text(f"Remote assistance: inspection of {number}")
    instruction = "Open the last row of cartons at the doors and photograph the battery labels."
    sup.get_by_label("Instruction", exact=True).fill(instruction)
    sup.get_by_label("About the step (optional)").select_option("MSKU1234565.counted_quantity")
    sup.get_by_role("button", name="Send the instruction").click()
    expect(sup.locator(".notice")).to_contain_text("Instruction sent")
    expect(a.locator("#instructions")).to_contain_text(instruction, timeout=12_000)  # htmx polling, no reload

    # The inspectors record the first steps, photos through the camera field; the Chinese page shows the instruction too.
    photos = {
        "MSKU1234565.container_number": [camera_photo(a, "MSKU1234565", "png")],
        "MSKU1234565.seal": [camera_photo(a, "ML-CN4471208"), camera_photo(a, "ML-CN4471208-2")],
    }
    for turn, page in enumerate((a, a, b)):
        page.goto(f"/tasks/{task}/inspection")
        step = current_step(page)
        assert step is not None
        fill_step(page, step, photos.get(step, []))
        expect(page.locator(".notice")).to_contain_text("Step recorded" if page is a else "环节已记录")
        if turn == 1:
            assert a.evaluate(NO_SIDEWAYS_SCROLL)
            a.screenshot(path=str(shots / "phone-inspection-step.png"), full_page=True)
    expect(b.get_by_role("heading", level=1)).to_have_text(f"报关单 {number} 的查验")
    expect(b.locator("#instructions")).to_contain_text("科长的指令")
    expect(b.locator("#instructions")).to_contain_text(instruction)
    expect(b.locator(".progress-count")).to_have_text("已完成 3 / 16 个环节")
    b.screenshot(path=str(shots / "zh-phone-inspection-step.png"), full_page=True)

    # The supervisor sees the progress and the photos as they arrive, on a phone too.
    sup.goto(f"/tasks/{task}/assist")
    expect(sup.locator("#live .progress-count")).to_have_text("3 of 16 steps done")
    expect(sup.locator("#live .photos img")).to_have_count(3)
    sup.wait_for_function("[...document.querySelectorAll('#live .photos img')].every(i => i.naturalWidth === 320)")
    sup.set_viewport_size({"width": 390, "height": 844})
    assert sup.evaluate(NO_SIDEWAYS_SCROLL)
    sup.screenshot(path=str(shots / "phone-assist.png"), full_page=True)
    assert problems == ([], [], [])


def test_the_analyst_marks_a_region_on_the_xray_in_chinese_and_sends_the_goods_to_physical_inspection(
    scanned: tuple[str, int], browser: Browser, base_url: str, rt: Runtime, shots: Path
) -> None:
    number, task = scanned
    ctx = browser.new_context(base_url=base_url, locale="zh-CN", **PHONE)  # type: ignore[arg-type]
    try:
        page = ctx.new_page()
        sign_in_as(page, "xray_a", "zh-Hans")
        page.wait_for_url("**/")  # the declarations list, which an image analyst may not read (403): the tasks come next
        problems = watch(page)
        page.goto(f"/tasks/{task}/xray")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"机检图像判读：{number}")
        image = page.locator(".xray-stage img")
        expect(image).to_be_visible()
        page.wait_for_function("document.querySelector('.xray-stage img').naturalWidth > 0")
        box = image.bounding_box()
        assert box is not None and box["width"] <= 390

        def drag(x0: float, y0: float, x1: float, y1: float) -> None:
            page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y0)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * (x0 + x1) / 2, box["y"] + box["height"] * (y0 + y1) / 2, steps=4)
            page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y1, steps=4)
            page.mouse.up()

        drag(0.1, 0.1, 0.25, 0.3)  # a first region, then removed
        drag(0.6, 0.3, 0.78, 0.75)  # around the dense block
        expect(page.locator(".xray-stage .region")).to_have_count(2)
        expect(page.locator("#region-list li")).to_have_count(2)
        page.get_by_role("button", name="删除 区域 1").click()
        expect(page.locator(".xray-stage .region")).to_have_count(1)
        page.locator("#region-list li input").fill("货物后方高密度阴影")
        regions = json.loads(page.locator("#regions").input_value())
        assert len(regions) == 1 and regions[0]["label"] == "货物后方高密度阴影"
        r = regions[0]
        assert 280 <= r["x"] <= 295 and 55 <= r["y"] <= 65 and 80 <= r["width"] <= 95 and 85 <= r["height"] <= 95, r
        page.get_by_label("可疑：转人工查验").check()
        page.get_by_label("备注（可选）").fill("第三排纸箱后方有高密度阴影。")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        page.screenshot(path=str(shots / "zh-phone-xray.png"), full_page=True)
        page.get_by_role("button", name="提交判图结果").click()
        expect(page.locator(".outcome")).to_contain_text("已开启人工查验")
        expect(page.locator(".outcome .badge")).to_have_text("查验中")
        expect(page.locator(".xray-stage .region")).to_have_count(1)
        expect(page.locator("#region-list")).to_contain_text("货物后方高密度阴影")
        page.screenshot(path=str(shots / "zh-phone-xray-reviewed.png"), full_page=True)
        assert problems == []
    finally:
        ctx.close()
    opened = task_of(rt, number, TaskKind.inspection)
    assert opened.id > task
