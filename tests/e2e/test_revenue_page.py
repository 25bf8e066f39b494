"""The revenue page and its CSV: charts by chapter, origin, office and month, a date range, both languages,
each office's officers their own office's revenue, everyone else refused (both databases)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime
from tests.conftest import World, example
from tests.e2e.helpers import lane

TOTAL = "227921.74"  # the canonical example's duties under the sample tariff


def _lodge_two(client: TestClient, world: World, rt: Runtime) -> None:
    lane(rt, world, "green")
    for ref in ("REV-1", "REV-2"):
        body = example()
        body["client_reference"] = ref
        r = client.post("/api/v1/declarations", json=body, headers=world.headers("broker"))
        assert (r.status_code, r.json()["status"]) == (202, "released"), r.text


def test_the_page_charts_the_revenue_in_both_languages_and_the_csv_has_the_rows(client: TestClient, world: World, rt: Runtime) -> None:
    _lodge_two(client, world, rt)
    today = utcnow().date()
    span = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    r = client.get("/revenue", params=span, headers=world.headers("analyst"))
    assert r.status_code == 200, r.text
    html = r.text
    assert "style=" not in html and "<script>" not in html  # the CSP forbids inline style and script
    assert html.count('<svg class="chart"') == 4 and "Revenue by HS chapter" in html
    # chapters 85 (phones and batteries) and 49 (manuals): one bar each, the largest the full width
    chapter_chart = html.split("Revenue by HS chapter", 2)[2].split("</svg>", 1)[0]
    labels = re.findall(r'class="chart-label"[^>]*>([^<]+)<', chapter_chart)
    widths = [int(w) for w in re.findall(r'class="chart-bar"[^>]*width="(\d+)"', chapter_chart)]
    assert labels == ["85", "49"] and widths[0] == 330 and 0 < widths[1] < 330
    assert f"{2 * float(TOTAL):.2f}" in html  # two declarations
    zh = client.get("/revenue", params=span, headers={**world.headers("analyst"), "Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200 and "按 HS 章的税收" in zh.text and "Revenue by HS chapter" not in zh.text

    c = client.get("/revenue.csv", params=span, headers=world.headers("supervisor"))
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert "attachment" in c.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert {(x["office"], x["chapter"], x["origin"]) for x in rows} == {("2248", "85", "VN"), ("2248", "49", "CN")}
    assert sum(float(x["total"]) for x in rows) == float(TOTAL) * 2
    assert all(x["items"] in ("2", "4") for x in rows)


def test_officers_see_their_own_office_and_traders_are_refused(client: TestClient, world: World, rt: Runtime) -> None:
    _lodge_two(client, world, rt)
    mine = client.get("/revenue.csv", headers=world.headers("officer"))
    theirs = client.get("/revenue.csv", headers=world.headers("officer_tianjin"))
    assert mine.status_code == theirs.status_code == 200
    assert len(mine.text.strip().splitlines()) == 3 and len(theirs.text.strip().splitlines()) == 1  # header only
    assert "No duties were assessed in this period." in client.get("/revenue", headers=world.headers("officer_tianjin")).text
    for who in ("broker", "importer", "inspector", "gate"):
        assert client.get("/revenue", headers=world.headers(who)).status_code == 403, who
        assert client.get("/revenue.csv", headers=world.headers(who)).status_code == 403, who
    assert client.get("/revenue.csv").status_code == 401
    assert client.get("/revenue", follow_redirects=False).status_code == 303


def test_a_bad_range_is_a_clear_error(client: TestClient, world: World) -> None:
    r = client.get("/revenue.csv", params={"from": "2026-13-01"}, headers=world.headers("analyst"))
    assert (r.status_code, r.json()["errors"][0]["code"], r.json()["errors"][0]["pointer"]) == (422, "DUT-REV-001", "/from")
    r = client.get("/revenue.csv", params={"from": "2026-12-01", "to": "2026-11-01"}, headers=world.headers("analyst"))
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "DUT-REV-002")
    r = client.get("/revenue.csv", params={"from": "2020-01-01", "to": "2026-11-01"}, headers=world.headers("analyst"))
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "DUT-REV-003")
    page = client.get("/revenue", params={"from": "yesterday"}, headers=world.headers("analyst"))
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
