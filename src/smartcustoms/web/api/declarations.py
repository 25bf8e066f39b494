"""Routes of the single window: lodge, follow, amend, withdraw, documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Path, Query, Response, UploadFile
from sqlalchemy.exc import IntegrityError

from smartcustoms.auth.roles import TASK_WORKERS
from smartcustoms.auth.service import Principal
from smartcustoms.clearance import service as clearance
from smartcustoms.declaration import documents as doc_service
from smartcustoms.declaration import integrity, repository, service
from smartcustoms.declaration.models import Declaration, Status
from smartcustoms.declaration.schemas import (
    AmendmentCreate,
    DeclarationPage,
    DeclarationRead,
    DeclarationSummary,
    DocumentRead,
    EventRead,
    Receipt,
    VersionRead,
    WithdrawalCreate,
)
from smartcustoms.errors import ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.kit.text import IsoDateTime
from smartcustoms.review import service as review
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.task import service as tasks
from smartcustoms.web.body import StrictJSONRoute
from smartcustoms.web.deps import DB_BIGINT_MAX, DB_INT_MAX, PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"], route_class=StrictJSONRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such declaration, or not the caller's"},
    409: {"description": "Illegal in the current state, or client reference reused; nothing changed"},
    422: {"description": "Every problem with the request, each with code, pointer and message"},
    500: {"description": "Our failure; `integrity_error` (DEC-INT-001) when stored content fails its hash check and is not shown"},
}
_LODGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeclarationCreate"}}},
    }
}


def summary(decl: Declaration) -> DeclarationSummary:
    """The list view of a declaration."""
    return DeclarationSummary.model_validate(
        {**{k: getattr(decl, k) for k in DeclarationSummary.model_fields if k != "total_value"}, "total_value": str(decl.total_value)}
    )


@router.post("", status_code=202, response_model=Receipt, responses=ERRORS, openapi_extra=_LODGE_BODY, summary="Lodge a declaration")
def lodge(rt: RuntimeDep, who: PrincipalDep, response: Response, payload: Annotated[Any, Body()]) -> Any:
    """Lodge an import or export declaration; retrying with the same client_reference and content is safe (200)."""
    now = utcnow()
    try:
        with rt.write() as s:
            receipt, replayed = clearance.lodge(s, raw=payload, principal=who, now=now)
    except ValidationFailed as exc:
        with rt.write() as s:
            service.record_rejection(s, raw=payload, principal=who, problems=exc.problems, now=now)
        raise
    except IntegrityError:
        # A concurrent request with the same client reference won the race: answer as a retry.
        with rt.write() as s:
            receipt, replayed = clearance.lodge(s, raw=payload, principal=who, now=now)
    if replayed:
        response.status_code = 200
    response.headers["Location"] = receipt["links"]["self"]
    return receipt


@router.get("", response_model=DeclarationPage, responses=ERRORS, summary="List declarations")
def list_declarations(
    rt: RuntimeDep,
    who: PrincipalDep,
    status: Status | None = None,
    kind: Annotated[str | None, Query(pattern="^(import|export)$")] = None,
    lodged_from: IsoDateTime | None = None,
    lodged_to: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
) -> DeclarationPage:
    """The caller's declarations (an office's for officers), newest first, filtered by status and date."""
    enterprise_id, office = service.scope(who)
    with rt.read() as s:
        rows, total = repository.page(
            s,
            enterprise_id=enterprise_id,
            office=office,
            status=status,
            kind=kind,
            lodged_from=lodged_from,
            lodged_to=lodged_to,
            limit=limit,
            offset=offset,
            only=tasks.declarations_of(who),
        )
        return DeclarationPage(items=[summary(d) for d in rows], total=total, limit=limit, offset=offset)


def _read(s: Any, decl: Declaration, who: Principal) -> DeclarationRead:
    integrity.check_current(s, decl)  # never serve content changed under the product (DEC-INT-001)
    base = summary(decl).model_dump()
    events = [EventRead.model_validate(e) for e in repository.events(s, declaration_id=decl.id)]
    docs = [DocumentRead.model_validate(d) for d in repository.documents(s, declaration_id=decl.id)]
    a = selectivity.latest(s, declaration_id=decl.id)
    shown = selectivity.view(a, principal=who, decl=decl) if a is not None else None
    queries = review.queries_of(s, declaration_id=decl.id)
    waiting = [{"code": u.code, "message": u.message} for u in clearance.waiting_for(s, decl)]
    return DeclarationRead(
        **base, declaration=decl.payload, events=events, documents=docs, assessment=shown, queries=queries, release_conditions=waiting
    )


@router.get("/statistics/rejections", responses=ERRORS, summary="Rejection statistics")
def rejections(rt: RuntimeDep, who: PrincipalDep, since: IsoDateTime | None = None) -> dict[str, Any]:
    """How many submissions were refused since a time (default: 30 days), and how often each rule fired."""
    start = since or utcnow() - timedelta(days=30)
    with rt.read() as s:
        return service.rejection_summary(s, principal=who, since=start)


@router.get("/{number}", response_model=DeclarationRead, responses=ERRORS, summary="Get a declaration")
def get_declaration(rt: RuntimeDep, who: PrincipalDep, number: str) -> DeclarationRead:
    """A declaration's state, content, history of events with reasons, and documents."""
    with rt.read() as s:
        decl = service.get_visible(s, number=number, principal=who)
        shown = _read(s, decl, who)
    if who.role in TASK_WORKERS:  # an officer's reading is journaled
        with rt.write() as s:
            tasks.journal_read(s, principal=who, declaration=decl, now=utcnow())
    return shown


