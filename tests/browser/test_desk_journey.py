"""The clearance desk in a real browser: a trader lodges by uploading JSON, the officer opens the review from the queue and
queries, the trader answers with a file, the officer sends the goods to inspection (two inspectors drawn); the supervisor
sees the draw; the roster page; one journey in Chinese. Desktop and 390 px phone screenshots of the new pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from smartcustoms.task import service as tasks
from smartcustoms.task.models import Task, TaskKind
from tests.browser.conftest import PASSWORD, Lodged, sign_in
from tests.conftest import NOW, OPERATOR, example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def inspectors(rt: Runtime, lodged: Lodged) -> None:
    """Two inspectors of office 2248 on the roster (`inspector` and `inspector2`), and a supervisor of the office."""
    with rt.write() as s:
        auth_service.add_user(s, name="inspector2", role=Role.inspector, office="2248", password=PASSWORD, actor=OPERATOR, now=NOW)
        auth_service.add_user(s, name="chief", role=Role.supervisor, office="2248", password=PASSWORD, actor=OPERATOR, now=NOW)
        for name in ("inspector", "inspector2"):
            roster.set_officer(s, name=name, capacity=20, actor=OPERATOR, now=NOW)


def _lodge_by_upload(page: Page, tmp_path: Path, reference: str, button: str) -> str:
    """The trader uploads the example as a JSON file; the declaration's number (from the page it lands on)."""
    doc = {**example(), "client_reference": reference}
    path = tmp_path / f"{reference}.json"
    path.write_text(json.dumps(doc))
    page.goto("/declarations/new")
    page.locator('form[action="/declarations/new/json"] input[type=file]').set_input_files(str(path))
    page.get_by_role("button", name=button).click()
    page.wait_for_url("**/declarations/2248*")
    return page.url.rsplit("/", 1)[-1]


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / name), full_page=True)


@pytest.mark.usefixtures("under_review")
def test_lodge_query_answer_and_inspect_through_the_pages(
    browser: Browser, desktop: BrowserContext, phone: BrowserContext, base_url: str, rt: Runtime,
    inspectors: None, tmp_path: Path, shots: Path,
) -> None:  # fmt: skip
    trader = desktop.new_page()
    sign_in(trader, "broker")
    number = _lodge_by_upload(trader, tmp_path, "SHIMP-2026-000700", "Upload and lodge")
    expect(trader.locator("h1")).to_contain_text("under review")

    officer_ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    officer = officer_ctx.new_page()
    sign_in(officer, "officer")
    officer.get_by_role("link", name="My tasks").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("My tasks")
    row = officer.locator("table.tasks tbody tr", has_text=number)
    expect(row).to_contain_text("document review")
    expect(row).to_contain_text("yellow lane")
    _shot(officer, shots, "desktop-queue.png")
    row.get_by_role("link").click()
    expect(officer.locator("h1")).to_contain_text("document review")
    expect(officer.locator("body")).to_contain_text("Test lane.")  # why it was selected
    officer.get_by_label("Query: ask the enterprise a question").check()
    officer.get_by_label("Reason (required)").fill("The invoice does not give the unit prices.")
    officer.get_by_label("Question to the enterprise (for a query)").fill("Please send the sales contract with the unit prices.")
    _shot(officer, shots, "desktop-review.png")
    officer.get_by_role("button", name="Record the decision").click()
    expect(officer.get_by_role("status")).to_have_text("Your decision is recorded.")
    expect(officer.locator("h1 .badge")).to_have_text("waiting")

    trader.reload()
    expect(trader.locator(".open-query")).to_be_visible()
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF-1.4\n% sales contract\n%%EOF\n")
    query = trader.locator(".card.query")
    expect(query).to_contain_text("Please send the sales contract with the unit prices.")
    query.get_by_label("Your answer").fill("The contract is attached; unit prices on page 2.")
    query.get_by_label("Document type").select_option("contract")
    query.get_by_label("Attach a file (optional)").set_input_files(str(contract))
    query.get_by_role("button", name="Send the answer").click()
    expect(trader.locator(".card.query")).to_contain_text("The contract is attached; unit prices on page 2.")
    expect(trader.locator(".card.query")).to_contain_text("1 document attached")
    _shot(trader, shots, "desktop-answered-query.png")

    officer.reload()
    expect(officer.locator("h1 .badge")).to_have_text("to do")
    expect(officer.locator(".card.query")).to_contain_text("unit prices on page 2")
    officer.get_by_label("Inspect: send the goods to inspection").check()
    officer.get_by_label("Reason (required)").fill("Unit prices far below the reference price: look at the goods.")
    officer.get_by_role("button", name="Record the decision").click()
    expect(officer.get_by_role("status")).to_have_text("Your decision is recorded.")
    with rt.read() as s:
        inspection = s.scalars(select(Task).where(Task.kind == TaskKind.inspection)).one()
        assert sorted(tasks.assignees(s, task=inspection)) == ["inspector", "inspector2"]

    # The office's supervisor sees the tasks with holder and age, and the draw of the inspection.
    chief = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}).new_page()
    sign_in(chief, "chief")
    chief.goto("/tasks")
    expect(chief.get_by_role("heading", level=1)).to_have_text("Office tasks")
    expect(chief.locator("table.tasks tbody tr", has_text="physical inspection")).to_contain_text("inspector")
    _shot(chief, shots, "desktop-office-tasks.png")
    chief.goto(f"/tasks/{inspection.id}")
    expect(chief.locator(".card.draw")).to_contain_text("inspector2")
    _shot(chief, shots, "desktop-draw-reassign.png")
    chief.goto("/roster")
    expect(chief.locator("#officer-inspector2")).to_contain_text("1")
    _shot(chief, shots, "desktop-roster.png")
    chief.context.close()
    officer_ctx.close()

    # On a phone, the queue, the review and the roster fit the screen.
    mobile = phone.new_page()
    sign_in(mobile, "inspector")
    mobile.goto("/tasks")
    expect(mobile.locator(f'a[href="/tasks/{inspection.id}/inspection"]')).to_be_visible()
    assert mobile.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(mobile, shots, "phone-queue.png")
    mobile.context.clear_cookies()
    sign_in(mobile, "officer")
    mobile.goto("/tasks?status=done")
    mobile.locator("table.tasks tbody tr a").first.click()
    expect(mobile.locator("h1")).to_contain_text("done")
    assert mobile.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(mobile, shots, "phone-review.png")


