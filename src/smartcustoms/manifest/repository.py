"""Every query of the manifest area."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.manifest.domain import DeclRef
from smartcustoms.manifest.models import DeclarationTransportRef, Manifest, ManifestLine, ManifestVersion
from smartcustoms.party.models import Enterprise

# Declarations that no longer stand do not write off a manifest line.
_GONE = (Status.withdrawn, Status.rejected)


def lines(session: Session, *, manifest_id: int) -> Sequence[ManifestLine]:
    """The current lines of a manifest, in order."""
    return session.scalars(select(ManifestLine).where(ManifestLine.manifest_id == manifest_id).order_by(ManifestLine.line)).all()


def drop_lines(session: Session, *, manifest_id: int) -> None:
    """Remove a manifest's current lines (an amendment writes the new ones; the old stay in its versions)."""
    session.execute(delete(ManifestLine).where(ManifestLine.manifest_id == manifest_id))


def versions(session: Session, *, manifest_id: int) -> Sequence[ManifestVersion]:
    """Every version of a manifest, oldest first."""
    return session.scalars(
        select(ManifestVersion).where(ManifestVersion.manifest_id == manifest_id).order_by(ManifestVersion.version)
    ).all()


def refs_for(session: Session, *, bills: Iterable[str]) -> list[DeclRef]:
    """The standing declarations that name any of these bills of lading."""
    wanted = sorted(set(bills))
    if not wanted:
        return []
    rows = session.execute(
        select(DeclarationTransportRef)
        .join(Declaration, Declaration.id == DeclarationTransportRef.declaration_id)
        .where(DeclarationTransportRef.bill_of_lading.in_(wanted), Declaration.status.not_in(_GONE))
    ).scalars()
    return [DeclRef(r.number, r.bill_of_lading, frozenset(r.containers), r.gross_mass_kg) for r in rows]


def on_any_manifest(session: Session, *, bill_of_lading: str) -> bool:
    """Whether a bill of lading is a line of any manifest's current version."""
    return session.scalar(select(ManifestLine.id).where(ManifestLine.bill_of_lading == bill_of_lading).limit(1)) is not None


def carrier_uscc(session: Session, *, enterprise_id: int) -> str:
    """The USCC of the carrier's enterprise."""
    return session.scalar(select(Enterprise.uscc).where(Enterprise.id == enterprise_id)) or ""


def listed(session: Session, *, carrier_enterprise_id: int | None, limit: int, offset: int) -> Sequence[Manifest]:
    """Manifests newest first; only one carrier's when named."""
    q = select(Manifest).order_by(Manifest.id.desc()).limit(limit).offset(offset)
    if carrier_enterprise_id is not None:
        q = q.where(Manifest.carrier_enterprise_id == carrier_enterprise_id)
    return session.scalars(q).all()
