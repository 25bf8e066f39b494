"""The release receipt in a real browser: printed on one page, its QR address checked by anyone, a forged one refused; desktop and phone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, Page, expect

from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.release import service
from smartcustoms.runtime import Runtime
from tests.browser.conftest import Lodged, sign_in
from tests.browser.journey_helpers import NO_SIDEWAYS_SCROLL, watch
from tests.conftest import NOW

pytestmark = pytest.mark.slow


@pytest.fixture
def released(rt: Runtime, lodged: Lodged) -> tuple[str, str]:
    """The broker's first declaration released (release number, token); ask for it before the page fixtures."""
    with rt.write() as s:
        decl = repository.by_number(s, number=lodged.numbers[0])
        assert decl is not None
        rel = service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=NOW + timedelta(hours=2))
        return rel.number, rel.token


def test_the_receipt_prints_on_one_page_and_its_qr_address_verifies_for_anyone(
    released: tuple[str, str], page: Page, browser: Browser, base_url: str, shots: Path
) -> None:
    number, token = released
    violations = watch(page)
    sign_in(page, "broker")
    page.goto(f"/releases/{number}?lang=zh")
    expect(page.get_by_role("heading", level=1)).to_have_text("放行凭证")
    expect(page.locator("svg.qr")).to_be_visible()
    expect(page.locator("ul.containers li")).to_have_text(["MSKU1234565", "TGHU9876542"])
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    page.screenshot(path=str(shots / "release-receipt-zh.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()  # the print style sheet hides the controls
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (shots / "release-receipt-zh.pdf").write_bytes(pdf)
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1, "the receipt prints on one A4 page"
    page.emulate_media(media="screen")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Release receipt")
    url = page.locator("p.url").inner_text()
    assert url == f"{base_url}/verify/{token}"
    assert violations == []

    anyone = browser.new_context(locale="zh-CN")  # no sign-in, a Chinese phone browser
    try:
        check = anyone.new_page()
        check.goto(url)
        expect(check.locator(".verdict")).to_contain_text("真实有效")
        expect(check.locator("dl.facts")).to_contain_text(number)
        head, body, sig = token.split(".")
        check.goto(f"{base_url}/verify/{head}.{body}.{sig[:-4]}AAAA")
        expect(check.locator(".verdict")).to_contain_text("伪造或被篡改")
        check.screenshot(path=str(shots / "release-check-forged-zh.png"), full_page=True)
    finally:
        anyone.close()


def test_on_a_phone_the_receipt_and_the_check_fit_the_screen(released: tuple[str, str], phone: BrowserContext, shots: Path) -> None:
    number, token = released
    page = phone.new_page()
    sign_in(page, "broker")
    page.goto(f"/releases/{number}?lang=en")
    expect(page.locator("svg.qr")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(shots / "release-receipt-phone.png"), full_page=True)
    page.goto(f"/verify/{token}?lang=en")
    expect(page.locator(".verdict")).to_contain_text("Genuine")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
