"""The model registry: every trained model version with its data range, metrics, features and artefact."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Enum, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime


class ModelRole(enum.StrEnum):
    """What a model version does: registered (idle), champion (decides), challenger (scores in shadow), retired."""

    registered = "registered"
    champion = "champion"
    challenger = "challenger"
    retired = "retired"


class RiskModel(Base):
    """One version of a named model.

    `artefact` is LightGBM's own text format (`Booster.model_to_string()`), zlib-compressed: no
    pickle, so loading a model never runs code.
    """

    __tablename__ = "risk_model"
    __table_args__ = (UniqueConstraint("name", "version"), Index("ix_risk_model_role", "role", "procedure"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # "fraud"
    procedure: Mapped[str] = mapped_column(String(20))  # a procedure, or "*" for all
    role: Mapped[ModelRole] = mapped_column(Enum(ModelRole, native_enum=False, length=12))
    train_from: Mapped[date] = mapped_column(Date)
    train_until: Mapped[date] = mapped_column(Date)  # exclusive
    rows: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]]
    features: Mapped[dict[str, Any]]
    score_histogram: Mapped[dict[str, Any]]
    artefact: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
