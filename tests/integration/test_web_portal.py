"""The trader portal and the pages' languages: lodge by form or JSON file (through the API's lodging), problems at
their fields in the user's language, document upload, paging and lane filters, the language switch."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from smartcustoms.web.i18n import LANG_COOKIE
from tests.conftest import World, example

API = "/api/v1/declarations"
PASSWORD = "correct-horse-battery"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _sign_in(client: TestClient, name: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    r = client.post("/login", data={"csrf": csrf.group(1), "name": name, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _csrf(client: TestClient, path: str = "/declarations/new", **kw: Any) -> str:
    page = client.get(path, **kw)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _fields(value: Any, at: str = "") -> list[tuple[str, str]]:
    """The form fields (named by JSON pointer) that describe a declaration."""
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _fields(v, f"{at}/{k}")]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _fields(v, f"{at}/{i}")]
    return [(at, str(value))]


def _form(decl: dict[str, Any], csrf: str) -> dict[str, str]:
    return {"csrf": csrf, **dict(_fields(decl))}


def _total(client: TestClient, world: World) -> int:
    total: int = client.get(API, headers=world.headers("broker")).json()["total"]
    return total


def test_a_trader_lodges_by_form_and_the_declaration_is_the_one_the_api_would_have_lodged(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    decl = example()
    r = client.post("/declarations/new", data=_form(decl, _csrf(client)), follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].removeprefix("/declarations/")
    got = client.get(f"{API}/{number}", headers=world.headers("broker")).json()
    assert got["declaration"] == decl
    assert got["status"] == "released" and got["events"][0]["event"] == "declaration.lodged"  # green: released at lodging
    page = client.get(f"/declarations/{number}")
    assert '<p class="status-meaning">The goods are released: they may leave customs control.</p>' in page.text
    # a second send of the same form is the API's safe retry: the same declaration, nothing new
    again = client.post("/declarations/new", data=_form(decl, _csrf(client)), follow_redirects=False)
    assert again.headers["location"] == f"/declarations/{number}" and _total(client, world) == 1


def test_problems_come_back_at_their_fields_in_chinese_and_nothing_is_lodged(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    client.get("/language", params={"to": "zh-Hans", "next": "/declarations/new"})
    decl = example()
    decl["items"][0]["hs_code"] = "85171"
    decl["transport"]["vessel"] = ""
    r = client.post("/declarations/new", data=_form(decl, _csrf(client)))
    assert r.status_code == 422
    assert '<html lang="zh-Hans">' in r.text and "报关单有 2 个问题，未申报。" in r.text
    hs = r.text.split('name="/items/0/hs_code"', 1)[1].split("</label>", 1)[0]
    assert 'value="85171"' in hs and 'aria-invalid="true"' in hs and "HS 编码应为 6、8 或 10 位数字。" in hs
    vessel = r.text.split('name="/transport/vessel"', 1)[1].split("</label>", 1)[0]
    assert "海运货物须填写船名。" in vessel
    assert 'value="Smartphones, 6.1 inch, 128 GB"' in r.text  # what was typed stays
    assert _total(client, world) == 0
    refused = client.get(f"{API}/statistics/rejections", headers=world.headers("analyst")).json()
    assert refused["total"] == 1 and refused["by_code"] == {"DEC-HS-001": 1, "DEC-TRN-002": 1}


def test_in_english_a_problem_keeps_the_services_own_sentence(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    decl = example()
    decl["currency"] = "XXY"
    r = client.post("/declarations/new", data=_form(decl, _csrf(client)))
    assert r.status_code == 422 and "The declaration has 1 problem; it was not lodged." in r.text
    assert "XXY is not an ISO 4217 currency code." in r.text.split('name="/currency"', 1)[1].split("</label>", 1)[0]


def test_a_json_file_is_lodged_and_a_broken_one_is_refused_with_its_problem(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    decl = {**example(), "client_reference": "UPLOAD-1"}
    good = client.post(
        "/declarations/new/json",
        data={"csrf": _csrf(client)},
        files={"file": ("d.json", json.dumps(decl).encode(), "application/json")},
        follow_redirects=False,
    )
    assert good.status_code == 303
    number = good.headers["location"].removeprefix("/declarations/")
    assert client.get(f"{API}/{number}", headers=world.headers("broker")).json()["declaration"] == decl
    twice = b'{"office": "2248", "office": "5300"}'
    bad = client.post("/declarations/new/json", data={"csrf": _csrf(client)}, files={"file": ("d.json", twice, "application/json")})
    assert bad.status_code == 422 and "The key &#39;office&#39; appears more than once in one object" in bad.text
    zh = client.post(
        "/declarations/new/json", data={"csrf": _csrf(client)}, files={"file": ("d.json", twice, "application/json")}, headers=ZH
    )
    assert "/office：同一对象中某个键出现了两次。" in zh.text
    assert _total(client, world) == 1


def test_forms_without_the_csrf_token_change_nothing(client: TestClient, world: World) -> None:
    _sign_in(client, "broker")
    r = client.post("/declarations/new", data=_form(example(), "forged"))
    assert r.status_code == 403 and _total(client, world) == 0
    files = {"file": ("d.json", json.dumps(example()).encode(), "application/json")}
    assert client.post("/declarations/new/json", data={"csrf": ""}, files=files).status_code == 403
    assert _total(client, world) == 0


def test_officers_do_not_lodge_and_strangers_are_sent_to_sign_in(client: TestClient, world: World) -> None:
    assert client.get("/declarations/new", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/declarations/new/json", follow_redirects=False).headers["location"] == "/login"
    _sign_in(client, "officer")
    r = client.get("/declarations/new", headers=ZH)
    assert r.status_code == 403 and "只有企业用户才能申报报关单和上传单证。" in r.text


def test_a_document_uploaded_on_the_page_joins_the_declaration(client: TestClient, world: World) -> None:
    number = client.post(API, json=example(), headers=world.headers("broker")).json()["number"]
    _sign_in(client, "broker")
    csrf = _csrf(client, f"/declarations/{number}")
    pdf = ("发票.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")
    r = client.post(
        f"/declarations/{number}/documents", data={"csrf": csrf, "type": "invoice"}, files={"file": pdf}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=ZH)
    assert "文件 发票.pdf 已添加到报关单。" in page.text and "发票: 发票.pdf" in page.text
    docs = client.get(f"{API}/{number}/documents", headers=world.headers("broker")).json()
    assert [d["filename"] for d in docs] == ["发票.pdf"]
    text = ("setup.exe", b"MZ\x90\x00", "application/x-msdownload")
    refused = client.post(f"/declarations/{number}/documents", data={"csrf": csrf, "type": "invoice"}, files={"file": text}, headers=ZH)
    assert refused.status_code == 415 and "不接受的文件类型" in refused.text
    assert len(client.get(f"{API}/{number}/documents", headers=world.headers("broker")).json()) == 1


def test_the_list_pages_through_every_row_and_filters_by_lane(client: TestClient, world: World) -> None:
    numbers = []
    for i in range(53):
        r = client.post(API, json={**example(), "client_reference": f"PAGE-{i:03d}"}, headers=world.headers("broker"))
        numbers.append(r.json()["number"])
    _sign_in(client, "broker")
    first = client.get("/")
    assert "53 declarations" in first.text and "Page 1 of 2" in first.text and 'rel="next" href="/?page=2"' in first.text
    second = client.get("/declarations/rows", params={"page": 2})
    shown = re.findall(r'<a href="/declarations/(\d+)">', first.text) + re.findall(r'<a href="/declarations/(\d+)">', second.text)
    assert sorted(shown) == sorted(numbers) and len(set(shown)) == 53
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    lanes = {n: client.get(f"{API}/{n}", headers=world.headers("broker")).json()["assessment"]["lane"] for n in numbers}
    for lane in ("green", "blue", "yellow", "red"):
        rows = client.get("/declarations/rows", params={"lane": lane, "page": 1}).text
        want = sorted(n for n, ln in lanes.items() if ln == lane)
        assert sorted(re.findall(r'<a href="/declarations/(\d+)">', rows)) == want[-50:]  # the newest first
        assert f"{len(want)} declaration" in rows
    assert client.get("/", params={"page": 0}).status_code == 422


def test_the_language_follows_the_browser_until_the_user_chooses(client: TestClient, world: World) -> None:
    zh = client.get("/login", headers=ZH)
    assert '<html lang="zh-Hans">' in zh.text and "<h1>登录</h1>" in zh.text and 'href="/language?to=en&amp;next=/login"' in zh.text
    assert "<h1>Sign in</h1>" in client.get("/login", headers={"Accept-Language": "en-GB"}).text
    r = client.get("/language", params={"to": "en", "next": "/login"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert f"{LANG_COOKIE}=en" in r.headers["set-cookie"] and "Max-Age=31536000" in r.headers["set-cookie"]
    assert "<h1>Sign in</h1>" in client.get("/login", headers=ZH).text  # the choice wins over the browser
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert client.get("/language", params={"to": "zh-Hans", "next": elsewhere}, follow_redirects=False).headers["location"] == "/"
    assert "<h1>登录</h1>" in client.get("/login").text
    client.get("/language", params={"to": "tlh"})
    assert "<h1>登录</h1>" in client.get("/login").text  # an unknown language changes nothing
