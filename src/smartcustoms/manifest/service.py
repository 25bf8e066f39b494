"""Manifest use cases: lodge, read, list, report arrival, amend, write off, and the declarations' side.

Carriers (the `carries` role rule) act on their own enterprise's manifests; roles that
`reads_manifests` read every one; everyone else is refused (403). Every change is journaled.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import record
from smartcustoms.auth.roles import rule
from smartcustoms.auth.service import Principal
from smartcustoms.declaration.models import Declaration
from smartcustoms.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from smartcustoms.manifest import domain, repository
from smartcustoms.manifest.models import DeclarationTransportRef, Manifest, ManifestLine, ManifestStatus, ManifestVersion
from smartcustoms.manifest.schemas import (
    ArrivalReport,
    LineRead,
    ManifestAmendment,
    ManifestCreate,
    ManifestRead,
    ManifestSummary,
    OpenLine,
    WriteOff,
)
from smartcustoms.reference.service import catalog


class ManifestArrived(Conflict):
    """The arrival was already reported; nothing changed."""

    default_code = "manifest_arrived"


def parse(raw: Any) -> ManifestCreate:
    """A manifest from JSON already read (the CLI's file); every schema problem at once."""
    try:
        return ManifestCreate.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem("MAN-SCH-001", "".join(f"/{p}" for p in e["loc"]), f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}.")
            for e in exc.errors()
        ]
        raise ValidationFailed(f"The manifest has {len(problems)} problem(s); nothing was stored.", problems) from exc


def _carrier(principal: Principal, doing: str) -> int:
    if not rule(principal.role).carries or principal.enterprise_id is None:
        raise Forbidden(f"Only carriers {doing}.", code="not_carrier")
    return principal.enterprise_id


def _checked(session: Session, data: ManifestCreate) -> list[Decimal]:
    masses, problems = domain.check_content(
        mode=data.mode,
        vessel=data.vessel,
        flight=data.flight,
        voyage=data.voyage,
        port=data.port,
        ports=catalog(session).ports,
        lines=[(ln.bill_of_lading, ln.containers, ln.packages, ln.gross_mass_kg) for ln in data.lines],
    )
    if problems:
        raise ValidationFailed(f"The manifest has {len(problems)} problem(s); nothing was stored.", problems)
    return masses


def _write_lines(session: Session, manifest: Manifest, data: ManifestCreate, masses: list[Decimal]) -> None:
    for i, (ln, mass) in enumerate(zip(data.lines, masses, strict=True), start=1):
        session.add(
            ManifestLine(
                manifest_id=manifest.id,
                line=i,
                bill_of_lading=ln.bill_of_lading,
                containers=list(ln.containers),
                packages=ln.packages,
                gross_mass_kg=mass,
                goods=ln.goods,
            )
        )


def _apply(manifest: Manifest, data: ManifestCreate) -> None:
    manifest.mode = data.mode
    manifest.craft = (data.vessel if data.mode == "sea" else data.flight) or ""
    manifest.voyage = data.voyage
    manifest.port = data.port
    manifest.expected_arrival_on = data.expected_arrival_on
    manifest.payload = data.model_dump(mode="json")


def lodge(session: Session, *, data: ManifestCreate, principal: Principal, now: datetime) -> Manifest:
    """A carrier lodges a manifest before arrival; every problem at once, nothing stored on any."""
    carrier_id = _carrier(principal, "lodge manifests")
    masses = _checked(session, data)
    manifest = Manifest(
        carrier_enterprise_id=carrier_id, status=ManifestStatus.lodged, version=1, lodged_by=principal.name, lodged_at=now, updated_at=now
    )
    _apply(manifest, data)
    session.add(manifest)
    session.flush()
    _write_lines(session, manifest, data, masses)
    session.add(
        ManifestVersion(
            manifest_id=manifest.id, version=1, payload=manifest.payload, reason=None, actor_name=principal.name, created_at=now
        )
    )
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="manifest.lodged",
        subject_type="manifest",
        subject_id=str(manifest.id),
        now=now,
        after={"craft": manifest.craft, "voyage": manifest.voyage, "port": manifest.port, "lines": len(data.lines)},
    )
    return manifest


def get_for(session: Session, *, manifest_id: int, principal: Principal, for_update: bool = False) -> Manifest:
    """A manifest the caller may see: its carrier's users and the roles that read manifests; others 403, unknown 404."""
    r = rule(principal.role)
    if not (r.carries or r.reads_manifests):
        raise Forbidden(f"Manifests are not open to the {principal.role.value} role.")
    q = select(Manifest).where(Manifest.id == manifest_id)
    manifest = session.scalar(q.with_for_update() if for_update else q)
    if manifest is None or (not r.reads_manifests and manifest.carrier_enterprise_id != principal.enterprise_id):
        raise NotFound(f"No manifest {manifest_id}.")
    return manifest


