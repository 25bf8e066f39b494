"""The clearance desk in a real browser, around the journey of test_clearance_journey (lodge, query, answer,
inspection, release, in English and Chinese): the supervisor's office tasks, the draw and the roster; the queue
and the review on a phone; in Chinese, a query without its question refused at its field before the officer
accepts. Desktop and 390 px phone screenshots of these pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import select

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.clearance import service as clearance
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind
from tests.browser.conftest import PASSWORD, Lodged, sign_in
from tests.browser.journey_helpers import DESKTOP, NO_SIDEWAYS_SCROLL, lodge_by_upload, shot, sign_in_as, watch
from tests.conftest import NOW, OPERATOR, World, example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)
from tests.e2e.inspection_helpers import task_of

pytestmark = pytest.mark.slow


@pytest.fixture
def inspectors(rt: Runtime, lodged: Lodged) -> None:
    """Two inspectors of office 2248 on the roster (`inspector` and `inspector2`), and a supervisor of the office."""
    with rt.write() as s:
        auth_service.add_user(s, name="inspector2", role=Role.inspector, office="2248", password=PASSWORD, actor=OPERATOR, now=NOW)
        auth_service.add_user(s, name="chief", role=Role.supervisor, office="2248", password=PASSWORD, actor=OPERATOR, now=NOW)
        for name in ("inspector", "inspector2"):
            roster.set_officer(s, name=name, capacity=20, actor=OPERATOR, now=NOW)


@pytest.fixture
def sent_to_inspection(rt: Runtime, world: World, inspectors: None, under_review: None) -> str:  # noqa: F811 (the fixture)
    """A declaration lodged for review whose officer sent the goods to inspection (the pages that do it are
    test_clearance_journey's): the number. Ask for it before the page fixtures."""
    raw = {**example(), "client_reference": "SHIMP-2026-000700"}
    with rt.write() as s:
        receipt, _ = clearance.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW + timedelta(hours=1))
    review = task_of(rt, receipt["number"], TaskKind.review)
    with rt.write() as s:
        clearance.decide(
            s,
            task_id=review.id,
            decision="inspect",
            reason="Unit prices far below the reference price: look at the goods.",
            question=None,
            principal=world.principals["officer"],
            now=NOW + timedelta(hours=2),
        )
    return str(receipt["number"])


def test_the_supervisor_sees_the_office_tasks_the_draw_and_the_roster_and_the_pages_fit_a_phone(
    sent_to_inspection: str, browser: Browser, desktop: BrowserContext, phone: BrowserContext, rt: Runtime, shots: Path
) -> None:
    with rt.read() as s:
        inspection = s.scalars(select(Task).where(Task.kind == TaskKind.inspection)).one()
        assert sorted(tasks.assignees(s, task=inspection)) == ["inspector", "inspector2"]

    # The office's supervisor sees the tasks with holder and age, and the draw of the inspection.
    chief = desktop.new_page()
    problems = watch(chief)
    sign_in(chief, "chief")
    chief.goto("/tasks")
    expect(chief.get_by_role("heading", level=1)).to_have_text("Office tasks")
    expect(chief.locator("table.tasks tbody tr", has_text="physical inspection")).to_contain_text("inspector")
    shot(chief, shots, "desktop-office-tasks.png")
    chief.goto(f"/tasks/{inspection.id}")
    expect(chief.locator(".card.draw")).to_contain_text("inspector2")
    shot(chief, shots, "desktop-draw-reassign.png")
    chief.goto("/roster")
    expect(chief.locator("#officer-inspector2")).to_contain_text("1")
    shot(chief, shots, "desktop-roster.png")

    # On a phone, the queue, the review and the roster fit the screen.
    mobile = phone.new_page()
    problems += watch(mobile)
    sign_in(mobile, "inspector")
    mobile.goto("/tasks")
    expect(mobile.locator(f'a[href="/tasks/{inspection.id}/inspection"]')).to_be_visible()
    assert mobile.evaluate(NO_SIDEWAYS_SCROLL)
    shot(mobile, shots, "phone-queue.png")
    mobile.context.clear_cookies()
    sign_in(mobile, "officer")
    mobile.goto("/tasks?status=done")
    mobile.locator("table.tasks tbody tr a").first.click()
    expect(mobile.locator("h1")).to_contain_text("done")
    assert mobile.evaluate(NO_SIDEWAYS_SCROLL)
    shot(mobile, shots, "phone-review.png")
    assert problems == []


@pytest.mark.usefixtures("under_review")
def test_in_chinese_a_query_without_its_question_is_refused_at_its_field_and_the_officer_accepts(
    browser: Browser, base_url: str, tmp_path: Path, shots: Path
) -> None:
    trader, officer = (browser.new_context(base_url=base_url, locale="zh-CN", **DESKTOP).new_page() for _ in range(2))
    problems = watch(trader), watch(officer)
    try:
        sign_in_as(trader, "broker", "zh-Hans")
        number = lodge_by_upload(trader, tmp_path, "SHIMP-2026-000701", "上传并申报")
        expect(trader.locator("h1")).to_contain_text("审核中")

        sign_in_as(officer, "officer", "zh-Hans")
        officer.get_by_role("link", name="我的任务").click()
        officer.locator("table.tasks tbody tr", has_text=number).get_by_role("link").click()
        review = officer.url
        officer.get_by_label("质疑：向企业提出问题").check()
        officer.get_by_label("理由（必填）").fill("发票未列明单价。")
        officer.get_by_role("button", name="记录决定").click()
        expect(officer.get_by_role("alert")).to_have_text("查询须提出 3 至 2000 个字符的问题。")
        expect(officer.get_by_label("理由（必填）")).to_have_value("发票未列明单价。")  # the answers kept
        shot(officer, shots, "zh-desktop-review.png")
        refused = [f"422 POST {officer.url}"]
        officer.goto(review)
        expect(officer.locator("h1 .badge")).to_have_text("待办")  # nothing recorded
        officer.get_by_label("通过：报关单审核通过").check()
        officer.get_by_label("理由（必填）").fill("合同与发票一致。")
        officer.get_by_role("button", name="记录决定").click()
        expect(officer.get_by_role("status")).to_have_text("您的决定已记录。")
        expect(officer.locator("h1 .badge")).to_have_text("已办结")
        trader.reload()
        expect(trader.locator("h1")).to_contain_text("已放行")
        expect(trader.locator(".release-link a")).to_contain_text("放行回执")
        assert problems == ([], refused)
    finally:
        trader.context.close()
        officer.context.close()
