"""Duty assessments (one per declaration version assessed), each declaration's duty account, payments and guarantees.

Amounts the database adds and compares (balances, amounts due and paid) are whole fen in BIGINT
columns, so a guarantee is debited by one conditional UPDATE on both databases.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class DutyStatus(enum.StrEnum):
    """Whether a declaration's duties are settled."""

    unpaid = "unpaid"
    guaranteed = "guaranteed"
    paid = "paid"


class DutyAssessment(Base):
    """The duties of one version of a declaration; `difference_fen` against the assessment before (recovered > 0, refund < 0).

    `source`: `lodging` (the first), `amendment` (a new version), `inspection` (the version as the
    inspection found the goods: revision 1, 2, ... of the same version).
    """

    __tablename__ = "duty_assessment"
    __table_args__ = (UniqueConstraint("declaration_id", "version", "revision"), Index("ix_duty_assessment_at", "assessed_at"))

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    version: Mapped[int]
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source: Mapped[str] = mapped_column(String(16), default="lodging", server_default="lodging")
    office: Mapped[str] = mapped_column(String(8))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    difference_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[dict[str, Any]]  # items (with chapter and origin), totals, waived: the duties body without status
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DutyAccount(Base):
    """A declaration's duties now: due, paid, secured by a guarantee; the status the duties body shows."""

    __tablename__ = "duty_account"

    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), primary_key=True)
    status: Mapped[DutyStatus] = mapped_column(Enum(DutyStatus, native_enum=False, length=10))
    due_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    guaranteed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    guarantee_id: Mapped[int | None] = mapped_column(ForeignKey("guarantee.id"), default=None)  # the last debited (all: GuaranteeDebit)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Guarantee(Base):
    """An enterprise's guarantee (bond): releases against it debit the balance, payments restore it; never below zero."""

    __tablename__ = "guarantee"
    __table_args__ = (Index("ix_guarantee_uscc", "uscc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    expires_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GuaranteeDebit(Base):
    """One amount of a declaration's duties secured against a guarantee; restored to that guarantee exactly once.

    A reassessment that raises secured duties secures the extra as another debit (perhaps of
    another guarantee); the payment of the duties, or the declaration's rejection or withdrawal,
    gives each debit back to its own guarantee (`restored_at`, `restored_by`: paid | rejected | withdrawn).
    """

    __tablename__ = "guarantee_debit"
    __table_args__ = (Index("ix_guarantee_debit_decl", "declaration_id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    guarantee_id: Mapped[int] = mapped_column(ForeignKey("guarantee.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    debited_at: Mapped[datetime] = mapped_column(UTCDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    restored_by: Mapped[str | None] = mapped_column(String(16), default=None)


class Payment(Base):
    """A payment a bank confirmed; its reference is unique (the bank's), so a repeat changes nothing."""

    __tablename__ = "duty_payment"
    __table_args__ = (Index("ix_duty_payment_decl", "declaration_id"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bank: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
