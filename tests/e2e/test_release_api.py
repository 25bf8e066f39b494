"""Releases over HTTP on both databases: the API, the public signing key, the printable receipt with its QR code, the public check."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.release.models import Release
from smartcustoms.release.signing import Verdict, check_with
from smartcustoms.runtime import Runtime
from tests.conftest import World, example
from tests.integration.test_release import issue

HTML = {"Accept": "text/html,application/xhtml+xml"}


def released(client: TestClient, rt: Runtime, world: World) -> tuple[str, str, str]:
    """Lodge the example through the API and release it; (declaration number, release number, token)."""
    r = client.post("/api/v1/declarations", json=example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    number = r.json()["number"]
    _, rel_number, token = issue(rt, number)
    return number, rel_number, token


def test_the_release_api_answers_its_readers_and_404_to_others(client: TestClient, rt: Runtime, world: World) -> None:
    number, rel_number, token = released(client, rt, world)
    r = client.get(f"/api/v1/releases/{rel_number}", headers=world.headers("importer"))
    assert r.status_code == 200, r.text
    body = r.json()
    # a green declaration is released in the request that lodged it: the release's time is the lodging's
    with rt.read() as s:
        stored = s.scalar(select(Release.released_at).where(Release.number == rel_number))
    assert stored is not None and datetime.fromisoformat(body.pop("released_at").replace("Z", "+00:00")) == stored
    assert body == {
        "number": rel_number,
        "declaration": number,
        "office": "2248",
        "port": "CNSHA",
        "containers": ["MSKU1234565", "TGHU9876542"],
        "verify": f"/verify/{token}",
        "token": token,
    }
    assert client.get(f"/api/v1/releases/{rel_number}", headers=world.headers("gate")).status_code == 200
    for who in ("other", "officer_tianjin", "agency"):
        r = client.get(f"/api/v1/releases/{rel_number}", headers=world.headers(who))
        assert (r.status_code, r.json()["code"]) == (404, "release_not_found"), who
    assert client.get(f"/api/v1/releases/{rel_number}").status_code == 401


def test_the_public_signing_key_checks_a_receipt_token_offline(client: TestClient, rt: Runtime, world: World) -> None:
    _, rel_number, token = released(client, rt, world)
    r = client.get("/api/v1/releases/signing-key")  # no credentials
    assert r.status_code == 200, r.text
    key = r.json()
    assert key["algorithm"] == "Ed25519" and "BEGIN PUBLIC KEY" in key["pem"]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    checked = check_with(public, token)
    assert checked.verdict is Verdict.valid and checked.claims is not None
    assert (checked.claims["n"], checked.claims["k"]) == (rel_number, key["key_id"])


def _altered(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["t"] = "2026-01-01T00:00:00Z"  # backdated
    new = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{head}.{new}.{sig}"


def test_the_public_check_says_valid_with_what_was_released_or_forged_clearly_as_json(
    client: TestClient, rt: Runtime, world: World
) -> None:
    number, rel_number, token = released(client, rt, world)
    r = client.get(f"/verify/{token}")  # no sign-in
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is True
    assert r.json()["release"]["number"] == rel_number and r.json()["release"]["declaration"] == number
    assert r.json()["release"]["containers"] == ["MSKU1234565", "TGHU9876542"]
    r = client.get(f"/verify/{_altered(token)}", headers={"Accept": "application/json"})
    assert (r.status_code, r.json()["code"]) == (422, "release_token_forged")
    assert set(r.json()) == {"error", "code", "detail", "errors"}
    r = client.get("/verify/not-a-token")
    assert (r.status_code, r.json()["code"]) == (422, "release_token_malformed")


def test_the_public_check_page_says_forged_in_chinese_and_english(client: TestClient, rt: Runtime, world: World) -> None:
    _, rel_number, token = released(client, rt, world)
    bad = _altered(token)
    zh = client.get(f"/verify/{bad}", headers={**HTML, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert zh.status_code == 422 and zh.headers["content-type"].startswith("text/html")
    assert "伪造或被篡改" in zh.text and 'lang="zh-Hans"' in zh.text and rel_number not in zh.text
    en = client.get(f"/verify/{bad}", headers={**HTML, "Accept-Language": "en-GB,en;q=0.9"})
    assert "FORGED OR ALTERED" in en.text and 'lang="en"' in en.text
    ok = client.get(f"/verify/{token}?lang=en", headers=HTML)
    assert ok.status_code == 200 and "Genuine: customs released these goods." in ok.text and rel_number in ok.text
    assert "MSKU1234565" in ok.text
    ok_zh = client.get(f"/verify/{token}", headers={**HTML, "Accept-Language": "zh"})
    assert "真实有效" in ok_zh.text


def test_the_receipt_page_is_printable_bilingual_and_its_inline_qr_code_carries_the_check_address(
    client: TestClient, rt: Runtime, world: World
) -> None:
    number, rel_number, token = released(client, rt, world)
    page = client.get(f"/releases/{rel_number}?lang=zh", headers=world.headers("broker"))
    assert page.status_code == 200, page.text
    html = page.text
    assert "放行凭证" in html and "集装箱号" in html and number in html and "MSKU1234565" in html
    assert "<dt>商品项数</dt><dd>3</dd>" in html and "<dt>提运单号</dt><dd>MAEU256781234</dd>" in html
    url = f"http://testserver/verify/{token}"
    assert url in html
    # The QR code is the SVG segno draws for exactly the check address, inline in the page.
    expected = segno.make(url, error="m").svg_inline(
        scale=4, svgclass="qr", lineclass=None, omitsize=True, title="核验本放行凭证", dark="#000"
    )
    assert expected in html
    # CSP: no inline script or style, only files from /static; a print style sheet.
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html and "<style" not in html
    css = client.get("/static/release.css")
    assert css.status_code == 200 and "@media print" in css.text
    en = client.get(f"/releases/{rel_number}", headers={**world.headers("gate"), "Accept-Language": "en-US,en;q=0.9"})
    assert en.status_code == 200 and "Release receipt" in en.text and "Containers" in en.text
    assert client.get(f"/releases/{rel_number}", headers=world.headers("other")).status_code == 404
    assert client.get(f"/releases/{rel_number}", follow_redirects=False).status_code == 303


def test_the_qr_code_names_the_configured_public_address(client: TestClient, rt: Runtime, world: World) -> None:
    _, rel_number, token = released(client, rt, world)
    rt.settings = rt.settings.model_copy(update={"public_url": "https://customs.example/"})
    html = client.get(f"/releases/{rel_number}", headers=world.headers("broker")).text
    assert f"https://customs.example/verify/{token}" in html and "http://testserver/verify" not in html
