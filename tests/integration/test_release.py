"""The release service on both databases: issue once (idempotent, also when raced), read by who may, check tokens."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from smartcustoms.audit.models import AuditEntry
from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.declaration import service as declaration_service
from smartcustoms.declaration.models import DeclarationEvent, Status
from smartcustoms.errors import Conflict, NotFound
from smartcustoms.kit.outbox import OutboxMessage
from smartcustoms.release import service
from smartcustoms.release.models import Release
from smartcustoms.release.signing import Signer
from smartcustoms.risk.selectivity import service as selectivity
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example

CLEARANCE = Actor.system("clearance")
LATER = NOW + timedelta(hours=2)


def lodge(rt: Runtime, world: World, ref: str = "REL-1") -> str:
    """Lodge the example (as the broker, for the importer); its number."""
    with rt.write() as s:
        receipt, _ = selectivity.lodge(s, raw={**example(), "client_reference": ref}, principal=world.principals["broker"], now=NOW)
    return str(receipt["number"])


def issue(rt: Runtime, number: str, at: Any = LATER) -> tuple[int, str, str]:
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        rel = service.issue(s, declaration=decl, actor=CLEARANCE, now=at)
        return rel.id, rel.number, rel.token


def verdict(rt: Runtime, token: str) -> service.Verification:
    with rt.read() as s:
        return service.verify(s, token=token)


def test_issue_releases_the_declaration_with_a_number_and_a_token_that_verifies_and_a_second_call_returns_the_same(
    rt: Runtime, world: World
) -> None:
    number = lodge(rt, world)
    first = issue(rt, number)
    again = issue(rt, number, LATER + timedelta(minutes=5))
    assert again == first
    _, rel_number, token = first
    assert rel_number == "22482026R000000001"
    with rt.read() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None and decl.status is Status.released
        events = s.scalars(select(DeclarationEvent.event).where(DeclarationEvent.declaration_id == decl.id)).all()
        journal = s.scalars(select(AuditEntry).where(AuditEntry.action == "release.issued")).all()
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == service.TOPIC)).all()
        rows = s.scalar(select(func.count()).select_from(Release))
    assert events.count("declaration.released") == 1
    assert rows == 1
    assert [(e.subject_id, e.actor_name, e.after) for e in journal] == [
        (
            number,
            "clearance",
            {
                "number": rel_number,
                "declaration": number,
                "released_at": "2026-11-22T11:00:00Z",
                "containers": ["MSKU1234565", "TGHU9876542"],
            },
        )
    ]
    assert len(messages) == 1 and messages[0].payload["containers"] == ["MSKU1234565", "TGHU9876542"]
    assert messages[0].payload["verify"] == f"/verify/{token}"
    checked = verdict(rt, token)
    assert checked.verdict == "valid"
    assert checked.release is not None
    assert (checked.release["number"], checked.release["declaration"], checked.release["released_at"]) == (
        rel_number,
        number,
        "2026-11-22T11:00:00Z",
    )


def test_release_numbers_follow_each_other_per_office_and_year(rt: Runtime, world: World) -> None:
    numbers = [issue(rt, lodge(rt, world, f"REL-{i}"))[1] for i in range(3)]
    assert numbers == ["22482026R000000001", "22482026R000000002", "22482026R000000003"]


def test_a_withdrawn_declaration_cannot_be_released_and_nothing_is_written(rt: Runtime, world: World) -> None:
    number = lodge(rt, world)
    with rt.write() as s:
        declaration_service.withdraw(s, number=number, reason="Sent twice.", principal=world.principals["broker"], now=NOW)
    with pytest.raises(Conflict) as caught:
        issue(rt, number)
    assert caught.value.code == "illegal_transition"
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "release.issued")) == 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_an_altered_or_forged_token_verifies_as_forged_and_garbage_as_malformed(rt: Runtime, world: World) -> None:
    number = lodge(rt, world)
    token = issue(rt, number)[2]
    head, body, sig = token.split(".")
    claims = json.loads(_unb64(body))
    # Altered: another declaration number in the same, validly signed, token.
    altered = f"{head}.{_b64(json.dumps({**claims, 'd': '224820261000009999'}, separators=(',', ':')).encode())}.{sig}"
    # Forged: the same claims signed with a key that is not ours.
    forged = Signer(Ed25519PrivateKey.generate()).sign({k: v for k, v in claims.items() if k != "k"})
    # A flipped bit in the signature.
    flipped = bytearray(_unb64(sig))
    flipped[0] ^= 1
    bent = f"{head}.{body}.{_b64(bytes(flipped))}"
    for bad in (altered, forged, bent):
        found = verdict(rt, bad)
        assert (found.verdict, found.release) == ("forged", None), bad
    for junk in ("", "hello", "v1.abc", "v2." + body + "." + sig, f"{head}.{body}.!!!", "v1..", token + "x" * 1000):
        assert verdict(rt, junk).verdict == "malformed", junk
    assert verdict(rt, token).verdict == "valid"


def test_a_token_signed_with_our_key_but_not_on_record_is_unknown(rt: Runtime, world: World) -> None:
    with rt.read() as s:
        token = service.signer(s).sign({"n": "22482026R000000042", "d": "224820261000000042", "t": "2026-11-22T11:00:00Z"})
    assert verdict(rt, token).verdict == "unknown"


READERS = {"broker", "importer", "gate", "officer", "inspector", "supervisor", "admin", "analyst"}
NOT_READERS = {"other", "officer_tianjin", "agency"}


def test_a_release_is_read_by_its_owners_the_gate_and_officials_of_its_office_and_is_404_to_others(rt: Runtime, world: World) -> None:
    number = lodge(rt, world)
    _, rel_number, _ = issue(rt, number)
    seen = set()
    with rt.read() as s:
        for who in sorted(READERS | NOT_READERS):
            try:
                rel, decl = service.get(s, number=rel_number, principal=world.principals[who])
            except NotFound:
                continue
            assert (rel.number, decl.number) == (rel_number, number)
            seen.add(who)
        with pytest.raises(NotFound):
            service.get(s, number="22482026R000000099", principal=world.principals["admin"])
    assert seen == READERS


def test_two_concurrent_issues_of_one_declaration_make_one_release(rt: Runtime, world: World) -> None:
    number = lodge(rt, world)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(issue(rt, number))
        except Exception as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(isinstance(r, tuple) for r in results), results
    assert results[0] == results[1]
    with rt.read() as s:
        assert s.scalar(select(func.count()).select_from(Release)) == 1
        assert s.scalar(select(func.count()).select_from(DeclarationEvent).where(DeclarationEvent.event == "declaration.released")) == 1
