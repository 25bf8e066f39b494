"""Routes for enterprises, users, reference data and the journal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.audit import service as audit_service
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.errors import NotFound
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDate, VisibleStr
from smartcustoms.party import service as party_service
from smartcustoms.party.schemas import EnterpriseCreate, EnterpriseRead
from smartcustoms.reference import service as reference_service
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["administration"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "Role not allowed"},
    404: {"description": "Not found"},
    409: {"description": "Already exists"},
    422: {"description": "Every problem, with code, pointer and message"},
}


class UserCreate(BaseModel):
    """A new user; enterprise users name their enterprise's USCC."""

    model_config = ConfigDict(extra="forbid")

    name: VisibleStr = Field(min_length=2, max_length=120)
    role: Role
    enterprise: str | None = Field(default=None, max_length=18)
    office: str | None = Field(default=None, max_length=8)
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserCreated(BaseModel):
    """The new user and its bearer token, shown only this once."""

    id: int
    name: str
    role: Role
    token: str


class HsRead(BaseModel):
    """An HS entry."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    level: int
    parent: str | None
    section: str | None
    description: str
    edition: str
    valid_from: date
    valid_to: date | None


class RateRead(BaseModel):
    """A customs exchange rate."""

    currency: str
    on: date
    cny_per_unit: Decimal


class AuditRead(BaseModel):
    """A journal entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_name: str
    role: str
    office: str | None
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


@router.post("/enterprises", status_code=201, response_model=EnterpriseRead, responses=ERRORS, tags=["enterprises"])
def add_enterprise(rt: RuntimeDep, who: PrincipalDep, body: EnterpriseCreate) -> EnterpriseRead:
    """Register an enterprise by its USCC (admins)."""
    who.require(Role.admin)
    with rt.write() as s:
        return EnterpriseRead.model_validate(party_service.add(s, data=body, actor=who.actor(), now=utcnow()))


@router.get("/enterprises", response_model=list[EnterpriseRead], responses=ERRORS, tags=["enterprises"])
def list_enterprises(
    rt: RuntimeDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[EnterpriseRead]:
    """Registered enterprises (officials); an enterprise user sees only its own."""
    with rt.read() as s:
        if who.role is Role.enterprise:
            ent = party_service.find_by_uscc(s, uscc=who.enterprise_uscc or "")
            return [EnterpriseRead.model_validate(ent)] if ent else []
        who.require(Role.admin, Role.analyst, Role.supervisor, Role.officer)
        return [EnterpriseRead.model_validate(e) for e in party_service.list_all(s, limit=limit, offset=offset)]


@router.get("/enterprises/{uscc}", response_model=EnterpriseRead, responses=ERRORS, tags=["enterprises"])
def get_enterprise(rt: RuntimeDep, who: PrincipalDep, uscc: str) -> EnterpriseRead:
    """One enterprise; an enterprise user may read only its own (404 for others)."""
    with rt.read() as s:
        if who.role is Role.enterprise and who.enterprise_uscc != uscc:
            raise NotFound(f"No enterprise {uscc}.")
        if who.role is not Role.enterprise:
            who.require(Role.admin, Role.analyst, Role.supervisor, Role.officer)
        ent = party_service.find_by_uscc(s, uscc=uscc)
        if ent is None:
            raise NotFound(f"No enterprise {uscc}.")
        return EnterpriseRead.model_validate(ent)


@router.post("/users", status_code=201, response_model=UserCreated, responses=ERRORS, tags=["users"])
def add_user(rt: RuntimeDep, who: PrincipalDep, body: UserCreate) -> UserCreated:
    """Create a user with a role (admins); answers its bearer token once."""
    who.require(Role.admin)
    with rt.write() as s:
        user, token = auth_service.add_user(
            s,
            name=body.name,
            role=body.role,
            enterprise_uscc=body.enterprise,
            office=body.office,
            password=body.password,
            actor=who.actor(),
            now=utcnow(),
            production=rt.settings.mode == "production",
        )
        return UserCreated(id=user.id, name=user.name, role=user.role, token=token)


@router.get("/me", tags=["users"])
def me(who: PrincipalDep) -> dict[str, Any]:
    """Who the credentials belong to."""
    return {"name": who.name, "role": who.role.value, "enterprise": who.enterprise_uscc, "office": who.office}


@router.get("/reference/hs/{code}", response_model=HsRead, responses=ERRORS, tags=["reference"])
def hs_code(rt: RuntimeDep, who: PrincipalDep, code: str, on: IsoDate | None = None) -> HsRead:
    """The HS chapter, heading or subheading in force on a day (today by default); 8/10 digits read as their first 6."""
    with rt.read() as s:
        key = code[:6] if len(code) > 6 else code
        hs = reference_service.hs_lookup(s, code=key, on=on or utcnow().date())
        if hs is None:
            raise NotFound(f"No HS code {code} in force.")
        return HsRead.model_validate(hs)


@router.get("/reference/hs", response_model=list[HsRead], responses=ERRORS, tags=["reference"])
def hs_search(
    rt: RuntimeDep,
    who: PrincipalDep,
    q: Annotated[str, Query(min_length=2, max_length=60)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[HsRead]:
    """Search HS codes by code prefix or words of the description."""
    with rt.read() as s:
        return [HsRead.model_validate(h) for h in reference_service.hs_search(s, text=q, limit=limit)]


@router.get("/reference/rates/{currency}", response_model=RateRead, responses=ERRORS, tags=["reference"])
def rate(rt: RuntimeDep, who: PrincipalDep, currency: str, on: IsoDate | None = None) -> RateRead:
    """The customs exchange rate of a currency in force on a day (CNY per unit)."""
    day = on or utcnow().date()
    with rt.read() as s:
        return RateRead(currency=currency, on=day, cny_per_unit=reference_service.rate_for(s, currency=currency, on=day))


@router.get("/reference/{list_name}", responses=ERRORS, tags=["reference"])
def code_list(rt: RuntimeDep, who: PrincipalDep, list_name: str) -> list[str]:
    """The codes of a list: country, currency, unit, incoterm, transport_mode, office, port."""
    with rt.read() as s:
        cat = reference_service.catalog(s)
    lists = {
        "country": cat.countries,
        "currency": cat.currencies,
        "unit": cat.units,
        "incoterm": cat.incoterms,
        "transport_mode": cat.transport_modes,
        "office": cat.offices,
        "port": cat.ports,
    }
    if list_name not in lists:
        raise NotFound(f"No reference list {list_name}; try one of {', '.join(lists)}.")
    return sorted(lists[list_name])


@router.get("/audit", response_model=list[AuditRead], responses=ERRORS, tags=["audit"])
def audit(
    rt: RuntimeDep,
    who: PrincipalDep,
    after: Annotated[int, Query(ge=0, le=DB_BIGINT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> list[AuditRead]:
    """The journal, oldest first after a cursor (supervisors and admins)."""
    who.require(Role.supervisor, Role.admin)
    with rt.read() as s:
        if subject_type and subject_id:
            rows = audit_service.entries_for(s, subject_type=subject_type, subject_id=subject_id)
        else:
            rows = audit_service.latest(s, after_id=after, limit=limit)
        return [AuditRead.model_validate(r) for r in rows]
