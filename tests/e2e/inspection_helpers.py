"""Shared set-up of the inspection and X-ray tests: staff on the roster, images, tasks and statuses."""

from __future__ import annotations

import struct
import zlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms.auth.models import Role
from smartcustoms.declaration.models import Declaration
from smartcustoms.runtime import Runtime
from smartcustoms.task.models import Task, TaskKind
from tests.conftest import World
from tests.e2e.helpers import add_staff

API = "/api/v1"
STAFF = (("insp_a", Role.inspector), ("insp_b", Role.inspector), ("xray_a", Role.image_analyst), ("scanner", Role.scanner))


def png_of(width: int, height: int, rows: bytes) -> bytes:
    """A PNG of 8-bit grey pixels; `rows` is the raw image data (a filter byte then `width` greys, per row)."""

    def block(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", ihdr) + block(b"IDAT", zlib.compress(rows)) + block(b"IEND", b"")


def png(width: int = 8, height: int = 6) -> bytes:
    """A valid PNG of the given size."""
    return png_of(width, height, b"".join(b"\x00" + b"\x80" * width for _ in range(height)))


JPEG = b"\xff\xd8\xff\xe0" + struct.pack(">H", 4) + b"JF" + b"\xff\xc0" + struct.pack(">HBHH", 11, 8, 30, 40) + b"\x03" * 6 + b"\xff\xd9"


def staff(rt: Runtime, world: World) -> None:
    """Two inspectors, an image analyst (all on the roster of office 2248) and a scanner station; their tokens in `world`."""
    add_staff(rt, world, *STAFF)


def task_of(rt: Runtime, number: str, kind: TaskKind) -> Task:
    """The newest task of a kind on a declaration."""
    with rt.read() as s:
        decl = s.scalar(select(Declaration).where(Declaration.number == number))
        assert decl is not None
        task = s.scalars(select(Task).where(Task.declaration_id == decl.id, Task.kind == kind).order_by(Task.id.desc())).first()
        assert task is not None, f"no {kind.value} task on {number}"
        s.expunge(task)
        return task


def holders(client: TestClient, world: World, task_id: int) -> list[str]:
    """The task's assignees, as the supervisor sees them."""
    r = client.get(f"{API}/tasks/{task_id}", headers=world.headers("supervisor"))
    assert r.status_code == 200, r.text
    return list(r.json()["assignees"])


def status_of(client: TestClient, world: World, number: str) -> str:
    """The declaration's status, as the analyst sees it."""
    return str(client.get(f"{API}/declarations/{number}", headers=world.headers("analyst")).json()["status"])
