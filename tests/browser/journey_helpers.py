"""What the browser journeys share: the page watcher (CSP violations, failed requests), the page words in either
language (from the interface catalogue), lodging by JSON upload, the phone camera's photos and the inspection step forms."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Page, Request, Response

from smartcustoms.web import i18n
from tests.conftest import example
from tests.e2e.field_helpers import PASSWORD, answers

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LOCALES = {"en": "en-GB", "zh-Hans": "zh-CN"}  # what the browser says it prefers (Accept-Language), per page language
SELECTS = {"condition"}
RADIOS = {"matches_declared", "false_compartment"}


def watch(page: Page) -> list[str]:
    """Start noting a page's Content-Security-Policy violations, 4xx/5xx answers and requests that failed; the (live) list.

    A request the browser aborted itself (a poll cut short by leaving the page) is not a failure.
    """
    seen: list[str] = []

    def console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text:
            seen.append(msg.text)

    def answered(response: Response) -> None:
        if response.status >= 400:
            seen.append(f"{response.status} {response.request.method} {response.url}")

    def failed(request: Request) -> None:
        if request.failure != "net::ERR_ABORTED":
            seen.append(f"failed {request.method} {request.url}: {request.failure}")

    page.on("console", console)
    page.on("response", answered)
    page.on("requestfailed", failed)
    return seen


def words(lang: str) -> Callable[..., str]:
    """The pages' words in `lang` ("en" or "zh-Hans"), from the catalogue the pages use.

    In Chinese every message must have its translation: an English word on a Chinese page fails the test.
    """

    def _(message: str, **values: object) -> str:
        text = i18n.gettext(lang, message)
        assert lang == "en" or text != message, f"no {lang} translation of {message!r}"
        return text % values if values else text

    return _


def sign_in_as(page: Page, name: str, lang: str = "en", password: str = PASSWORD) -> None:
    """Fill in and send the sign-in form, its labels in the page's language, and wait for the page it leads to."""
    _ = words(lang)
    page.goto("/login")
    page.get_by_label(_("Name")).fill(name)
    page.get_by_label(_("Password")).fill(password)
    page.get_by_role("button", name=_("Sign in")).click()
    page.wait_for_url(lambda url: not url.endswith("/login"))


def lodge_by_upload(page: Page, tmp_path: Path, reference: str, button: str) -> str:
    """The trader uploads the example as a JSON file; the declaration's number (from the page it lands on)."""
    doc = {**example(), "client_reference": reference}
    path = tmp_path / f"{reference}.json"
    path.write_text(json.dumps(doc))
    page.goto("/declarations/new")
    page.locator('form[action="/declarations/new/json"] input[type=file]').set_input_files(str(path))
    page.get_by_role("button", name=button).click()
    page.wait_for_url("**/declarations/2248*")
    return page.url.rsplit("/", 1)[-1]


def shot(page: Page, shots: Path, name: str) -> None:
    """A full-page screenshot into the screenshot directory."""
    page.screenshot(path=str(shots / name), full_page=True)


def camera_photo(page: Page, text: str, kind: str = "jpeg") -> dict[str, object]:
    """A real photo as a phone's camera would give it: drawn on a canvas by the browser and encoded as JPEG or PNG."""
    data = page.evaluate(
        """([text, kind]) => {
            const c = document.createElement("canvas"); c.width = 320; c.height = 240;
            const g = c.getContext("2d");
            g.fillStyle = "#7a8c99"; g.fillRect(0, 0, 320, 240);
            g.fillStyle = "#2f4858"; for (let x = 10; x < 320; x += 28) g.fillRect(x, 0, 12, 240);
            g.fillStyle = "#f4f1e8"; g.fillRect(40, 90, 240, 60);
            g.fillStyle = "#111"; g.font = "bold 26px monospace"; g.fillText(text, 52, 130);
            return c.toDataURL("image/" + kind, 0.85).split(",")[1];
        }""",
        [text, kind],
    )
    return {"name": f"{text}.{'jpg' if kind == 'jpeg' else 'png'}", "mimeType": f"image/{kind}", "buffer": base64.b64decode(data)}


def fill_step(page: Page, step_id: str, photos: list[dict[str, object]]) -> None:
    """Fill in the current step's form as an inspector would, photos through the camera field, and record it."""
    form = page.locator("form.step-form")
    for name, value in answers(step_id).items():
        if name in SELECTS:
            form.locator(f'select[name="{name}"]').select_option(value)
        elif name in RADIOS:
            form.locator(f'input[name="{name}"][value="{value}"]').check()
        else:
            form.locator(f'[name="{name}"]').fill(value)
    if photos:
        form.locator('input[type="file"][name="photos"]').set_input_files(photos)  # type: ignore[arg-type]
    form.locator('button[type="submit"]').click()


def current_step(page: Page) -> str | None:
    """The step the inspection page offers to record now (None when every step is done)."""
    form = page.locator("form.step-form")
    if form.count() == 0:
        return None
    action = form.get_attribute("action") or ""
    return action.rsplit("/", 1)[-1]