def _amend(rt: RuntimeDep, who: PrincipalDep, number: str, body: AmendmentCreate) -> DeclarationRead:
    with rt.write() as s:
        decl = clearance.amend(s, number=number, patch=body.patch, reason=body.reason, principal=who, now=utcnow())
        s.flush()
        return _read(s, decl, who)


@router.post("/{number}/amendments", response_model=DeclarationRead, responses=ERRORS, summary="Amend a declaration")
def amend(rt: RuntimeDep, who: PrincipalDep, number: str, body: AmendmentCreate) -> DeclarationRead:
    """Amend with a JSON merge patch and a reason; allowed until release; every version is kept."""
    return _amend(rt, who, number, body)


@router.patch("/{number}", response_model=DeclarationRead, responses=ERRORS, summary="Amend a declaration (PATCH)")
def patch(rt: RuntimeDep, who: PrincipalDep, number: str, body: AmendmentCreate) -> DeclarationRead:
    """The same as POST .../amendments."""
    return _amend(rt, who, number, body)


@router.get("/{number}/versions", response_model=list[VersionRead], responses=ERRORS, summary="List versions")
def versions(rt: RuntimeDep, who: PrincipalDep, number: str) -> list[VersionRead]:
    """Every version of the declaration, oldest first (without content)."""
    with rt.read() as s:
        rows = integrity.checked_versions(service.versions(s, number=number, principal=who), number=number)
        return [VersionRead.model_validate(v).model_copy(update={"payload": None}) for v in rows]


@router.get("/{number}/versions/{version}", response_model=VersionRead, responses=ERRORS, summary="Get one version")
def version(rt: RuntimeDep, who: PrincipalDep, number: str, version: Annotated[int, Path(ge=1, le=DB_INT_MAX)]) -> VersionRead:
    """One version of the declaration with its full content."""
    with rt.read() as s:
        found = service.version(s, number=number, version=version, principal=who)
        return VersionRead.model_validate(integrity.checked_versions([found], number=number)[0])


@router.post("/{number}/withdrawal", response_model=DeclarationRead, responses=ERRORS, summary="Withdraw a declaration")
def withdraw(rt: RuntimeDep, who: PrincipalDep, number: str, body: WithdrawalCreate) -> DeclarationRead:
    """Withdraw the declaration before release, with a reason."""
    with rt.write() as s:
        decl = service.withdraw(s, number=number, reason=body.reason, principal=who, now=utcnow())
        s.flush()
        return _read(s, decl, who)


@router.post(
    "/{number}/documents",
    status_code=201,
    response_model=DocumentRead,
    responses={**ERRORS, 413: {"description": "File too large"}, 415: {"description": "File type not accepted"}},
    summary="Upload a document",
)
def upload(
    rt: RuntimeDep, who: PrincipalDep, number: str, file: Annotated[UploadFile, File()], type: Annotated[str, Form()]
) -> DocumentRead:
    """Attach a file (invoice, packing list, bill of lading, licence, ...) to the declaration."""
    limit = rt.settings.max_document_bytes
    data = file.file.read(limit + 1)
    with rt.write() as s:
        doc = doc_service.add_document(
            s,
            number=number,
            doc_type=type,
            filename=file.filename or "document",
            content_type=file.content_type or "application/octet-stream",
            data=data,
            store=rt.store,
            max_bytes=limit,
            principal=who,
            now=utcnow(),
        )
        s.flush()
        return DocumentRead.model_validate(doc)


@router.get("/{number}/documents", response_model=list[DocumentRead], responses=ERRORS, summary="List documents")
def documents(rt: RuntimeDep, who: PrincipalDep, number: str) -> list[DocumentRead]:
    """The declaration's documents in the electronic archive."""
    with rt.read() as s:
        _, docs = doc_service.list_documents(s, number=number, principal=who)
        return [DocumentRead.model_validate(d) for d in docs]


def attachment(filename: str) -> str:
    """A Content-Disposition header for a download under its uploaded name (RFC 6266).

    Headers are Latin-1: a name such as 发票.pdf goes in `filename*` (UTF-8, percent-encoded),
    with a plain-ASCII `filename` beside it for old clients; quotes and backslashes, which would
    end or escape the quoted name, are replaced in that fallback.
    """
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename) or "document"
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


@router.get(
    "/{number}/documents/{document_id}",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    summary="Download a document",
)
def download(rt: RuntimeDep, who: PrincipalDep, number: str, document_id: Annotated[int, Path(ge=1, le=DB_BIGINT_MAX)]) -> Response:
    """The document's file, as uploaded."""
    with rt.read() as s:
        doc, data = doc_service.open_document(s, number=number, document_id=document_id, store=rt.store, principal=who)
    return Response(
        data,
        media_type=doc.content_type,
        headers={"Content-Disposition": attachment(doc.filename), "ETag": f'"{doc.sha256}"'},
    )


@router.post("/{number}/decisions", response_model=DeclarationRead, responses=ERRORS, summary="Take a decision")
def decide(
    rt: RuntimeDep,
    who: PrincipalDep,
    number: str,
    to: Annotated[Status, Body(embed=True)],
    reason: Annotated[str, Body(embed=True, min_length=3, max_length=500)],
) -> DeclarationRead:
    """An officer moves the declaration (reject, hold, ...) with a reason; illegal steps answer 409."""
    with rt.write() as s:
        decl = service.decide(s, number=number, to=to, reason=reason, principal=who, now=utcnow())
        s.flush()
        return _read(s, decl, who)
