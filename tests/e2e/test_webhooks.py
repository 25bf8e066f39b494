"""Webhooks: register, list, remove; signed pushes, retries with backoff, giving up after a day; a real HTTP receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from smartcustoms.adapters import webhook
from smartcustoms.adapters.bus import InProcessBus
from smartcustoms.adapters.storage import DirectoryStore
from smartcustoms.adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, HttpSender, RecordingSender, SendResult, verify
from smartcustoms.audit.models import AuditEntry
from smartcustoms.config import Settings
from smartcustoms.declaration import service as declaration_service
from smartcustoms.errors import ValidationFailed
from smartcustoms.notification import service as notification_service
from smartcustoms.notification.models import WebhookDelivery, WebhookSubscription
from smartcustoms.runtime import Runtime
from tests.conftest import BROKER, NOW, World, example

API = "/api/v1/webhooks"
DECLARATIONS = "/api/v1/declarations"
HOOK = "https://hooks.broker.example/customs/events"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
BOOM = SendResult(False, 500, "boom")


def _sender(rt: Runtime) -> RecordingSender:
    assert isinstance(rt.sender, RecordingSender)
    return rt.sender


def _register(client: TestClient, world: World, user: str = "broker", url: str = HOOK) -> dict[str, Any]:
    r = client.post(API, json={"url": url}, headers=world.headers(user))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _lodge(client: TestClient, world: World, reference: str = "SHIMP-2026-000123") -> str:
    d = example()
    d["client_reference"] = reference
    r = client.post(DECLARATIONS, json=d, headers=world.headers("broker"))
    assert r.status_code == 202, r.text
    number: str = r.json()["number"]
    return number


def _deliveries(rt: Runtime) -> list[tuple[int, bool, int | None, datetime | None, datetime | None]]:
    with rt.read() as s:
        rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        return [(d.attempts, d.done, d.last_status, d.delivered_at, d.gave_up_at) for d in rows]


def test_registering_a_webhook_answers_201_and_shows_the_secret_once(client: TestClient, world: World, rt: Runtime) -> None:
    body = _register(client, world)
    assert body["url"] == HOOK and body["active"] is True
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    listed = client.get(API, headers=world.headers("broker"))
    assert listed.status_code == 200
    assert listed.json() == [{"id": body["id"], "url": HOOK, "active": True, "created_at": body["created_at"], "secret": None}]
    assert body["secret"] not in listed.text
    with rt.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.registered")).one()
    assert (entry.actor_name, entry.subject_id, entry.after) == ("broker", str(body["id"]), {"url": HOOK, "enterprise": BROKER})
    assert body["secret"] not in json.dumps(entry.after)


def test_webhooks_are_listed_per_enterprise(client: TestClient, world: World) -> None:
    mine = _register(client, world, "broker")
    theirs = _register(client, world, "importer", "https://importer.example/hook")
    assert [w["id"] for w in client.get(API, headers=world.headers("broker")).json()] == [mine["id"]]
    assert [w["id"] for w in client.get(API, headers=world.headers("importer")).json()] == [theirs["id"]]
    assert client.get(API, headers=world.headers("other")).json() == []


def test_only_enterprise_users_have_webhooks_and_a_bad_url_is_refused(client: TestClient, world: World) -> None:
    assert client.post(API, json={"url": HOOK}, headers=world.headers("officer")).status_code == 403
    assert client.get(API, headers=world.headers("admin")).status_code == 403
    r = client.post(API, json={"url": "not a url"}, headers=world.headers("broker"))
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/url"
    assert client.post(API, json={"url": HOOK}).status_code == 401
    assert client.get(API, headers=world.headers("broker")).json() == []


def test_deleting_a_webhook_answers_204_and_it_is_no_longer_listed(client: TestClient, world: World, rt: Runtime) -> None:
    hook = _register(client, world)
    r = client.delete(f"{API}/{hook['id']}", headers=world.headers("broker"))
    assert r.status_code == 204 and r.content == b""
    assert client.get(API, headers=world.headers("broker")).json() == []
    again = client.delete(f"{API}/{hook['id']}", headers=world.headers("broker"))
    assert again.status_code == 404
    with rt.read() as s:
        assert [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "webhook").order_by(AuditEntry.id))] == [
            "webhook.registered",
            "webhook.removed",
        ]


def test_deleting_another_enterprises_webhook_answers_404_and_changes_nothing(client: TestClient, world: World, rt: Runtime) -> None:
    hook = _register(client, world, "broker")
    for user in ("importer", "other"):
        r = client.delete(f"{API}/{hook['id']}", headers=world.headers(user))
        assert r.status_code == 404 and r.json()["detail"] == f"No webhook {hook['id']}."
    missing = client.delete(f"{API}/999999", headers=world.headers("importer"))
    assert missing.status_code == 404
    assert [w["id"] for w in client.get(API, headers=world.headers("broker")).json()] == [hook["id"]]
    with rt.read() as s:
        assert s.get(WebhookSubscription, hook["id"]).active is True  # type: ignore[union-attr]
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "webhook.removed")).all() == []


def test_status_events_are_pushed_signed_with_the_secret(client: TestClient, world: World, rt: Runtime) -> None:
    hook = _register(client, world)
    number = _lodge(client, world)
    assert rt.pump(T0) == (5, 5)
    sent = _sender(rt).sent
    assert [url for url, _, _ in sent] == [HOOK] * 5
    bodies = []
    for _, body, headers in sent:
        ts = int(headers[TIMESTAMP_HEADER])
        assert ts == int(T0.timestamp())
        assert verify(hook["secret"], ts, body, headers[SIGNATURE_HEADER])
        assert not verify(hook["secret"], ts + 1, body, headers[SIGNATURE_HEADER])
        assert not verify("whsec_wrong", ts, body, headers[SIGNATURE_HEADER])
        assert headers[SIGNATURE_HEADER].startswith("sha256=")
        bodies.append(json.loads(body))
        assert headers["X-SmartCustoms-Event"] == bodies[-1]["event"]
    release = bodies[-1]["number"]  # the release event carries the release's number
    assert release.startswith("22482026R")
    assert [(b["number"], b["event"], b["status"]) for b in bodies] == [
        (number, "declaration.lodged", "lodged"),
        (number, "declaration.accepted", "accepted"),
        (number, "declaration.assessed", "assessed"),
        (number, "declaration.released", "released"),  # green: released in the lodging request
        (release, "release.issued", "released"),
    ]
    assert bodies[1]["data"]["enterprises"] == bodies[2]["data"]["enterprises"] == sorted([BROKER, "91120116MA05JB6G5T"])
    assert [(a, done, st, at) for a, done, st, at, _ in _deliveries(rt)] == [(1, True, 200, T0)] * 5
    assert rt.pump(T0 + timedelta(hours=1)) == (0, 0) and len(sent) == 5


def test_only_the_enterprises_of_the_declaration_get_pushes_and_removed_hooks_get_none(
    client: TestClient, world: World, rt: Runtime
) -> None:
    _register(client, world, "other", "https://other.example/hook")
    removed = _register(client, world, "importer", "https://importer.example/hook")
    client.delete(f"{API}/{removed['id']}", headers=world.headers("importer"))
    _lodge(client, world)
    assert rt.pump(T0) == (5, 0)  # lodged, accepted, assessed, released, release issued relayed; nobody to push them to
    assert _sender(rt).sent == []


def test_a_failing_endpoint_is_retried_with_backoff_until_it_succeeds(client: TestClient, world: World, rt: Runtime) -> None:
    _register(client, world)
    _lodge(client, world)
    sender = _sender(rt)
    # the first two rounds of the five pushes (lodged, accepted, assessed, released, release issued) fail
    sender.answers = [BOOM] * 10
    assert rt.pump(T0) == (5, 5)
    assert [(a, done, st) for a, done, st, _, _ in _deliveries(rt)] == [(1, False, 500)] * 5
    assert rt.pump(T0 + timedelta(seconds=9)) == (0, 0)  # first backoff is 10 s
    assert len(sender.sent) == 5
    assert rt.pump(T0 + timedelta(seconds=10)) == (0, 5)
    assert len(sender.sent) == 10
    assert rt.pump(T0 + timedelta(seconds=29)) == (0, 0)  # then 20 s
    assert rt.pump(T0 + timedelta(seconds=30)) == (0, 5)  # the endpoint has recovered
    assert len(sender.sent) == 15 and sender.answers == []
    done_at = T0 + timedelta(seconds=30)
    assert _deliveries(rt) == [(3, True, 200, done_at, None)] * 5
    assert rt.pump(T0 + timedelta(hours=2)) == (0, 0) and len(sender.sent) == 15
    # every retry carries the same body, signed again with its own timestamp
    assert sender.sent[0][1] == sender.sent[5][1] == sender.sent[10][1]
    assert len({body for _, body, _ in sender.sent[:5]}) == 5
    assert [h[TIMESTAMP_HEADER] for _, _, h in sender.sent[::5]] == [
        str(int(t.timestamp())) for t in (T0, T0 + timedelta(seconds=10), done_at)
    ]


def test_backoff_doubles_from_ten_seconds_and_is_capped_at_an_hour() -> None:
    assert [notification_service.backoff(n).total_seconds() for n in (1, 2, 3, 4, 9, 10, 50)] == [10, 20, 40, 80, 2560, 3600, 3600]


def test_delivery_gives_up_after_a_day_and_writes_a_journal_entry(client: TestClient, world: World, rt: Runtime) -> None:
    hook = _register(client, world)
    _lodge(client, world)
    sender = _sender(rt)
    sender.answers = [BOOM] * 20
    day = timedelta(seconds=rt.settings.webhook_give_up_after_seconds)
    assert day == timedelta(days=1)
    rt.pump(T0)
    almost = T0 + day - timedelta(seconds=1)
    assert rt.pump(almost) == (0, 5)  # still trying just before the day is over
    assert [(a, done, gave_up) for a, done, _, _, gave_up in _deliveries(rt)] == [(2, False, None)] * 5
    with rt.read() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.gave_up")).all() == []
    last = almost + timedelta(seconds=20)
    assert rt.pump(last) == (0, 5)
    assert _deliveries(rt) == [(3, True, 500, None, last)] * 5
    with rt.read() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.gave_up").order_by(AuditEntry.id)).all()
        delivery_ids = s.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()
    assert len(delivery_ids) == 5
    assert [(e.actor_name, e.role, e.subject_type, e.subject_id, e.at, e.after) for e in entries] == [
        ("webhook", "system", "webhook", str(hook["id"]), last, {"delivery": i, "attempts": 3, "last_error": "boom"}) for i in delivery_ids
    ]
    sent = len(sender.sent)
    assert rt.pump(last + timedelta(days=1)) == (0, 0) and len(sender.sent) == sent


def test_a_failing_webhook_never_blocks_lodging(client: TestClient, world: World, rt: Runtime) -> None:
    _register(client, world)
    sender = _sender(rt)
    sender.answers = [BOOM] * 20
    first = _lodge(client, world, "REF-1")
    rt.pump(T0)
    second = _lodge(client, world, "REF-2")
    rt.pump(T0 + timedelta(seconds=10))
    third = _lodge(client, world, "REF-3")
    # first: 5 pushes at T0 and 5 retries at T0 + 10 s; second: 5 pushes at T0 + 10 s; all failed
    assert len(sender.sent) == 15 and len(sender.answers) == 5, [
        (json.loads(b)["event"], json.loads(b)["number"], h["X-SmartCustoms-Timestamp"]) for _, b, h in sender.sent
    ]
    page = client.get(DECLARATIONS, headers=world.headers("broker")).json()
    assert [(d["number"], d["status"]) for d in page["items"]] == [(third, "released"), (second, "released"), (first, "released")]
    feed = client.get("/api/v1/notifications", headers=world.headers("broker")).json()
    releases = [n["number"] for n in feed["items"] if n["event"] == "release.issued"]
    assert len(releases) == 2 and all(r.startswith("22482026R") for r in releases)
    assert [(n["number"], n["event"]) for n in feed["items"]] == [
        (first, "declaration.lodged"),
        (first, "declaration.accepted"),
        (first, "declaration.assessed"),
        (first, "declaration.released"),
        (releases[0], "release.issued"),
        (second, "declaration.lodged"),
        (second, "declaration.accepted"),
        (second, "declaration.assessed"),
        (second, "declaration.released"),
        (releases[1], "release.issued"),
    ]


# --- a real HTTP receiver ---------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen = dict(self.headers.items())
        seen["X-Test-Peer-Port"] = str(self.client_address[1])  # which connection it came on
        type(self).received.append((self.path, seen, body))
        status = 500 if self.path.endswith("/broken") else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    """A tiny HTTP server on 127.0.0.1 recording every POST; yields its base URL and the records."""
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def http_rt(db_url: str, tmp_path: Path, world: World) -> Iterator[Runtime]:
    """A runtime like `rt` on the same database, but pushing webhooks with the real HttpSender."""
    sender = HttpSender(timeout=5.0, allow_private=True)  # the receiver is on 127.0.0.1
    runtime = Runtime(
        Settings(database_url=db_url, storage_dir=tmp_path / "files", max_document_bytes=64 * 1024),
        bus=InProcessBus(),
        sender=sender,
        store=DirectoryStore(tmp_path / "files"),
    )
    yield runtime
    runtime.stop()
    sender.close()


@pytest.mark.slow
def test_a_real_signed_post_arrives_at_a_real_http_receiver(
    http_rt: Runtime, world: World, receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]]
) -> None:
    base, received = receiver
    with http_rt.write() as s:
        sub = notification_service.register_webhook(
            s, url=f"{base}/hooks/customs", principal=world.principals["broker"], now=NOW, allow_private=True
        )
        secret = sub.secret
    with http_rt.write() as s:
        receipt, _ = declaration_service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    assert http_rt.pump(T0) == (2, 2)
    assert [path for path, _, _ in received] == ["/hooks/customs", "/hooks/customs"]
    events = []
    for _, headers, body in received:
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower["content-type"] == "application/json"
        ts = int(lower[TIMESTAMP_HEADER.lower()])
        assert ts == int(T0.timestamp())
        assert verify(secret, ts, body, lower[SIGNATURE_HEADER.lower()])
        events.append(json.loads(body))
    assert [(e["number"], e["event"], e["status"]) for e in events] == [
        (receipt["number"], "declaration.lodged", "lodged"),
        (receipt["number"], "declaration.accepted", "accepted"),
    ]
    assert _deliveries(http_rt) == [(1, True, 204, T0, None), (1, True, 204, T0, None)]


@pytest.mark.slow
def test_a_real_receiver_answering_500_is_retried_later(
    http_rt: Runtime, world: World, receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]]
) -> None:
    base, received = receiver
    with http_rt.write() as s:
        notification_service.register_webhook(s, url=f"{base}/broken", principal=world.principals["broker"], now=NOW, allow_private=True)
    with http_rt.write() as s:
        declaration_service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    http_rt.pump(T0)
    assert len(received) == 2
    assert [(a, done, st) for a, done, st, _, _ in _deliveries(http_rt)] == [(1, False, 500), (1, False, 500)]
    assert http_rt.pump(T0 + timedelta(seconds=10)) == (0, 2) and len(received) == 4


@pytest.mark.slow
def test_an_unreachable_endpoint_is_recorded_as_a_failure_not_an_exception(http_rt: Runtime, world: World) -> None:
    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with http_rt.write() as s:
        notification_service.register_webhook(
            s, url=f"http://127.0.0.1:{port}/gone", principal=world.principals["broker"], now=NOW, allow_private=True
        )
    with http_rt.write() as s:
        declaration_service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    assert http_rt.pump(T0) == (2, 2)
    with http_rt.read() as s:
        rows = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [(d.attempts, d.done, d.last_status) for d in rows] == [(1, False, None), (1, False, None)]
        assert all(d.last_error and d.last_error.startswith("ConnectError") for d in rows)


class _SlowReceiver:
    """A sender whose receiver takes its time; while it waits, another writer must get through."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.writes_during_send: list[str] = []

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        # A lodging or any other write while the webhook is in flight: on SQLite this needs the
        # single write lock, so it would wait (and here fail fast) if the relay held a transaction.
        engine = self.rt.engine
        delivery = int(headers["X-SmartCustoms-Delivery"])
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA busy_timeout=200")
                conn.execute(
                    WebhookSubscription.__table__.update().where(WebhookSubscription.id == -1).values(active=False)  # type: ignore[attr-defined]
                )
            else:  # PostgreSQL: the delivery's row must not be locked by a transaction still open in the relay
                conn.execute(text("SELECT id FROM webhook_delivery WHERE id = :id FOR UPDATE NOWAIT"), {"id": delivery})
            conn.commit()
        self.writes_during_send.append(headers["X-SmartCustoms-Delivery"])
        return SendResult(True, 200, None)


