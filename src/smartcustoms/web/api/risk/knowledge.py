"""Routes of the knowledge base: watch lists, restricted goods and reference prices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smartcustoms.errors import Conflict, NotFound, Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDate
from smartcustoms.risk.history import service as history
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.knowledge.models import WatchlistEntry
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.web.api.risk.shared import ERRORS, Body, Reason, Staff, empty_period
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, RuntimeDep

router = APIRouter(route_class=StrictJSONRoute)


class WatchCreate(Body):
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


class WatchEnd(Body):
    """End a watch-list entry from a day on."""

    on: IsoDate = Field(description="The first day the entry no longer stands")
    reason: Reason


class RestrictedCreate(Body):
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


class PricesRefresh(Body):
    """The period of honest history reference prices are learned from: [date_from, date_to)."""

    date_from: IsoDate
    date_to: IsoDate


class PricesRefreshed(BaseModel):
    """How many reference prices were learned, from how many history rows."""

    prices: int
    rows: int
    date_from: date
    date_to: date


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
    problems = empty_period(body.date_from, body.date_to, "RSK-KB-006", "/date_to")
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
