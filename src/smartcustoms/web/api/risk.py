"""Routes of the risk engine: rules (maker-checker), knowledge base, models, selectivity, and outcomes of checks.

Risk staff (analysts, supervisors, admins) read everything; officers also read the rules. Rules are
written by analysts and admins and take effect once someone else approves them. Enterprises, gates
and agencies are refused (403) on every `/api/v1/risk` route; outcomes hang under the declaration
and are never shown to enterprises. Every change is journaled by the service it calls, in the same
transaction; the caches built on what changed are cleared again once the transaction has committed,
so a request running meanwhile cannot keep the old state cached.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Procedure
from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDate
from smartcustoms.kit.types import round_money
from smartcustoms.risk.history import service as history
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.knowledge.models import WatchlistEntry
from smartcustoms.risk.model import service as models
from smartcustoms.risk.parameter import domain as conditions
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.risk.parameter.models import RuleStatus
from smartcustoms.risk.parameter.schemas import Decision, RuleCreate, RuleRead, RuleTest
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/risk", tags=["risk"], route_class=StrictJSONRoute)
outcomes_router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such rule, model, entry or declaration (or not one the caller may see)"},
    409: {"description": "Illegal in the current state, or the author approving their own rule; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}

RISK_STAFF = (Role.analyst, Role.supervisor, Role.admin)
RULE_READERS = (*RISK_STAFF, Role.officer)
MODEL_ROLES = ("champion", "challenger")
PROCEDURES = ("*", *(p.value for p in Procedure))


def _allowed(*roles: Role) -> Any:
    """A dependency admitting only these roles: 403 before the request is even validated."""

    async def check(who: PrincipalDep) -> Principal:
        who.require(*roles)
        return who

    return Depends(check)


Staff = Annotated[Principal, _allowed(*RISK_STAFF)]
RuleReader = Annotated[Principal, _allowed(*RULE_READERS)]
Author = Annotated[Principal, _allowed(*sorted(parameters.AUTHORS))]
Checker = Annotated[Principal, _allowed(*sorted(parameters.CHECKERS))]

RuleCodePath = Annotated[str, Path(pattern=r"^[A-Z]{3}-[A-Z]{2,6}-[0-9]{3}$", description="Rule code, e.g. PRM-VAL-003")]
VersionPath = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
ModelNamePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,59}$", description="Model name")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


# --- bodies and answers -------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class WatchCreate(_Body):
    """A party to put on a named watch list."""

    list_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = Field(examples=["intel"])
    party_kind: str = Field(max_length=12, description="importer, declarant, consignor or carrier", examples=["consignor"])
    identifier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="USCC of an importer or declarant, carrier code, or consignor name (compared upper case, spaces collapsed)"
    )
    reason: Reason
    valid_from: IsoDate | None = Field(default=None, description="Today when not given")
    valid_to: IsoDate | None = Field(default=None, description="Exclusive; open-ended when null")


class WatchRead(BaseModel):
    """A watch-list entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    list_name: str
    party_kind: str
    identifier: str
    reason: str
    valid_from: date
    valid_to: date | None
    added_by: str
    added_at: datetime


class WatchEnd(_Body):
    """End a watch-list entry from a day on."""

    on: IsoDate = Field(description="The first day the entry no longer stands")
    reason: Reason


class RestrictedCreate(_Body):
    """Goods under an HS prefix that need a licence or are prohibited."""

    hs_prefix: str = Field(max_length=10, description="2 to 10 digits", examples=["9303"])
    licence: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = None
    prohibited: bool = False
    reason: Reason
    valid_from: IsoDate | None = Field(default=None, description="Today when not given")