def test_webhooks_are_sent_outside_any_transaction_so_a_slow_receiver_never_holds_up_writes(
    client: TestClient, world: World, rt: Runtime
) -> None:
    _register(client, world)
    _lodge(client, world)
    slow = _SlowReceiver(rt)
    rt.sender = slow
    assert rt.pump(T0) == (5, 5)
    assert len(slow.writes_during_send) == 5
    assert [d[:3] for d in _deliveries(rt)] == [(1, True, 200)] * 5


def test_a_relay_that_dies_after_claiming_deliveries_leaves_them_to_be_tried_when_the_claim_lapses(
    client: TestClient, world: World, rt: Runtime
) -> None:
    _register(client, world)
    _lodge(client, world)
    with rt.write() as s:
        notification_service.relay_once(s, bus=rt.bus, now=T0)
    with rt.write() as s:
        claimed = notification_service.claim_due(s, now=T0)
    assert len(claimed) == 5
    # ... and the process is killed here, before sending or settling anything.
    assert rt.pump(T0 + timedelta(seconds=30)) == (0, 0)  # claimed: no second relay sends them meanwhile
    assert _sender(rt).sent == []
    lapsed = T0 + notification_service.CLAIM_LEASE
    assert rt.pump(lapsed) == (0, 5)
    assert len(_sender(rt).sent) == 5 and [d[:2] for d in _deliveries(rt)] == [(1, True)] * 5


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost:4222/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8000/hook",
        "https://192.168.0.10/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_a_webhook_to_a_local_or_private_address_is_refused_and_nothing_is_stored(
    client: TestClient, world: World, rt: Runtime, url: str
) -> None:
    r = client.post(API, json={"url": url}, headers=world.headers("broker"))
    assert r.status_code == 422, r.text
    assert [(e["code"], e["pointer"]) for e in r.json()["errors"]] == [("NOT-WHK-001", "/url")]
    assert client.get(API, headers=world.headers("broker")).json() == []
    with rt.read() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.registered")).all() == []


