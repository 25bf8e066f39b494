"""A release: the event that lets a declaration's goods go, with a readable number and a signed token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from smartcustoms.kit.db import Base
from smartcustoms.kit.types import UTCDateTime

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Release(Base):
    """The release of one declaration (at most one each); `token` is the signed receipt its QR code carries.

    `number` reads as office (4), year (4), "R", sequence (9), e.g. `22482026R000000001`.
    `actor` is who (or which step of clearance) released it.
    """

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    number: Mapped[str] = mapped_column(String(18), unique=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), unique=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    token: Mapped[str] = mapped_column(String(400), unique=True)
