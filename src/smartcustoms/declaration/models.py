"""Declarations, their versions, events, documents, numbering and rejected submissions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import DecimalText, UTCDateTime


class Status(enum.StrEnum):
    """Where a declaration stands in its lifecycle."""

    lodged = "lodged"
    accepted = "accepted"
    rejected = "rejected"
    assessed = "assessed"
    under_review = "under_review"
    under_inspection = "under_inspection"
    duty_assessed = "duty_assessed"
    released = "released"
    held = "held"
    withdrawn = "withdrawn"


class Kind(enum.StrEnum):
    """Direction of the goods."""

    import_ = "import"
    export = "export"


class Procedure(enum.StrEnum):
    """Customs procedure the goods are declared for."""

    general = "general"
    processing_trade = "processing_trade"
    bonded = "bonded"
    transit = "transit"
    ecommerce = "ecommerce"


_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Declaration(Base):
    """A customs declaration; `payload` is its current version."""

    __tablename__ = "declaration"
    __table_args__ = (
        UniqueConstraint("submitter_enterprise_id", "client_reference"),
        Index("ix_declaration_declarant", "declarant_uscc", "lodged_at"),
        Index("ix_declaration_trader", "trader_uscc", "lodged_at"),
        Index("ix_declaration_status", "status", "lodged_at"),
        Index("ix_declaration_trader_enterprise", "trader_enterprise_id", "lodged_at"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    number: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    procedure: Mapped[str] = mapped_column(String(20))
    status: Mapped[Status] = mapped_column(Enum(Status, native_enum=False, length=20))
    client_reference: Mapped[str] = mapped_column(String(64))
    # Who owns the declaration, fixed at lodging and never following the content: the lodging
    # enterprise (the declarant, which alone acts on it) and the importer/exporter (which sees it).
    # None only for rows lodged before 0004 whose importer was not a registered enterprise.
    submitter_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    trader_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), default=None)
    declarant_uscc: Mapped[str] = mapped_column(String(18))
    trader_uscc: Mapped[str] = mapped_column(String(18))
    office: Mapped[str] = mapped_column(String(8))
    port: Mapped[str] = mapped_column(String(5))
    currency: Mapped[str] = mapped_column(String(3))
    total_value: Mapped[Decimal] = mapped_column(DecimalText())
    item_count: Mapped[int]
    arrival_on: Mapped[date | None] = mapped_column(Date)
    advance: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    receipt: Mapped[dict[str, Any]]
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeclarationVersion(Base):
    """Every version of a declaration's content, kept for ever."""

    __tablename__ = "declaration_version"
    __table_args__ = (UniqueConstraint("declaration_id", "version"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    version: Mapped[int]
    payload: Mapped[dict[str, Any]]
    content_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeclarationEvent(Base):
    """Something that happened to a declaration: a transition, an amendment, a document."""

    __tablename__ = "declaration_event"
    __table_args__ = (Index("ix_declaration_event_decl", "declaration_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    event: Mapped[str] = mapped_column(String(60))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int]
    actor_name: Mapped[str] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Document(Base):
    """A file attached to a declaration, stored by its SHA-256 in the electronic archive."""

    __tablename__ = "declaration_document"
    __table_args__ = (Index("ix_declaration_document_decl", "declaration_id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    doc_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NumberCounter(Base):
    """The last sequence number used per office, year and direction."""

    __tablename__ = "declaration_number_counter"

    office: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    flag: Mapped[str] = mapped_column(String(1), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class RejectedSubmission(Base):
    """A submission refused by validation: kept only for statistics, never as a declaration."""

    __tablename__ = "rejected_submission"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    enterprise_id: Mapped[int | None]
    client_reference: Mapped[str | None] = mapped_column(String(64))
    codes: Mapped[list[Any]]
    problem_count: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
