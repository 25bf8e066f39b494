"""Smart identification over HTTP: the HS headings a goods description most likely belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.auth.models import Role
from smartcustoms.risk.identification import service as identification
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/risk", tags=["risk"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}
# Officials, and traders who want to know which heading fits before they declare.
CLASSIFIERS = (Role.officer, Role.inspector, Role.analyst, Role.supervisor, Role.admin, Role.enterprise)


class ClassifyRequest(BaseModel):
    """A goods description to classify."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=500, description="The goods description, as on a declaration")
    k: int = Field(default=3, ge=1, le=10, description="How many headings to suggest")


class SuggestionRead(BaseModel):
    """A heading the description likely belongs to."""

    heading: str = Field(description="HS heading, 4 digits")
    probability: float = Field(description="Probability the description belongs to the heading, 0 to 1")
    text: str = Field(description="The heading's text in the nomenclature")


class Classification(BaseModel):
    """The suggestions, most likely first; empty when the description has no word the model knows."""

    suggestions: list[SuggestionRead]


@router.post("/classify", response_model=Classification, responses=ERRORS, summary="Suggest HS headings for a description")
def classify(rt: RuntimeDep, who: PrincipalDep, body: ClassifyRequest) -> Classification:
    """The HS headings (4 digits) a goods description most likely belongs to, with probabilities.

    Learnt from the HS nomenclature in the reference data and from accepted declarations.
    """
    who.require(*CLASSIFIERS)
    with rt.read() as s:
        found = identification.suggest(s, body.description, body.k)
    return Classification(suggestions=[SuggestionRead(heading=x.heading, probability=x.probability, text=x.text) for x in found])
