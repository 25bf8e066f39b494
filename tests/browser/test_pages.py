"""The server-rendered pages in a real browser: sign in, filter with htmx, read a declaration, on a desktop and a phone."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import WITHDRAWAL_REASON, Lodged, sign_in

pytestmark = pytest.mark.slow

ITEM_HS_CODES = ["8517130000", "8507600090", "4901990000"]
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
SIDEWAYS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def _table(page: Page) -> list[list[str]]:
    """The visible text of every cell of the declarations table, row by row."""
    cells: list[list[str]] = page.locator("#rows tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return cells


def _row(number: str, status: str, reference: str, lodged: str) -> list[str]:
    return [number, status, "import · general", reference, "USD 234,240.00", lodged]


def _broker_rows(lodged: Lodged) -> list[list[str]]:
    first, second, third = lodged.numbers
    return [
        _row(third, "accepted", "SHIMP-2026-000125", "2026-11-22 09:10"),
        _row(second, "withdrawn", "SHIMP-2026-000124", "2026-11-22 09:05"),
        _row(first, "accepted", "SHIMP-2026-000123", "2026-11-22 09:00"),
    ]


def test_a_wrong_password_shows_the_error_and_the_right_one_shows_the_brokers_declarations(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.url.endswith("/login")
    expect(page.get_by_label("Name")).to_have_value("broker")
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Declarations")
    assert page.url.endswith("/")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator("header span")).to_contain_text("broker · enterprise · 91310000MA1FL8XX29")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    assert _table(page) == _broker_rows(lodged)


def test_choosing_withdrawn_in_the_status_filter_updates_the_table_through_htmx_without_reloading(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    page.evaluate("window.__marker = 'still the same page'")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    with page.expect_response(lambda r: "/declarations/rows" in r.url) as answer:
        page.get_by_label("Status").select_option("withdrawn")
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"
    assert answer.value.url.endswith("/declarations/rows?status=withdrawn")
    expect(page.locator("#rows > p")).to_have_text("1 declaration(s) withdrawn")
    assert _table(page) == [_broker_rows(lodged)[1]]

    page.get_by_label("Status").select_option("released")
    expect(page.locator("#rows > p")).to_have_text("0 declaration(s) released")
    assert _table(page) == [["No declarations."]]

    page.get_by_label("Status").select_option(label="All statuses")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    assert _table(page) == _broker_rows(lodged)
    assert page.evaluate("window.__marker") == "still the same page"
    assert navigations == []
    assert page.url.endswith("/")


def test_opening_a_declaration_shows_its_number_status_items_and_history(page: Page, lodged: Lodged, shots: Path) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    page.screenshot(path=str(shots / "desktop-list.png"), full_page=True)

    page.get_by_role("link", name=lodged.withdrawn).click()
    expect(page).to_have_title(f"{lodged.withdrawn} · smartcustoms")
    assert page.url.endswith(f"/declarations/{lodged.withdrawn}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.withdrawn} withdrawn")
    expect(page.locator("h1 .badge")).to_have_text("withdrawn")
    expect(page.locator("dl.facts dd").first).to_have_text("SHIMP-2026-000124")
    expect(page.locator("dl.facts")).to_contain_text("USD 234,240.00 in 3 item(s)")
    expect(page.locator("td[data-label='HS code']")).to_have_text(ITEM_HS_CODES)
    expect(page.locator("td[data-label='Description']")).to_have_text(
        ["Smartphones, 6.1 inch, 128 GB", "Lithium-ion battery packs for mobile phones", "Printed user manuals"]
    )
    expect(page.locator("td[data-label='Value']")).to_have_text(["216,000.00", "18,000.00", "240.00"])
    expect(page.locator("ol.timeline li strong")).to_have_text(["lodged", "accepted", "withdrawn"])
    assert page.locator("ol.timeline li").all_inner_texts() == [
        "lodged 2026-11-22 09:05:00 · broker (enterprise)",
        "accepted 2026-11-22 09:05:00 · intake (system)\nAll intake checks passed. Advance declaration: goods not yet arrived.",
        f"withdrawn 2026-11-22 09:30:00 · broker (enterprise)\n{WITHDRAWAL_REASON}",
    ]
    expect(page.locator("main ul li")).to_have_text(["No files uploaded."])
    page.screenshot(path=str(shots / "desktop-detail.png"), full_page=True)

    page.go_back()
    page.get_by_role("link", name=lodged.numbers[0]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.numbers[0]} accepted")
    expect(page.locator("h1 .badge")).to_have_text("accepted")
    expect(page.locator("td[data-label='HS code']")).to_have_text(ITEM_HS_CODES)
    expect(page.locator("ol.timeline li strong")).to_have_text(["lodged", "accepted"])


def _stacked_as_cards(page: Page) -> None:
    """Every responsive table shows as cards: no header row, each cell on its own line under a label."""
    for table in page.locator("table.responsive").all():
        expect(table.locator("thead")).to_be_hidden()
        first = table.locator("tbody tr").first
        cells = first.locator("td")
        labels = cells.evaluate_all("tds => tds.map(td => getComputedStyle(td, '::before').content)")
        expected = cells.evaluate_all("tds => tds.map(td => JSON.stringify(td.dataset.label))")
        assert labels == expected and len(labels) == 6
        boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
        assert all(b is not None for b in boxes)
        tops = [b["y"] for b in boxes if b is not None]
        lefts = {round(b["x"]) for b in boxes if b is not None}
        assert tops == sorted(tops) and len(set(tops)) == len(tops), tops
        assert len(lefts) == 1, lefts


def test_on_a_phone_the_list_and_the_detail_fit_the_screen_with_rows_as_cards(phone: BrowserContext, lodged: Lodged, shots: Path) -> None:
    page = phone.new_page()
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    page.screenshot(path=str(shots / "phone-list.png"), full_page=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(SIDEWAYS)
    _stacked_as_cards(page)
    expect(page.locator("#rows td[data-label='Number']").first).to_have_text(lodged.numbers[2])

    page.get_by_role("link", name=lodged.withdrawn).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.withdrawn} withdrawn")
    page.screenshot(path=str(shots / "phone-detail.png"), full_page=True)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(SIDEWAYS)
    _stacked_as_cards(page)
    expect(page.locator("td[data-label='HS code']")).to_have_text(ITEM_HS_CODES)


def test_another_enterprise_neither_lists_nor_opens_the_brokers_declarations(page: Page, lodged: Lodged) -> None:
    sign_in(page, "other")
    expect(page.get_by_role("heading", level=1)).to_have_text("Declarations")
    expect(page.locator("header span")).to_contain_text("other · enterprise")
    expect(page.locator("#rows > p")).to_have_text("0 declaration(s)")
    assert _table(page) == [["No declarations."]]
    for number in lodged.numbers:
        expect(page.get_by_text(number)).to_have_count(0)

    response = page.goto(f"/declarations/{lodged.withdrawn}")
    assert response is not None and response.status == 404
    expect(page).to_have_title("Not found · smartcustoms")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main p").first).to_have_text(f"No declaration {lodged.withdrawn}.")
    expect(page.locator("header span")).to_contain_text("other · enterprise")
    page.get_by_role("link", name="Back to the declarations").click()
    expect(page.locator("#rows > p")).to_have_text("0 declaration(s)")


def test_signing_out_returns_to_the_sign_in_page_and_the_list_then_asks_to_sign_in(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    assert [c["name"] for c in page.context.cookies()] == ["sc_session"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.url.endswith("/login")
    assert page.context.cookies() == []
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.goto("/")
    assert page.url.endswith("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"/declarations/{lodged.withdrawn}")
    assert page.url.endswith("/login")


def test_the_status_filter_and_the_table_agree_after_going_back_and_in_a_link(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    page.get_by_label("Status").select_option("withdrawn")
    expect(page.locator("#rows > p")).to_have_text("1 declaration(s) withdrawn")
    page.get_by_role("link", name=lodged.withdrawn).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.withdrawn} withdrawn")

    page.go_back()
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    expect(page.get_by_label("Status")).to_have_value("")

    page.goto("/?status=withdrawn")
    expect(page.locator("#rows > p")).to_have_text("1 declaration(s) withdrawn")
    expect(page.get_by_label("Status")).to_have_value("withdrawn")
    page.goto("/?status=no-such-status")
    expect(page.locator("#rows > p")).to_have_text("3 declaration(s)")
    expect(page.get_by_label("Status")).to_have_value("")
