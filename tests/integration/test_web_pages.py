"""The server-rendered pages: sign-in, the declaration list, the htmx rows fragment and the detail page."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from smartcustoms.web.deps import SESSION_COOKIE
from tests.conftest import BROKER, World, example
from tests.e2e.conftest import under_review  # noqa: F401 (the fixture)

API = "/api/v1/declarations"
PASSWORD = "correct-horse-battery"


def login_csrf(client: TestClient) -> dict[str, str]:
    """The sign-in form's hidden CSRF field, as a browser gets it (GET /login sets its nonce cookie)."""
    r = client.get("/login")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text)
    assert found, r.text
    return {"csrf": found.group(1)}


def _sign_in(client: TestClient, name: str) -> None:
    r = client.post("/login", data={**login_csrf(client), "name": name, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _lodge(client: TestClient, world: World, reference: str = "SHIMP-2026-000123") -> str:
    d = example()
    d["client_reference"] = reference
    r = client.post(API, json=d, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    number: str = r.json()["number"]
    return number


def test_the_home_page_redirects_to_login_when_signed_out(client: TestClient, world: World) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    assert client.get(f"/declarations/{'2248' * 4}12", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/declarations/rows", follow_redirects=False).status_code == 401


def test_the_login_page_shows_the_form(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in r.text
    assert 'name="password" type="password"' in r.text


def test_a_wrong_password_answers_401_with_the_error_and_sets_no_cookie(client: TestClient, world: World) -> None:
    r = client.post("/login", data={**login_csrf(client), "name": "broker", "password": "wrong-horse-battery"}, follow_redirects=False)
    assert r.status_code == 401
    assert '<p class="error" role="alert">Wrong name or password.</p>' in r.text
    assert 'value="broker"' in r.text  # the name is kept, the password is not
    assert "wrong-horse-battery" not in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert SESSION_COOKIE not in client.cookies
    unknown = client.post("/login", data={**login_csrf(client), "name": "nobody", "password": PASSWORD}, follow_redirects=False)
    assert unknown.status_code == 401 and "Wrong name or password." in unknown.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_the_name_echoed_on_a_failed_login_is_html_escaped(client: TestClient, world: World) -> None:
    r = client.post(
        "/login", data={**login_csrf(client), "name": '"><script>alert(1)</script>', "password": "whatever1"}, follow_redirects=False
    )
    assert r.status_code == 401
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_the_right_password_answers_303_and_sets_an_httponly_session_cookie(client: TestClient, world: World) -> None:
    r = client.post("/login", data={**login_csrf(client), "name": "broker", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert client.cookies.get(SESSION_COOKIE)
    assert client.get("/api/v1/me").json()["name"] == "broker"  # the session also works on the API


def test_signed_in_the_home_page_lists_the_brokers_declarations(client: TestClient, world: World) -> None:
    number = _lodge(client, world)
    _sign_in(client, "broker")
    r = client.get("/")
    assert r.status_code == 200
    assert "<h1>Declarations</h1>" in r.text
    assert f'<a href="/declarations/{number}">{number}</a>' in r.text
    assert "SHIMP-2026-000123" in r.text
    assert "1 declaration" in r.text
    assert f"broker · enterprise · {BROKER}" in r.text
    assert '<option value="withdrawn">withdrawn</option>' in r.text


def test_an_unrelated_enterprise_sees_no_declarations(client: TestClient, world: World) -> None:
    number = _lodge(client, world)
    _sign_in(client, "other")
    r = client.get("/")
    assert r.status_code == 200
    assert number not in r.text
    assert "0 declarations" in r.text and "No declarations." in r.text


@pytest.mark.usefixtures("under_review")  # lodged for review: still open, so it can be withdrawn
def test_the_rows_fragment_filters_by_status_for_htmx(client: TestClient, world: World) -> None:
    withdrawn = _lodge(client, world, "REF-1")
    kept = _lodge(client, world, "REF-2")
    client.post(f"{API}/{withdrawn}/withdrawal", json={"reason": "not needed"}, headers=world.headers("broker"))
    _sign_in(client, "broker")
    r = client.get("/declarations/rows", params={"status": "withdrawn"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and "<h1>" not in r.text  # a fragment, not a page
    assert r.text.startswith('<p class="muted">1 declaration · withdrawn</p>')
    assert withdrawn in r.text and kept not in r.text
    assert '<span class="badge withdrawn">withdrawn</span>' in r.text
    everything = client.get("/declarations/rows", params={"status": ""})
    assert "2 declarations</p>" in everything.text and withdrawn in everything.text and kept in everything.text
    reviewing = client.get("/declarations/rows", params={"status": "under_review"})
    assert reviewing.text.startswith('<p class="muted">1 declaration · under review</p>')
    assert kept in reviewing.text and withdrawn not in reviewing.text
    assert '<span class="badge under_review">under review</span>' in reviewing.text
    assessed = client.get("/declarations/rows", params={"status": "assessed"})  # the yellow lane moves on to review
    assert assessed.text.startswith('<p class="muted">0 declarations · assessed</p>') and "No declarations." in assessed.text
    accepted = client.get("/declarations/rows", params={"status": "accepted"})  # lodging assesses at once: none stays accepted
    assert accepted.text.startswith('<p class="muted">0 declarations · accepted</p>') and "No declarations." in accepted.text


@pytest.mark.usefixtures("under_review")  # lodged for review: still open, so it can be withdrawn
def test_the_detail_page_shows_the_number_items_and_history(client: TestClient, world: World) -> None:
    number = _lodge(client, world)
    client.post(f"{API}/{number}/withdrawal", json={"reason": "Declared under the wrong procedure"}, headers=world.headers("broker"))
    _sign_in(client, "importer")
    r = client.get(f"/declarations/{number}")
    assert r.status_code == 200
    assert f"<h1>Declaration {number} " in r.text
    assert f"<title>{number} · smartcustoms</title>" in r.text
    for item in example()["items"]:
        assert f'<td data-label="HS code">{item["hs_code"]}</td>' in r.text
        assert f'<td data-label="Description">{item["description"]}</td>' in r.text
    history = r.text.split("<h2>History</h2>", 1)[1].split("<h2>Documents</h2>", 1)[0]
    assert [line.split("<strong>", 1)[1].split("</strong>", 1)[0] for line in history.split("<li>")[1:]] == [
        "lodged",
        "accepted",
        "assessed",
        "under review",
        "withdrawn",
    ]
    assert "selectivity (system)" in history and "<br>Lane " in history
    assert "Declared under the wrong procedure" in history
    assert "No files uploaded." in r.text


def test_another_enterprises_declaration_answers_a_404_page(client: TestClient, world: World) -> None:
    number = _lodge(client, world)
    _sign_in(client, "other")
    r = client.get(f"/declarations/{number}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert f"No declaration {number}." in r.text
    assert "SHIMP-2026-000123" not in r.text and "Smartphones" not in r.text


def test_the_number_reflected_in_a_404_page_is_html_escaped(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    evil = "<script>alert(document.cookie)</script>"
    for number in ("<script>alert(1)", "2248<img src=x onerror=alert(1)>", f"a{evil}".replace("/", "")):
        r = client.get(f"/declarations/{number}")
        assert r.status_code == 404
        assert number not in r.text
        assert html.escape(number) in r.text
        assert "<script>" not in r.text and "<img" not in r.text
