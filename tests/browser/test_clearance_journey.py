"""One whole clearance journey through the real pages, nothing done behind them once the office is staffed:
a trader (desktop) lodges by JSON upload, the officer (desktop) opens the review from the queue and queries, the trader
answers with a file, the officer sends the goods to inspection, the two inspectors drawn complete the steps on their own
phones (390x844) with camera photos, the trader sees the declaration released and opens the release receipt, whose
check address says genuine to anyone and an altered one forged. Run in English and, with everyone's browser set to
Chinese, in Chinese; no Content-Security-Policy violation and no failed request on any page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import Browser, BrowserContext, Page, expect

from smartcustoms.runtime import Runtime
from tests.browser.journey_helpers import (
    DESKTOP,
    LOCALES,
    NO_SIDEWAYS_SCROLL,
    PHONE,
    camera_photo,
    current_step,
    fill_step,
    lodge_by_upload,
    shot,
    sign_in_as,
    watch,
    words,
)
from tests.conftest import World
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)
from tests.e2e.field_helpers import field_staff

pytestmark = pytest.mark.slow
STEPS = 16  # two containers, eight steps each
NOT_A_PHOTO = {"name": "door.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.7 not a photo"}


@pytest.fixture
def staffed(rt: Runtime, world: World, under_review: None) -> None:  # noqa: F811 (the fixture, imported above)
    """Every declaration lodged goes to the yellow lane, its review to `officer`; inspectors insp_a and insp_b on duty."""
    field_staff(rt, world)


class People:
    """Each person's own browser (own cookies), in the journey's language; every page they open is watched."""

    def __init__(self, browser: Browser, base_url: str, lang: str) -> None:
        self.browser, self.base_url, self.lang = browser, base_url, lang
        self.contexts: list[BrowserContext] = []
        self.seen: list[list[str]] = []

    def page(self, device: dict[str, Any]) -> Page:
        """A fresh browser (no cookies) on a desktop or a phone, with one watched tab."""
        ctx = self.browser.new_context(base_url=self.base_url, locale=LOCALES[self.lang], **device)
        self.contexts.append(ctx)
        page = ctx.new_page()
        self.seen.append(watch(page))
        return page

    def problems(self) -> list[str]:
        """Every CSP violation, 4xx/5xx answer and failed request any page met so far."""
        return [problem for seen in self.seen for problem in seen]

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def people(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[People]:
    found = People(browser, base_url, request.param)
    yield found
    found.close()


@pytest.mark.usefixtures("staffed")
@pytest.mark.parametrize("people", ["en", "zh-Hans"], indirect=True, ids=["english", "chinese"])
def test_lodge_review_query_answer_inspect_on_phones_release_and_verify_the_receipt(people: People, tmp_path: Path, shots: Path) -> None:
    lang = people.lang
    _ = words(lang)
    tag = "" if lang == "en" else "zh-"

    # The trader lodges by uploading the declaration as a JSON file: a yellow lane, under review.
    trader = people.page(DESKTOP)
    sign_in_as(trader, "broker", lang)
    number = lodge_by_upload(trader, tmp_path, "SHIMP-2026-000800", _("Upload and lodge"))
    expect(trader.locator("h1")).to_contain_text(_("under review"))

    # The officer finds the review in the queue and asks for the sales contract.
    officer = people.page(DESKTOP)
    sign_in_as(officer, "officer", lang)
    officer.get_by_role("link", name=_("My tasks")).click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(_("My tasks"))
    row = officer.locator("table.tasks tbody tr", has_text=number)
    expect(row).to_contain_text(_("document review"))
    shot(officer, shots, f"{tag}desktop-queue.png")
    row.get_by_role("link").click()
    expect(officer.locator("h1")).to_contain_text(_("document review"))
    expect(officer.locator("h1 .badge")).to_have_text(_("to do"))
    question = "Please send the sales contract with the unit prices." if lang == "en" else "请提供列明单价的销售合同。"
    officer.get_by_label(_("Query: ask the enterprise a question")).check()
    officer.get_by_label(_("Reason (required)")).fill("The invoice does not give the unit prices." if lang == "en" else "发票未列明单价。")
    officer.get_by_label(_("Question to the enterprise (for a query)")).fill(question)
    if lang == "en":  # the Chinese review page's picture is of its refusal (test_desk_journey)
        shot(officer, shots, "desktop-review.png")
    officer.get_by_role("button", name=_("Record the decision")).click()
    expect(officer.get_by_role("status")).to_have_text(_("Your decision is recorded."))
    expect(officer.locator("h1 .badge")).to_have_text(_("waiting"))

    # The trader sees the question on the declaration page and answers it with the contract.
    trader.reload()
    expect(trader.locator(".open-query")).to_have_text(_("Customs has asked a question about this declaration; answer it below."))
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF-1.4\n% sales contract\n%%EOF\n")
    answer = "The contract is attached; unit prices on page 2." if lang == "en" else "合同已附上，单价见第二页。"
    query = trader.locator(".card.query")
    expect(query).to_contain_text(question)
    query.get_by_label(_("Your answer")).fill(answer)
    query.get_by_label(_("Document type")).select_option("contract")
    query.get_by_label(_("Attach a file (optional)")).set_input_files(str(contract))
    query.get_by_role("button", name=_("Send the answer")).click()
    expect(trader.locator(".card.query")).to_contain_text(answer)
    expect(trader.locator(".open-query")).to_have_count(0)
    shot(trader, shots, f"{tag}desktop-answered-query.png")

    # The officer reads the answer and sends the goods to inspection.
    officer.reload()
    expect(officer.locator("h1 .badge")).to_have_text(_("to do"))
    expect(officer.locator(".card.query")).to_contain_text(answer)
    officer.get_by_label(_("Inspect: send the goods to inspection")).check()
    officer.get_by_label(_("Reason (required)")).fill(
        "Unit prices far below the reference price: look at the goods." if lang == "en" else "单价远低于参考价：查验货物。"
    )
    officer.get_by_role("button", name=_("Record the decision")).click()
    expect(officer.get_by_role("status")).to_have_text(_("Your decision is recorded."))
    expect(officer.locator("h1 .badge")).to_have_text(_("done"))

    # Each inspector drawn finds the inspection in the queue on a phone.
    a, b = people.page(PHONE), people.page(PHONE)
    for phone, name in ((a, "insp_a"), (b, "insp_b")):
        sign_in_as(phone, name, lang)
        phone.goto("/tasks")
        phone.locator("table.tasks tbody tr", has_text=number).locator('a[href$="/inspection"]').click()
        expect(phone.get_by_role("heading", level=1)).to_have_text(_("Inspection of declaration %(number)s", number=number))
        assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    inspection = a.url
    assert b.url == inspection
    expect(a.locator(".progress-count")).to_have_text(_("%(done)s of %(total)s steps done", done=0, total=STEPS))
    camera = a.locator('input[type="file"][name="photos"]')
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/jpeg,image/png"

    # A file that is no photo is refused (415) with the page again, nothing recorded.
    first = current_step(a)
    assert first == "MSKU1234565.container_number"
    fill_step(a, first, [NOT_A_PHOTO])
    refused = [f"415 POST {inspection}/steps/{first}"]
    expect(a.locator(".error").first).to_contain_text(
        _("A file is not a photo: only JPEG or PNG images are accepted (known by their content, not their name).")
    )
    expect(a.locator(".progress-count")).to_have_text(_("%(done)s of %(total)s steps done", done=0, total=STEPS))

    # The two inspectors take turns at the steps, photos from the phone's camera where they prove something.
    photos = {
        first: [camera_photo(a, "MSKU1234565", "png")],
        "MSKU1234565.seal": [camera_photo(a, "ML-CN4471208")],
        "MSKU1234565.counted_quantity": [camera_photo(b, "1200 PCE"), camera_photo(b, "3000 PCE", "png")],
        "TGHU9876542.seal": [camera_photo(b, "ML-CN4471209")],
    }
    recorded = _("Step recorded: %(step)s.").split("%(")[0]
    turn = 0
    while True:
        phone = (a, b)[turn % 2]
        phone.goto(inspection)
        step = current_step(phone)
        if step is None:
            break
        fill_step(phone, step, photos.get(step, []))
        expect(phone.locator(".notice")).to_contain_text(recorded)
        turn += 1
    assert turn == STEPS
    expect(phone.locator(".progress-count")).to_have_text(_("%(done)s of %(total)s steps done", done=STEPS, total=STEPS))
    phone.get_by_label(_("What was checked (needed when there are no findings)")).fill(
        "All 16 steps as declared; battery labels match." if lang == "en" else "16 个环节均与申报一致；电池标签相符。"
    )
    phone.get_by_role("button", name=_("Complete the inspection")).click()
    expect(phone.get_by_role("heading", name=_("The inspection is complete"))).to_be_visible()
    expect(phone.locator(".outcome")).to_contain_text(_("No discrepancy: nothing stops the release."))
    expect(phone.locator(".outcome .badge")).to_have_text(_("released"))
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    shot(phone, shots, f"{tag}phone-inspection-complete.png")

    # The trader sees the declaration released and opens its release receipt.
    trader.reload()
    expect(trader.locator("h1")).to_contain_text(_("released"))
    link = trader.locator(".release-link a")
    expect(link).to_contain_text(_("Release receipt %(number)s", number="").strip())
    release = (link.get_attribute("href") or "").rsplit("/", 1)[-1]
    assert release, "the release link names no release"
    link.click()
    expect(trader.get_by_role("heading", level=1)).to_have_text(_("Release receipt"))
    expect(trader.locator("svg.qr")).to_be_visible()
    expect(trader.locator("body")).to_contain_text(number)
    shot(trader, shots, f"{tag}release-receipt-journey.png")
    url = trader.locator("p.url").inner_text()
    assert url.startswith(f"{people.base_url}/verify/"), url

    # Anyone (no sign-in, a phone) checks the receipt's address: genuine; the same with its signature altered: forged.
    anyone = people.page(PHONE)
    anyone.goto(url)
    expect(anyone.get_by_role("heading", level=1)).to_have_text(_("Release receipt check"))
    expect(anyone.locator(".verdict")).to_contain_text(_("Genuine: customs released these goods."))
    expect(anyone.locator("dl.facts")).to_contain_text(release)
    assert anyone.evaluate(NO_SIDEWAYS_SCROLL)
    head, body, signature = url.rsplit("/", 1)[-1].split(".")
    altered = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    forged = anyone.goto(f"/verify/{head}.{body}.{altered}")
    assert forged is not None and forged.status == 422
    refused.append(f"422 GET {forged.url}")
    expect(anyone.locator(".verdict")).to_contain_text(_("FORGED OR ALTERED"))
    expect(anyone.locator(".verdict")).not_to_contain_text(_("Genuine: customs released these goods."))
    shot(anyone, shots, f"{tag}release-check-forged-phone.png")

    # Nothing went wrong on any page but the two refusals asked for: the file that is no photo, the altered receipt.
    assert people.problems() == refused