class RestrictedRead(BaseModel):
    """A restriction."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    hs_prefix: str
    licence: str | None
    prohibited: bool
    reason: str
    valid_from: date
    valid_to: date | None
    added_by: str
    added_at: datetime


class PricesRefresh(_Body):
    """The period of honest history reference prices are learned from: [date_from, date_to)."""

    date_from: IsoDate
    date_to: IsoDate


class PricesRefreshed(BaseModel):
    """How many reference prices were learned, from how many history rows."""

    prices: int
    rows: int
    date_from: date
    date_to: date


class ModelRead(BaseModel):
    """A registered model version (without its artefact)."""

    name: str
    version: int
    kind: str
    procedure: str
    role: str
    train_from: date
    train_until: date
    rows: int
    positives: int
    validation_auc: float | None
    features: int
    created_by: str
    created_at: datetime


class Activation(_Body):
    """Make a model version the champion (decides) or the challenger (scores in shadow) of a procedure."""

    role: str = Field(max_length=12, description="champion or challenger", examples=["champion"])
    procedure: str = Field(default="*", max_length=20, description="A customs procedure, or * for all", examples=["*"])


class SettingCreate(_Body):
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


class OutcomeCreate(_Body):
    """What a review, inspection or audit found."""

    source: str = Field(max_length=12, description="review, inspection or audit", examples=["inspection"])
    hit: bool = Field(description="The check found a discrepancy")
    critical: int = Field(
        default=0, ge=-DB_INT_MAX, le=DB_INT_MAX, description="0 none, 1 serious (revenue), 2 critical (prohibited goods)"
    )
    revenue_recovered: str = Field(
        default="0",
        pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$",
        description="Revenue recovered, CNY, as a decimal string with at most 2 decimals",
        examples=["1200.00"],
    )
    finding: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class OutcomeRead(BaseModel):
    """An outcome recorded for a declaration."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    source: str
    hit: bool
    critical: int
    revenue_recovered: str
    finding: str | None
    recorded_by: str
    recorded_at: datetime


def _empty_period(date_from: date, date_to: date, code: str, pointer: str) -> list[Problem]:
    if date_to <= date_from:
        return [Problem(code, pointer, f"The period is empty: {date_to} is not after {date_from}.")]
    return []


def _model(row: Any) -> ModelRead:
    return ModelRead.model_validate(models.describe(row))


# --- rules --------------------------------------------------------------------------------------


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
    period = _empty_period(body.date_from, body.date_to, "RSK-RUL-003", "/date_to")
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


# --- knowledge base -----------------------------------------------------------------------------


def _knowledge_changed() -> None:
    # Rules naming a list (`on_list`) are compiled with its members: both caches go.
    knowledge.invalidate()
    parameters.invalidate()


@router.get("/watchlist", response_model=list[WatchRead], responses=ERRORS, summary="List watch-listed parties")
def watchlist(rt: RuntimeDep, who: Staff, on: IsoDate | None = None) -> list[WatchRead]:
    """Watch-list entries in force on a day (today by default), by list."""
    with rt.read() as s:
        return [WatchRead.model_validate(e) for e in knowledge.watchlist(s, on=on or utcnow().date())]


@router.post("/watchlist", status_code=201, response_model=WatchRead, responses=ERRORS, summary="Watch-list a party")
def add_watch(rt: RuntimeDep, who: Staff, body: WatchCreate) -> WatchRead:
    """Put a party on a named watch list, with the reason and how long it stands (analysts, supervisors, admins)."""
    now = utcnow()
    with rt.write() as s:
        entry = knowledge.add_watch(
            s,
            list_name=body.list_name,
            party_kind=body.party_kind,
            identifier=body.identifier,
            reason=body.reason,
            valid_from=body.valid_from or now.date(),
            valid_to=body.valid_to,
            actor=who.actor(),
            now=now,
        )
        out = WatchRead.model_validate(entry)
    _knowledge_changed()
    return out


@router.post("/watchlist/{id}/end", response_model=WatchRead, responses=ERRORS, summary="End a watch-list entry")
def end_watch(rt: RuntimeDep, who: Staff, id: Annotated[int, Path(ge=1, le=DB_INT_MAX)], body: WatchEnd) -> WatchRead:
    """End an entry from a day on (analysts, supervisors, admins); it stays in the history. An entry cannot be ended later than it already ended."""
    now = utcnow()
    with rt.write() as s:
        entry = s.get(WatchlistEntry, id)
        if entry is None:
            raise NotFound(f"No watch-list entry {id}.")
        if body.on < entry.valid_from:
            raise ValidationFailed(
                "The entry cannot end then.",
                [Problem("RSK-KB-003", "/on", f"The end cannot be before the start of the entry, {entry.valid_from}.")],
            )
        if entry.valid_to is not None and entry.valid_to <= body.on:
            raise Conflict(
                f"Watch-list entry {id} already ended on {entry.valid_to}; ending it later would extend it.", code="already_ended"
            )
        out = WatchRead.model_validate(knowledge.end_watch(s, entry_id=id, on=body.on, reason=body.reason, actor=who.actor(), now=now))
    _knowledge_changed()
    return out


