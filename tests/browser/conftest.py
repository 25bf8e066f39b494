"""Real-browser fixtures: a uvicorn server on the SQLite test database, and headless Chromium.

The whole suite skips (with the reason) when no Chromium is installed or Playwright is missing.
Set SMARTCUSTOMS_SCREENSHOT_DIR to keep the screenshots somewhere you can look at them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from smartcustoms.declaration import service as declaration_service
from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model import service as models
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.simulator import Simulator, write_history_csv
from smartcustoms.runtime import Runtime
from smartcustoms.web.app import create_app
from tests.conftest import BROKER, NOW, OPERATOR, ROOT, World, example, grant_mandate
from tests.e2e.helpers import no_random_checks

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"
WITHDRAWAL_REASON = "Goods sold in transit; the new owner will declare them."
START = date(2026, 1, 1)
RED_RULE: dict[str, Any] = {
    "code": "PRM-ORG-021",
    "name": "Lithium batteries declared as of Cambodian origin",
    "reason": "Lithium-ion batteries declared as Cambodian have been found to be transshipped and misclassified.",
    "instructions": "Open the battery cartons; compare the cell markings with the certificate of origin.",
    "condition": {"all": [{"fact": "hs6", "op": "eq", "value": "850760"}, {"fact": "origin", "op": "eq", "value": "KH"}]},
    "lane": "red",
}


def _missing() -> str | None:
    if CHROMIUM is None:
        return "browser tests need Chromium: neither /usr/bin/chromium nor `chromium` on PATH was found"
    if sync_playwright is None:
        return "browser tests need Playwright for Python (pip install playwright; no browser download needed)"
    return None


@pytest.fixture(autouse=True)
def _needs_a_browser() -> None:
    """Skip every browser test, with the reason, when there is nothing to drive."""
    reason = _missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only (overrides the backend-parametrised db_url): a fresh copy of the template."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Lodged:
    """The broker's three declarations, oldest first; the middle one is withdrawn. All green: no rule hits, no random checks."""

    numbers: list[str]
    withdrawn: str


@pytest.fixture
def lodged(rt: Runtime, world: World) -> Lodged:
    """Three declarations lodged (and so assessed) by the broker through the service layer, one of them withdrawn."""
    no_random_checks(rt, world)  # lanes follow the rules alone
    numbers = []
    for i in range(3):
        raw = example()
        raw["client_reference"] = f"SHIMP-2026-{123 + i:06d}"
        with rt.write() as s:
            receipt, _ = selectivity.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW + timedelta(minutes=5 * i))
        numbers.append(receipt["number"])
    with rt.write() as s:
        declaration_service.withdraw(
            s, number=numbers[1], reason=WITHDRAWAL_REASON, principal=world.principals["broker"], now=NOW + timedelta(minutes=30)
        )
    return Lodged(numbers=numbers, withdrawn=numbers[1])


@pytest.fixture
def red(rt: Runtime, world: World, lodged: Lodged) -> str:
    """A fourth declaration, its batteries declared as Cambodian, that an approved rule sends to the red lane.

    Ask for it before the page or phone fixture, so it is lodged before the server starts.
    """
    with rt.write() as s:
        r = rules.propose(s, data=RuleCreate(valid_from=START, **RED_RULE), principal=world.principals["analyst"], now=NOW)
        rules.approve(
            s,
            code=r.code,
            version=r.version,
            note="Checked against the seizure reports.",
            principal=world.principals["supervisor"],
            now=NOW,
        )
    raw = example()
    raw["client_reference"] = "SHIMP-2026-000126"
    raw["items"][1]["origin"] = "KH"
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=raw, principal=world.principals["broker"], now=NOW + timedelta(minutes=40))
    assert receipt["status"] == "assessed" and receipt["assessment"]["lane"] == "red", receipt
    return str(receipt["number"])


@pytest.fixture
def scored(rt: Runtime, world: World, lodged: Lodged, tmp_path: Path) -> str:
    """A declaration a champion model scored (trained on a small simulated history, a few seconds).

    Ask for it before the page or phone fixture, so it is lodged before the server starts.
    """
    sim = Simulator(seed=21, start_on=START, days=240, importers=40)
    csv = tmp_path / "history.csv"
    write_history_csv(csv, sim.declarations(1500))
    with rt.write() as s:
        history.import_history(s, path=csv, mapping_path=ROOT / "docs" / "examples" / "simulated-history.toml", actor=OPERATOR, now=NOW)
    with rt.write() as s:
        row = models.train(s, name="fraud", train_until=date(2026, 8, 1), actor=OPERATOR, now=NOW)
        models.activate(s, name=row.name, version=row.version, role="champion", actor=OPERATOR, now=NOW)
    payload = sim.declarations(3)[-1].payload(client_reference="SHIMP-2026-000127")
    payload["declarant"] = {"uscc": BROKER, "name": "Shanghai Harbour Brokerage"}
    with rt.write() as s:  # the simulated importer, registered, grants the broker its mandate
        party_service.add(s, data=EnterpriseCreate(uscc=payload["importer"]["uscc"], name="Simulated importer"), actor=OPERATOR, now=NOW)
        grant_mandate(s, importer=payload["importer"]["uscc"], broker=BROKER)
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw=payload, principal=world.principals["broker"], now=NOW + timedelta(minutes=45))
    return str(receipt["number"])


@pytest.fixture
def base_url(rt: Runtime, lodged: Lodged) -> Iterator[str]:
    """A real uvicorn server for the app on the test runtime (with its workers), on a free port."""
    app = create_app(rt.settings, runtime=rt, start_workers=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, loop="asyncio", ws="none", lifespan="on", log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the uvicorn server did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    # The sign-in page must answer before any test runs: a 500 here is a server fault, said at once
    # rather than as a browser test timing out on a page that never came.
    with urllib.request.urlopen(f"{url}/login", timeout=10) as answer:
        assert answer.status == 200, f"GET /login answered {answer.status}"
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the uvicorn server did not stop"


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, for the browser tests only."""
    reason = _missing()
    if reason or sync_playwright is None:
        pytest.skip(reason or "no Playwright")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (no Playwright browser download)."""
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def desktop(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A fresh desktop browser profile (no cookies) pointed at the server."""
    ctx = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """A fresh phone-sized, touch browser profile (390x844) pointed at the server."""
    ctx = browser.new_context(
        base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(desktop: BrowserContext) -> Page:
    """A desktop tab."""
    return desktop.new_page()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: SMARTCUSTOMS_SCREENSHOT_DIR, or a pytest temporary directory."""
    where = os.environ.get("SMARTCUSTOMS_SCREENSHOT_DIR")
    if where:
        path = Path(where)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


def sign_in(page: Page, name: str, password: str = PASSWORD) -> None:
    """Fill in and send the sign-in form as a person would."""
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
