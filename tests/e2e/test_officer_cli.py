"""`smartcustoms officer set|list`, run as the real console script on a fresh SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from smartcustoms.audit.models import AuditEntry
from tests.e2e.test_cli import Cli, Templates

pytest_plugins = ["tests.e2e.test_cli"]


@pytest.fixture(scope="module")
def staffed_template(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """`init`, plus an officer and an inspector at office 2248, an officer at 0202 and a supervisor."""
    cli = templates.initialized.copy_to(tmp_path_factory.mktemp("cli-staffed"))
    for name, role, office in (
        ("wang", "officer", "2248"),
        ("li", "inspector", "2248"),
        ("zhao", "officer", "0202"),
        ("boss", "supervisor", "2248"),
    ):
        cli.run("user", "add", "--role", role, "--name", name, "--office", office)
    return cli


@pytest.fixture
def staffed(staffed_template: Cli, tmp_path: Path) -> Cli:
    """A copy of the staffed database for one test."""
    return staffed_template.copy_to(tmp_path / "staffed")


def test_officer_set_puts_officers_on_the_roster_and_list_shows_them_by_office(staffed: Cli, runtime_of: Any) -> None:
    out = staffed.json("officer", "set", "wang", "--chapters", "84-85, 90", "--capacity", "4")
    assert out == {
        "name": "wang",
        "role": "officer",
        "office": "2248",
        "active": True,
        "chapters": "84-85,90",
        "capacity": 4,
        "duty": "on",
        "load": 0,
        "spare": 4,
    }
    staffed.run("officer", "set", "li", "--duty", "off")
    listed = staffed.json("officer", "list", "--office", "2248")
    assert [(o["name"], o["chapters"], o["capacity"], o["duty"]) for o in listed] == [
        ("li", "01-97", 10, "off"),
        ("wang", "84-85,90", 4, "on"),
    ]
    everyone = staffed.json("officer", "list")
    assert [(o["name"], o["duty"]) for o in everyone] == [("li", "off"), ("wang", "on"), ("zhao", None)]
    table = staffed.run("officer", "list").stdout
    assert "wang" in table and "not on roster" in table
    assert "chapters 84-85,90, cap 4, duty on" in staffed.run("officer", "set", "wang").stdout
    with runtime_of(staffed).read() as s:
        actions = [a for a in s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "officer").order_by(AuditEntry.id))]
    assert actions == ["officer.added", "officer.added"]


def test_refused_input_prints_each_problem_code_and_exits_2_changing_nothing(staffed: Cli) -> None:
    staffed.run("officer", "set", "wang", "--chapters", "84", "--capacity", "2")
    done = staffed.run("officer", "set", "wang", "--chapters", "90-84,98", "--capacity", "0", "--duty", "maybe", expect=2)
    for code in ("ROS-CHP-004", "ROS-CHP-003", "ROS-CAP-001", "ROS-DUTY-001"):
        assert code in done.stderr, done.stderr
    as_json = staffed.run("officer", "set", "wang", "--capacity", "-1", "--json", expect=2)
    body = json.loads(as_json.stderr)
    assert body["code"] == "validation_failed" and [e["code"] for e in body["errors"]] == ["ROS-CAP-001"]
    assert "ROS-OFF-001" in staffed.run("officer", "set", "boss", expect=2).stderr
    assert "officer_not_found" in staffed.run("officer", "set", "nobody", expect=2).stderr
    [wang] = [o for o in staffed.json("officer", "list") if o["name"] == "wang"]
    assert (wang["chapters"], wang["capacity"], wang["duty"]) == ("84", 2, "on")