def _own(session: Session, *, manifest_id: int, principal: Principal, doing: str) -> Manifest:
    _carrier(principal, doing)
    manifest = get_for(session, manifest_id=manifest_id, principal=principal, for_update=True)
    if manifest.carrier_enterprise_id != principal.enterprise_id:
        raise NotFound(f"No manifest {manifest_id}.")
    return manifest


def listed(session: Session, *, principal: Principal, limit: int, offset: int) -> list[ManifestSummary]:
    """Manifests newest first: a carrier's own, or every one for the roles that read manifests."""
    r = rule(principal.role)
    if not (r.carries or r.reads_manifests):
        raise Forbidden(f"Manifests are not open to the {principal.role.value} role.")
    found = repository.listed(
        session, carrier_enterprise_id=None if r.reads_manifests else principal.enterprise_id, limit=limit, offset=offset
    )
    return [
        ManifestSummary(
            id=m.id,
            carrier=repository.carrier_uscc(session, enterprise_id=m.carrier_enterprise_id),
            mode=m.mode,
            craft=m.craft,
            voyage=m.voyage,
            port=m.port,
            expected_arrival_on=m.expected_arrival_on,
            status=m.status.value,
            version=m.version,
            lines=len(m.payload.get("lines") or []),
        )
        for m in found
    ]


def report_arrival(session: Session, *, manifest_id: int, report: ArrivalReport, principal: Principal, now: datetime) -> Manifest:
    """The carrier confirms arrival and what was unloaded (once); excess and shortage follow from it."""
    manifest = _own(session, manifest_id=manifest_id, principal=principal, doing="report arrivals")
    if manifest.status is ManifestStatus.arrived:
        raise ManifestArrived(f"The arrival of manifest {manifest_id} was already reported on {manifest.arrived_on}.")
    problems = domain.check_arrival([(ln.bill_of_lading, ln.containers, ln.packages) for ln in report.lines])
    if report.arrived_on > now.date():
        problems.append(Problem("MAN-ARR-004", "/arrived_on", "The arrival date is in the future."))
    if problems:
        raise ValidationFailed(f"The arrival report has {len(problems)} problem(s); nothing was stored.", problems)
    manifest.status = ManifestStatus.arrived
    manifest.arrived_on = report.arrived_on
    manifest.arrival = report.model_dump(mode="json")
    manifest.updated_at = now
    session.flush()
    found = _discrepancies(session, manifest)
    record(
        session,
        actor=principal.actor(),
        action="manifest.arrived",
        subject_type="manifest",
        subject_id=str(manifest.id),
        now=now,
        after={
            "arrived_on": report.arrived_on.isoformat(),
            "unloaded": len(report.lines),
            "excess": found.excess,
            "shortage": found.shortage,
        },
    )
    return manifest


def amend(session: Session, *, manifest_id: int, amendment: ManifestAmendment, principal: Principal, now: datetime) -> Manifest:
    """The carrier replaces the manifest's content, with a reason; the previous version is kept."""
    manifest = _own(session, manifest_id=manifest_id, principal=principal, doing="amend manifests")
    data = amendment.manifest
    masses = _checked(session, data)
    before = {"version": manifest.version, "lines": len(manifest.payload.get("lines") or [])}
    _apply(manifest, data)
    manifest.version += 1
    manifest.updated_at = now
    repository.drop_lines(session, manifest_id=manifest.id)
    session.flush()
    _write_lines(session, manifest, data, masses)
    session.add(
        ManifestVersion(
            manifest_id=manifest.id,
            version=manifest.version,
            payload=manifest.payload,
            reason=amendment.reason,
            actor_name=principal.name,
            created_at=now,
        )
    )
    session.flush()
    record(
        session,
        actor=principal.actor(),
        action="manifest.amended",
        subject_type="manifest",
        subject_id=str(manifest.id),
        now=now,
        before=before,
        after={"version": manifest.version, "lines": len(data.lines)},
        reason=amendment.reason,
    )
    return manifest


def _lines(session: Session, manifest: Manifest) -> tuple[list[domain.Line], list[domain.Match]]:
    rows = repository.lines(session, manifest_id=manifest.id)
    lines = [domain.Line(r.line, r.bill_of_lading, tuple(r.containers), r.packages, r.gross_mass_kg) for r in rows]
    refs = repository.refs_for(session, bills=(ln.bill_of_lading for ln in lines))
    return lines, [domain.match(ln, refs) for ln in lines]


def _arrival(manifest: Manifest) -> list[tuple[str, list[str], int | None]] | None:
    if manifest.arrival is None:
        return None
    return [(a["bill_of_lading"], list(a.get("containers") or []), a.get("packages")) for a in manifest.arrival.get("lines") or []]


def _discrepancies(session: Session, manifest: Manifest) -> domain.Discrepancies:
    lines, matches = _lines(session, manifest)
    return domain.discrepancies(lines, matches, _arrival(manifest))


def shows_declarations(principal: Principal | None) -> bool:
    """Officials see which declarations cover a line; a carrier sees how far its lines are covered, not by whose declarations."""
    return principal is None or rule(principal.role).reads_manifests


