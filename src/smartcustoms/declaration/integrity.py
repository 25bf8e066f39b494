"""The stored content of a declaration is checked against its SHA-256 before it is served.

Every version keeps the hash of its content (`declaration_version.content_sha256`), written when it
was made; the table is append-only (migration 0006). A version whose content no longer matches its
hash, or a declaration whose current content is not its current version's, was changed under the
product: it is logged and answered as an integrity error (500, DEC-INT-001), never shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.orm import Session

from smartcustoms.declaration import domain, repository
from smartcustoms.declaration.models import Declaration, DeclarationVersion
from smartcustoms.errors import Problem, SmartCustomsError

log = structlog.get_logger("smartcustoms.declaration")


class ContentTampered(SmartCustomsError):
    """Stored content does not match the hash it was stored with; it is not served."""

    status, default_code, title = 500, "integrity_error", "Integrity error"


def _refuse(number: str, version: int, *, where: str, stored: str, found: str) -> ContentTampered:
    log.error("declaration.integrity_failed", number=number, version=version, where=where, stored_sha256=stored, content_sha256=found)
    return ContentTampered(
        f"The stored content of declaration {number} version {version} does not match its hash; it is not shown. "
        "The operators have been alerted.",
        [Problem("DEC-INT-001", "", f"Version {version} of declaration {number} fails its integrity check.")],
    )


def checked_versions(rows: Sequence[DeclarationVersion], *, number: str) -> Sequence[DeclarationVersion]:
    """The versions, once each one's content is found to match its stored hash."""
    for v in rows:
        found = domain.content_sha256(v.payload)
        if found != v.content_sha256:
            raise _refuse(number, v.version, where="declaration_version", stored=v.content_sha256, found=found)
    return rows


def check_current(session: Session, decl: Declaration) -> None:
    """Raise ContentTampered unless the declaration's content is its current version's, untouched."""
    row = repository.version(session, declaration_id=decl.id, number=decl.version)
    if row is None:
        raise _refuse(decl.number, decl.version, where="declaration_version", stored="(missing)", found=decl.content_sha256)
    checked_versions([row], number=decl.number)
    found = domain.content_sha256(decl.payload)
    if found != row.content_sha256:
        raise _refuse(decl.number, decl.version, where="declaration", stored=row.content_sha256, found=found)
