"""The electronic archive over HTTP: upload, list, download, who may see, and what is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms.adapters.storage import DirectoryStore
from smartcustoms.audit.models import AuditEntry
from smartcustoms.declaration.models import DeclarationEvent, Document
from smartcustoms.risk.selectivity.domain import LANE_MEANING
from smartcustoms.runtime import Runtime
from tests.conftest import World, example

pytestmark = pytest.mark.usefixtures("under_review")  # lodged for review: not released at once

API = "/api/v1/declarations"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JSON_DOC = b'{"invoice": "INV-SMD-7781", "total": "234240.00"}'
LIMIT = 64 * 1024  # max_document_bytes of the test runtime


def _count(rt: Runtime, model: Any) -> int:
    with rt.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _files_on_disk(rt: Runtime) -> list[Path]:
    store = rt.store
    assert isinstance(store, DirectoryStore)
    if not store.root.exists():
        return []
    return sorted(p for p in store.root.rglob("*") if p.is_file())


@pytest.fixture
def number(client: TestClient, world: World) -> str:
    """The canonical declaration, lodged by the broker (declarant) for the importer."""
    r = client.post(API, json=example(), headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    found: str = r.json()["number"]
    return found


def _upload(
    client: TestClient,
    world: World,
    number: str,
    *,
    user: str = "broker",
    name: str,
    data: bytes,
    content_type: str,
    doc_type: str = "invoice",
) -> Any:
    return client.post(
        f"{API}/{number}/documents",
        files={"file": (name, data, content_type)},
        data={"type": doc_type},
        headers=world.headers(user),
    )


def test_uploading_a_pdf_answers_201_with_its_sha256_and_size(
    client: TestClient, world: World, number: str, rt: Runtime, tmp_path: Path
) -> None:
    r = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["size"] == len(PDF)
    assert (body["doc_type"], body["filename"], body["content_type"], body["uploaded_by"]) == (
        "invoice",
        "invoice.pdf",
        "application/pdf",
        "broker",
    )
    digest = body["sha256"]
    assert _files_on_disk(rt) == [tmp_path / "files" / digest[:2] / digest[2:4] / digest]
    assert (tmp_path / "files" / digest[:2] / digest[2:4] / digest).read_bytes() == PDF


def test_uploaded_documents_are_listed_and_downloaded_byte_for_byte(client: TestClient, world: World, number: str) -> None:
    uploads = [
        ("invoice.pdf", PDF, "application/pdf", "invoice"),
        ("packing.png", PNG, "image/png", "packing_list"),
        ("order.json", JSON_DOC, "application/json", "ecommerce_order"),
    ]
    ids = []
    for name, data, ctype, doc_type in uploads:
        r = _upload(client, world, number, name=name, data=data, content_type=ctype, doc_type=doc_type)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    listed = client.get(f"{API}/{number}/documents", headers=world.headers("broker"))
    assert listed.status_code == 200
    assert [(d["id"], d["doc_type"], d["filename"], d["content_type"], d["size"], d["sha256"]) for d in listed.json()] == [
        (i, doc_type, name, ctype, len(data), hashlib.sha256(data).hexdigest())
        for i, (name, data, ctype, doc_type) in zip(ids, uploads, strict=True)
    ]
    for i, (name, data, ctype, _) in zip(ids, uploads, strict=True):
        r = client.get(f"{API}/{number}/documents/{i}", headers=world.headers("broker"))
        assert r.status_code == 200
        assert r.content == data
        assert r.headers["content-type"] == ctype
        assert r.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    detail = client.get(f"{API}/{number}", headers=world.headers("broker")).json()
    assert [d["id"] for d in detail["documents"]] == ids


def test_the_importer_can_list_and_download_the_brokers_upload(client: TestClient, world: World, number: str) -> None:
    doc = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    listed = client.get(f"{API}/{number}/documents", headers=world.headers("importer"))
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [doc["id"]]
    r = client.get(f"{API}/{number}/documents/{doc['id']}", headers=world.headers("importer"))
    assert r.status_code == 200 and r.content == PDF


def test_an_unrelated_enterprise_gets_404_on_list_download_and_upload_and_nothing_changes(
    client: TestClient, world: World, number: str, rt: Runtime
) -> None:
    doc = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    docs, events, audit, files = _count(rt, Document), _count(rt, DeclarationEvent), _count(rt, AuditEntry), _files_on_disk(rt)
    listed = client.get(f"{API}/{number}/documents", headers=world.headers("other"))
    download = client.get(f"{API}/{number}/documents/{doc['id']}", headers=world.headers("other"))
    upload = _upload(client, world, number, user="other", name="fake.pdf", data=b"%PDF-other", content_type="application/pdf")
    assert listed.status_code == download.status_code == upload.status_code == 404
    assert listed.json()["code"] == download.json()["code"] == upload.json()["code"] == "not_found"
    assert listed.json()["detail"] == download.json()["detail"] == upload.json()["detail"] == f"No declaration {number}."
    assert PDF not in download.content
    assert (_count(rt, Document), _count(rt, DeclarationEvent), _count(rt, AuditEntry), _files_on_disk(rt)) == (docs, events, audit, files)


def test_officers_of_the_declarations_office_can_read_documents_and_others_cannot(client: TestClient, world: World, number: str) -> None:
    doc = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    assert [d["id"] for d in client.get(f"{API}/{number}/documents", headers=world.headers("officer")).json()] == [doc["id"]]
    r = client.get(f"{API}/{number}/documents/{doc['id']}", headers=world.headers("officer"))
    assert r.status_code == 200 and r.content == PDF
    assert client.get(f"{API}/{number}/documents", headers=world.headers("officer_tianjin")).status_code == 404
    assert client.get(f"{API}/{number}/documents/{doc['id']}", headers=world.headers("officer_tianjin")).status_code == 404
    assert client.get(f"{API}/{number}/documents/{doc['id']}", headers=world.headers("gate")).status_code == 403


def test_officers_cannot_upload_documents(client: TestClient, world: World, number: str, rt: Runtime) -> None:
    r = _upload(client, world, number, user="officer", name="invoice.pdf", data=PDF, content_type="application/pdf")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert _count(rt, Document) == 0 and _files_on_disk(rt) == []


def test_a_document_of_another_declaration_is_not_found_under_this_one(client: TestClient, world: World, number: str) -> None:
    doc = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    second = example()
    second["client_reference"] = "SHIMP-2026-000124"
    other_number = client.post(API, json=second, headers=world.headers("broker")).json()["number"]
    r = client.get(f"{API}/{other_number}/documents/{doc['id']}", headers=world.headers("broker"))
    assert r.status_code == 404
    assert r.json()["detail"] == f"Declaration {other_number} has no document {doc['id']}."


def test_a_file_over_the_size_limit_is_refused_with_413_and_nothing_is_stored(
    client: TestClient, world: World, number: str, rt: Runtime
) -> None:
    events, audit = _count(rt, DeclarationEvent), _count(rt, AuditEntry)
    big = b"%PDF-1.7\n" + b"0" * LIMIT
    r = _upload(client, world, number, name="big.pdf", data=big, content_type="application/pdf")
    assert r.status_code == 413
    body = r.json()
    assert body["code"] == "payload_too_large"
    assert body["errors"] == [{"code": "DOC-SIZE-001", "pointer": "/file", "message": "Files may be at most 0.0625 MB."}]
    assert body["detail"].endswith(f"at most {LIMIT} are accepted.")
    assert (_count(rt, Document), _count(rt, DeclarationEvent), _count(rt, AuditEntry), _files_on_disk(rt)) == (0, events, audit, [])
    assert client.get(f"{API}/{number}/documents", headers=world.headers("broker")).json() == []


def test_a_file_of_exactly_the_size_limit_is_accepted(client: TestClient, world: World, number: str) -> None:
    data = b"%PDF-1.7\n" + b"0" * (LIMIT - 9)
    r = _upload(client, world, number, name="max.pdf", data=data, content_type="application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["size"] == LIMIT


def test_an_unknown_content_type_is_refused_with_415(client: TestClient, world: World, number: str, rt: Runtime) -> None:
    r = _upload(client, world, number, name="setup.exe", data=b"MZ\x90\x00", content_type="application/x-msdownload")
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("DOC-TYPE-001", "/file")]
    assert _count(rt, Document) == 0 and _files_on_disk(rt) == []


def test_text_claimed_as_pdf_is_refused_because_its_magic_bytes_do_not_match(
    client: TestClient, world: World, number: str, rt: Runtime
) -> None:
    r = _upload(client, world, number, name="invoice.pdf", data=b"just some text, not a PDF", content_type="application/pdf")
    assert r.status_code == 422
    assert r.json()["code"] == "validation_failed"
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("DOC-TYPE-003", "/file")]
    assert _count(rt, Document) == 0 and _files_on_disk(rt) == []


def test_an_unknown_document_type_is_refused_with_422(client: TestClient, world: World, number: str, rt: Runtime) -> None:
    r = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf", doc_type="love_letter")
    assert r.status_code == 422
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("DOC-TYPE-002", "/type")]
    assert _count(rt, Document) == 0 and _files_on_disk(rt) == []


def test_every_problem_with_a_document_is_reported_at_once(client: TestClient, world: World, number: str) -> None:
    r = _upload(client, world, number, name="x.png", data=b"GIF89a", content_type="image/png", doc_type="selfie")
    assert r.status_code == 422
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("DOC-TYPE-002", "/type"), ("DOC-TYPE-003", "/file")]


def test_a_filename_with_path_separators_is_stored_safely(
    client: TestClient, world: World, number: str, rt: Runtime, tmp_path: Path
) -> None:
    r = _upload(client, world, number, name="../../etc/passwd.pdf", data=PDF, content_type="application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == ".._.._etc_passwd.pdf"
    r = client.get(f"{API}/{number}/documents/{r.json()['id']}", headers=world.headers("broker"))
    assert r.headers["content-disposition"] == 'attachment; filename=".._.._etc_passwd.pdf"'
    digest = hashlib.sha256(PDF).hexdigest()
    assert _files_on_disk(rt) == [tmp_path / "files" / digest[:2] / digest[2:4] / digest]
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()


def test_identical_content_uploaded_twice_is_stored_once_but_listed_twice(
    client: TestClient, world: World, number: str, rt: Runtime
) -> None:
    first = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    second = _upload(client, world, number, name="invoice-copy.pdf", data=PDF, content_type="application/pdf", doc_type="contract").json()
    assert first["sha256"] == second["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert first["id"] != second["id"]
    assert len(_files_on_disk(rt)) == 1
    listed = client.get(f"{API}/{number}/documents", headers=world.headers("broker")).json()
    assert [(d["filename"], d["doc_type"], d["sha256"]) for d in listed] == [
        ("invoice.pdf", "invoice", first["sha256"]),
        ("invoice-copy.pdf", "contract", first["sha256"]),
    ]


def test_an_upload_adds_a_document_added_event_and_a_journal_entry(client: TestClient, world: World, number: str, rt: Runtime) -> None:
    doc = _upload(client, world, number, name="invoice.pdf", data=PDF, content_type="application/pdf").json()
    detail = client.get(f"{API}/{number}", headers=world.headers("broker")).json()
    events = detail["events"]
    lane = detail["assessment"]["lane"]  # yellow (under_review): the event says so
    assert [(e["event"], e["from_status"], e["to_status"], e["actor_name"], e["actor_role"], e["reason"]) for e in events] == [
        ("declaration.lodged", None, "lodged", "broker", "enterprise", None),
        ("declaration.accepted", "lodged", "accepted", "intake", "system", events[1]["reason"]),
        ("declaration.assessed", "accepted", "assessed", "selectivity", "system", f"Lane {lane}: {LANE_MEANING[lane][1]}"),
        ("declaration.under_review", "assessed", "under_review", "clearance", "system", "Lane yellow: review opened."),
        ("declaration.document_added", "under_review", "under_review", "broker", "enterprise", "invoice: invoice.pdf"),
    ]
    assert detail["status"] == "under_review"
    with rt.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.subject_id == number).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "declaration.lodged",
        "declaration.accepted",
        "declaration.assessed",
        "declaration.under_review",
        "duty.assessed",  # an import's duties are assessed at lodging, whatever the lane
        "declaration.document_added",
    ]
    added = entries[-1]
    assert (added.actor_name, added.role, added.subject_type, added.before, added.after, added.reason) == (
        "broker",
        "enterprise",
        "declaration",
        {},
        {"document": "invoice", "sha256": doc["sha256"], "size": len(PDF)},
        "invoice: invoice.pdf",
    )


def test_documents_need_credentials(client: TestClient, world: World, number: str) -> None:
    assert client.get(f"{API}/{number}/documents").status_code == 401
    r = client.post(f"{API}/{number}/documents", files={"file": ("a.pdf", PDF, "application/pdf")}, data={"type": "invoice"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        ("发票-INV-7781.pdf", "attachment; filename=\"__-INV-7781.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8-INV-7781.pdf"),
        ("Rechnung März.pdf", "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"),
        ("plain invoice.pdf", 'attachment; filename="plain invoice.pdf"'),
    ],
)
def test_a_download_keeps_any_uploaded_name_in_a_valid_header(
    client: TestClient, world: World, number: str, name: str, disposition: str
) -> None:
    r = _upload(client, world, number, name=name, data=PDF, content_type="application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == name
    r = client.get(f"{API}/{number}/documents/{r.json()['id']}", headers=world.headers("broker"))
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-disposition"] == disposition
