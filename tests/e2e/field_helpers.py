"""Shared set-up of the field pages' tests: staff who sign in with a password, page clients, the step forms' answers."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from smartcustoms.runtime import Runtime
from tests.conftest import World, example
from tests.e2e.helpers import add_staff
from tests.e2e.inspection_helpers import STAFF, png_of

PASSWORD = "correct-horse-battery"
SEALS = {str(c["number"]): str(c["seals"][0]) for c in example()["containers"]}
# What an inspector types into each step kind's form (the counts are filled per declared line).
ANSWERS: dict[str, dict[str, str]] = {
    "container_number": {"found": "{container}"},
    "seal": {"found": "{seal}", "condition": "intact"},
    "goods_description": {"description": "Smartphones, batteries and manuals in retail boxes", "matches_declared": "yes"},
    "marks": {"marks": "SMD / HCMC / 1-120"},
    "counted_quantity": {f"count-{i['line']}": str(i["quantity"]) for i in example()["items"]},
    "weighed_mass": {"gross_mass_kg": "195.0"},
    "packaging": {"type": "cartons", "packages": "60", "condition": "good"},
    "container_body": {"condition": "intact", "false_compartment": "no"},
}


def field_staff(rt: Runtime, world: World) -> None:
    """Two inspectors and an image analyst of office 2248 on the roster, a scanner station; all sign in with PASSWORD."""
    add_staff(rt, world, *STAFF, password=PASSWORD)


def answers(step_id: str) -> dict[str, str]:
    """The form fields an inspector fills in for a step (its id names container and kind)."""
    container, kind = step_id.split(".")
    return {k: v.replace("{container}", container).replace("{seal}", SEALS.get(container, "")) for k, v in ANSWERS[kind].items()}


def browser_of(client: TestClient, name: str | None, **headers: str) -> TestClient:
    """A client of its own (its own cookies) on the app, signed in as `name` through the sign-in form (None: nobody)."""
    c = TestClient(client.app, raise_server_exceptions=False, headers=headers)  # no `with`: the app's lifespan is the fixture's
    if name is not None:
        page = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        r = c.post("/login", data={"csrf": csrf.group(1), "name": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303, r.text
    return c


def csrf_of(c: TestClient, path: str) -> str:
    """The CSRF token of the forms of a page."""
    page = c.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def current_step(c: TestClient, task: int) -> str | None:
    """The step the inspection page offers to record now (None when every step is done)."""
    found = re.search(rf'action="/tasks/{task}/inspection/steps/([^"]+)"', c.get(f"/tasks/{task}/inspection").text)
    return found.group(1) if found else None


def text_of(html: str) -> str:
    """A page's text, tags dropped and spaces collapsed (for asserting sentences)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&amp;", "&")


def files(*photos: tuple[str, bytes, str]) -> Any:
    """The multipart files of a step's photos."""
    return [("photos", p) for p in photos]


def xray_png(width: int = 480, height: int = 200) -> bytes:
    """A grey PNG that looks like a container scan: a light hull, darker cargo rows and one dense block."""

    def grey(x: int, y: int) -> int:
        if x < 8 or x >= width - 8 or y < 8 or y >= height - 8:
            return 40  # the container's steel walls
        if width * 0.62 < x < width * 0.74 and height * 0.35 < y < height * 0.7:
            return 15  # something dense behind the cartons
        return 200 - 60 * ((x // 24 + y // 30) % 2)  # rows of cartons

    return png_of(width, height, b"".join(b"\x00" + bytes(grey(x, y) for x in range(width)) for y in range(height)))
