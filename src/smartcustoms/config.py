"""One settings object, read from SMARTCUSTOMS_* environment variables."""

from __future__ import annotations

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
    log_json: bool = False

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.mode == "production" and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise ConfigurationError("SMARTCUSTOMS_SECRET_KEY must be set to a random value of at least 32 characters in production mode")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
