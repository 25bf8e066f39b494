"""Administration over HTTP: enterprises, users, reference data, the journal, and 401 on every endpoint."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth.models import User
from smartcustoms.party.models import Enterprise
from smartcustoms.runtime import Runtime
from smartcustoms.web.deps import COOKIE_CANNOT_CHANGE
from tests.conftest import BROKER, IMPORTER, OTHER, World

API = "/api/v1"
NEW_USCC = "91110108MA01C2XB3H"  # valid, not registered by the world fixture
WRONG_CHECK = NEW_USCC[:-1] + "J"
NEW_ENTERPRISE = {"uscc": NEW_USCC, "name": "Beijing Haidian Optics Co., Ltd.", "region": "Beijing", "credit": "aeo"}


def _count(rt: Runtime, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- enterprises ------------------------------------------------------------------------


def test_an_admin_registers_an_enterprise_and_gets_201(client: TestClient, world: World, rt: Runtime) -> None:
    r = client.post(f"{API}/enterprises", json=NEW_ENTERPRISE, headers=world.headers("admin"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("uscc", "name", "address", "region", "credit", "out_of_town")} == {
        "uscc": NEW_USCC,
        "name": "Beijing Haidian Optics Co., Ltd.",
        "address": None,
        "region": "Beijing",
        "credit": "aeo",
        "out_of_town": False,
    }
    assert client.get(f"{API}/enterprises/{NEW_USCC}", headers=world.headers("admin")).json() == body
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "enterprise.added", AuditEntry.subject_id == NEW_USCC)).one()
    assert (entry.actor_name, entry.role, entry.after["credit"]) == ("admin", "admin", "aeo")  # type: ignore[index]


def test_only_admins_register_enterprises(client: TestClient, world: World, rt: Runtime) -> None:
    before = (_count(rt, Enterprise), _count(rt, AuditEntry))
    for user in ("broker", "officer", "analyst", "supervisor", "inspector", "gate", "agency"):
        r = client.post(f"{API}/enterprises", json=NEW_ENTERPRISE, headers=world.headers(user))
        assert r.status_code == 403, user
        assert r.json()["code"] == "forbidden"
    assert (_count(rt, Enterprise), _count(rt, AuditEntry)) == before


def test_a_uscc_with_a_wrong_check_character_is_refused_with_a_pointer(client: TestClient, world: World, rt: Runtime) -> None:
    before = (_count(rt, Enterprise), _count(rt, AuditEntry))
    r = client.post(f"{API}/enterprises", json={**NEW_ENTERPRISE, "uscc": WRONG_CHECK}, headers=world.headers("admin"))
    assert r.status_code == 422
    assert r.json()["code"] == "validation_failed"
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("PTY-USCC-002", "/uscc")]
    assert (_count(rt, Enterprise), _count(rt, AuditEntry)) == before


def test_a_malformed_uscc_is_refused_with_its_own_code(client: TestClient, world: World) -> None:
    r = client.post(f"{API}/enterprises", json={**NEW_ENTERPRISE, "uscc": "91110108MA01C2XB3!"}, headers=world.headers("admin"))
    assert r.status_code == 422
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("PTY-USCC-001", "/uscc")]


def test_registering_an_enterprise_twice_answers_409_enterprise_exists(client: TestClient, world: World, rt: Runtime) -> None:
    before = (_count(rt, Enterprise), _count(rt, AuditEntry))
    for uscc in (BROKER, BROKER.lower()):
        r = client.post(f"{API}/enterprises", json={**NEW_ENTERPRISE, "uscc": uscc}, headers=world.headers("admin"))
        assert r.status_code == 409
        assert r.json()["code"] == "enterprise_exists"
        assert r.json()["detail"] == f"An enterprise with USCC {BROKER} is already registered."
    assert (_count(rt, Enterprise), _count(rt, AuditEntry)) == before


def test_an_enterprise_user_lists_only_its_own_enterprise(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/enterprises", headers=world.headers("broker"))
    assert r.status_code == 200
    assert [(e["uscc"], e["name"], e["credit"]) for e in r.json()] == [(BROKER, "Shanghai Harbour Brokerage", "aeo")]
    assert [e["uscc"] for e in client.get(f"{API}/enterprises", headers=world.headers("other")).json()] == [OTHER]


def test_officials_list_every_enterprise_and_roles_without_access_are_refused(client: TestClient, world: World) -> None:
    for user in ("admin", "analyst", "supervisor", "officer"):
        assert [e["uscc"] for e in client.get(f"{API}/enterprises", headers=world.headers(user)).json()] == sorted(
            [BROKER, IMPORTER, OTHER]
        )
    assert [
        e["uscc"] for e in client.get(f"{API}/enterprises", params={"limit": 1, "offset": 1}, headers=world.headers("admin")).json()
    ] == [sorted([BROKER, IMPORTER, OTHER])[1]]
    assert client.get(f"{API}/enterprises", headers=world.headers("gate")).status_code == 403
    assert client.get(f"{API}/enterprises", headers=world.headers("agency")).status_code == 403


def test_an_enterprise_user_gets_404_for_another_enterprise_exactly_as_for_a_missing_one(client: TestClient, world: World) -> None:
    own = client.get(f"{API}/enterprises/{BROKER}", headers=world.headers("broker"))
    assert own.status_code == 200 and own.json()["uscc"] == BROKER
    other = client.get(f"{API}/enterprises/{OTHER}", headers=world.headers("broker"))
    missing = client.get(f"{API}/enterprises/{NEW_USCC}", headers=world.headers("broker"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == f"No enterprise {OTHER}."
    assert missing.json()["detail"] == f"No enterprise {NEW_USCC}."
    assert client.get(f"{API}/enterprises/{OTHER}", headers=world.headers("officer")).json()["uscc"] == OTHER
    assert client.get(f"{API}/enterprises/{NEW_USCC}", headers=world.headers("officer")).status_code == 404
    assert client.get(f"{API}/enterprises/{OTHER}", headers=world.headers("gate")).status_code == 403


# --- users --------------------------------------------------------------------------------


def test_an_admin_creates_a_user_whose_token_works_on_me(client: TestClient, world: World, rt: Runtime) -> None:
    r = client.post(f"{API}/users", json={"name": "clerk", "role": "enterprise", "enterprise": BROKER}, headers=world.headers("admin"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["role"]) == ("clerk", "enterprise")
    assert body["token"].startswith("sc_")
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json() == {"name": "clerk", "role": "enterprise", "enterprise": BROKER, "office": None}
    officer = client.post(f"{API}/users", json={"name": "officer2", "role": "officer", "office": "0202"}, headers=world.headers("admin"))
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {officer.json()['token']}"}).json() == {
        "name": "officer2",
        "role": "officer",
        "enterprise": None,
        "office": "0202",
    }
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.added", AuditEntry.subject_id == str(body["id"]))).one()
    assert (entry.actor_name, entry.after) == ("admin", {"name": "clerk", "role": "enterprise", "enterprise": BROKER, "office": None})
    assert body["token"] not in str(entry.after)


def test_only_admins_create_users(client: TestClient, world: World, rt: Runtime) -> None:
    before = _count(rt, User)
    for user in ("broker", "officer", "supervisor", "analyst"):
        r = client.post(f"{API}/users", json={"name": "sneaky", "role": "admin"}, headers=world.headers(user))
        assert r.status_code == 403, user
    assert _count(rt, User) == before


def test_an_enterprise_user_without_an_enterprise_is_refused_with_auth_usr_001(client: TestClient, world: World, rt: Runtime) -> None:
    before = (_count(rt, User), _count(rt, AuditEntry))
    r = client.post(f"{API}/users", json={"name": "clerk", "role": "enterprise"}, headers=world.headers("admin"))
    assert r.status_code == 422
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("AUTH-USR-001", "/enterprise")]
    r = client.post(f"{API}/users", json={"name": "clerk", "role": "enterprise", "enterprise": NEW_USCC}, headers=world.headers("admin"))
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("AUTH-USR-002", "/enterprise")]
    r = client.post(
        f"{API}/users", json={"name": "clerk", "role": "officer", "enterprise": BROKER, "office": "2248"}, headers=world.headers("admin")
    )
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("AUTH-USR-003", "/enterprise")]
    assert (_count(rt, User), _count(rt, AuditEntry)) == before


def test_a_user_name_is_unique(client: TestClient, world: World, rt: Runtime) -> None:
    before = _count(rt, User)
    r = client.post(f"{API}/users", json={"name": "broker", "role": "enterprise", "enterprise": BROKER}, headers=world.headers("admin"))
    assert r.status_code == 409 and r.json()["code"] == "user_exists"
    assert _count(rt, User) == before


def test_me_tells_who_the_credentials_belong_to(client: TestClient, world: World) -> None:
    assert client.get(f"{API}/me", headers=world.headers("broker")).json() == {
        "name": "broker",
        "role": "enterprise",
        "enterprise": BROKER,
        "office": None,
    }
    assert client.get(f"{API}/me", headers=world.headers("officer")).json() == {
        "name": "officer",
        "role": "officer",
        "enterprise": None,
        "office": "2248",
    }


# --- reference data ---------------------------------------------------------------------

SMARTPHONES = {
    "code": "851713",
    "level": 6,
    "parent": "8517",
    "section": "XVI",
    "description": "Telephone sets; smartphones for cellular or other wireless networks",
    "edition": "HS2022",
    "valid_from": "2022-01-01",
    "valid_to": None,
}


def test_an_hs_subheading_is_looked_up_with_its_hs_2022_description(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/reference/hs/851713", headers=world.headers("broker"))
    assert r.status_code == 200
    assert r.json() == SMARTPHONES


def test_a_ten_digit_code_reads_as_its_first_six_digits(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/reference/hs/8517130000", headers=world.headers("broker"))
    assert r.status_code == 200 and r.json() == SMARTPHONES
    assert client.get(f"{API}/reference/hs/8517", headers=world.headers("broker")).json()["level"] == 4


def test_an_unknown_hs_code_answers_404(client: TestClient, world: World) -> None:
    for code in ("999999", "000000", "77"):
        r = client.get(f"{API}/reference/hs/{code}", headers=world.headers("broker"))
        assert r.status_code == 404, code
        assert r.json()["detail"] == f"No HS code {code} in force."
    before_hs_2022 = client.get(f"{API}/reference/hs/851713", params={"on": "2021-12-31"}, headers=world.headers("broker"))
    assert before_hs_2022.status_code == 404


def test_hs_codes_are_searched_by_words_and_by_code_prefix(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/reference/hs", params={"q": "smartphone"}, headers=world.headers("broker"))
    assert r.status_code == 200
    assert [h["code"] for h in r.json()] == ["8517", "851713", "851714"]
    assert [h["code"] for h in client.get(f"{API}/reference/hs", params={"q": "85171"}, headers=world.headers("broker")).json()] == [
        "851711",
        "851713",
        "851714",
        "851718",
    ]
    short = client.get(f"{API}/reference/hs", params={"q": "s"}, headers=world.headers("broker"))
    assert short.status_code == 422 and short.json()["errors"][0]["pointer"] == "/query/q"


def test_the_customs_exchange_rate_is_given_for_a_day(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/reference/rates/USD", params={"on": "2026-11-22"}, headers=world.headers("broker"))
    assert r.status_code == 200
    assert r.json() == {"currency": "USD", "on": "2026-11-22", "cny_per_unit": "7.1200"}
    missing = client.get(f"{API}/reference/rates/XXQ", params={"on": "2026-11-22"}, headers=world.headers("broker"))
    assert missing.status_code == 404 and missing.json()["code"] == "rate_missing"


def test_code_lists_are_served_and_an_unknown_list_answers_404(client: TestClient, world: World) -> None:
    countries = client.get(f"{API}/reference/country", headers=world.headers("broker"))
    assert countries.status_code == 200
    assert {"CN", "VN", "DE"} <= set(countries.json()) and countries.json() == sorted(countries.json())
    assert "USD" in client.get(f"{API}/reference/currency", headers=world.headers("broker")).json()
    assert "2248" in client.get(f"{API}/reference/office", headers=world.headers("broker")).json()
    r = client.get(f"{API}/reference/planets", headers=world.headers("broker"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"


# --- the journal --------------------------------------------------------------------------


def test_supervisors_read_the_journal_oldest_first(client: TestClient, world: World) -> None:
    r = client.get(f"{API}/audit", headers=world.headers("supervisor"))
    assert r.status_code == 200
    entries = r.json()
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [e["action"] for e in entries if not e["action"].startswith("reference.")] == ["enterprise.added"] * 3 + [
        "mandate.granted",
        "risk.selectivity_set",  # the world's setting without a random draw
        "tariff.loaded",  # the world's SAMPLE schedule and preferences, and each enterprise's guarantee
        "tariff.loaded",
        "guarantee.added",
        "guarantee.added",
        "guarantee.added",
    ] + ["user.added"] * 11
    assert [e["subject_id"] for e in entries if e["action"] == "enterprise.added"] == [BROKER, IMPORTER, OTHER]
    page = client.get(f"{API}/audit", params={"after": ids[2], "limit": 2}, headers=world.headers("admin")).json()
    assert [e["id"] for e in page] == ids[3:5]
    one = client.get(f"{API}/audit", params={"subject_type": "enterprise", "subject_id": OTHER}, headers=world.headers("supervisor")).json()
    assert [(e["action"], e["actor_name"], e["role"], e["after"]["uscc"]) for e in one] == [
        ("enterprise.added", "test-operator", "admin", OTHER)
    ]


def test_enterprise_users_and_other_officials_cannot_read_the_journal(client: TestClient, world: World) -> None:
    for user in ("broker", "officer", "analyst", "gate"):
        r = client.get(f"{API}/audit", headers=world.headers(user))
        assert r.status_code == 403, user
        assert r.json()["code"] == "forbidden"


# --- every endpoint checks who is asking --------------------------------------------------

DUMMY = {
    "number": "224820261000000001",
    "office": "2248",
    "hold_id": "1",
    "uscc": BROKER,
    "code": "851713",
    "currency": "USD",
    "list_name": "country",
    "webhook_id": "1",
    "mandate_id": "1",
    "manifest_id": "1",
    "document_id": "1",
    "task_id": "1",
    "step_id": "1",
    "scan_id": "1",
    "sha256": "0" * 64,
    "query_id": "1",
    "version": "1",
    "id": "1",
    "name": "fraud",
}


# Deliberately public: the key release tokens are signed with, so anyone may check a release offline
# (the /verify/{token} page is public too, and outside the API).
PUBLIC = {("GET", f"{API}/releases/signing-key")}


def _api_operations(client: TestClient) -> list[tuple[str, str]]:
    """Every API operation that needs credentials (all but the deliberately PUBLIC ones)."""
    spec = client.get("/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        if not path.startswith(f"{API}/"):
            continue
        url = re.sub(r"\{([^}]+)\}", lambda m: DUMMY[m.group(1)], path)
        ops += [(method.upper(), url) for method in item if method in ("get", "post", "put", "patch", "delete")]
    assert set(ops) >= PUBLIC
    return [op for op in ops if op not in PUBLIC]


def test_only_the_release_signing_key_is_public_and_it_answers_to_anyone(client: TestClient, world: World) -> None:
    for method, url in PUBLIC:
        for headers in ({}, {"Authorization": "Bearer sc_not-a-token"}):
            r = client.request(method, url, headers=headers)
            assert r.status_code == 200, (method, url, headers, r.status_code, r.text)
            assert r.json()["algorithm"] == "Ed25519"


def test_every_api_endpoint_answers_401_without_a_token(client: TestClient, world: World, rt: Runtime) -> None:
    ops = _api_operations(client)
    assert len(ops) >= 24  # the sweep covers the whole API, not a handful of routes
    assert ("POST", f"{API}/declarations") in ops and ("DELETE", f"{API}/webhooks/1") in ops
    audit_before = _count(rt, AuditEntry)
    for method, url in ops:
        for headers in ({}, {"Authorization": "Bearer sc_not-a-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            r = client.request(method, url, headers=headers)
            assert r.status_code == 401, (method, url, headers, r.status_code, r.text)
            assert r.json()["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
    assert _count(rt, AuditEntry) == audit_before


def test_every_api_endpoint_answers_401_for_a_forged_session_cookie(client: TestClient, world: World) -> None:
    client.cookies.set("sc_session", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")  # alg "none", user 1
    for method, url in _api_operations(client):
        r = client.request(method, url)
        assert r.status_code == 401, (method, url, r.status_code)
        # Reads look the session up; changes never take a session cookie at all (bearer tokens only).
        expected = "Your session has expired; please sign in again." if method == "GET" else COOKIE_CANNOT_CHANGE
        assert r.json()["detail"] == expected, (method, url)
