"""The server-rendered pages in a real browser: sign in, filter with htmx, read a declaration and its risk assessment, on desktop and phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import RED_RULE, WITHDRAWAL_REASON, Lodged, sign_in
from tests.browser.journey_helpers import NO_SIDEWAYS_SCROLL

pytestmark = pytest.mark.slow

ITEM_HS_CODES = ["8517130000", "8507600090", "4901990000"]
SIDEWAYS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
DOCUMENTS = "h2:text-is('Documents') + ul > li"
ASSESSMENT = "h2:text-is('Risk assessment') + .card.assessment"
GREEN = "No check: the goods can be released on the declared data."
RED = "The goods will be inspected (physically or by X-ray) before release."


def _table(page: Page) -> list[list[str]]:
    """The visible text of every cell of the declarations table, row by row."""
    cells: list[list[str]] = page.locator("#rows tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return cells


def _row(number: str, status: str, reference: str, lodged: str) -> list[str]:
    return [number, status, "green lane", "import · general", reference, "USD 234,240.00", lodged]


def _broker_rows(lodged: Lodged) -> list[list[str]]:
    first, second, third = lodged.numbers
    return [
        _row(third, "assessed", "SHIMP-2026-000125", "2026-11-22 09:10"),
        _row(second, "withdrawn", "SHIMP-2026-000124", "2026-11-22 09:05"),
        _row(first, "assessed", "SHIMP-2026-000123", "2026-11-22 09:00"),
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
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    assert _table(page) == _broker_rows(lodged)


def test_choosing_withdrawn_in_the_status_filter_updates_the_table_through_htmx_without_reloading(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    page.evaluate("window.__marker = 'still the same page'")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    with page.expect_response(lambda r: "/declarations/rows" in r.url) as answer:
        page.get_by_label("Status").select_option("withdrawn")
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"
    assert answer.value.url.endswith("/declarations/rows?status=withdrawn&lane=")
    expect(page.locator("#rows > p")).to_have_text("1 declaration · withdrawn")
    assert _table(page) == [_broker_rows(lodged)[1]]

    page.get_by_label("Status").select_option("released")
    expect(page.locator("#rows > p")).to_have_text("0 declarations · released")
    assert _table(page) == [["No declarations."]]

    page.get_by_label("Status").select_option(label="All statuses")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    assert _table(page) == _broker_rows(lodged)
    assert page.evaluate("window.__marker") == "still the same page"
    assert navigations == []
    assert page.url.endswith("/")


def test_opening_a_declaration_shows_its_number_status_items_and_history(page: Page, lodged: Lodged, shots: Path) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    page.screenshot(path=str(shots / "desktop-list.png"), full_page=True)

    page.get_by_role("link", name=lodged.withdrawn).click()
    expect(page).to_have_title(f"{lodged.withdrawn} · smartcustoms")
    assert page.url.endswith(f"/declarations/{lodged.withdrawn}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.withdrawn} withdrawn")
    expect(page.locator("h1 .badge")).to_have_text("withdrawn")
    expect(page.locator("dl.facts dd").first).to_have_text("SHIMP-2026-000124")
    expect(page.locator("dl.facts")).to_contain_text("USD 234,240.00 in 3 items")
    expect(page.locator("td[data-label='HS code']")).to_have_text(ITEM_HS_CODES)
    expect(page.locator("td[data-label='Description']")).to_have_text(
        ["Smartphones, 6.1 inch, 128 GB", "Lithium-ion battery packs for mobile phones", "Printed user manuals"]
    )
    expect(page.locator("td[data-label='Value']")).to_have_text(["216,000.00", "18,000.00", "240.00"])
    expect(page.locator("ol.timeline li strong")).to_have_text(["lodged", "accepted", "assessed", "withdrawn"])
    assert page.locator("ol.timeline li").all_inner_texts() == [
        "lodged 2026-11-22 09:05:00 · broker (enterprise)",
        "accepted 2026-11-22 09:05:00 · intake (system)\nAll intake checks passed. Advance declaration: goods not yet arrived.",
        f"assessed 2026-11-22 09:05:00 · selectivity (system)\nLane green: {GREEN}",
        f"withdrawn 2026-11-22 09:30:00 · broker (enterprise)\n{WITHDRAWAL_REASON}",
    ]
    expect(page.locator(DOCUMENTS)).to_have_text(["No files uploaded."])
    expect(page.locator(f"{ASSESSMENT} .badge")).to_have_text("green lane")
    expect(page.locator(f"{ASSESSMENT} > p")).to_have_text(["green lane (no longer applies: the declaration is withdrawn)", GREEN])
    page.screenshot(path=str(shots / "desktop-detail.png"), full_page=True)

    page.go_back()
    page.get_by_role("link", name=lodged.numbers[0]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.numbers[0]} assessed")
    expect(page.locator("h1 .badge")).to_have_text("assessed")
    expect(page.locator("td[data-label='HS code']")).to_have_text(ITEM_HS_CODES)
    expect(page.locator("ol.timeline li strong")).to_have_text(["lodged", "accepted", "assessed"])
    expect(page.locator(f"{ASSESSMENT} .badge.lane-green")).to_have_text("green lane")


def _stacked_as_cards(page: Page) -> None:
    """Every responsive table shows as cards: no header row, each cell on its own line under a label."""
    for table in page.locator("table.responsive").all():
        expect(table.locator("thead")).to_be_hidden()
        first = table.locator("tbody tr").first
        cells = first.locator("td")
        labels = cells.evaluate_all("tds => tds.map(td => getComputedStyle(td, '::before').content)")
        expected = cells.evaluate_all("tds => tds.map(td => JSON.stringify(td.dataset.label))")
        assert labels == expected and len(labels) == table.locator("thead th").count() >= 6
        boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
        assert all(b is not None for b in boxes)
        tops = [b["y"] for b in boxes if b is not None]
        lefts = {round(b["x"]) for b in boxes if b is not None}
        assert tops == sorted(tops) and len(set(tops)) == len(tops), tops
        assert len(lefts) == 1, lefts


def test_on_a_phone_the_list_and_the_detail_fit_the_screen_with_rows_as_cards(phone: BrowserContext, lodged: Lodged, shots: Path) -> None:
    page = phone.new_page()
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
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
    expect(page.locator("#rows > p")).to_have_text("0 declarations")
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
    expect(page.locator("#rows > p")).to_have_text("0 declarations")


def test_signing_out_returns_to_the_sign_in_page_and_the_list_then_asks_to_sign_in(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    assert [c["name"] for c in page.context.cookies()] == ["sc_session"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.url.endswith("/login")
    assert [c["name"] for c in page.context.cookies()] == ["sc_login"]  # only the sign-in form's CSRF nonce
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.goto("/")
    assert page.url.endswith("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"/declarations/{lodged.withdrawn}")
    assert page.url.endswith("/login")


def test_the_status_filter_and_the_table_agree_after_going_back_and_in_a_link(page: Page, lodged: Lodged) -> None:
    sign_in(page, "broker")
    page.get_by_label("Status").select_option("withdrawn")
    expect(page.locator("#rows > p")).to_have_text("1 declaration · withdrawn")
    page.get_by_role("link", name=lodged.withdrawn).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {lodged.withdrawn} withdrawn")

    page.go_back()
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    expect(page.get_by_label("Status")).to_have_value("")

    page.goto("/?status=withdrawn")
    expect(page.locator("#rows > p")).to_have_text("1 declaration · withdrawn")
    expect(page.get_by_label("Status")).to_have_value("withdrawn")
    page.goto("/?status=no-such-status")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    expect(page.get_by_label("Status")).to_have_value("")


def _fits(page: Page, selector: str) -> None:
    """No sideways scroll, and the element lies within the screen's width."""
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate(SIDEWAYS)
    box = page.locator(selector).bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