@router.get("/restricted", response_model=list[RestrictedRead], responses=ERRORS, summary="List restricted goods")
def restricted(rt: RuntimeDep, who: Staff, on: IsoDate | None = None) -> list[RestrictedRead]:
    """Goods needing a licence or prohibited, in force on a day (today by default), by HS prefix."""
    with rt.read() as s:
        return [RestrictedRead.model_validate(r) for r in knowledge.restricted(s, on=on or utcnow().date())]


@router.post("/restricted", status_code=201, response_model=RestrictedRead, responses=ERRORS, summary="Restrict goods")
def add_restricted(rt: RuntimeDep, who: Staff, body: RestrictedCreate) -> RestrictedRead:
    """Record that goods under an HS prefix need a licence or are prohibited (analysts, supervisors, admins)."""
    if not body.hs_prefix.isascii():  # str.isdigit() takes any script's digits
        raise ValidationFailed(
            "The restriction cannot be added.", [Problem("RSK-KB-004", "/hs_prefix", "An HS prefix has 2 to 10 digits.")]
        )
    now = utcnow()
    with rt.write() as s:
        row = knowledge.add_restricted(
            s,
            hs_prefix=body.hs_prefix,
            licence=body.licence,
            prohibited=body.prohibited,
            reason=body.reason,
            valid_from=body.valid_from or now.date(),
            actor=who.actor(),
            now=now,
        )
        out = RestrictedRead.model_validate(row)
    _knowledge_changed()
    return out


@router.post("/reference-prices/refresh", response_model=PricesRefreshed, responses=ERRORS, summary="Learn reference prices")
def refresh_prices(rt: RuntimeDep, who: Staff, body: PricesRefresh) -> PricesRefreshed:
    """Learn reference unit prices from the honest history declared in [date_from, date_to) (analysts, supervisors, admins).

    They replace the prices learned earlier today. A period without history is refused, so a wrong period never wipes them.
    """
    now = utcnow()
    problems = _empty_period(body.date_from, body.date_to, "RSK-KB-006", "/date_to")
    if problems:
        raise ValidationFailed("The period is empty.", problems)
    with rt.write() as s:
        frame = history.frame(s, date_from=body.date_from, date_to=body.date_to, knowledge=False)
        if len(frame) == 0:
            raise ValidationFailed(
                "No history in the period.",
                [Problem("RSK-KB-007", "/date_from", f"No history declared from {body.date_from} to {body.date_to}.")],
            )
        n = knowledge.refresh_reference_prices(s, frame=frame, basis_from=body.date_from, basis_to=body.date_to, actor=who.actor(), now=now)
    _knowledge_changed()
    return PricesRefreshed(prices=n, rows=len(frame), date_from=body.date_from, date_to=body.date_to)


# --- models -------------------------------------------------------------------------------------


@router.get("/models", response_model=list[ModelRead], responses=ERRORS, summary="List models")
def list_models(rt: RuntimeDep, who: Staff) -> list[ModelRead]:
    """The model registry by name, newest version first: role, procedure, training range, validation AUC."""
    with rt.read() as s:
        return [_model(r) for r in models.listing(s)]


@router.get("/models/{name}", response_model=list[ModelRead], responses=ERRORS, summary="List a model's versions")
def model_versions(rt: RuntimeDep, who: Staff, name: ModelNamePath) -> list[ModelRead]:
    """Every version of a model, newest first."""
    with rt.read() as s:
        rows = models.listing(s, name=name)
        if not rows:
            raise NotFound(f"No model {name}.", code="model_not_found")
        return [_model(r) for r in rows]


