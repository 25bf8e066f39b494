"""X-ray through the API and the CLI on each database: a scanner uploads, an analyst marks regions, suspect → inspection, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from smartcustoms.cli.main import app as cli
from smartcustoms.config import get_settings
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import TaskKind
from tests.conftest import World, example
from tests.e2e.helpers import lodge, red_lane
from tests.e2e.inspection_helpers import API, png, staff, status_of, task_of


@pytest.fixture
def declared(client: TestClient, world: World, rt: Runtime) -> str:
    """A red-lane declaration at office 2248, with the X-ray staff on the roster."""
    staff(rt, world)
    red_lane(rt, world)
    return lodge(client, world)


def _scan(
    client: TestClient, world: World, number: str, container: str = "MSKU1234565", data: bytes | None = None, who: str = "scanner"
) -> Any:
    files = {"image": ("scan.png", data if data is not None else png(64, 32), "image/png")}
    return client.post(f"{API}/scans", data={"declaration": number, "container": container}, files=files, headers=world.headers(who))


def test_a_scanner_uploads_and_bad_scans_are_refused_with_codes(client: TestClient, world: World, declared: str) -> None:
    assert _scan(client, world, declared, who="officer").status_code == 403
    assert _scan(client, world, declared, container="ABCU0000000").json()["errors"][0]["code"] == "XRY-SCN-004"
    r = _scan(client, world, declared, data=b"GIF89a not ours")
    assert r.status_code == 415 and r.json()["errors"][0]["code"] == "XRY-SCN-002"
    assert _scan(client, world, "224820261000000000").status_code == 404
    r = _scan(client, world, declared)
    assert r.status_code == 201, r.text
    scan = r.json()
    assert (scan["container"], scan["width"], scan["height"], scan["station"], scan["verdict"]) == ("MSKU1234565", 64, 32, "scanner", None)
    review = task_of_scan(client, world, scan)
    assert review["kind"] == "image_review" and review["assignees"] == ["xray_a"]
    assert review["steps"][0]["scan"] == scan["id"] and review["steps"][0]["image"] == f"/api/v1/scans/{scan['id']}/image"
    img = client.get(f"{API}/scans/{scan['id']}/image", headers=world.headers("xray_a"))
    assert img.status_code == 200 and img.content == png(64, 32)
    assert client.get(f"{API}/scans/{scan['id']}", headers=world.headers("officer")).status_code == 404
    assert client.get(f"{API}/scans/{scan['id']}/image", headers=world.headers("scanner")).status_code == 404


def task_of_scan(client: TestClient, world: World, scan: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"{API}/tasks/{scan['task']}", headers=world.headers("supervisor"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_suspect_verdict_marks_regions_opens_an_inspection_and_the_marked_images_export(
    client: TestClient,
    world: World,
    rt: Runtime,
    declared: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    first = _scan(client, world, declared).json()
    second = _scan(client, world, declared, container="TGHU9876542", data=png(40, 40)).json()
    inspection = task_of(rt, declared, TaskKind.inspection)
    task = first["task"]
    bad = {"verdict": "suspect", "regions": [{"x": 60, "y": 0, "width": 10, "height": 10}]}
    r = client.post(f"{API}/tasks/{task}/review", json=bad, headers=world.headers("xray_a"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "XRY-REG-004"
    mark = {
        "verdict": "suspect",
        "regions": [{"x": 10, "y": 4, "width": 20, "height": 12, "label": "dense organic mass"}],
        "note": "Check the front wall",
    }
    assert client.post(f"{API}/tasks/{task}/review", json=mark, headers=world.headers("insp_a")).status_code == 404
    r = client.post(f"{API}/tasks/{task}/review", json=mark, headers=world.headers("xray_a"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["verdict"] == "suspect" and out["regions"][0]["label"] == "dense organic mass" and out["reviewed_by"] == "xray_a"
    assert out["inspection_task"] is None  # the red lane's inspection is open already: no second one
    assert task_of(rt, declared, TaskKind.inspection).id == inspection.id
    assert client.post(f"{API}/tasks/{task}/review", json=mark, headers=world.headers("xray_a")).status_code in (404, 409)
    assert status_of(client, world, declared) == "under_inspection"
    r = client.post(f"{API}/tasks/{second['task']}/review", json={"verdict": "clear"}, headers=world.headers("xray_a"))
    assert r.status_code == 200 and r.json()["verdict"] == "clear"

    monkeypatch.setenv("SMARTCUSTOMS_DATABASE_URL", rt.settings.database_url)
    get_settings.cache_clear()  # settings are remembered per process: another test's database must not be
    request.addfinalizer(get_settings.cache_clear)
    monkeypatch.setenv("SMARTCUSTOMS_STORAGE_DIR", str(rt.settings.storage_dir))
    result = CliRunner().invoke(cli, ["xray", "export", str(tmp_path / "set"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "scans": 2,
        "images": 2,
        "suspect": 1,
        "regions": 1,
        "index": str(tmp_path / "set" / "regions.jsonl"),
    }
    lines = [json.loads(x) for x in (tmp_path / "set" / "regions.jsonl").read_text().splitlines()]
    assert [(x["container"], x["verdict"], x["declaration"]) for x in lines] == [
        ("MSKU1234565", "suspect", declared),
        ("TGHU9876542", "clear", declared),
    ]
    assert lines[0]["regions"] == [{"x": 10, "y": 4, "width": 20, "height": 12, "label": "dense organic mass"}]
    assert (tmp_path / "set" / lines[0]["image"]).read_bytes() == png(64, 32)
    only = CliRunner().invoke(cli, ["xray", "export", str(tmp_path / "suspect"), "--verdict", "suspect", "--json"])
    assert only.exit_code == 0 and json.loads(only.output)["scans"] == 1
    assert CliRunner().invoke(cli, ["xray", "export", str(tmp_path / "x"), "--verdict", "maybe"]).exit_code == 2


def test_a_suspect_scan_of_a_declaration_not_yet_inspected_opens_the_inspection(client: TestClient, world: World, rt: Runtime) -> None:
    staff(rt, world)
    red_lane(rt, world, lane="yellow")
    number = lodge(client, world, {**example(), "client_reference": "XRAY-YELLOW-1"})
    assert status_of(client, world, number) == "under_review"
    scan = _scan(client, world, number)
    assert scan.status_code == 201, scan.text
    mark = {"verdict": "suspect", "regions": [{"x": 0, "y": 0, "width": 5, "height": 5}]}
    r = client.post(f"{API}/tasks/{scan.json()['task']}/review", json=mark, headers=world.headers("xray_a"))
    assert r.status_code == 200 and r.json()["inspection_task"] is not None
    assert status_of(client, world, number) == "under_inspection"
    view = client.get(f"{API}/tasks/{r.json()['inspection_task']}/inspection", headers=world.headers("supervisor")).json()
    assert len(view["steps"]) == 16 and view["status"] == "open"


def test_a_released_declaration_takes_no_scans(client: TestClient, world: World, rt: Runtime) -> None:
    staff(rt, world)
    red_lane(rt, world, lane="green")
    number = lodge(client, world)
    assert status_of(client, world, number) == "released"
    r = _scan(client, world, number)
    assert r.status_code == 409 and r.json()["code"] == "scan_closed"