def test_an_analyst_sees_the_rule_that_sent_a_declaration_to_red_with_its_reason_and_what_to_check(
    red: str, page: Page, shots: Path
) -> None:
    sign_in(page, "analyst")
    expect(page.locator("header span")).to_contain_text("analyst")
    page.goto(f"/declarations/{red}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {red} assessed")
    card = page.locator(ASSESSMENT)
    expect(card.locator(".badge")).to_have_text("red lane")
    expect(card.locator(".badge")).to_have_class("badge lane lane-red")
    expect(card.locator("> p")).to_have_text(["red lane", f"Rule {RED_RULE['code']} asks for red."])
    expect(card.locator("dl.facts dt")).to_have_text(["Score", "Random draw"])
    expect(card.locator("dl.facts dd").first).to_contain_text("rules only")
    expect(card.locator("dl.facts dd").nth(1)).to_have_text(re.compile(r"^not selected \(u = 0\.\d{5}, rate 0\.0\)$"))
    expect(card.get_by_role("heading", level=3)).to_have_text(["Rule hits"])
    expect(card.locator("ul > li")).to_have_text(
        [f"{RED_RULE['code']} (line 2): {RED_RULE['reason']}\nCheck: {RED_RULE['instructions']}"], use_inner_text=True
    )
    expect(card.locator("ul > li strong")).to_have_text(RED_RULE["code"])
    expect(card.locator("ul > li .muted")).to_have_text(f"Check: {RED_RULE['instructions']}")
    expect(card.locator("ul.bars")).to_have_count(0)  # no model: no chart
    assert page.locator("ol.timeline li").last.inner_text() == f"assessed 2026-11-22 09:40:00 · selectivity (system)\nLane red: {RED}"
    expect(page.locator(DOCUMENTS)).to_have_text(["No files uploaded."])
    page.screenshot(path=str(shots / "desktop-assessment-analyst.png"), full_page=True)


