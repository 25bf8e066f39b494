"""Sending signed webhook requests to enterprises' endpoints."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

import httpx

SIGNATURE_HEADER = "X-SmartCustoms-Signature"
TIMESTAMP_HEADER = "X-SmartCustoms-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over 'timestamp.body', as sent in the signature header ('sha256=<hex>')."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether a received signature header matches (for receivers and tests)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


@dataclass(frozen=True)
class SendResult:
    """What the receiver answered."""

    ok: bool
    status: int | None
    error: str | None


class WebhookSender(Protocol):
    """Posts a signed body to a URL."""

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """Post once; never raises for network or HTTP failures."""
        ...


class HttpSender:
    """The real sender, over HTTP with a timeout."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """Post once; 2xx is success."""
        try:
            r = self._client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        except httpx.HTTPError as exc:
            return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(200 <= r.status_code < 300, r.status_code, None if r.is_success else r.text[:500])

    def close(self) -> None:
        """Close connections."""
        self._client.close()


class RecordingSender:
    """A fake sender that records requests and answers from a script (for tests)."""

    def __init__(self, answers: list[SendResult] | None = None) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []
        self.answers = list(answers or [])

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """Record the request and answer the next scripted result (success when none left)."""
        self.sent.append((url, body, headers))
        return self.answers.pop(0) if self.answers else SendResult(True, 200, None)
