"""Office roles work at one customs office: refused without a valid one, and none seen without one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import User
from smartcustoms.auth.roles import NATIONAL_ROLES, OFFICE_OPTIONAL_ROLES, OFFICE_ROLES, RULES
from smartcustoms.runtime import Runtime
from tests.conftest import World, example

API = "/api/v1"


def _codes(r: object) -> list[tuple[str, str]]:
    return [(e["code"], e["pointer"]) for e in r.json()["errors"]]  # type: ignore[attr-defined]


def test_users_of_office_roles_are_refused_without_a_known_office(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    for role in ("officer", "inspector", "gate"):
        r = client.post(f"{API}/users", json={"name": f"{role}-x", "role": role}, headers=admin)
        assert r.status_code == 422 and _codes(r) == [("AUTH-USR-006", "/office")], role
        r = client.post(f"{API}/users", json={"name": f"{role}-x", "role": role, "office": "9999"}, headers=admin)
        assert r.status_code == 422 and _codes(r) == [("AUTH-USR-007", "/office")], role
    r = client.post(f"{API}/users", json={"name": "analyst-x", "role": "analyst", "office": "2248"}, headers=admin)
    assert r.status_code == 422 and _codes(r) == [("AUTH-USR-008", "/office")]
    made = client.post(f"{API}/users", json={"name": "officer-x", "role": "officer", "office": "5316"}, headers=admin)
    assert made.status_code == 201
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {made.json()['token']}"}).json()
    assert (me["role"], me["office"]) == ("officer", "5316")


def test_an_officer_left_without_an_office_sees_no_office_at_all(client: TestClient, world: World, rt: Runtime) -> None:
    number = client.post(f"{API}/declarations", json=example(), headers=world.headers("broker")).json()["number"]
    with rt.write() as s:  # a user made before office roles needed an office
        s.execute(update(User).where(User.name == "officer").values(office_code=None))
    auth_service.token_cache.forget_all()
    listing = client.get(f"{API}/declarations", headers=world.headers("officer"))
    one = client.get(f"{API}/declarations/{number}", headers=world.headers("officer"))
    hold = client.post(
        f"{API}/declarations/{number}/decisions", json={"to": "held", "reason": "Check origin"}, headers=world.headers("officer")
    )
    assert [r.status_code for r in (listing, one, hold)] == [403, 403, 403]
    assert listing.json()["code"] == "no_office"
    assert client.get(f"{API}/declarations/{number}", headers=world.headers("officer_tianjin")).status_code == 404
    assert client.get(f"{API}/declarations", headers=world.headers("supervisor")).json()["total"] == 1  # national


def test_every_role_has_one_rule_and_office_roles_are_not_national() -> None:
    from smartcustoms.auth.models import Role

    assert set(RULES) == set(Role)
    assert {r.value for r in OFFICE_ROLES} == {"officer", "inspector", "gate", "image_analyst", "scanner"}
    assert {r.value for r in OFFICE_OPTIONAL_ROLES} == {"supervisor"}
    assert not OFFICE_ROLES & NATIONAL_ROLES


def test_a_supervisor_with_an_office_supervises_that_office_and_one_without_every_office(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    number = client.post(f"{API}/declarations", json=example(), headers=world.headers("broker")).json()["number"]  # at 2248
    unknown = client.post(f"{API}/users", json={"name": "boss-x", "role": "supervisor", "office": "9999"}, headers=admin)
    assert unknown.status_code == 422 and _codes(unknown) == [("AUTH-USR-007", "/office")]
    tianjin = client.post(f"{API}/users", json={"name": "boss-tj", "role": "supervisor", "office": "0202"}, headers=admin)
    shanghai = client.post(f"{API}/users", json={"name": "boss-sh", "role": "supervisor", "office": "2248"}, headers=admin)
    assert tianjin.status_code == shanghai.status_code == 201
    tj = {"Authorization": f"Bearer {tianjin.json()['token']}"}
    sh = {"Authorization": f"Bearer {shanghai.json()['token']}"}
    assert client.get(f"{API}/declarations", headers=tj).json()["total"] == 0
    assert client.get(f"{API}/declarations/{number}", headers=tj).status_code == 404
    assert client.get(f"{API}/declarations/{number}", headers=sh).status_code == 200
    assert client.get(f"{API}/declarations", headers=world.headers("supervisor")).json()["total"] == 1  # headquarters
