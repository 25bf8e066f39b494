"""One settings object, read from SMARTCUSTOMS_* environment variables."""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-secret-change-me-in-production"  # noqa: S105 - refused in production mode


class ConfigurationError(RuntimeError):
    """The settings cannot be used (for example a default secret in production mode)."""


class Settings(BaseSettings):
    """Runtime configuration; law-driven values are dated data, not settings."""

    model_config = SettingsConfigDict(env_prefix="SMARTCUSTOMS_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/smartcustoms.db"
    secret_key: str = DEFAULT_SECRET
    storage_dir: Path = Path("var/files")
    bus_url: str = Field(default="", description="nats://host:port for JetStream; empty = in-process")
    max_document_bytes: int = 20 * 1024 * 1024
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest inspection photo (JPEG/PNG) accepted")
    max_scan_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="largest X-ray scan image (JPEG/PNG) accepted")
    max_json_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="largest request body other than a document upload; larger ones answer 413 unread"
    )
    relay_interval_seconds: float = 0.5
    relay_busy_interval_seconds: float = Field(default=0.25, ge=0, description="pause between relay batches while there is work")
    webhook_timeout_seconds: float = 5.0
    webhook_allow_private_networks: bool = Field(
        default=False, description="let webhooks reach loopback and private addresses (tests, closed networks)"
    )
    webhook_give_up_after_seconds: int = 24 * 3600
    session_hours: int = 12
    request_threads: int = Field(default=8, ge=1, le=200, description="requests a server process works on at once")
    auth_cache_seconds: float = Field(
        default=5.0, ge=0, le=60, description="how long a server remembers a bearer token's user; revocations elsewhere wait this long"
    )
    number_block: int = Field(
        default=20,
        ge=0,
        le=10_000,
        description="PostgreSQL: declaration numbers a process reserves at a time, in a short transaction of its own "
        "(0: each number in its lodging's transaction: no gaps, but concurrent lodgings queue on the counter)",
    )
    sign_in_window_seconds: int = Field(default=900, ge=1, le=86_400, description="the window in which failed sign-ins are counted")
    sign_in_failures_per_name: int = Field(default=5, ge=1, description="failed sign-ins a user name may have in the window before 429")
    sign_in_failures_per_address: int = Field(
        default=20, ge=1, description="failed sign-ins a client address may have in the window before 429"
    )
    signing_key: str = Field(
        default="",
        description="base64 Ed25519 private key (32 bytes) signing release receipts; required in production "
        "(empty in development: one is made once under the storage directory)",
    )
    public_url: str = Field(
        default="",
        max_length=200,
        description="the address people reach this server at (e.g. https://customs.example), for the release receipts' "
        "QR codes; empty: the address of the request that printed the receipt",
    )
    manifest_open_days: int = Field(
        default=14, ge=1, le=3650, description="a manifest line not written off this many days after arrival raises an alert"
    )
    gate_local_path: Path | None = Field(
        default=None, description="the gate's local copy of recent releases (SQLite file); empty: gate-local.db under the storage directory"
    )
    gate_refresh_seconds: float = Field(
        default=30.0, ge=0, description="how often a server refreshes the gate's local copy and reconciles offline checks (0: never)"
    )
    gate_offline_max_age_seconds: float = Field(
        default=900.0, gt=0, description="an offline gate passes nothing when its local copy is older than this"
    )
    metrics_token: str = Field(default="", description="a bearer token that may read /metrics besides admins' tokens (empty: admins only)")
    log_json: bool = False
    duty_waiver_threshold: Decimal = Field(
        default=Decimal("50.00"), ge=0, description="a tax whose total for a declaration is under this (CNY) is waived"
    )
    duty_general_origins: str = Field(
        default="", description="origins (ISO alpha-2, space separated) without MFN treatment: their goods take the general rate"
    )

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.mode == "production" and (why := secret_problem(self.secret_key)):
            raise ConfigurationError(
                f"SMARTCUSTOMS_SECRET_KEY {why} in production mode; generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.mode == "production" and self.metrics_token and (why := secret_problem(self.metrics_token)):
            raise ConfigurationError(f"SMARTCUSTOMS_METRICS_TOKEN {why} in production mode")
        if self.signing_key and (why := signing_key_problem(self.signing_key)):
            raise ConfigurationError(f"SMARTCUSTOMS_SIGNING_KEY {why}")
        if self.mode == "production" and not self.signing_key:
            raise ConfigurationError(
                "SMARTCUSTOMS_SIGNING_KEY is required in production mode (release receipts are signed with it); "
                "generate one with: smartcustoms release new-key"
            )
        return self


def signing_key_problem(text: str) -> str | None:
    """Why a release signing key cannot be used (None when it can): not base64, or not 32 bytes."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except binascii.Error:
        return "is not base64"
    if len(raw) != 32:
        return f"must be 32 bytes (an Ed25519 private key, base64), not {len(raw)}"
    return None


MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12
MIN_SECRET_BITS = 100.0  # by the characters' frequencies: 32 random hex digits give about 120


def secret_problem(secret: str) -> str | None:
    """Why a secret is not fit for production (None when it is): too short, the default, or of too few different characters.

    A random secret of 32 or more characters passes: `secrets.token_urlsafe(32)` (43 characters, about
    230 bits by this estimate) or 32 random hex digits (about 120); 32 times "a", the default secret
    with a space added, or a word repeated do not.
    """
    if secret != secret.strip():
        return "must not begin or end with white space"
    if DEFAULT_SECRET in secret or secret.lower() in DEFAULT_SECRET:
        return "must not be (or contain) the development default"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must have at least {MIN_SECRET_LENGTH} characters"
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    if len(counts) < MIN_SECRET_DISTINCT or bits < MIN_SECRET_BITS:
        return f"looks too regular to be random (at least {MIN_SECRET_DISTINCT} different characters and about {MIN_SECRET_BITS:.0f} bits needed)"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