def read(session: Session, *, manifest: Manifest, principal: Principal | None = None) -> ManifestRead:
    """A manifest with each line's match, excess, shortage and its versions (declaration numbers for officials only)."""
    shown = shows_declarations(principal)
    lines, matches = _lines(session, manifest)
    arrival = _arrival(manifest)
    unloaded = {bl for bl, _, _ in arrival} if arrival is not None else None
    found = domain.discrepancies(lines, matches, arrival)
    payload = manifest.payload
    rows = [
        LineRead(
            line=ln.line,
            bill_of_lading=ln.bill_of_lading,
            containers=list(ln.containers),
            packages=ln.packages,
            gross_mass_kg=str(ln.gross_mass_kg),
            goods=str(payload["lines"][ln.line - 1]["goods"]),
            unloaded=None if unloaded is None else ln.bill_of_lading in unloaded,
            match=m.state,
            split=m.split,
            declarations=list(m.declarations) if shown else [],
            declared_gross_mass_kg=str(m.declared_gross_mass_kg),
            containers_undeclared=list(m.containers_undeclared),
            containers_not_manifested=list(m.containers_not_manifested),
        )
        for ln, m in zip(lines, matches, strict=True)
    ]
    return ManifestRead(
        id=manifest.id,
        carrier=repository.carrier_uscc(session, enterprise_id=manifest.carrier_enterprise_id),
        mode=manifest.mode,
        vessel=payload.get("vessel"),
        flight=payload.get("flight"),
        voyage=manifest.voyage,
        port=manifest.port,
        expected_arrival_on=manifest.expected_arrival_on,
        status=manifest.status.value,
        arrived_on=manifest.arrived_on,
        version=manifest.version,
        lodged_at=manifest.lodged_at,
        updated_at=manifest.updated_at,
        lines=rows,
        excess=found.excess,
        shortage=found.shortage,
        versions=[
            {"version": v.version, "reason": v.reason, "by": v.actor_name, "at": v.created_at.isoformat()}
            for v in repository.versions(session, manifest_id=manifest.id)
        ],
    )


def write_off(session: Session, *, manifest: Manifest, today: date, open_days: int, principal: Principal | None = None) -> WriteOff:
    """The write-off rate and every open line with its age; lines open more than `open_days` days raise an alert."""
    shown = shows_declarations(principal)
    lines, matches = _lines(session, manifest)
    since = manifest.arrived_on or manifest.expected_arrival_on
    w = domain.write_off(lines, matches, since=since, today=today, open_days=open_days)
    return WriteOff(
        manifest=manifest.id,
        lines=w.lines,
        written_off=w.written_off,
        rate=str(w.rate),
        on=today,
        alert_after_days=open_days,
        open=[
            OpenLine(
                bill_of_lading=o.bill_of_lading,
                match=o.state,
                declarations=list(o.declarations) if shown else [],
                since=o.since,
                age_days=o.age_days,
                overdue=o.overdue,
            )
            for o in w.open
        ],
        alerts=[
            {
                "code": "MAN-WOF-001",
                "bill_of_lading": o.bill_of_lading,
                "message": f"Bill of lading {o.bill_of_lading} has been open {o.age_days} days (more than {open_days}).",
            }
            for o in w.open
            if o.overdue
        ],
    )


def declared_transport(payload: dict[str, Any]) -> tuple[str | None, list[str], Decimal]:
    """A declaration's bill of lading (the transport's, else a bill-of-lading document's), containers and gross mass."""
    bl = (payload.get("transport") or {}).get("bill_of_lading")
    if not bl:
        bl = next((d.get("reference") for d in payload.get("documents") or [] if d.get("type") == "bill_of_lading"), None)
    containers = [str(c.get("number")) for c in payload.get("containers") or [] if c.get("number")]
    mass = sum((Decimal(str(i.get("gross_mass_kg") or "0")) for i in payload.get("items") or []), Decimal(0))
    return bl, containers, mass


def note_declaration(session: Session, *, declaration: Declaration, now: datetime) -> bool | None:
    """Keep the declaration's transport reference for matching; whether its bill of lading is on a manifest.

    Called when a declaration is assessed (lodging and each amendment). None when it names no bill of lading.
    """
    bl, containers, mass = declared_transport(declaration.payload)
    ref = session.get(DeclarationTransportRef, declaration.id)
    if bl is None:
        if ref is not None:
            session.delete(ref)
        return None
    if ref is None:
        ref = DeclarationTransportRef(declaration_id=declaration.id, number=declaration.number)
        session.add(ref)
    ref.bill_of_lading, ref.containers, ref.gross_mass_kg, ref.updated_at = bl, containers, mass, now
    session.flush()
    return repository.on_any_manifest(session, bill_of_lading=bl)


def get_as_operator(session: Session, *, manifest_id: int) -> Manifest:
    """A manifest for the operator running the command line (who may read every one)."""
    manifest = session.get(Manifest, manifest_id)
    if manifest is None:
        raise NotFound(f"No manifest {manifest_id}.")
    return manifest