@router.post("/models/{name}/versions/{version}/activation", response_model=ModelRead, responses=ERRORS, summary="Activate a model version")
def activate_model(rt: RuntimeDep, who: Staff, name: ModelNamePath, version: VersionPath, body: Activation) -> ModelRead:
    """Make a version the champion or the challenger of a procedure (analysts, supervisors, admins); the previous holder goes back to registered."""
    problems = []
    if body.role not in MODEL_ROLES:
        problems.append(Problem("RSK-MDL-007", "/role", "The role is champion or challenger."))
    if body.procedure not in PROCEDURES:
        problems.append(Problem("RSK-MDL-008", "/procedure", f"The procedure is one of {', '.join(PROCEDURES)}."))
    if problems:
        raise ValidationFailed("The model cannot be activated.", problems)
    with rt.write() as s:
        row = models.activate(s, name=name, version=version, role=body.role, procedure=body.procedure, actor=who.actor(), now=utcnow())
        return _model(row)


@router.post("/models/{name}/versions/{version}/retirement", response_model=ModelRead, responses=ERRORS, summary="Retire a model version")
def retire_model(rt: RuntimeDep, who: Staff, name: ModelNamePath, version: VersionPath, body: Decision) -> ModelRead:
    """Take a version out of use for good, with a note (analysts, supervisors, admins); it stays in the registry."""
    with rt.write() as s:
        return _model(models.retire(s, name=name, version=version, reason=body.note, actor=who.actor(), now=utcnow()))


@router.get("/models/{name}/drift", responses=ERRORS, summary="Score drift of a model")
def model_drift(
    rt: RuntimeDep,
    who: Staff,
    name: ModelNamePath,
    date_from: Annotated[IsoDate, Query(alias="from")],
    date_to: Annotated[IsoDate, Query(alias="to")],
    version: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
) -> dict[str, Any]:
    """Score drift of the history declared in [from, to) against the model's validation scores (newest version by default).

    Population stability index: below 0.1 stable, below 0.25 moderate, else significant.
    """
    problems = _empty_period(date_from, date_to, "RSK-MDL-005", "/query/to")
    if problems:
        raise ValidationFailed("Empty period.", problems)
    with rt.read() as s:
        return models.drift(s, name=name, version=version, date_from=date_from, date_to=date_to)


# --- selectivity --------------------------------------------------------------------------------


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


# --- outcomes -----------------------------------------------------------------------------------


def _outcome(o: Any) -> OutcomeRead:
    return OutcomeRead.model_validate(
        {**{k: getattr(o, k) for k in OutcomeRead.model_fields}, "revenue_recovered": str(o.revenue_recovered)}
    )


@outcomes_router.post("/{number}/outcomes", status_code=201, response_model=OutcomeRead, responses=ERRORS, summary="Record an outcome")
def record_outcome(rt: RuntimeDep, who: PrincipalDep, number: str, body: OutcomeCreate) -> OutcomeRead:
    """Record what a review, inspection or audit of the declaration found (its office's officers and inspectors, supervisors).

    Journaled, and copied into the labelled history the models learn from.
    """
    amount = round_money(Decimal(body.revenue_recovered))
    with rt.write() as s:
        decl = declaration_service.get_visible(s, number=number, principal=who)
        row = selectivity.record_outcome(
            s,
            decl=decl,
            source=body.source,
            hit=body.hit,
            critical=body.critical,
            revenue_recovered=amount if amount else Decimal("0.00"),
            finding=body.finding or None,
            principal=who,
            now=utcnow(),
        )
        return _outcome(row)


@outcomes_router.get("/{number}/outcomes", response_model=list[OutcomeRead], responses=ERRORS, summary="List outcomes")
def list_outcomes(rt: RuntimeDep, who: PrincipalDep, number: str) -> list[OutcomeRead]:
    """The outcomes recorded for the declaration, oldest first (officials who can see it; never enterprises)."""
    if who.role is Role.enterprise:
        raise NotFound(f"No outcomes of declaration {number}.")
    with rt.read() as s:
        decl = declaration_service.get_visible(s, number=number, principal=who)
        return [_outcome(o) for o in selectivity.outcomes(s, declaration_id=decl.id)]