def test_in_production_a_webhook_must_use_https(world: World, rt: Runtime) -> None:
    with rt.write() as s, pytest.raises(ValidationFailed) as refused:
        notification_service.register_webhook(
            s, url="http://hooks.broker.example/x", principal=world.principals["broker"], now=NOW, require_https=True
        )
    assert [p.code for p in refused.value.problems] == ["NOT-WHK-002"]
    with rt.write() as s:
        notification_service.register_webhook(s, url=HOOK, principal=world.principals["broker"], now=NOW, require_https=True)


def test_the_real_sender_does_not_post_to_a_private_address_even_when_a_name_resolves_to_one(receiver: Any) -> None:
    base, received = receiver
    guarded = HttpSender(timeout=5.0)
    # "localhost" and 127.0.0.1 both lead to the receiver; neither gets the request.
    for url in (f"{base}/hooks/customs", base.replace("127.0.0.1", "localhost") + "/hooks/customs"):
        result = guarded.send(url, b"{}", {})
        assert not result.ok and result.status is None
        assert result.error is not None and result.error.startswith("not sent:") and "not a public address" in result.error
    assert received == []
    open_sender = HttpSender(timeout=5.0, allow_private=True)
    assert open_sender.send(f"{base}/hooks/customs", b"{}", {}).ok
    assert len(received) == 1


