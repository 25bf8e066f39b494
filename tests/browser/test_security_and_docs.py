"""In a real browser: the Content-Security-Policy breaks nothing, and the API documentation works offline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (the dev extra)")

from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

from tests.browser.conftest import Lodged, sign_in

pytestmark = pytest.mark.slow


def _watch(page: Page) -> tuple[list[str], list[str]]:
    """Console complaints (CSP violations, script errors) and every host the page asks for."""
    complaints: list[str] = []
    hosts: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith("Failed to load resource"):
            return  # answered below with the address (the browser's own /favicon.ico is no concern)
        if message.type == "error" or "Content Security Policy" in message.text:
            complaints.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            complaints.append(f"{response.status} {response.url}")

    def on_request(request: Request) -> None:
        if not request.url.startswith("data:"):
            hosts.append(urlparse(request.url).netloc)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: complaints.append(str(exc)))
    page.on("request", on_request)
    page.on("response", on_response)
    return complaints, hosts


def test_the_api_docs_render_from_the_server_alone_with_no_policy_violation(page: Page, base_url: str, shots: Path) -> None:
    complaints, hosts = _watch(page)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("smartcustoms")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 24
    page.locator(".opblock-summary").first.click()  # an operation opens (the UI's scripts run)
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.screenshot(path=str(shots / "desktop-api-docs.png"))
    own = urlparse(base_url).netloc
    assert set(hosts) == {own}, hosts
    assert complaints == [], complaints


def test_the_pages_work_under_the_policy_sign_in_filter_and_sign_out(page: Page, lodged: Lodged) -> None:
    complaints, _ = _watch(page)
    sign_in(page, "broker")
    expect(page.locator("#rows > p")).to_have_text("3 declarations")
    page.get_by_label("Status").select_option("withdrawn")  # htmx under script-src 'self'
    expect(page.locator("#rows > p")).to_have_text("1 declaration · withdrawn")
    page.goto(f"/declarations/{lodged.numbers[0]}")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert complaints == [], complaints
