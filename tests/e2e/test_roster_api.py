"""The roster over HTTP: admins see every office, supervisors only their own (another office's officer is 404)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, World

API = "/api/v1/officers"


@pytest.fixture
def chiefs(rt: Runtime, world: World) -> dict[str, dict[str, str]]:
    """Supervisors of office 2248 and of 0202, and an image analyst at 2248; their Authorization headers."""
    headers = {}
    with rt.write() as s:
        for name, role, office in (
            ("chief_2248", Role.supervisor, "2248"),
            ("chief_0202", Role.supervisor, "0202"),
            ("xray", Role.image_analyst, "2248"),
        ):
            _, token = auth_service.add_user(s, name=name, role=role, office=office, actor=OPERATOR, now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


def _roster(rt: Runtime) -> list[tuple[str, Any, Any]]:
    with rt.read() as s:
        return [
            (e.action, e.actor_name, e.after)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "officer").order_by(AuditEntry.id))
        ]


def test_an_admin_lists_every_office_and_a_supervisor_only_their_own(
    client: TestClient, world: World, chiefs: dict[str, dict[str, str]]
) -> None:
    everyone = client.get(API, headers=world.headers("admin"))
    assert everyone.status_code == 200, everyone.text
    assert [(o["name"], o["office"], o["duty"]) for o in everyone.json()] == [
        ("inspector", "2248", None),
        ("officer", "2248", None),
        ("officer_tianjin", "0202", None),
        ("xray", "2248", None),
    ]
    assert [o["name"] for o in client.get(API, params={"office": "0202"}, headers=world.headers("admin")).json()] == ["officer_tianjin"]
    mine = client.get(API, headers=chiefs["chief_2248"]).json()
    assert [o["name"] for o in mine] == ["inspector", "officer", "xray"]
    assert client.get(API, params={"office": "0202"}, headers=chiefs["chief_2248"]).json() == []
    # a supervisor without an office works at headquarters: every office's roster, as every office's tasks
    assert [o["name"] for o in client.get(API, headers=world.headers("supervisor")).json()] == [o["name"] for o in everyone.json()]


def test_a_supervisor_changes_their_officers_and_each_change_is_journaled(
    client: TestClient, world: World, chiefs: dict[str, dict[str, str]], rt: Runtime
) -> None:
    r = client.patch(f"{API}/officer", json={"chapters": "84-85,90", "capacity": 3}, headers=chiefs["chief_2248"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "name": "officer",
        "role": "officer",
        "office": "2248",
        "active": True,
        "chapters": "84-85,90",
        "capacity": 3,
        "duty": "on",
        "load": 0,
        "spare": 3,
    }
    r = client.patch(f"{API}/officer", json={"duty": "off"}, headers=world.headers("admin"))
    assert r.status_code == 200 and r.json()["duty"] == "off" and r.json()["spare"] == 0
    assert client.get(f"{API}/officer", headers=chiefs["chief_2248"]).json()["chapters"] == "84-85,90"
    assert [(a, who, after["duty"]) for a, who, after in _roster(rt)] == [
        ("officer.added", "chief_2248", "on"),
        ("officer.changed", "admin", "off"),
    ]


def test_another_offices_supervisor_gets_404_and_changes_nothing(
    client: TestClient, world: World, chiefs: dict[str, dict[str, str]], rt: Runtime
) -> None:
    client.patch(f"{API}/officer", json={"capacity": 2}, headers=world.headers("admin"))
    before = _roster(rt)
    for r in (
        client.get(f"{API}/officer", headers=chiefs["chief_0202"]),
        client.patch(f"{API}/officer", json={"capacity": 9, "duty": "off"}, headers=chiefs["chief_0202"]),
        client.get(f"{API}/nobody", headers=chiefs["chief_0202"]),
    ):
        assert r.status_code == 404, r.text
        assert r.json() == {"error": "Not found", "code": "officer_not_found", "detail": r.json()["detail"], "errors": []}
    assert client.get(f"{API}/officer", headers=world.headers("admin")).json()["capacity"] == 2
    assert _roster(rt) == before


@pytest.mark.parametrize("user", ["officer", "inspector", "analyst", "broker", "gate"])
def test_other_roles_are_refused(client: TestClient, world: World, user: str) -> None:
    for r in (
        client.get(API, headers=world.headers(user)),
        client.patch(f"{API}/officer", json={"capacity": 2}, headers=world.headers(user)),
    ):
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "forbidden"
    assert client.get(API).status_code == 401


def test_bad_values_answer_422_with_every_problem_and_change_nothing(
    client: TestClient, world: World, chiefs: dict[str, dict[str, str]], rt: Runtime
) -> None:
    r = client.patch(f"{API}/xray", json={"chapters": "85-84,00", "capacity": 0, "duty": "later"}, headers=chiefs["chief_2248"])
    assert r.status_code == 422, r.text
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [
        ("ROS-CHP-004", "/chapters"),
        ("ROS-CHP-003", "/chapters"),
        ("ROS-CAP-001", "/capacity"),
        ("ROS-DUTY-001", "/duty"),
    ]
    r = client.patch(f"{API}/xray", json={"capacity": "many", "office": "0202"}, headers=chiefs["chief_2248"])
    assert r.status_code == 422
    assert sorted((e["code"], e["pointer"]) for e in r.json()["errors"]) == [("REQ-002", "/office"), ("REQ-003", "/capacity")]
    r = client.patch(f"{API}/admin", json={"capacity": 2}, headers=world.headers("admin"))
    assert r.status_code == 422 and [e["code"] for e in r.json()["errors"]] == ["ROS-OFF-001"]
    assert _roster(rt) == []
    assert client.get(f"{API}/xray", headers=chiefs["chief_2248"]).json()["duty"] is None
