"""The message bus: in-process by default, NATS JetStream in production."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

Handler = Callable[[str, dict[str, Any]], None]


class Bus(Protocol):
    """Publishes messages by subject; a message id lets the broker drop duplicates."""

    def publish(self, subject: str, payload: dict[str, Any], *, msg_id: str) -> None:
        """Publish one message; raises if the broker did not take it."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class InProcessBus:
    """Delivers to in-process subscribers and keeps the last messages for inspection."""

    def __init__(self, keep: int = 1000) -> None:
        self.messages: deque[tuple[str, dict[str, Any], str]] = deque(maxlen=keep)
        self._handlers: list[tuple[str, Handler]] = []
        self._seen: deque[str] = deque(maxlen=10000)

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Call `handler` for every message whose subject starts with `prefix`."""
        self._handlers.append((prefix, handler))

    def publish(self, subject: str, payload: dict[str, Any], *, msg_id: str) -> None:
        """Deliver to subscribers, once per message id."""
        if msg_id in self._seen:
            return
        self._seen.append(msg_id)
        self.messages.append((subject, payload, msg_id))
        for prefix, handler in self._handlers:
            if subject.startswith(prefix):
                handler(subject, payload)

    def close(self) -> None:
        """Nothing to release."""


class NatsBus:
    """Publishes to NATS JetStream with a de-duplication id, from synchronous code."""

    def __init__(
        self, url: str, *, stream: str = "SMARTCUSTOMS", subjects: tuple[str, ...] = ("smartcustoms.>",), timeout: float = 5.0
    ) -> None:
        import nats

        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-bus", daemon=True)
        self._thread.start()

        async def connect() -> Any:
            nc = await nats.connect(url, connect_timeout=timeout, max_reconnect_attempts=3)
            js = nc.jetstream()
            try:
                await js.stream_info(stream)
            except Exception:
                await js.add_stream(name=stream, subjects=list(subjects), duplicate_window=120.0)
            return nc, js

        self._nc, self._js = self._run(connect())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout + 1)

    def publish(self, subject: str, payload: dict[str, Any], *, msg_id: str) -> None:
        """Publish and wait for JetStream's acknowledgement."""
        data = json.dumps(payload, separators=(",", ":")).encode()
        self._run(self._js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}, timeout=self.timeout))

    def close(self) -> None:
        """Drain the connection and stop the loop."""
        try:
            self._run(self._nc.drain())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=2)


def make_bus(url: str) -> Bus:
    """The bus for a URL: NATS for nats://, in-process otherwise."""
    return NatsBus(url) if url.startswith(("nats://", "tls://")) else InProcessBus()