@pytest.fixture
def zh(browser: Browser, base_url: str) -> BrowserContext:
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    yield ctx  # type: ignore[misc]
    ctx.close()


def _sign_in_zh(page: Page, name: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.usefixtures("under_review")
def test_in_chinese_the_officer_queries_the_trader_answers_and_the_officer_accepts(
    browser: Browser, zh: BrowserContext, base_url: str, rt: Runtime, tmp_path: Path, shots: Path
) -> None:
    trader = zh.new_page()
    _sign_in_zh(trader, "broker")
    number = _lodge_by_upload(trader, tmp_path, "SHIMP-2026-000701", "上传并申报")
    expect(trader.locator("h1")).to_contain_text("审核中")

    officer_ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    officer = officer_ctx.new_page()
    _sign_in_zh(officer, "officer")
    officer.get_by_role("link", name="我的任务").click()
    row = officer.locator("table.tasks tbody tr", has_text=number)
    expect(row).to_contain_text("审单")
    _shot(officer, shots, "zh-desktop-queue.png")
    row.get_by_role("link").click()
    # A query without its question: refused in Chinese at its field, nothing recorded.
    officer.get_by_label("质疑：向企业提出问题").check()
    officer.get_by_label("理由（必填）").fill("发票未列明单价。")
    officer.get_by_role("button", name="记录决定").click()
    expect(officer.get_by_role("alert")).to_have_text("查询须提出 3 至 2000 个字符的问题。")
    officer.get_by_label("向企业提出的问题（质疑时填写）").fill("请提供列明单价的销售合同。")
    _shot(officer, shots, "zh-desktop-review.png")
    officer.get_by_role("button", name="记录决定").click()
    expect(officer.get_by_role("status")).to_have_text("您的决定已记录。")

    trader.reload()
    query = trader.locator(".card.query")
    expect(query).to_contain_text("请提供列明单价的销售合同。")
    query.get_by_label("您的答复").fill("合同已附上，单价见第二页。")
    query.get_by_role("button", name="提交答复").click()
    expect(trader.locator(".card.query")).to_contain_text("合同已附上")
    _shot(trader, shots, "zh-desktop-answered-query.png")

    officer.reload()
    officer.get_by_label("通过：报关单审核通过").check()
    officer.get_by_label("理由（必填）").fill("合同与发票一致。")
    officer.get_by_role("button", name="记录决定").click()
    expect(officer.get_by_role("status")).to_have_text("您的决定已记录。")
    expect(officer.locator("h1 .badge")).to_have_text("已办结")
    trader.reload()
    expect(trader.locator("h1")).to_contain_text("已放行")
    expect(trader.locator(".release-link a")).to_contain_text("放行回执")
    officer_ctx.close()
