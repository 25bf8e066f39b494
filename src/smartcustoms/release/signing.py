"""Ed25519 signing of release tokens: the key (from the settings, or made once under the storage directory in development).

A token is `v1.<payload>.<signature>`, both parts base64url without padding: the payload is compact
JSON (`n` release number, `d` declaration number, `t` release time, `k` the key's id) and the
signature covers `v1.<payload>`. Anyone holding the public key (GET /api/v1/releases/signing-key)
can check a token offline; GET /verify/{token} also checks it against the register.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smartcustoms.config import ConfigurationError, Settings

VERSION = "v1"
KEY_FILE = "release-signing.key"  # under the storage directory, development only
# Where a session finds the process's signer (`Session.info`, set by the runtime).
SIGNER = "smartcustoms.release_signer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """The private key from its base64 text (the 32 raw bytes, standard or URL-safe alphabet); ValueError if it is not one."""
    try:
        raw = base64.b64decode(text.strip().replace("-", "+").replace("_", "/") + "=" * (-len(text.strip()) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("the signing key is not base64") from exc
    if len(raw) != 32:
        raise ValueError(f"the signing key must be 32 bytes (an Ed25519 private key), not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def new_key_text() -> str:
    """A new private key as base64 text (what SMARTCUSTOMS_SIGNING_KEY takes)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


class Verdict(enum.StrEnum):
    """What checking a token found."""

    valid = "valid"  # signed by this platform's key (the register may still say it is unknown)
    forged = "forged"  # well formed, but the signature does not match its content: altered or made by someone else
    malformed = "malformed"  # not a release token at all


@dataclass(frozen=True)
class Checked:
    """A token's verdict and, when its signature holds, its content."""

    verdict: Verdict
    claims: dict[str, Any] | None = None


class Signer:
    """Signs and checks release tokens with one Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = key.public_key()
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def public_pem(self) -> str:
        """The public key in PEM (SubjectPublicKeyInfo)."""
        return self.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def public_raw(self) -> str:
        """The 32 raw public-key bytes, base64."""
        return base64.b64encode(self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")

    def sign(self, claims: dict[str, Any]) -> str:
        """A token carrying the claims (and this key's id)."""
        body = json.dumps({**claims, "k": self.key_id}, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
        head = f"{VERSION}.{_b64(body)}"
        return f"{head}.{_b64(self._key.sign(head.encode('ascii')))}"

    def check(self, token: str) -> Checked:
        """Whether the token is one of ours, unaltered."""
        return check_with(self.public, token)


def check_with(public: Ed25519PublicKey, token: str) -> Checked:
    """Check a token against a public key: malformed, forged (signature does not hold), or valid with its claims."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or len(token) > 1000:
        return Checked(Verdict.malformed)
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
    except (ValueError, binascii.Error):
        return Checked(Verdict.malformed)
    try:
        public.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        return Checked(Verdict.forged)
    try:
        claims = json.loads(body)
    except ValueError:
        return Checked(Verdict.malformed)  # signed by us but not our shape: cannot happen with our own tokens
    if not isinstance(claims, dict):
        return Checked(Verdict.malformed)
    return Checked(Verdict.valid, claims)


class LazySigner:
    """The process's signer, its key read (or, in development, made) on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._signer: Signer | None = None

    def get(self) -> Signer:
        """The signer, loading its key the first time."""
        with self._lock:
            if self._signer is None:
                self._signer = Signer(load_key(self._settings))
            return self._signer


def load_key(settings: Settings) -> Ed25519PrivateKey:
    """The signing key: SMARTCUSTOMS_SIGNING_KEY; in development without one, the key file under the storage directory (made once)."""
    if settings.signing_key:
        try:
            return private_key_from_text(settings.signing_key)
        except ValueError as exc:
            raise ConfigurationError(f"SMARTCUSTOMS_SIGNING_KEY: {exc}") from exc
    if settings.mode == "production":
        raise ConfigurationError("SMARTCUSTOMS_SIGNING_KEY is required in production mode (release receipts are signed with it)")
    return _development_key(Path(settings.storage_dir) / KEY_FILE)


def _development_key(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, perhaps by another process just now
    else:
        with os.fdopen(fd, "w") as f:
            f.write(new_key_text() + "\n")
    for _ in range(50):  # another process may be writing it this instant
        text = path.read_text().strip()
        if text:
            return private_key_from_text(text)
        threading.Event().wait(0.02)
    raise ConfigurationError(f"the development signing key file {path} is empty")
