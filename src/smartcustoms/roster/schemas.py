"""Pydantic bodies of the roster API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from smartcustoms.auth.models import Role
from smartcustoms.roster.models import Duty


class OfficerRead(BaseModel):
    """An officer, inspector or image analyst: office, qualifications, cap, duty and open load.

    `chapters`, `capacity` and `duty` are null until the officer is put on the roster
    (`officer set` or PATCH); until then they are never drawn.
    """

    name: str
    role: Role
    office: str | None
    active: bool
    chapters: str | None
    capacity: int | None
    duty: Duty | None
    load: int = Field(description="open tasks held now")
    spare: int = Field(description="capacity - load: what a draw may give them (0 when off duty, disabled, off the roster or at the cap)")


class OfficerPatch(BaseModel):
    """What to change; a field left out (or null) stays as it is."""

    model_config = ConfigDict(extra="forbid")

    chapters: str | None = Field(default=None, max_length=300, description="HS chapters, e.g. 84-85,90")
    capacity: int | None = Field(default=None, description="open tasks at most, 1-1000")
    duty: str | None = Field(default=None, max_length=10, description="on or off")
