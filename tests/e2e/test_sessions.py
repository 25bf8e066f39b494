"""Sign-in, sessions and browsers: sessions that end, the throttle, production passwords and secrets, CSRF, headers, /metrics."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import passwords
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.config import DEFAULT_SECRET, ConfigurationError, Settings
from smartcustoms.errors import ValidationFailed
from smartcustoms.notification.models import WebhookSubscription
from smartcustoms.runtime import Runtime
from smartcustoms.web.app import create_app
from smartcustoms.web.deps import SESSION_COOKIE
from tests.conftest import NOW, OPERATOR, SIGNING_KEY, World

PASSWORD = "correct-horse-battery"
STRONG_SECRET = secrets.token_urlsafe(48)
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "smartcustoms" / "web" / "templates"


def _csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def _sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    r = client.post("/login", data={"csrf": _csrf(client), "name": name, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _with_cookie(rt: Runtime, cookie: str) -> TestClient:
    fresh = TestClient(create_app(rt.settings, runtime=rt, start_workers=False))
    fresh.cookies.set(SESSION_COOKIE, cookie)
    return fresh


def _journal(rt: Runtime, action: str) -> list[AuditEntry]:
    with rt.read() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def production(rt: Runtime) -> Iterator[TestClient]:
    """A client of the app in production mode (HTTPS, so the Secure cookies travel)."""
    rt.settings = rt.settings.model_copy(update={"mode": "production", "secret_key": STRONG_SECRET})
    with TestClient(create_app(rt.settings, runtime=rt, start_workers=False), base_url="https://testserver") as c:
        yield c


# --- sessions end -------------------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(client: TestClient, rt: Runtime, world: World) -> None:
    cookie = _sign_in(client, "broker")
    assert _with_cookie(rt, cookie).get("/api/v1/me").json()["name"] == "broker"
    r = client.post("/logout", data={"csrf": _csrf(client, "/")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    stolen = _with_cookie(rt, cookie)  # the cookie kept somewhere else is worth nothing now
    assert stolen.get("/api/v1/me").status_code == 401
    assert stolen.get("/", follow_redirects=False).headers["location"] == "/login"
    assert [e.subject_id for e in _journal(rt, "user.signed_out")] == [str(world.principals["broker"].user_id)]


@pytest.mark.parametrize("how", ["revoke", "set-password", "disable"])
def test_revoking_changing_the_password_or_disabling_ends_every_session(client: TestClient, rt: Runtime, world: World, how: str) -> None:
    cookies = [_sign_in(client, "broker"), _sign_in(TestClient(client.app), "broker")]
    other = _sign_in(TestClient(client.app), "importer")
    with rt.write() as s:
        if how == "revoke":
            auth_service.revoke_tokens(s, name="broker", actor=OPERATOR, now=NOW)
        elif how == "set-password":
            auth_service.set_password(s, name="broker", password="a-new-long-password", actor=OPERATOR, now=NOW)
        else:
            auth_service.set_active(s, name="broker", active=False, actor=OPERATOR, now=NOW)
    for cookie in cookies:
        assert _with_cookie(rt, cookie).get("/api/v1/me").status_code == 401, how
    assert _with_cookie(rt, other).get("/api/v1/me").json()["name"] == "importer"  # someone else's session lives on


# --- the throttle -------------------------------------------------------------------------------


def test_failed_sign_ins_are_journaled_and_throttled_by_name_with_retry_after(client: TestClient, rt: Runtime, world: World) -> None:
    for _ in range(rt.settings.sign_in_failures_per_name):
        r = client.post("/login", data={"csrf": _csrf(client), "name": "broker", "password": "wrong-guess"}, follow_redirects=False)
        assert r.status_code == 401
    for password in ("wrong-guess", PASSWORD):  # now even the right password waits
        r = client.post("/login", data={"csrf": _csrf(client), "name": "broker", "password": password}, follow_redirects=False)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= rt.settings.sign_in_window_seconds + 1
        assert "Too many failed sign-ins" in r.text
        assert SESSION_COOKIE not in client.cookies
    failed = _journal(rt, "user.sign_in_failed")
    assert len(failed) == rt.settings.sign_in_failures_per_name
    assert failed[0].subject_id == "broker" and failed[0].after == {"address": "testclient", "why": "unauthorized"}
    # another user from another address is not held up
    assert _sign_in(TestClient(client.app), "importer")


def test_failed_sign_ins_are_throttled_by_address_across_names(client: TestClient, rt: Runtime, world: World) -> None:
    rt.settings = rt.settings.model_copy(update={"sign_in_failures_per_address": 3})
    for i in range(3):
        r = client.post("/login", data={"csrf": _csrf(client), "name": f"guess-{i}", "password": "x" * 9}, follow_redirects=False)
        assert r.status_code == 401
    r = client.post("/login", data={"csrf": _csrf(client), "name": "broker", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


# --- production: passwords and secrets ----------------------------------------------------------


def test_in_production_a_demo_password_set_earlier_no_longer_signs_in(production: TestClient, rt: Runtime, world: World) -> None:
    with rt.write() as s:  # set in development mode, as `smartcustoms demo` did
        auth_service.set_password(s, name="officer", password="demo-password", actor=OPERATOR, now=NOW)
    r = production.post("/login", data={"csrf": _csrf(production), "name": "officer", "password": "demo-password"}, follow_redirects=False)
    assert r.status_code == 401
    assert "Demo passwords are refused in production" in r.text
    assert SESSION_COOKIE not in production.cookies
    assert _journal(rt, "user.sign_in_failed")[-1].after == {"address": "testclient", "why": "demo_password_refused"}
    assert _sign_in(production, "broker")  # a real password still works


@pytest.mark.parametrize(
    ("password", "code"),
    [("12345678", "AUTH-USR-004"), ("password1234", "AUTH-PWD-002"), ("demo-password", "AUTH-PWD-001"), ("aaaaaaaaaaaaaa", "AUTH-PWD-003")],
)
def test_in_production_short_common_and_demo_passwords_are_refused(rt: Runtime, world: World, password: str, code: str) -> None:
    for make in (
        lambda s: auth_service.add_user(s, name="new", role=Role.analyst, password=password, actor=OPERATOR, now=NOW, production=True),
        lambda s: auth_service.set_password(s, name="broker", password=password, actor=OPERATOR, now=NOW, production=True),
    ):
        with pytest.raises(ValidationFailed) as refused, rt.write() as s:
            make(s)
        assert code in [p.code for p in refused.value.problems]
        assert all(p.pointer == "/password" for p in refused.value.problems)
    with rt.write() as s:  # development keeps its eight characters
        auth_service.set_password(s, name="broker", password="12345678", actor=OPERATOR, now=NOW)


def test_in_production_the_admin_api_refuses_a_weak_password(production: TestClient, world: World) -> None:
    body = {"name": "weak", "role": "analyst", "password": "12345678"}
    r = production.post("/api/v1/users", json=body, headers=world.headers("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "AUTH-USR-004"
    r = production.post("/api/v1/users", json={**body, "password": "tidal-Quartz-91-lantern"}, headers=world.headers("admin"))
    assert r.status_code == 201, r.text


def test_the_common_password_list_ships_with_the_package_and_holds_the_demo_password() -> None:
    from smartcustoms import demo

    assert demo.DEMO_PASSWORD in passwords.KNOWN_DEMO_PASSWORDS
    assert {"password1234", "qwertyuiop123", "123456789012"} <= passwords.common_passwords()
    assert passwords.problems("Tidal-quartz-91-lantern", production=True) == []


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 32,
        DEFAULT_SECRET,
        DEFAULT_SECRET + " ",
        " " + DEFAULT_SECRET,
        DEFAULT_SECRET + "\n",
        "ab" * 20,
        "s3cr3t-" + "x" * 33,
        "short-but-random-Q7x",
    ],
)
def test_production_refuses_short_default_and_low_entropy_secrets(secret: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings(mode="production", secret_key=secret)


def test_production_takes_a_random_secret() -> None:
    for _ in range(20):
        assert Settings(mode="production", secret_key=secrets.token_urlsafe(32), signing_key=SIGNING_KEY).mode == "production"
    assert Settings(mode="production", secret_key="c0ffee" + secrets.token_hex(24), signing_key=SIGNING_KEY).mode == "production"


# --- CSRF -------------------------------------------------------------------------------------


def test_the_api_takes_changes_with_a_bearer_token_only_never_the_session_cookie(client: TestClient, rt: Runtime, world: World) -> None:
    _sign_in(client, "broker")
    assert client.get("/api/v1/webhooks").status_code == 200  # reading with the session is fine
    r = client.post("/api/v1/webhooks", json={"url": "https://example.com/hook"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_a_sign_in_form_without_its_csrf_token_is_refused(client: TestClient, world: World) -> None:
    r = client.post("/login", data={"name": "broker", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in client.cookies
    token = _csrf(client)
    elsewhere = TestClient(client.app)  # a token from another browser (another nonce) does not fit
    elsewhere.get("/login")
    r = elsewhere.post("/login", data={"csrf": token, "name": "broker", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in elsewhere.cookies


def test_a_sign_out_form_without_the_sessions_csrf_token_is_refused_and_the_session_lives(
    client: TestClient, rt: Runtime, world: World
) -> None:
    cookie = _sign_in(client, "broker")
    other = _sign_in(TestClient(client.app), "importer")
    for token in ("", _csrf_for_cookie(rt, other)):  # none, or the token of another session
        r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
        assert r.status_code == 403
    assert _with_cookie(rt, cookie).get("/api/v1/me").json()["name"] == "broker"


def _csrf_for_cookie(rt: Runtime, cookie: str) -> str:
    with _with_cookie(rt, cookie) as c:
        return _csrf(c, "/")


# --- headers and /metrics -----------------------------------------------------------------------


def test_every_response_carries_the_security_headers(client: TestClient, world: World) -> None:
    for path in ("/login", "/", "/static/app.css", "/docs", "/healthz", "/api/v1/me", "/no-such-page", "/openapi.json"):
        r = client.get(path, follow_redirects=False)
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, (path, csp)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "same-origin", path
        assert "strict-transport-security" not in r.headers, path  # development is plain HTTP


def test_production_adds_hsts(production: TestClient) -> None:
    assert production.get("/login").headers["strict-transport-security"].startswith("max-age=")


def test_templates_hold_no_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "<style" not in text and "style=" not in text, template.name
        assert not re.search(r"<[^>]*\son[a-z]+=", text), template.name  # no onclick= and the like


def test_metrics_answer_admins_and_the_metrics_token_only(client: TestClient, rt: Runtime, world: World) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=world.headers("broker")).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer sc_not-a-token"}).status_code == 401
    r = client.get("/metrics", headers=world.headers("admin"))
    assert r.status_code == 200 and "smartcustoms_http_requests_total" in r.text
    rt.settings = rt.settings.model_copy(update={"metrics_token": "scrape-" + secrets.token_urlsafe(32)})
    assert client.get("/metrics", headers={"Authorization": f"Bearer {rt.settings.metrics_token}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-wrong"}).status_code == 401
