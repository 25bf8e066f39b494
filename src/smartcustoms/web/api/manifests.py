"""Routes for manifests: carriers lodge, report arrival and amend; officials read; the write-off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from smartcustoms.kit.clock import utcnow
from smartcustoms.manifest import service
from smartcustoms.manifest.schemas import ArrivalReport, ManifestAmendment, ManifestCreate, ManifestRead, ManifestSummary, WriteOff
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/manifests", tags=["manifests"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this (carriers lodge and amend; officials read)"},
    404: {"description": "No such manifest, or another carrier's"},
    409: {"description": "The arrival was already reported; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
}
ManifestId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


@router.post("", status_code=201, response_model=ManifestRead, responses=ERRORS, summary="Lodge a manifest")
def lodge(rt: RuntimeDep, who: PrincipalDep, body: ManifestCreate) -> ManifestRead:
    """A carrier lodges the manifest of a vessel's voyage or a flight before arrival: the port, the expected
    arrival and one line per bill of lading (containers, packages, gross mass, goods)."""
    now = utcnow()
    with rt.write() as s:
        return service.read(s, manifest=service.lodge(s, data=body, principal=who, now=now), principal=who)


@router.get("", response_model=list[ManifestSummary], responses=ERRORS, summary="List manifests")
def list_manifests(
    rt: RuntimeDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> list[ManifestSummary]:
    """Manifests newest first: a carrier's own; every one for officers, inspectors, analysts, supervisors and admins."""
    with rt.read() as s:
        return service.listed(s, principal=who, limit=limit, offset=offset)


@router.get("/{manifest_id}", response_model=ManifestRead, responses=ERRORS, summary="Get a manifest")
def get_manifest(rt: RuntimeDep, who: PrincipalDep, manifest_id: ManifestId) -> ManifestRead:
    """A manifest with each line's match to declarations (open, partial, matched; split), excess, shortage and versions.
    Officials see the matched declarations' numbers; the carrier sees how far each line is covered."""
    with rt.read() as s:
        return service.read(s, manifest=service.get_for(s, manifest_id=manifest_id, principal=who), principal=who)


@router.post("/{manifest_id}/arrival", response_model=ManifestRead, responses=ERRORS, summary="Report arrival")
def arrival(rt: RuntimeDep, who: PrincipalDep, manifest_id: ManifestId, body: ArrivalReport) -> ManifestRead:
    """The carrier confirms arrival and the lines and containers unloaded (once); a line left out was not unloaded."""
    now = utcnow()
    with rt.write() as s:
        found = service.report_arrival(s, manifest_id=manifest_id, report=body, principal=who, now=now)
        return service.read(s, manifest=found, principal=who)


@router.post("/{manifest_id}/amendments", response_model=ManifestRead, responses=ERRORS, summary="Amend a manifest")
def amend(rt: RuntimeDep, who: PrincipalDep, manifest_id: ManifestId, body: ManifestAmendment) -> ManifestRead:
    """The carrier replaces the manifest's content with a reason; every version is kept and the change journaled."""
    now = utcnow()
    with rt.write() as s:
        found = service.amend(s, manifest_id=manifest_id, amendment=body, principal=who, now=now)
        return service.read(s, manifest=found, principal=who)


@router.get("/{manifest_id}/write-off", response_model=WriteOff, responses=ERRORS, summary="Manifest write-off")
def write_off(rt: RuntimeDep, who: PrincipalDep, manifest_id: ManifestId) -> WriteOff:
    """The share of lines the declarations have written off, and every open line with its age in days since
    arrival; lines open more than `SMARTCUSTOMS_MANIFEST_OPEN_DAYS` days are listed under `alerts`."""
    with rt.read() as s:
        found = service.get_for(s, manifest_id=manifest_id, principal=who)
        return service.write_off(s, manifest=found, today=utcnow().date(), open_days=rt.settings.manifest_open_days, principal=who)
