"""Manifests, their kept versions and lines, and the transport references of declarations they are matched with."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import DecimalText, UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class ManifestStatus(enum.StrEnum):
    """Lodged before arrival; arrived once the carrier has reported what was unloaded."""

    lodged = "lodged"
    arrived = "arrived"


class Manifest(Base):
    """A carrier's manifest for one voyage or flight into one port; `payload` is its current version."""

    __tablename__ = "manifest"
    __table_args__ = (Index("ix_manifest_carrier", "carrier_enterprise_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    carrier_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    mode: Mapped[str] = mapped_column(String(10))
    craft: Mapped[str] = mapped_column(String(70))  # the vessel's name or the flight number
    voyage: Mapped[str | None] = mapped_column(String(35))
    port: Mapped[str] = mapped_column(String(5))
    expected_arrival_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ManifestStatus] = mapped_column(Enum(ManifestStatus, native_enum=False, length=10))
    version: Mapped[int] = mapped_column(default=1)
    payload: Mapped[dict[str, Any]]
    arrival: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # the arrival report as confirmed
    arrived_on: Mapped[date | None] = mapped_column(Date, default=None)
    lodged_by: Mapped[str] = mapped_column(String(120))
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ManifestVersion(Base):
    """Every version of a manifest's content, kept for ever, with the amendment's reason."""

    __tablename__ = "manifest_version"
    __table_args__ = (UniqueConstraint("manifest_id", "version"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id"))
    version: Mapped[int]
    payload: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    actor_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ManifestLine(Base):
    """One bill of lading of the current version of a manifest (rewritten when the manifest is amended)."""

    __tablename__ = "manifest_line"
    __table_args__ = (
        UniqueConstraint("manifest_id", "bill_of_lading"),
        Index("ix_manifest_line_bl", "bill_of_lading"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id"))
    line: Mapped[int]
    bill_of_lading: Mapped[str] = mapped_column(String(35))
    containers: Mapped[list[Any]]
    packages: Mapped[int]
    gross_mass_kg: Mapped[Decimal] = mapped_column(DecimalText())
    goods: Mapped[str] = mapped_column(String(255))


class DeclarationTransportRef(Base):
    """A declaration's bill of lading, containers and gross mass, as its current version states them.

    Written when a declaration is assessed (lodging and every amendment), so manifests find the
    declarations of a bill of lading by index instead of reading every declaration's content.
    """

    __tablename__ = "manifest_declaration_ref"
    __table_args__ = (Index("ix_manifest_declaration_ref_bl", "bill_of_lading"),)

    declaration_id: Mapped[int] = mapped_column(_BIGID, ForeignKey("declaration.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(18))
    bill_of_lading: Mapped[str] = mapped_column(String(35))
    containers: Mapped[list[Any]]
    gross_mass_kg: Mapped[Decimal] = mapped_column(DecimalText())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
