"""What the release API answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReleaseRead(BaseModel):
    """A release: its number, the declaration it released, when, where, which containers, and its receipt's check address."""

    number: str = Field(examples=["22482026R000000001"])
    declaration: str = Field(examples=["224820261000000001"])
    released_at: str = Field(examples=["2026-11-22T11:00:00Z"])
    office: str
    port: str
    containers: list[str]
    verify: str = Field(description="path of the public check of this release's signed token (GET, no sign-in)")
    token: str = Field(description="the signed token the receipt's QR code carries (Ed25519; see /api/v1/releases/signing-key)")


class SigningKeyRead(BaseModel):
    """The public key release tokens are checked with."""

    algorithm: str = Field(examples=["Ed25519"])
    key_id: str = Field(description="the first 16 hex digits of the SHA-256 of the raw public key; tokens carry it as `k`")
    public_key: str = Field(description="the 32 raw public-key bytes, base64")
    pem: str = Field(description="the same key as PEM (SubjectPublicKeyInfo)")
    token_format: str = Field(
        default="v1.<base64url(JSON claims n, d, t, k)>.<base64url(Ed25519 signature of 'v1.<claims part>')>",
    )


class VerificationRead(BaseModel):
    """A valid token's check: what was released."""

    valid: bool
    verdict: str = Field(examples=["valid"])
    release: ReleaseRead
