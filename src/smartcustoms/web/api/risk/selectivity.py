"""Routes of selectivity: each office's settings, how the lanes fell, and an enterprise's risk profile."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDate
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.web.api.risk.shared import ERRORS, Body, Reason, Staff
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import RuntimeDep

router = APIRouter(route_class=StrictJSONRoute)


class SettingCreate(Body):
    """A new selectivity setting for an office (or * for every office without its own), from a day on.

    The random seed is drawn by the server and never shown; answers carry its fingerprint.
    """

    office: str = Field(max_length=8, description="4-digit customs office code, or *", examples=["2248"])
    red_rate: float = Field(allow_inf_nan=False, description="Share sent to inspection, 0..1")
    yellow_rate: float = Field(allow_inf_nan=False, description="Share sent to document review, 0..1")
    random_rate: float = Field(allow_inf_nan=False, description="Share checked at random whatever the risk, 0..1")
    aeo_factor: float = Field(
        default=selectivity.DEFAULTS["aeo_factor"], allow_inf_nan=False, description="Rates × this for AEO traders, 0..1"
    )
    low_credit_factor: float = Field(
        default=selectivity.DEFAULTS["low_credit_factor"], allow_inf_nan=False, description="Rates × this for low-credit traders, 0..10"
    )
    score_window: int = Field(
        default=selectivity.SCORE_WINDOW,
        description="The office's last N model scores its lanes follow (the model's red and yellow shares are taken among them), 50..100000",
    )
    valid_from: IsoDate | None = Field(default=None, description="Today when not given")
    reason: Reason


class SettingRead(BaseModel):
    """A selectivity setting; the seed itself is secret, `seed_ref` proves which one was used."""

    id: int
    office: str
    red_rate: float
    yellow_rate: float
    random_rate: float
    aeo_factor: float
    low_credit_factor: float
    seed_ref: str
    valid_from: date
    score_window: int


@router.get("/selectivity", response_model=list[SettingRead], responses=ERRORS, summary="List selectivity settings")
def list_settings(rt: RuntimeDep, who: Staff) -> list[SettingRead]:
    """Every selectivity setting ever made, newest first (the seeds are never shown, only their fingerprints)."""
    with rt.read() as s:
        return [SettingRead.model_validate(st.public()) for st in selectivity.settings(s)]


@router.post("/selectivity", status_code=201, response_model=SettingRead, responses=ERRORS, summary="Set selectivity")
def set_setting(rt: RuntimeDep, who: Staff, body: SettingCreate) -> SettingRead:
    """A new setting for an office from a day on, with a new secret random seed (analysts, supervisors, admins)."""
    if not body.office.isascii():  # str.isdigit() takes any script's digits
        raise ValidationFailed(
            "The selectivity setting has problems.",
            [Problem("RSK-SEL-005", "/office", "office must be a 4-digit customs office code, or * for every office.")],
        )
    now = utcnow()
    with rt.write() as s:
        setting = selectivity.set_setting(
            s,
            office=body.office,
            red_rate=body.red_rate,
            yellow_rate=body.yellow_rate,
            random_rate=body.random_rate,
            aeo_factor=body.aeo_factor,
            low_credit_factor=body.low_credit_factor,
            score_window=body.score_window,
            valid_from=body.valid_from or now.date(),
            reason=body.reason,
            actor=who.actor(),
            now=now,
        )
    selectivity.invalidate()
    return SettingRead.model_validate(setting.public())


@router.get("/selectivity/shares", responses=ERRORS, summary="Lane shares")
def lane_shares(
    rt: RuntimeDep,
    who: Staff,
    office: Annotated[str | None, Query(pattern=r"^([0-9]{4}|\*)$")] = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> dict[str, Any]:
    """How the lanes fell over the last days (every office, or one), against the setting's target rates.

    `by_cause`: for each cause (rule, model, review_on_error, random), the assessments that ended in
    a lane it asked for (`counts`, `shares` of all assessments) and those only it asked for (`alone`).
    """
    with rt.read() as s:
        return selectivity.lane_shares(s, office=None if office in (None, "*") else office, now=utcnow(), days=days)


@router.get("/enterprises/{uscc}", responses=ERRORS, summary="Enterprise risk profile")
def enterprise_profile(
    rt: RuntimeDep,
    who: Staff,
    uscc: Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")],
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> dict[str, Any]:
    """What customs knows of an enterprise: credit, watch lists, declarations, lanes, rule hits, checks and revenue recovered."""
    with rt.read() as s:
        return selectivity.profile(s, uscc=uscc, now=utcnow(), days=days)
