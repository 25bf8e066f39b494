"""Sending signed webhook requests to enterprises' endpoints."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Protocol

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


def _resolve(host: str, port: int | None) -> tuple[list[ipaddress.IPv4Address | ipaddress.IPv6Address], str | None]:
    """The host's addresses, or why there are none."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return [], f"{host} does not resolve ({exc})"
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos], None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global


def public_addresses(host: str, port: int | None = None) -> tuple[list[str], str | None]:
    """Every address of the host and None, or no address and why not: a host that does not
    resolve, or one address of it not on the public internet (loopback, private, link-local,
    carrier-grade NAT, multicast, reserved...)."""
    addresses, error = _resolve(host, port)
    if error:
        return [], error
    for address in addresses:
        if not _is_public(address):
            return [], f"{host} resolves to {address}, which is not a public address"
    unique = list(dict.fromkeys(str(a) for a in addresses))
    return (unique, None) if unique else ([], f"{host} does not resolve")


class HttpSender:
    """The real sender, over HTTP with a timeout.

    Unless `allow_private` (SMARTCUSTOMS_WEBHOOK_ALLOW_PRIVATE_NETWORKS), it posts only to hosts
    that resolve to public addresses, so an enterprise's webhook cannot be pointed at the
    platform's own network (the database, the broker, a cloud metadata service). Redirects are
    never followed.
    """

    def __init__(self, timeout: float = 5.0, *, allow_private: bool = False) -> None:
        # Guarded, requests go to an address rather than a name, and a kept-alive connection would
        # be reused for any other name on that address, its certificate checked for the first name
        # only: no keep-alive then, each push its own connection.
        limits = httpx.Limits() if allow_private else httpx.Limits(max_keepalive_connections=0)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, limits=limits)
        self.allow_private = allow_private

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """Post once; 2xx is success.

        Guarded, the host is resolved once and the request goes to an address that was checked,
        trying each in turn when one cannot be reached, with the host's name in the Host header
        and, over TLS, in SNI and certificate verification: a name that answers a public address
        to the check and a private one to the connection (DNS rebinding) cannot steer it inside.
        """
        target = httpx.URL(url)
        send_headers = {"Content-Type": "application/json", **headers}
        if self.allow_private:
            return self._post(target, body, send_headers, {})
        host = target.raw_host.decode("ascii")  # the IDNA form the URL and the Host header use
        addresses, refused = public_addresses(host, target.port)
        if refused:
            return SendResult(False, None, f"not sent: {refused}")
        send_headers["Host"] = target.netloc.decode("ascii")
        extensions: dict[str, Any] = {"sni_hostname": host} if target.scheme == "https" else {}
        result = SendResult(False, None, f"not sent: {host} does not resolve")
        for address in addresses:
            result = self._post(target.copy_with(host=address), body, send_headers, extensions)
            if result.status is not None or not (result.error or "").startswith(("ConnectError", "ConnectTimeout")):
                break  # reached: an answer, or a failure after connecting
        return result

    def _post(self, target: httpx.URL, body: bytes, headers: dict[str, str], extensions: dict[str, Any]) -> SendResult:
        try:
            r = self._client.post(target, content=body, headers=headers, extensions=extensions)
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
