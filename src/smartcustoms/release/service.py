"""Release use cases: issue the release of a declaration (once), read it, check a receipt's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import numbering
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.errors import Forbidden, NotFound
from smartcustoms.kit.db import append, appends_held
from smartcustoms.kit.outbox import enqueue
from smartcustoms.release.models import Release, ReleaseContainer
from smartcustoms.release.signing import SIGNER, Checked, LazySigner, Signer, Verdict

TOPIC = "release"  # terminals and the enterprises' feeds: one message per release
NUMBER_FLAG = "R"  # the release numbers' own counter beside the declarations' (office, year, flag)
_RELEASE_CONTAINERS: Table = ReleaseContainer.__table__  # type: ignore[assignment]


def signer(session: Session) -> Signer:
    """The process's release signer (the runtime puts it in every session's info)."""
    found = session.info.get(SIGNER)
    if not isinstance(found, LazySigner):
        raise RuntimeError("this session has no release signer (sessions come from the runtime)")
    return found.get()


def release_number(office: str, year: int, sequence: int) -> str:
    """The 18-character release number: office (4), year (4), "R", sequence (9)."""
    return f"{office:0>4}{year:04d}{NUMBER_FLAG}{sequence:09d}"


def containers(decl: Declaration) -> list[str]:
    """The container numbers the declaration (as it stands) names, in its order."""
    return [str(c.get("number", "")) for c in decl.payload.get("containers") or [] if isinstance(c, dict)]


def seals(decl: Declaration) -> dict[str, list[str]]:
    """The declared seals of each container the declaration names."""
    return {
        str(c.get("number", "")): [str(x) for x in c.get("seals") or []]
        for c in decl.payload.get("containers") or []
        if isinstance(c, dict)
    }


def plate(decl: Declaration) -> str | None:
    """The vehicle (registration plate) the declaration names for road transport, if any."""
    transport = decl.payload.get("transport") or {}
    found = transport.get("vehicle") if isinstance(transport, dict) else None
    return (str(found).strip().upper() or None) if found else None


def _locked(session: Session, declaration: Declaration) -> tuple[Declaration, Release | None]:
    """The declaration with its row locked (PostgreSQL; SQLite writers take turns anyway) and its status
    as committed, with its release if it has one: one statement. Serialises concurrent releases of one declaration.

    Only the status is read (not the whole row and its content again); the rare declaration changed
    by another transaction meanwhile is refreshed whole.
    """
    stmt = (
        select(Declaration.status, Release)
        .outerjoin(Release, Release.declaration_id == Declaration.id)
        .where(Declaration.id == declaration.id)
        .with_for_update(of=Declaration)
    )
    status, existing = session.execute(stmt).one()
    if status is not declaration.status:
        session.refresh(declaration)
    return declaration, existing


def of_declaration(session: Session, *, declaration_id: int) -> Release | None:
    """The release of a declaration, if it was released."""
    return session.scalars(select(Release).where(Release.declaration_id == declaration_id)).one_or_none()


def issue(session: Session, *, declaration: Declaration, actor: Actor, now: datetime) -> Release:
    """Release the declaration's goods: status `released`, a release number, a signed token; the same release on a second call.

    The transition (409 `illegal_transition` from a status that cannot be released) writes the
    `declaration.released` event, journal entry and status message; the release is journaled as
    `release.issued` and sent to terminals and the owners' feeds on the `release` topic.
    """
    decl, existing = _locked(session, declaration)
    if existing is None and decl.status is Status.released:
        # Released by a concurrent call while this one waited for the lock: PostgreSQL re-reads the
        # locked row then, but not the outer-joined one, which is the statement's older snapshot.
        existing = of_declaration(session, declaration_id=decl.id)
    if existing is not None:
        return existing
    declaration_service.transition(session, decl=decl, to=Status.released, actor=actor, now=now, reason="Every release condition holds.")
    # The counter's statement neither flushes the declaration nor writes the queued journal, event and
    # outbox rows: they go out at the commit, in one batch per table with the lodging's on the green lane.
    with session.no_autoflush, appends_held(session):
        sequence = numbering.take(session, office=decl.office[:4], year=now.year, flag=NUMBER_FLAG)
    number = release_number(decl.office[:4], now.year, sequence)
    stamp = now.isoformat().replace("+00:00", "Z")
    token = signer(session).sign({"n": number, "d": decl.number, "t": stamp})
    rel = Release(number=number, declaration_id=decl.id, released_at=now, actor=actor.name, token=token)
    session.add(rel)
    sealed, vehicle = seals(decl), plate(decl)
    what = {"number": number, "declaration": decl.number, "released_at": stamp, "containers": containers(decl)}
    record(session, actor=actor, action="release.issued", subject_type="declaration", subject_id=decl.number, now=now, after=what)
    enqueue(
        session,
        topic=TOPIC,
        key=decl.number,
        now=now,
        payload={
            **what,
            "event": "release.issued",
            "status": decl.status.value,
            "office": decl.office,
            "port": decl.port,
            "verify": f"/verify/{token}",
            "enterprises": sorted({decl.declarant_uscc, decl.trader_uscc}),
            "seals": sealed,
            "plate": vehicle,
        },
    )
    session.flush()  # the release row (its id), with the queued rows in one batch per table
    # What the gate reads, by container (or by plate when no container is named), queued for the commit.
    for container in sealed or ([None] if vehicle else []):
        row = {
            "release_id": rel.id,
            "release_number": number,
            "declaration_number": decl.number,
            "office": decl.office,
            "released_at": now,
            "container": container,
            "plate": vehicle,
            "seals": sealed.get(container or "", []),
        }
        append(session, _RELEASE_CONTAINERS, row)
    return rel


def may_read(principal: Principal, decl: Declaration) -> bool:
    """Whether the principal may read the declaration's release: whoever may see the declaration (its owners,
    officials within their reach), and the gate of its office."""
    if principal.role is Role.gate:
        return bool(principal.office) and principal.office == decl.office
    try:
        return declaration_service.visible(principal, decl)
    except Forbidden:
        return False


def get(session: Session, *, number: str, principal: Principal) -> tuple[Release, Declaration]:
    """A release and its declaration, if the principal may read it; 404 otherwise, exactly as if there were none."""
    row = session.execute(
        select(Release, Declaration).join(Declaration, Declaration.id == Release.declaration_id).where(Release.number == number)
    ).one_or_none()
    if row is None or not may_read(principal, row[1]):
        raise NotFound(f"No release {number}.", code="release_not_found")
    return row[0], row[1]


@dataclass(frozen=True)
class Verification:
    """What GET /verify/{token} says: the verdict and, for a valid token, what was released."""

    verdict: str  # valid | forged | malformed | unknown
    release: dict[str, Any] | None = None


def verify(session: Session, *, token: str) -> Verification:
    """Check a receipt's token: its signature, then the register (a validly signed token must name a release on record, unchanged)."""
    checked: Checked = signer(session).check(token)
    if checked.verdict is not Verdict.valid:
        return Verification(checked.verdict.value)
    row = session.execute(
        select(Release, Declaration).join(Declaration, Declaration.id == Release.declaration_id).where(Release.token == token)
    ).one_or_none()
    if row is None:
        return Verification("unknown")  # signed with our key, but no such release on record
    rel, decl = row
    return Verification("valid", view(rel, decl))


def view(rel: Release, decl: Declaration) -> dict[str, Any]:
    """A release as the API shows it."""
    return {
        "number": rel.number,
        "declaration": decl.number,
        "released_at": rel.released_at.isoformat().replace("+00:00", "Z"),
        "office": decl.office,
        "port": decl.port,
        "containers": containers(decl),
        "verify": f"/verify/{rel.token}",
        "token": rel.token,
    }
