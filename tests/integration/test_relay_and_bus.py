"""The outbox relay: every committed change is published once, in order, to the bus (in-process and NATS)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import pytest
from sqlalchemy import select, text

from smartcustoms.adapters.bus import InProcessBus, NatsBus
from smartcustoms.declaration import service
from smartcustoms.kit.outbox import OutboxMessage
from smartcustoms.notification.models import Notification
from smartcustoms.notification.service import relay_once
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, World, example

NATS_URL = os.environ.get("SMARTCUSTOMS_TEST_NATS_URL", "")


def test_the_relay_publishes_each_outbox_message_once_and_marks_it(rt: Runtime, world: World) -> None:
    with rt.write() as s:
        receipt, _ = service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    bus = rt.bus
    assert isinstance(bus, InProcessBus)
    assert rt.pump(NOW) == (2, 0)
    assert rt.pump(NOW) == (0, 0)
    assert [(subj, p["event"], p["number"]) for subj, p, _ in bus.messages] == [
        ("smartcustoms.declaration.status", "declaration.lodged", receipt["number"]),
        ("smartcustoms.declaration.status", "declaration.accepted", receipt["number"]),
    ]
    with rt.read() as s:
        assert all(m.published_at is not None for m in s.query(OutboxMessage))


def test_a_change_that_rolls_back_leaves_nothing_to_relay(rt: Runtime, world: World) -> None:
    with pytest.raises(RuntimeError), rt.write() as s:
        service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
        raise RuntimeError("crash before commit")
    assert rt.pump(NOW) == (0, 0)


def test_a_failed_publish_leaves_the_message_pending_for_the_next_round(rt: Runtime, world: World) -> None:
    class Down(InProcessBus):
        def publish(self, subject: str, payload: dict[str, object], *, msg_id: str) -> None:
            raise ConnectionError("broker down")

    with rt.write() as s:
        service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    with pytest.raises(ConnectionError), rt.write() as s:
        relay_once(s, bus=Down(), now=NOW)
    assert rt.pump(NOW)[0] == 2


@pytest.mark.nats
@pytest.mark.skipif(not NATS_URL, reason="SMARTCUSTOMS_TEST_NATS_URL not set")
def test_nats_jetstream_receives_relayed_messages_and_drops_duplicates() -> None:
    import nats

    stream = f"SCTEST{uuid.uuid4().hex[:8].upper()}"
    subject = f"sctest.{stream.lower()}"
    bus = NatsBus(NATS_URL, stream=stream, subjects=(f"{subject}.>",))
    try:
        bus.publish(f"{subject}.declaration.status", {"number": "1", "event": "declaration.lodged"}, msg_id="outbox-1")
        bus.publish(f"{subject}.declaration.status", {"number": "1", "event": "declaration.lodged"}, msg_id="outbox-1")
        bus.publish(f"{subject}.declaration.status", {"number": "1", "event": "declaration.accepted"}, msg_id="outbox-2")

        async def read() -> list[dict[str, str]]:
            nc = await nats.connect(NATS_URL)
            js = nc.jetstream()
            sub = await js.pull_subscribe(f"{subject}.>", durable=None, stream=stream)
            msgs = await sub.fetch(10, timeout=2)
            out = [json.loads(m.data) for m in msgs]
            await js.delete_stream(stream)
            await nc.close()
            return out

        got = asyncio.run(read())
    finally:
        bus.close()
    assert [m["event"] for m in got] == ["declaration.lodged", "declaration.accepted"]


def test_two_relays_at_once_publish_each_message_once_and_in_order(rt: Runtime, world: World) -> None:
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writing transactions take turns: two relays cannot work at once")
    with rt.write() as s:
        receipt, _ = service.lodge(s, raw=example(), principal=world.principals["broker"], now=NOW)
    first_bus, second_bus = InProcessBus(), InProcessBus()
    with rt.write() as first:
        assert relay_once(first, bus=first_bus, now=NOW) == 2
        # Another server process's relay, while the first has not committed: it skips its turn
        # instead of publishing the same messages again.
        with rt.write() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # fail, not hang, if it waits
            assert relay_once(second, bus=second_bus, now=NOW) == 0
    with rt.write() as s:
        assert relay_once(s, bus=second_bus, now=NOW) == 0  # nothing left: published once
    assert [p["number"] for _, p, _ in first_bus.messages] == [receipt["number"]] * 2
    assert not second_bus.messages
    with rt.read() as s:
        notes = [tuple(r) for r in s.execute(select(Notification.outbox_id, Notification.enterprise_uscc).order_by(Notification.id))]
    assert notes and len(notes) == len(set(notes))  # each message once per enterprise
    assert [o for o, _ in notes] == sorted(o for o, _ in notes)  # in the outbox's order
