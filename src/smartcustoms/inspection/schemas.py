"""Inspection bodies as the API shows them: a live inspection (steps, photos, instructions), completion, decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class PhotoRead(BaseModel):
    """A photo of a step, addressed by its SHA-256 (download: `GET /api/v1/tasks/{id}/photos/{sha256}`)."""

    model_config = ConfigDict(from_attributes=True)

    sha256: str
    step_id: str
    container: str
    content_type: str
    size: int
    taken_by: str
    taken_at: datetime


class InstructionRead(BaseModel):
    """A supervisor's instruction on a live inspection."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    step_id: str | None
    given_by: str
    given_at: datetime


class ContainerPhotos(BaseModel):
    """The photos of one container, by step."""

    container: str
    steps: dict[str, list[PhotoRead]]


class InspectionRead(BaseModel):
    """An inspection as its inspectors and the office's supervisors see it, live."""

    task: int
    declaration: str
    status: str
    steps: list[dict[str, Any]]
    next_step: str | None
    photos: list[ContainerPhotos]
    instructions: list[InstructionRead]
    result: dict[str, Any] | None


class CompletionRead(BaseModel):
    """What a completion did: the task's result, whether the declaration is held, and clearance's next step."""

    task: int
    declaration: str
    declaration_status: str
    hit: bool
    critical: int
    findings: list[dict[str, Any]]
    next: str | None


class ResolutionRead(BaseModel):
    """An officer's decision on a held declaration after inspection."""

    task: int
    declaration: str
    declaration_status: str
    version: int
    resolution: dict[str, Any]
    next: str | None