def test_two_relays_at_once_never_claim_the_same_delivery(client: TestClient, world: World, rt: Runtime) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writing transactions take turns: two relays cannot claim at once")
    _register(client, world)
    _lodge(client, world)
    with rt.write() as s:
        notification_service.relay_once(s, bus=rt.bus, now=T0)
    with rt.write() as first:
        assert len(notification_service.claim_due(first, now=T0)) == 5
        # A second server process's relay, while the first has not yet committed its claim.
        with rt.write() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # fail, not hang, if it waits
            assert notification_service.claim_due(second, now=T0) == []
    with rt.write() as later:
        assert notification_service.claim_due(later, now=T0) == []  # claimed: due again when the lease lapses


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str], list[str] | None], *, public: set[str]) -> None:
    """Names resolve to the addresses `answer` gives (None: the real resolver); `public` counts as public."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        addresses = answer(host) if isinstance(host, str) else None
        if addresses is None:
            return real(host, *args, **kwargs)
        return [info for address in addresses for info in real(address, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(webhook, "_is_public", lambda address: str(address) in public)


def test_the_real_sender_posts_to_the_address_it_checked_so_dns_rebinding_cannot_steer_it_inside(
    receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to a public address for the check, then to a private one (DNS rebinding)."""
    base, received = receiver
    port = int(base.rsplit(":", 1)[1])
    answers = ["127.0.0.1", "10.255.255.1"]  # the first is taken as public below; the second is the attack
    lookups: list[str] = []

    def rebinding(host: str) -> list[str] | None:
        if host != "hooks.rebind.test":
            return None
        lookups.append(answers[min(len(lookups), 1)])
        return [lookups[-1]]

    _fake_dns(monkeypatch, rebinding, public={"127.0.0.1"})
    result = HttpSender(timeout=2.0).send(f"http://hooks.rebind.test:{port}/hooks/customs", b"{}", {"X-Test": "1"})
    assert result.ok, result
    assert lookups == ["127.0.0.1"]  # resolved once: the connection used the checked address
    assert len(received) == 1
    path, headers, _ = received[0]
    assert path == "/hooks/customs" and headers["Host"] == f"hooks.rebind.test:{port}"


def test_the_guarded_sender_tries_each_checked_address_and_never_shares_a_connection_between_names(
    receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, received = receiver
    port = int(base.rsplit(":", 1)[1])
    # For both names the first address refuses connections (nothing listens on 127.0.0.2); the second is the receiver.
    _fake_dns(
        monkeypatch,
        lambda host: ["127.0.0.2", "127.0.0.1"] if host in ("a.hooks.test", "b.hooks.test") else None,
        public={"127.0.0.1", "127.0.0.2"},
    )
    sender = HttpSender(timeout=2.0)
    try:
        for name in ("a.hooks.test", "b.hooks.test", "a.hooks.test"):
            result = sender.send(f"http://{name}:{port}/hooks/customs", b"{}", {})
            assert result.ok, result
    finally:
        sender.close()
    assert [h["Host"] for _, h, _ in received] == [f"{n}:{port}" for n in ("a.hooks.test", "b.hooks.test", "a.hooks.test")]
    assert len({h["X-Test-Peer-Port"] for _, h, _ in received}) == 3  # three connections: none reused for another name
