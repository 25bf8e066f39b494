"""An office's clearance setting (red lane: review first, or inspection straight away) through the API and the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, World, example
from tests.e2e.helpers import add_staff, lane, only_task
from tests.e2e.test_cli import Cli

pytest_plugins = ["tests.e2e.test_cli"]
OFFICES = "/api/v1/offices"


@pytest.fixture
def chiefs(rt: Runtime, world: World) -> dict[str, dict[str, str]]:
    """Supervisors of office 2248 and of 0202; their Authorization headers."""
    headers = {}
    with rt.write() as s:
        for name, office in (("chief_2248", "2248"), ("chief_0202", "0202")):
            _, token = auth_service.add_user(s, name=name, role=Role.supervisor, office=office, actor=OPERATOR, now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


def _journal(rt: Runtime) -> list[tuple[str, Any, Any, str | None]]:
    with rt.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "clearance.office_set").order_by(AuditEntry.id)).all()
        return [(e.subject_id, e.before, e.after, e.actor_name) for e in rows]


def test_the_office_supervisor_sets_review_first_and_the_next_red_declaration_is_reviewed_before_inspection(
    client: TestClient, world: World, rt: Runtime, chiefs: dict[str, dict[str, str]]
) -> None:
    url = f"{OFFICES}/2248/clearance"
    before = client.get(url, headers=chiefs["chief_2248"])
    assert (before.status_code, before.json()) == (200, {"office": "2248", "review_first": False, "updated_at": None})
    r = client.put(url, json={"review_first": True}, headers=chiefs["chief_2248"])
    assert r.status_code == 200, r.text
    assert (r.json()["office"], r.json()["review_first"]) == ("2248", True) and r.json()["updated_at"]
    assert client.get(url, headers=world.headers("admin")).json()["review_first"] is True
    assert _journal(rt) == [("2248", None, {"review_first": True}, "chief_2248")]

    lane(rt, world, "red")
    h = add_staff(rt, world, ("he", Role.officer), ("lv", Role.inspector), ("shi", Role.inspector))
    receipt = client.post("/api/v1/declarations", json=example(), headers=world.headers("broker")).json()
    assert receipt["status"] == "under_review"
    assert only_task(client, h["he"])["kind"] == "review"

    assert client.put(url, json={"review_first": False}, headers=world.headers("admin")).status_code == 200
    assert _journal(rt)[-1][1:] == ({"review_first": True}, {"review_first": False}, "admin")
    again = client.post("/api/v1/declarations", json=example() | {"client_reference": "RED-2"}, headers=world.headers("broker")).json()
    assert again["status"] == "under_inspection"


@pytest.mark.parametrize(
    ("caller", "status"),
    [("chief_0202", 404), ("officer", 403), ("inspector", 403), ("broker", 403), ("analyst", 403), ("gate", 403)],
)
def test_only_admins_and_the_offices_supervisor_reach_the_setting_and_a_refusal_changes_nothing(
    client: TestClient, world: World, rt: Runtime, chiefs: dict[str, dict[str, str]], caller: str, status: int
) -> None:
    headers = chiefs.get(caller) or world.headers(caller)
    url = f"{OFFICES}/2248/clearance"
    assert client.get(url, headers=headers).status_code == status
    assert client.put(url, json={"review_first": True}, headers=headers).status_code == status
    assert client.put(url, json={"review_first": True}).status_code == 401
    assert client.get(url, headers=world.headers("admin")).json()["review_first"] is False
    assert _journal(rt) == []


@pytest.mark.parametrize(
    ("office", "body", "status"),
    [
        ("2248", {"review_first": "yes"}, 422),
        ("2248", {"review_first": 1}, 422),
        ("2248", {}, 422),
        ("2248", {"review_first": True, "extra": 1}, 422),
        ("22-48", {"review_first": True}, 422),
        ("224800000", {"review_first": True}, 422),
    ],
)
def test_bad_input_answers_422_and_changes_nothing(
    client: TestClient, world: World, rt: Runtime, office: str, body: Any, status: int
) -> None:
    r = client.put(f"{OFFICES}/{office}/clearance", json=body, headers=world.headers("admin"))
    assert r.status_code == status, r.text
    assert r.json()["errors"]
    assert _journal(rt) == []


def test_the_cli_shows_and_sets_an_offices_order_of_checks(initialized: Cli) -> None:
    assert initialized.json("clearance", "office", "2248") == {"office": "2248", "review_first": False, "updated_at": None}
    out = initialized.json("clearance", "office", "2248", "--review-first")
    assert (out["office"], out["review_first"]) == ("2248", True) and out["updated_at"]
    assert "review, then inspection" in initialized.run("clearance", "office", "2248").stdout
    assert initialized.json("clearance", "office", "2248", "--inspect-first")["review_first"] is False
    bad = initialized.run("clearance", "office", "", "--review-first", "--json", expect=2)
    assert "CLR-OFF-001" in bad.stdout + bad.stderr
