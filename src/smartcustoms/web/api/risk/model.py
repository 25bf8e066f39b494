"""Routes of the model library: the registry, activation, retirement and score drift."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from smartcustoms.declaration.models import Procedure
from smartcustoms.errors import NotFound, Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDate
from smartcustoms.risk.model import service as models
from smartcustoms.risk.parameter.schemas import Decision
from smartcustoms.web.api.risk.shared import ERRORS, Body, Staff, VersionPath, empty_period
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, RuntimeDep

router = APIRouter(route_class=StrictJSONRoute)
MODEL_ROLES = ("champion", "challenger")
PROCEDURES = ("*", *(p.value for p in Procedure))
ModelNamePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,59}$", description="Model name")]


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


class Activation(Body):
    """Make a model version the champion (decides) or the challenger (scores in shadow) of a procedure."""

    role: str = Field(max_length=12, description="champion or challenger", examples=["champion"])
    procedure: str = Field(default="*", max_length=20, description="A customs procedure, or * for all", examples=["*"])


def _model(row: Any) -> ModelRead:
    return ModelRead.model_validate(models.describe(row))


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
    problems = empty_period(date_from, date_to, "RSK-MDL-005", "/query/to")
    if problems:
        raise ValidationFailed("Empty period.", problems)
    with rt.read() as s:
        return models.drift(s, name=name, version=version, date_from=date_from, date_to=date_to)
