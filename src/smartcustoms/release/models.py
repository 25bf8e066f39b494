"""A release: the event that lets a declaration's goods go, with a readable number and a signed token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
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


class ReleaseContainer(Base):
    """What a release lets through the gate: one row per container it names (or one for the vehicle when it names none).

    Written with the release; the gate reads it by container (or plate), the newest release first.
    `seals` are the seals declared for the container when it was released. The release's number,
    declaration, office and time are copied here so that a gate decision reads one indexed row.
    """

    __tablename__ = "release_container"
    __table_args__ = (
        Index("ix_release_container_container", "container", "release_id"),
        Index("ix_release_container_plate", "plate", "release_id"),
        Index("ix_release_container_release", "release_number", "id"),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"))
    release_number: Mapped[str] = mapped_column(String(18))
    declaration_number: Mapped[str] = mapped_column(String(18))
    office: Mapped[str] = mapped_column(String(8))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime())
    container: Mapped[str | None] = mapped_column(String(11))
    plate: Mapped[str | None] = mapped_column(String(35))
    seals: Mapped[list[Any]]
