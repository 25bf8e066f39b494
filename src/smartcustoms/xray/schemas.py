"""X-ray scan bodies as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ScanRead(BaseModel):
    """A scan: its container, image (download: `GET /api/v1/scans/{id}/image`), review task, regions and verdict."""

    id: int
    declaration: str
    container: str
    sha256: str
    content_type: str
    size: int
    width: int
    height: int
    station: str
    scanned_at: datetime
    task: int | None
    verdict: str | None
    regions: list[dict[str, Any]]
    note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    inspection_task: int | None = None  # opened by a suspect verdict