def test_the_broker_sees_the_lane_and_what_is_checked_but_no_rule_code_score_or_random_draw(red: str, page: Page, shots: Path) -> None:
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("4 declarations")
    page.get_by_role("link", name=red).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Declaration {red} assessed")
    card = page.locator(ASSESSMENT)
    expect(card.locator(".badge.lane-red")).to_have_text("red lane")
    topics = "the tariff classification of the goods, the origin of the goods"
    expect(card.locator("p")).to_have_text(["red lane", RED, f"The officer will look at {topics}."])
    body = page.locator("body").inner_text()
    for secret in (RED_RULE["code"], RED_RULE["reason"], RED_RULE["instructions"], "Score", "Random draw", "rules only", "Check:"):
        assert secret not in body, secret
    expect(card.locator("dl, ul, h3")).to_have_count(0)
    page.screenshot(path=str(shots / "desktop-assessment-broker.png"), full_page=True)


def test_on_a_phone_the_assessment_fits_the_screen_for_the_analyst_and_the_broker(red: str, phone: BrowserContext, shots: Path) -> None:
    page = phone.new_page()
    for who in ("analyst", "broker"):
        sign_in(page, who)
        page.goto(f"/declarations/{red}")
        expect(page.locator(f"{ASSESSMENT} .badge.lane-red")).to_have_text("red lane")
        page.screenshot(path=str(shots / f"phone-assessment-{who}.png"), full_page=True)
        page.locator(ASSESSMENT).screenshot(path=str(shots / f"phone-assessment-{who}-card.png"))
        _fits(page, ASSESSMENT)
        _stacked_as_cards(page)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_a_model_scored_declaration_shows_eight_signed_feature_contributions_as_bars(
    scored: str, page: Page, phone: BrowserContext, shots: Path
) -> None:
    sign_in(page, "analyst")
    page.goto(f"/declarations/{scored}")
    card = page.locator(ASSESSMENT)
    expect(card.locator("dl.facts dd").first).to_have_text(re.compile(r"^[01]\.\d{3} · fraud/v1$"))
    expect(card.get_by_role("heading", name="Why the model scored it so")).to_be_visible()
    chart = card.get_by_role("list", name="Feature contributions to the risk score")
    bars = chart.locator("li")
    expect(bars).to_have_count(8)
    values = bars.locator(".bar-value").all_inner_texts()
    assert all(re.fullmatch(r"[+-]\d+\.\d\d", v) for v in values), values
    labels = bars.locator(".bar-label").all_inner_texts()
    assert len(labels) == 8 and all(label.strip() for label in labels), labels
    classes = bars.locator(".bar").evaluate_all("bs => bs.map(b => b.classList.contains('up') ? 'up' : 'down')")
    # Red bars push the score up, green ones down; the sign of each value says the same.
    assert all((c == "up") == v.startswith("+") for c, v in zip(classes, values, strict=True) if float(v) != 0), (classes, values)
    widths = bars.locator(".bar").evaluate_all("bs => bs.map(b => b.getBoundingClientRect().width)")
    assert max(widths) > 50 and all(w >= 2 for w in widths), widths  # the widest fills its track (static/app.js sizes them)
    page.screenshot(path=str(shots / "desktop-assessment-model.png"), full_page=True)

    small = phone.new_page()
    sign_in(small, "analyst")
    small.goto(f"/declarations/{scored}")
    expect(small.locator(f"{ASSESSMENT} ul.bars li")).to_have_count(8)
    small.screenshot(path=str(shots / "phone-assessment-model.png"), full_page=True)
    small.locator(ASSESSMENT).screenshot(path=str(shots / "phone-assessment-model-card.png"))
    _fits(small, ASSESSMENT)
