"""What the risk routes share: the errors they answer, who may call them, path parameters, and request bodies that refuse unknown fields."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path
from pydantic import BaseModel, ConfigDict, StringConstraints

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.errors import Problem
from smartcustoms.web.deps import DB_INT_MAX, PrincipalDep

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such rule, model, entry or declaration (or not one the caller may see)"},
    409: {"description": "Illegal in the current state, or the author approving their own rule; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}

RISK_STAFF = (Role.analyst, Role.supervisor, Role.admin)


def allowed(*roles: Role) -> Any:
    """A dependency admitting only these roles: 403 before the request is even validated."""

    async def check(who: PrincipalDep) -> Principal:
        who.require(*roles)
        return who

    return Depends(check)


Staff = Annotated[Principal, allowed(*RISK_STAFF)]
VersionPath = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def empty_period(date_from: date, date_to: date, code: str, pointer: str) -> list[Problem]:
    if date_to <= date_from:
        return [Problem(code, pointer, f"The period is empty: {date_to} is not after {date_from}.")]
    return []
