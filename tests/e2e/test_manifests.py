"""Manifests over HTTP: carriers lodge, report arrival and amend; declarations match lines; the write-off."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.kit.clock import utcnow
from smartcustoms.manifest.models import Manifest, ManifestLine, ManifestVersion
from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, World, _valid_uscc, example

API = "/api/v1/manifests"
DECLARATIONS = "/api/v1/declarations"
EXAMPLE_BL = "MAEU256781234"
EXAMPLE_CONTAINERS = ["MSKU1234565", "TGHU9876542"]
CARRIER_USCC = _valid_uscc("91310000MA1K4C7R2")
RIVAL_USCC = _valid_uscc("91310000MA1K4C7R3")


def container(owner: str, serial: int) -> str:
    """An ISO 6346 container number with its check digit."""
    values = {c: v for c, v in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=False)}
    body = f"{owner}U{serial:06d}"
    total = sum((values[c] if c.isalpha() else int(c)) * 2**i for i, c in enumerate(body))
    return body + str(total % 11 % 10)


@pytest.fixture
def carriers(rt: Runtime, world: World) -> dict[str, dict[str, str]]:
    """Two shipping lines with one carrier user each; their Authorization headers."""
    headers = {}
    with rt.write() as s:
        for uscc, name in ((CARRIER_USCC, "maersk"), (RIVAL_USCC, "rival")):
            party_service.add(s, data=EnterpriseCreate(uscc=uscc, name=f"{name} line"), actor=OPERATOR, now=NOW)
            _, token = auth_service.add_user(s, name=name, role=Role.carrier, enterprise_uscc=uscc, actor=OPERATOR, now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


def manifest(*lines: dict[str, Any], port: str = "CNSHA") -> dict[str, Any]:
    """A sea manifest into a port with the lines given."""
    return {
        "mode": "sea",
        "vessel": "MAERSK KOWLOON",
        "imo": "9074729",
        "voyage": "046E",
        "port": port,
        "expected_arrival_on": "2026-11-25",
        "lines": list(lines),
    }


def line(bl: str, containers: list[str], mass: str, packages: int = 10) -> dict[str, Any]:
    return {"bill_of_lading": bl, "containers": containers, "packages": packages, "gross_mass_kg": mass, "goods": "Electronics"}


def declaration(ref: str, bl: str, containers: list[str], mass: str) -> dict[str, Any]:
    """The example declaration under another bill of lading, with these containers and one item of this gross mass."""
    d = copy.deepcopy(example())
    d["client_reference"] = ref
    d["transport"]["bill_of_lading"] = bl
    d["containers"] = [{"number": c, "seals": []} for c in containers]
    d["documents"] = [doc if doc["type"] != "bill_of_lading" else {**doc, "reference": bl} for doc in d["documents"]]
    d["items"] = [{**d["items"][0], "gross_mass_kg": mass, "net_mass_kg": "1.0"}]
    return d


def _lodge_declaration(client: TestClient, world: World, body: dict[str, Any]) -> str:
    r = client.post(DECLARATIONS, json=body, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    return str(r.json()["number"])


def _count(rt: Runtime, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_carrier_lodges_and_officials_read_it_but_not_other_carriers_or_traders(
    client: TestClient, world: World, rt: Runtime, carriers: dict[str, dict[str, str]]
) -> None:
    r = client.post(API, json=manifest(line(EXAMPLE_BL, EXAMPLE_CONTAINERS, "610.0")), headers=carriers["maersk"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["version"], body["carrier"], body["vessel"], body["port"]) == (
        "lodged",
        1,
        CARRIER_USCC,
        "MAERSK KOWLOON",
        "CNSHA",
    )
    assert body["lines"][0]["match"] == "open" and body["lines"][0]["unloaded"] is None
    mid = body["id"]
    for who in ("officer", "inspector", "analyst", "supervisor", "admin"):
        assert client.get(f"{API}/{mid}", headers=world.headers(who)).status_code == 200, who
    assert client.get(f"{API}/{mid}", headers=carriers["rival"]).status_code == 404
    assert client.get(API, headers=carriers["rival"]).json() == []
    assert [m["id"] for m in client.get(API, headers=carriers["maersk"]).json()] == [mid]
    for who in ("broker", "gate", "agency"):
        assert client.get(f"{API}/{mid}", headers=world.headers(who)).status_code == 403, who
    refused = client.post(API, json=manifest(line("X1", [], "1")), headers=world.headers("admin"))
    assert (refused.status_code, refused.json()["code"]) == (403, "not_carrier")
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "manifest.lodged")).one()
    assert (entry.actor_name, entry.subject_id, entry.after["lines"]) == ("maersk", str(mid), 1)


@pytest.mark.parametrize(
    ("body", "code", "pointer"),
    [
        (manifest(line("BL1", [], "10"), line("BL1", [], "20")), "MAN-LDG-001", "/lines/1/bill_of_lading"),
        (manifest(line("BL1", [], "10"), port="ZZZZZ"), "MAN-LDG-002", "/port"),
        (manifest(line("BL1", [], "-5")), "MAN-LDG-003", "/lines/0/gross_mass_kg"),
        (manifest(line("BL1", ["MSKU1234565"], "1"), line("BL2", ["MSKU1234565"], "1")), "MAN-LDG-005", "/lines/1/containers/0"),
        (manifest(line("BL1", [], "1", packages=0)), "MAN-LDG-006", "/lines/0/packages"),
        ({**manifest(line("BL1", [], "1")), "vessel": None}, "MAN-LDG-004", "/vessel"),
    ],
)
def test_bad_manifests_are_refused_with_a_code_and_nothing_changes(
    client: TestClient, rt: Runtime, carriers: dict[str, dict[str, str]], body: dict[str, Any], code: str, pointer: str
) -> None:
    r = client.post(API, json=body, headers=carriers["maersk"])
    assert r.status_code == 422, r.text
    assert {"code": code, "pointer": pointer} in [{"code": e["code"], "pointer": e["pointer"]} for e in r.json()["errors"]]
    assert (_count(rt, Manifest), _count(rt, ManifestLine), _count(rt, ManifestVersion)) == (0, 0, 0)
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_type == "manifest")) == 0


@pytest.mark.usefixtures("under_review")  # a released declaration cannot be withdrawn
def test_declarations_match_lines_whole_split_and_partial_and_the_write_off_ages_open_lines(
    client: TestClient, world: World, rt: Runtime, carriers: dict[str, dict[str, str]]
) -> None:
    c1, c2, c3, c4 = (container("ABCU"[:3], n) for n in (1, 2, 3, 4))
    _lodge_declaration(client, world, example())  # the example's B/L, both its containers, 610 kg
    split_a = _lodge_declaration(client, world, declaration("SPLIT-A", "BLSPLIT", [c1], "500"))
    split_b = _lodge_declaration(client, world, declaration("SPLIT-B", "BLSPLIT", [c2], "500"))
    part = _lodge_declaration(client, world, declaration("PART", "BLPART", [c3], "300"))
    gone = _lodge_declaration(client, world, declaration("GONE", "BLGONE", [], "50"))
    assert client.post(f"{DECLARATIONS}/{gone}/withdrawal", json={"reason": "Sold on"}, headers=world.headers("broker")).status_code == 200
    lines = [
        line(EXAMPLE_BL, EXAMPLE_CONTAINERS, "610.0"),
        line("BLSPLIT", [c1, c2], "1000"),
        line("BLPART", [c3, c4], "600"),
        line("BLGONE", [], "50"),
    ]
    mid = client.post(API, json=manifest(*lines), headers=carriers["maersk"]).json()["id"]
    got = {ln["bill_of_lading"]: ln for ln in client.get(f"{API}/{mid}", headers=world.headers("officer")).json()["lines"]}
    assert (got[EXAMPLE_BL]["match"], got[EXAMPLE_BL]["split"]) == ("matched", False)
    assert (got["BLSPLIT"]["match"], got["BLSPLIT"]["split"], got["BLSPLIT"]["declarations"]) == (
        "matched",
        True,
        sorted([split_a, split_b]),
    )
    assert (got["BLPART"]["match"], got["BLPART"]["declarations"], got["BLPART"]["containers_undeclared"]) == ("partial", [part], [c4])
    assert (got["BLGONE"]["match"], got["BLGONE"]["declarations"]) == ("open", [])  # a withdrawn declaration writes nothing off

    arrived = (utcnow().date() - timedelta(days=20)).isoformat()
    unloaded = [{"bill_of_lading": ln["bill_of_lading"], "containers": ln["containers"]} for ln in lines]
    assert (
        client.post(f"{API}/{mid}/arrival", json={"arrived_on": arrived, "lines": unloaded}, headers=carriers["maersk"]).status_code == 200
    )
    w = client.get(f"{API}/{mid}/write-off", headers=world.headers("officer")).json()
    assert (w["lines"], w["written_off"], w["rate"], w["alert_after_days"]) == (4, 2, "0.5000", 14)
    assert [(o["bill_of_lading"], o["match"], o["age_days"], o["overdue"], o["since"]) for o in w["open"]] == [
        ("BLPART", "partial", 20, True, arrived),
        ("BLGONE", "open", 20, True, arrived),
    ]
    assert [(a["code"], a["bill_of_lading"]) for a in w["alerts"]] == [("MAN-WOF-001", "BLPART"), ("MAN-WOF-001", "BLGONE")]
    assert w["open"][0]["declarations"] == [part]  # officials see whose declarations cover a line; the carrier does not
    assert client.get(f"{API}/{mid}/write-off", headers=carriers["maersk"]).json()["open"][0]["declarations"] == []
    # the rest of the partial line is declared: it is written off too
    _lodge_declaration(client, world, declaration("PART-2", "BLPART", [c4], "300"))
    w = client.get(f"{API}/{mid}/write-off", headers=carriers["maersk"]).json()
    assert (w["written_off"], w["rate"], [o["bill_of_lading"] for o in w["open"]]) == (3, "0.7500", ["BLGONE"])
    # the carrier sees how far its lines are covered, not whose declarations cover them
    mine = client.get(f"{API}/{mid}", headers=carriers["maersk"]).json()["lines"]
    assert [(ln["match"], ln["split"], ln["declarations"]) for ln in mine[:2]] == [("matched", False, []), ("matched", True, [])]


def test_the_write_off_alert_waits_for_the_configured_days(
    client: TestClient, world: World, rt: Runtime, carriers: dict[str, dict[str, str]]
) -> None:
    mid = client.post(API, json=manifest(line("BLX", [], "5")), headers=carriers["maersk"]).json()["id"]
    arrived = (utcnow().date() - timedelta(days=10)).isoformat()
    client.post(f"{API}/{mid}/arrival", json={"arrived_on": arrived, "lines": [{"bill_of_lading": "BLX"}]}, headers=carriers["maersk"])
    w = client.get(f"{API}/{mid}/write-off", headers=world.headers("analyst")).json()
    assert (w["open"][0]["age_days"], w["open"][0]["overdue"], w["alerts"]) == (10, False, [])
    rt.settings.manifest_open_days = 9
    w = client.get(f"{API}/{mid}/write-off", headers=world.headers("analyst")).json()
    assert (w["alert_after_days"], w["open"][0]["overdue"], len(w["alerts"])) == (9, True, 1)


def test_the_arrival_report_shows_excess_and_shortage_once_and_refuses_a_second(
    client: TestClient, world: World, rt: Runtime, carriers: dict[str, dict[str, str]]
) -> None:
    c1, c2 = container("XYZ", 7), container("XYZ", 8)
    _lodge_declaration(client, world, declaration("OVER", "BL1", [c1, container("XYZ", 9)], "900"))
    mid = client.post(
        API, json=manifest(line("BL1", [c1, c2], "800", packages=8), line("BL2", [], "10")), headers=carriers["maersk"]
    ).json()["id"]
    report = {
        "arrived_on": NOW.date().isoformat(),
        "lines": [{"bill_of_lading": "BL1", "containers": [c1], "packages": 5}, {"bill_of_lading": "BL9", "containers": []}],
    }
    assert client.post(f"{API}/{mid}/arrival", json=report, headers=carriers["rival"]).status_code == 404
    assert client.post(f"{API}/{mid}/arrival", json=report, headers=world.headers("officer")).status_code == 403
    r = client.post(f"{API}/{mid}/arrival", json=report, headers=carriers["maersk"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["arrived_on"]) == ("arrived", NOW.date().isoformat())
    assert [ln["unloaded"] for ln in body["lines"]] == [True, False]
    assert {(e["kind"], e["bill_of_lading"]) for e in body["excess"]} == {
        ("not_manifested", "BL9"),
        ("declared_containers_not_manifested", "BL1"),
        ("declared_mass_over_manifest", "BL1"),
    }
    assert [(s["kind"], s["bill_of_lading"]) for s in body["shortage"]] == [
        ("containers_not_unloaded", "BL1"),
        ("packages", "BL1"),
        ("not_unloaded", "BL2"),
    ]
    again = client.post(f"{API}/{mid}/arrival", json=report, headers=carriers["maersk"])
    assert (again.status_code, again.json()["code"]) == (409, "manifest_arrived")
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "manifest.arrived")) == 1


def test_a_bad_arrival_report_is_refused_and_changes_nothing(client: TestClient, carriers: dict[str, dict[str, str]]) -> None:
    mid = client.post(API, json=manifest(line("BL1", [], "1")), headers=carriers["maersk"]).json()["id"]
    twice = {"arrived_on": NOW.date().isoformat(), "lines": [{"bill_of_lading": "BL1"}, {"bill_of_lading": "BL1"}]}
    r = client.post(f"{API}/{mid}/arrival", json=twice, headers=carriers["maersk"])
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "MAN-ARR-001")
    future = {"arrived_on": (utcnow().date() + timedelta(days=3)).isoformat(), "lines": []}
    r = client.post(f"{API}/{mid}/arrival", json=future, headers=carriers["maersk"])
    assert (r.status_code, r.json()["errors"][0]["code"]) == (422, "MAN-ARR-004")
    assert client.get(f"{API}/{mid}", headers=carriers["maersk"]).json()["status"] == "lodged"


def test_amendments_keep_every_version_with_its_reason(client: TestClient, rt: Runtime, carriers: dict[str, dict[str, str]]) -> None:
    mid = client.post(API, json=manifest(line("BL1", [], "1")), headers=carriers["maersk"]).json()["id"]
    new = manifest(line("BL1", [], "2"), line("BL2", [], "3"))
    bad = client.post(
        f"{API}/{mid}/amendments",
        json={"reason": "x", "manifest": manifest(line("BL1", [], "1"), line("BL1", [], "1"))},
        headers=carriers["maersk"],
    )
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (422, "MAN-LDG-001")
    assert (
        client.post(f"{API}/{mid}/amendments", json={"reason": "Late booking", "manifest": new}, headers=carriers["rival"]).status_code
        == 404
    )
    r = client.post(f"{API}/{mid}/amendments", json={"reason": "Late booking added", "manifest": new}, headers=carriers["maersk"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["version"], [ln["bill_of_lading"] for ln in body["lines"]], body["lines"][0]["gross_mass_kg"]) == (2, ["BL1", "BL2"], "2")
    assert [(v["version"], v["reason"]) for v in body["versions"]] == [(1, None), (2, "Late booking added")]
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "manifest.amended")).one()
        assert (entry.reason, entry.before, entry.after) == ("Late booking added", {"version": 1, "lines": 1}, {"version": 2, "lines": 2})
        assert s.scalar(select(func.count()).select_from(ManifestLine)) == 2


@pytest.mark.usefixtures("under_review")  # the office's officer reads the declarations of their review tasks
def test_a_declaration_whose_bill_of_lading_is_on_no_manifest_gets_bl_on_manifest_false(
    client: TestClient, world: World, rt: Runtime, carriers: dict[str, dict[str, str]]
) -> None:
    with rt.write() as s:
        r = rules.propose(
            s,
            data=RuleCreate(
                valid_from=date(2026, 1, 1),
                code="PRM-MAN-001",
                name="Bill of lading on no manifest",
                reason="The goods are on no carrier manifest.",
                instructions="Ask the carrier for the manifest.",
                condition={"fact": "bl_on_manifest", "op": "is", "value": False},
                lane="yellow",
            ),
            principal=world.principals["analyst"],
            now=NOW,
        )
        rules.approve(s, code=r.code, version=r.version, note="Checked.", principal=world.principals["supervisor"], now=NOW)

    def hits(number: str) -> list[str]:
        return [h["code"] for h in client.get(f"{DECLARATIONS}/{number}", headers=world.headers("officer")).json()["assessment"]["hits"]]

    assert "PRM-MAN-001" in hits(_lodge_declaration(client, world, example()))
    client.post(API, json=manifest(line(EXAMPLE_BL, EXAMPLE_CONTAINERS, "610")), headers=carriers["maersk"])
    assert "PRM-MAN-001" not in hits(_lodge_declaration(client, world, {**example(), "client_reference": "ON-MANIFEST"}))


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("packages", 10**15, "MAN-LDG-006"),
        ("gross_mass_kg", "1e5", "MAN-LDG-003"),
        ("gross_mass_kg", "9999999999999999", "MAN-LDG-003"),
        ("gross_mass_kg", "NaN", "MAN-LDG-003"),
        ("goods", "Phones\u0000", "REQ"),
        ("bill_of_lading", "BL\u200b1", "REQ"),
    ],
)
def test_odd_values_answer_422_never_500(
    client: TestClient, rt: Runtime, carriers: dict[str, dict[str, str]], field: str, value: Any, code: str
) -> None:
    body = manifest({**line("BL1", [], "10"), field: value})
    r = client.post(API, json=body, headers=carriers["maersk"])
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"].startswith(code)
    assert _count(rt, Manifest) == 0
