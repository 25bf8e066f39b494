"""The training set of marked X-ray images: every reviewed scan's image and its regions, written to a directory.

DIR/images/<sha256>.<png|jpg> holds each image once (by content); DIR/regions.jsonl one line per
reviewed scan: `{scan, declaration, container, image, width, height, verdict, regions, note,
reviewed_at}`, regions as `{"x","y","width","height","label"}` in pixels from the top left.
Writing again over the same directory gives the same files (images are not rewritten).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.adapters.storage import FileStore
from smartcustoms.declaration.models import Declaration
from smartcustoms.xray import service

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    scans: int
    images: int
    suspect: int
    regions: int
    index: Path


def export(session: Session, *, store: FileStore, directory: Path, verdict: str | None = None) -> Exported:
    """Write the reviewed scans (optionally of one verdict) and their regions under `directory`."""
    scans = service.training_set(session, verdict=verdict)
    ids = {s.declaration_id for s in scans}
    numbers: dict[int, str] = {i: n for i, n in session.execute(select(Declaration.id, Declaration.number).where(Declaration.id.in_(ids)))}
    images = directory / "images"
    images.mkdir(parents=True, exist_ok=True)
    index = directory / "regions.jsonl"
    tmp = index.with_suffix(".jsonl.tmp")
    written: set[str] = set()
    with tmp.open("w", encoding="utf-8") as out:
        for scan in scans:
            name = f"{scan.sha256}.{EXTENSIONS.get(scan.content_type, 'bin')}"
            path = images / name
            if name not in written and not path.exists():
                path.write_bytes(store.get(scan.sha256))
            written.add(name)
            line = {
                "scan": scan.id,
                "declaration": numbers.get(scan.declaration_id),
                "container": scan.container,
                "image": f"images/{name}",
                "width": scan.width,
                "height": scan.height,
                "verdict": scan.verdict,
                "regions": scan.regions,
                "note": scan.note,
                "reviewed_at": scan.reviewed_at.isoformat() if scan.reviewed_at else None,
            }
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, index)
    return Exported(
        scans=len(scans),
        images=len(written),
        suspect=sum(1 for s in scans if s.verdict == "suspect"),
        regions=sum(len(s.regions) for s in scans),
        index=index,
    )
