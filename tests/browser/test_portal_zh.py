"""A trader's journey in Chinese, in a real browser: the language comes from the browser, the trader lodges by form
(a mistake shown at its field first), sees the status and what happens next, uploads a document, switches to English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PASSWORD, Lodged
from tests.browser.journey_helpers import NO_SIDEWAYS_SCROLL
from tests.conftest import example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

SELECTS = {"/procedure", "/transport/mode", "/documents/0/type", "/documents/1/type", "/documents/2/type"}


def _fields(value: Any, at: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _fields(v, f"{at}/{k}")]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _fields(v, f"{at}/{i}")]
    return [(at, str(value))]


def _declaration() -> dict[str, Any]:
    """The example import, with the one container the form has room for and no item line numbers (the form numbers them)."""
    decl = example()
    decl["client_reference"] = "SHIMP-2026-000900"
    decl["containers"] = decl["containers"][:1]
    return decl


def _fill(page: Page, decl: dict[str, Any]) -> None:
    for pointer, value in _fields(decl):
        if pointer == "/kind" or pointer.endswith("/line"):
            continue
        field = page.locator(f'form.lodge [name="{pointer}"]')
        if pointer in SELECTS:
            field.select_option(value)
        else:
            field.fill(value)


@pytest.fixture
def zh(browser: Browser, base_url: str) -> Any:
    """A desktop browser whose user prefers Simplified Chinese."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def zh_phone(browser: Browser, base_url: str) -> Any:
    """A 390 px phone whose user prefers Simplified Chinese."""
    ctx = browser.new_context(
        base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN"
    )
    yield ctx
    ctx.close()


def _sign_in_zh(page: Page, name: str) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


# under_review after lodged: the three listed declarations stay green; the one lodged by form goes to review (a green
# one is released at lodging and can no longer be given documents)
def test_a_trader_lodges_by_form_in_chinese_and_sees_the_status(
    zh: BrowserContext,
    lodged: Lodged,
    under_review: None,  # noqa: F811 (the fixture, requested after lodged)
    shots: Path,
    tmp_path: Path,
) -> None:
    page = zh.new_page()
    page.goto("/login")
    page.screenshot(path=str(shots / "zh-desktop-sign-in.png"))
    _sign_in_zh(page, "broker")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("报关单")
    expect(page.locator("#rows > p")).to_have_text("3 份报关单")
    expect(page.locator("#rows tbody tr").first.locator("td").nth(2)).to_have_text("绿色通道")
    page.screenshot(path=str(shots / "zh-desktop-list.png"), full_page=True)

    page.get_by_role("link", name="申报报关单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申报报关单")
    decl = _declaration()
    wrong = {**decl, "items": [{**decl["items"][0], "hs_code": "85171"}, *decl["items"][1:]]}
    _fill(page, wrong)
    page.get_by_role("button", name="申报", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("报关单有 1 个问题，未申报。")
    hs = page.locator("label.field.invalid")
    expect(hs).to_have_count(1)
    expect(hs).to_contain_text("商品编码")
    expect(hs).to_contain_text("HS 编码应为 6、8 或 10 位数字。")
    expect(page.locator('[name="/items/0/description"]')).to_have_value("Smartphones, 6.1 inch, 128 GB")  # nothing typed is lost
    page.screenshot(path=str(shots / "zh-desktop-lodge-problem.png"), full_page=True)

    page.locator('[name="/items/0/hs_code"]').fill("8517130000")
    page.get_by_role("button", name="申报", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("报关单 2248")
    expect(page.locator("h1 .badge")).to_have_text("审核中")
    expect(page.locator(".status-meaning")).to_have_text("关员正在审核报关单及随附单证。")
    expect(page.locator(".card.assessment .badge.lane")).to_have_text("黄色通道")
    expect(page.locator(".card.assessment")).to_contain_text("放行前，关员将审核报关单及随附单证。")
    expect(page.locator("ol.timeline li strong").first).to_have_text("已申报")

    pdf = tmp_path / "发票.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    page.get_by_label("单证类型").select_option("invoice")
    page.get_by_label("文件").set_input_files(str(pdf))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("文件 发票.pdf 已添加到报关单。")
    expect(page.locator("h2:text-is('随附单证') + ul > li")).to_contain_text("发票: 发票.pdf")
    page.screenshot(path=str(shots / "zh-desktop-detail.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.locator("h1 .badge")).to_have_text("under review")
    expect(page.locator(".status-meaning")).to_have_text("An officer is reviewing the declaration and its documents.")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Declarations")  # remembered over the browser's Chinese
    expect(page.locator("#rows > p")).to_have_text("4 declarations")


def test_on_a_390_px_phone_the_chinese_pages_fit_the_screen(zh_phone: BrowserContext, lodged: Lodged, shots: Path) -> None:
    page = zh_phone.new_page()
    _sign_in_zh(page, "broker")
    expect(page.get_by_role("heading", level=1)).to_have_text("报关单")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(shots / "zh-phone-list.png"), full_page=True)
    page.get_by_role("link", name="申报报关单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申报报关单")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    box = page.locator('[name="/client_reference"]').bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] > 300  # large enough for a thumb, full width
    page.screenshot(path=str(shots / "zh-phone-lodge.png"))  # the first screenful: the whole form is very long
    page.goto(f"/declarations/{lodged.numbers[0]}")
    expect(page.locator(".status-meaning")).to_have_text("风险评估已完成；下方的通道说明了后续步骤。")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(shots / "zh-phone-detail.png"), full_page=True)
