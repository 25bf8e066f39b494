"""Set-up shared by the end-to-end tests: rules and settings that send declarations to a lane, staff on the roster, lodging."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.parameter import service as rules
from smartcustoms.risk.parameter.schemas import RuleCreate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.risk.selectivity.settings import Setting
from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, World, example

DECLARATIONS = "/api/v1/declarations"
TASKS = "/api/v1/tasks"
START = date(2026, 1, 1)


def approve_rule(rt: Runtime, world: World, **fields: Any) -> None:
    """An analyst proposes, the supervisor approves: the rule (valid from START) is in force."""
    with rt.write() as s:
        r = rules.propose(s, data=RuleCreate(valid_from=START, **fields), principal=world.principals["analyst"], now=NOW)
        rules.approve(s, code=r.code, version=r.version, note="Checked.", principal=world.principals["supervisor"], now=NOW)


def set_rates(rt: Runtime, world: World, *, office: str = "*", reason: str = "No random checks in this test.", **rates: float) -> Setting:
    """The analyst's selectivity setting for `office` from START: targets 3 % red and 7 % yellow and no random
    checks, unless `rates` (red_rate, yellow_rate, random_rate, aeo_factor ...) say otherwise; the setting."""
    with rt.write() as s:
        return selectivity.set_setting(
            s,
            office=office,
            **{"red_rate": 0.03, "yellow_rate": 0.07, "random_rate": 0.0, **rates},  # type: ignore[arg-type]
            valid_from=START,
            reason=reason,
            actor=world.principals["analyst"].actor(),
            now=NOW,
        )


def no_random_checks(rt: Runtime, world: World) -> None:
    """Every office's selectivity setting draws nothing at random (targets 3 % red, 7 % yellow)."""
    set_rates(rt, world)


def rule_lane(rt: Runtime, world: World, to: str) -> None:
    """Every declaration goes at least to the lane: a rule in force on a fact that always holds."""
    approve_rule(
        rt,
        world,
        code="PRM-TST-001",
        name="Every declaration",
        reason="Test lane.",
        instructions="Check it.",
        condition={"fact": "consignor_watchlisted", "op": "is", "value": False},
        lane=to,
    )


def lane(rt: Runtime, world: World, to: str) -> None:
    """Every declaration goes to the lane (the rule above, and no random checks)."""
    no_random_checks(rt, world)
    rule_lane(rt, world, to)


def watch(
    rt: Runtime,
    world: World,
    party_kind: str,
    identifier: str,
    *,
    list_name: str = "intel",
    reason: str = "Seizures of counterfeit goods.",
) -> None:
    """The party is on the watch list from START (the analyst adds it)."""
    with rt.write() as s:
        knowledge.add_watch(
            s,
            list_name=list_name,
            party_kind=party_kind,
            identifier=identifier,
            reason=reason,
            valid_from=START,
            valid_to=None,
            actor=world.principals["analyst"].actor(),
            now=NOW,
        )


def red_lane(rt: Runtime, world: World, lane: str = "red") -> None:
    """Every declaration from the example's consignor goes red (or `lane`); no random checks."""
    no_random_checks(rt, world)
    watch(rt, world, "consignor", example()["consignor"]["name"])
    approve_rule(
        rt,
        world,
        code="PRM-PTY-001",
        name="Watch-listed consignor",
        reason="The consignor is on the intelligence watch list.",
        instructions="Inspect against the invoice.",
        condition={"fact": "consignor_watchlisted", "op": "is", "value": True},
        lane=lane,
    )


def add_staff(
    rt: Runtime, world: World, *names: tuple[str, Role], duty: str = "on", password: str | None = None
) -> dict[str, dict[str, str]]:
    """Users of office 2248 (signing in with `password` if given); all but supervisors and scanner stations on
    the roster, every chapter, on duty (or not). Their tokens and principals go in `world`; their auth headers."""
    with rt.write() as s:
        for name, role in names:
            _, world.tokens[name] = auth_service.add_user(
                s, name=name, role=role, office="2248", password=password, actor=OPERATOR, now=NOW
            )
            if role not in (Role.supervisor, Role.scanner):
                roster.set_officer(s, name=name, chapters="01-97", capacity=5, duty=duty, actor=OPERATOR, now=NOW)
    with rt.read() as s:
        for name, _ in names:
            world.principals[name] = auth_service.authenticate_token(s, token=world.tokens[name])
    return {name: world.headers(name) for name, _ in names}


def lodged(client: TestClient, world: World, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lodge as the broker (the example unless `body`); the receipt."""
    r = client.post(DECLARATIONS, json=body or example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    return dict(r.json())


def lodge(client: TestClient, world: World, body: dict[str, Any] | None = None) -> str:
    """Lodge as the broker (the example unless `body`); the declaration's number."""
    return str(lodged(client, world, body)["number"])


def only_task(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """The one task the user of `headers` sees in its list."""
    page = client.get(TASKS, headers=headers).json()
    assert page["total"] == 1, page
    return dict(page["items"][0])
