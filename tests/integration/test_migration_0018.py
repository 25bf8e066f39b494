"""Migration 0018 keeps the officers' loads and chapter masks that the draw reads: backfilled from what exists."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from smartcustoms import schema
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.roster import domain, repository, service
from smartcustoms.roster.models import OfficerProfile
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR


def test_downgrading_and_upgrading_rebuilds_loads_and_masks_and_the_draw_goes_on(rt: Runtime) -> None:
    for name, chapters in (("wide", "01-97"), ("narrow", "84-85,90"), ("one", "03")):
        with rt.write() as s:
            auth_service.add_user(s, name=name, role=Role.officer, office="2248", actor=OPERATOR, now=NOW)
            service.set_officer(s, name=name, chapters=chapters, capacity=4, actor=OPERATOR, now=NOW)
    for i in range(5):
        with rt.write() as s:
            assert service.assign(s, office="2248", chapters=[85], task_ref=f"T{i}", now=NOW) is not None
    with rt.write() as s:
        service.release(s, task_ref="T0", actor=OPERATOR, now=NOW)

    def state() -> tuple[dict[int, int], dict[str, str]]:
        with rt.read() as s:
            masks = {p.chapters: p.chapter_mask for p in s.scalars(select(OfficerProfile))}
            return repository.load_of(s, list(repository.counted_loads(s))), masks

    before = state()
    assert sum(before[0].values()) == 4
    assert before[1]["84-85,90"] == domain.chapter_mask({84, 85, 90}) and before[1]["03"][2] == "1"
    cfg = schema.alembic_config(rt.engine)
    command.downgrade(cfg, "0017")
    command.upgrade(cfg, "heads")
    assert state() == before
    with rt.write() as s:  # the narrow officer is qualified for 90, "one" is not
        rec = service.assign(s, office="2248", chapters=[90], task_ref="T9", now=NOW)
    assert rec is not None and {c["name"] for c in rec["candidates"]} <= {"wide", "narrow"}
