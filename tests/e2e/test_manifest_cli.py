"""`smartcustoms manifest lodge | write-off` through the console script."""

# ruff: noqa: F811  (the fixtures of test_cli.py are imported, and named again as test parameters)
from __future__ import annotations

import json
from datetime import UTC, datetime

from smartcustoms.manifest.models import Manifest
from tests.conftest import EXAMPLE, OTHER
from tests.e2e.test_cli import Cli, _count, populated, pytestmark, runtime_of, templates  # noqa: F401


def _manifest(*bls: str) -> dict[str, object]:
    lines = [{"bill_of_lading": bl, "containers": [], "packages": 2, "gross_mass_kg": "610.0", "goods": "Phones"} for bl in bls]
    return {
        "mode": "sea",
        "vessel": "MAERSK KOWLOON",
        "voyage": "046E",
        "port": "CNSHA",
        "expected_arrival_on": "2026-11-25",
        "lines": lines,
    }


def test_a_carrier_lodges_from_a_file_and_the_write_off_lists_open_lines(populated: Cli, runtime_of) -> None:  # type: ignore[no-untyped-def]
    populated.run("enterprise", "add", "--uscc", OTHER, "--name", "Kowloon Shipping Line")
    populated.run("user", "add", "--role", "carrier", "--name", "line", "--enterprise", OTHER)
    path = populated.home / "manifest.json"
    path.write_text(json.dumps(_manifest("MAEU256781234", "BLOPEN")), encoding="utf-8")
    lodged = populated.json("manifest", "lodge", str(path), "--as", "line")
    assert (lodged["status"], [ln["bill_of_lading"] for ln in lodged["lines"]]) == ("lodged", ["MAEU256781234", "BLOPEN"])
    populated.run("declaration", "lodge", str(EXAMPLE), "--as", "broker")  # the example's B/L, 610 kg
    w = populated.json("manifest", "write-off", str(lodged["id"]))
    assert (w["lines"], w["written_off"], w["rate"]) == (2, 1, "0.5000")
    expected = datetime.now(UTC).date() - datetime(2026, 11, 25, tzinfo=UTC).date()
    assert [(o["bill_of_lading"], o["age_days"]) for o in w["open"]] == [("BLOPEN", max(0, expected.days))]
    text = populated.run("manifest", "write-off", str(lodged["id"]))
    assert "1 of 2 line(s) written off, rate 0.5000" in text.stdout and "BLOPEN" in text.stdout


def test_a_repeated_line_exits_2_with_its_code_and_stores_nothing(populated: Cli, runtime_of) -> None:  # type: ignore[no-untyped-def]
    populated.run("enterprise", "add", "--uscc", OTHER, "--name", "Kowloon Shipping Line")
    populated.run("user", "add", "--role", "carrier", "--name", "line", "--enterprise", OTHER)
    path = populated.home / "manifest.json"
    path.write_text(json.dumps(_manifest("BL1", "BL1")), encoding="utf-8")
    done = populated.run("manifest", "lodge", str(path), "--as", "line", expect=2)
    assert "MAN-LDG-001 /lines/1/bill_of_lading" in done.stderr
    path.write_text(json.dumps({**_manifest("BL1"), "ship": "x"}), encoding="utf-8")
    assert "MAN-SCH-001 /ship" in populated.run("manifest", "lodge", str(path), "--as", "line", expect=2).stderr
    path.write_text(json.dumps(_manifest("BL1")), encoding="utf-8")
    assert "not_carrier" in populated.run("manifest", "lodge", str(path), "--as", "broker", expect=2).stderr
    assert _count(runtime_of(populated), Manifest) == 0
    missing = populated.run("manifest", "write-off", "99", expect=2)
    assert "not_found" in missing.stderr
