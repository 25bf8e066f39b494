"""Routes of the parameter library: rules proposed by analysts and admins, approved or rejected by someone else, retired, back-tested."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.errors import ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.risk.history import service as history
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.parameter import domain as conditions
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.risk.parameter.models import RuleStatus
from smartcustoms.risk.parameter.schemas import Decision, RuleCreate, RuleRead, RuleTest
from smartcustoms.web.api.risk.shared import ERRORS, RISK_STAFF, Staff, VersionPath, allowed, empty_period
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import RuntimeDep

router = APIRouter(route_class=StrictJSONRoute)
RULE_READERS = (*RISK_STAFF, Role.officer)
RuleReader = Annotated[Principal, allowed(*RULE_READERS)]
Author = Annotated[Principal, allowed(*sorted(parameters.AUTHORS))]
Checker = Annotated[Principal, allowed(*sorted(parameters.CHECKERS))]
RuleCodePath = Annotated[str, Path(pattern=r"^[A-Z]{3}-[A-Z]{2,6}-[0-9]{3}$", description="Rule code, e.g. PRM-VAL-003")]


class RuleTestResult(BaseModel):
    """What a condition would have hit in the labelled history of a period."""

    date_from: date
    date_to: date
    rows: int = Field(description="History rows (declared items) in the period")
    hits: int = Field(description="Rows the condition is true for")
    hit_share: float
    errors: int = Field(description="Rows the condition could not be evaluated on (a fact missing)")
    labelled: bool
    true_hits: int = Field(description="Hits that were real discrepancies (label_fraud 1)")
    precision: float | None = Field(description="true_hits / hits; null without hits")
    recall: float | None = Field(description="Share of all discrepancies of the period that were hit; null without any")
    revenue: float = Field(description="Revenue recovered on the rows hit")
    sample: list[str] = Field(description="Up to 10 history declaration ids hit")


@router.get("/rules", response_model=list[RuleRead], responses=ERRORS, summary="List risk rules")
def list_rules(rt: RuntimeDep, who: RuleReader, status: RuleStatus | None = None) -> list[RuleRead]:
    """Every version of every rule by code, newest version first, optionally by status (risk staff and officers)."""
    with rt.read() as s:
        return [RuleRead.model_validate(r) for r in parameters.listing(s, status=status)]


@router.post("/rules", status_code=201, response_model=RuleRead, responses=ERRORS, summary="Propose a risk rule")
def propose_rule(rt: RuntimeDep, who: Author, body: RuleCreate) -> RuleRead:
    """Propose a new rule, or a new version of a code (analysts, admins); it takes effect once someone else approves it.

    The condition is checked against the facts and the named lists: every problem is listed, with a pointer into it.
    """
    problems = conditions.bounded(body.condition)
    if problems:
        raise ValidationFailed("The rule cannot be proposed.", problems)
    with rt.write() as s:
        return RuleRead.model_validate(parameters.propose(s, data=body, principal=who, now=utcnow()))


@router.post("/rules/test", response_model=RuleTestResult, responses=ERRORS, summary="Back-test a condition")
def back_test(rt: RuntimeDep, who: Staff, body: RuleTest) -> RuleTestResult:
    """What a condition would have hit in the labelled history declared in [date_from, date_to), and how many hits were real discrepancies.

    Knowledge-base facts (reference prices, watch lists, restrictions) are today's. Nothing is stored.
    """
    period = empty_period(body.date_from, body.date_to, "RSK-RUL-003", "/date_to")
    bounds = conditions.bounded(body.condition)
    if bounds:
        raise ValidationFailed("The condition cannot be tested.", bounds + period)
    with rt.read() as s:
        lists = knowledge.named_lists(s, on=utcnow().date())
        problems = conditions.check(body.condition, lists) + period
        if problems:
            raise ValidationFailed("The condition cannot be tested.", problems)
        frame = history.frame(s, date_from=body.date_from, date_to=body.date_to)
        result = parameters.test_condition(body.condition, frame, lists=lists)
    return RuleTestResult(date_from=body.date_from, date_to=body.date_to, **result)


@router.get("/rules/{code}", response_model=list[RuleRead], responses=ERRORS, summary="Get a risk rule")
def rule_versions(rt: RuntimeDep, who: RuleReader, code: RuleCodePath) -> list[RuleRead]:
    """Every version of a rule, oldest first, with who wrote and who decided each (risk staff and officers)."""
    with rt.read() as s:
        return [RuleRead.model_validate(r) for r in parameters.versions(s, code=code)]


@router.post("/rules/{code}/versions/{version}/approval", response_model=RuleRead, responses=ERRORS, summary="Approve a rule version")
def approve_rule(rt: RuntimeDep, who: Checker, code: RuleCodePath, version: VersionPath, body: Decision) -> RuleRead:
    """Approve a proposed version (analysts, supervisors, admins; never its author: 409 same_person); it replaces the version in force."""
    with rt.write() as s:
        out = RuleRead.model_validate(parameters.approve(s, code=code, version=version, note=body.note, principal=who, now=utcnow()))
    parameters.invalidate()
    return out


@router.post("/rules/{code}/versions/{version}/rejection", response_model=RuleRead, responses=ERRORS, summary="Reject a rule version")
def reject_rule(rt: RuntimeDep, who: Checker, code: RuleCodePath, version: VersionPath, body: Decision) -> RuleRead:
    """Refuse a proposed version, with a note (analysts, supervisors, admins)."""
    with rt.write() as s:
        return RuleRead.model_validate(parameters.reject(s, code=code, version=version, note=body.note, principal=who, now=utcnow()))


@router.post("/rules/{code}/retirement", response_model=RuleRead, responses=ERRORS, summary="Retire a rule")
def retire_rule(rt: RuntimeDep, who: Checker, code: RuleCodePath, body: Decision) -> RuleRead:
    """Take the version in force out of use, with a note (analysts, supervisors, admins); it stays in the history."""
    with rt.write() as s:
        out = RuleRead.model_validate(parameters.retire(s, code=code, note=body.note, principal=who, now=utcnow()))
    parameters.invalidate()
    return out
