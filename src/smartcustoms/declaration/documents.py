"""The electronic archive: documents uploaded for a declaration, stored by SHA-256."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from smartcustoms.adapters.storage import FileStore
from smartcustoms.auth.service import Principal
from smartcustoms.declaration import repository
from smartcustoms.declaration.models import Declaration, Document
from smartcustoms.declaration.schemas import DocType
from smartcustoms.declaration.service import get_own, get_visible, record_event
from smartcustoms.errors import NotFound, PayloadTooLarge, Problem, UnsupportedMediaType, ValidationFailed
from smartcustoms.kit.text import invisible_character

DOC_TYPES: frozenset[str] = frozenset(DocType.__args__)  # type: ignore[attr-defined]
# Accepted content types and the magic bytes that must open such a file (None: no fixed signature).
CONTENT_TYPES: dict[str, tuple[bytes, ...] | None] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/xml": None,
    "text/xml": None,
    "application/json": None,
    "text/csv": None,
    "text/plain": None,
}


def add_document(
    session: Session,
    *,
    number: str,
    doc_type: str,
    filename: str,
    content_type: str,
    data: bytes,
    store: FileStore,
    max_bytes: int,
    principal: Principal,
    now: datetime,
) -> Document:
    """Attach a file to a declaration; checks type, size and signature, stores it by SHA-256."""
    decl = get_own(session, number=number, principal=principal, doing="uploads documents to")
    content_type = content_type.split(";")[0].strip().lower()
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data)} bytes; at most {max_bytes} are accepted.",
            [Problem("DOC-SIZE-001", "/file", f"Files may be at most {max_bytes / (1024 * 1024):g} MB.")],
        )
    if content_type not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Files of type {content_type} are not accepted.",
            [Problem("DOC-TYPE-001", "/file", f"Accepted types: {', '.join(sorted(CONTENT_TYPES))}.")],
        )
    problems = []
    if doc_type not in DOC_TYPES:
        problems.append(Problem("DOC-TYPE-002", "/type", f"{doc_type} is not a document type ({', '.join(sorted(DOC_TYPES))})."))
    if not data:
        problems.append(Problem("DOC-SIZE-002", "/file", "The file is empty."))
    magic = CONTENT_TYPES[content_type]
    if data and magic is not None and not any(data.startswith(m) for m in magic):
        problems.append(Problem("DOC-TYPE-003", "/file", f"The file does not look like {content_type}."))
    hidden = invisible_character(filename or "")
    if hidden is not None:
        message = f"The file name holds an invisible or direction-changing character ({hidden}); rename the file."
        problems.append(Problem("DOC-NAME-001", "/file", message))
    safe_name = (filename or "document").replace("/", "_").replace("\\", "_")[:255]
    if problems:
        raise ValidationFailed("The document cannot be accepted.", problems)
    digest = store.put(data)
    doc = Document(
        declaration_id=decl.id,
        doc_type=doc_type,
        filename=safe_name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        uploaded_by=principal.name,
        uploaded_at=now,
    )
    session.add(doc)
    decl.updated_at = now
    record_event(
        session,
        decl,
        event="declaration.document_added",
        from_status=decl.status,
        actor=principal.actor(),
        now=now,
        reason=f"{doc_type}: {safe_name}",
        audit_before={},
        audit_after={"document": doc_type, "sha256": digest, "size": len(data)},
    )
    return doc


def list_documents(session: Session, *, number: str, principal: Principal) -> tuple[Declaration, Sequence[Document]]:
    """The documents of a declaration the principal may see."""
    decl = get_visible(session, number=number, principal=principal)
    return decl, repository.documents(session, declaration_id=decl.id)


def open_document(session: Session, *, number: str, document_id: int, store: FileStore, principal: Principal) -> tuple[Document, bytes]:
    """A document's record and content, for those who may see the declaration."""
    decl, docs = list_documents(session, number=number, principal=principal)
    doc = next((d for d in docs if d.id == document_id), None)
    if doc is None:
        raise NotFound(f"Declaration {decl.number} has no document {document_id}.")
    return doc, store.get(doc.sha256)
