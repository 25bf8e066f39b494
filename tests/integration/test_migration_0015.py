"""Migration 0015 gives declarations lodged before manifests existed their transport references, on each database."""

from __future__ import annotations

import copy

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select

from smartcustoms import schema
from smartcustoms.manifest.models import DeclarationTransportRef
from smartcustoms.runtime import Runtime
from tests.conftest import World, example


def test_upgrading_fills_the_references_of_existing_declarations(client: TestClient, world: World, rt: Runtime) -> None:
    bodies = [example(), copy.deepcopy(example())]
    bodies[1]["client_reference"] = "BY-DOCUMENT"
    del bodies[1]["transport"]["bill_of_lading"]  # the bill of lading only among the documents
    bodies[1]["documents"] = [d if d["type"] != "bill_of_lading" else {**d, "reference": "DOCBL0001"} for d in bodies[1]["documents"]]
    numbers = []
    for body in bodies:
        r = client.post("/api/v1/declarations", json=body, headers=world.headers("broker"))
        assert r.status_code == 202, r.text
        numbers.append(r.json()["number"])
    with rt.read() as s:
        lodged = {
            (r.number, r.bill_of_lading, tuple(r.containers), str(r.gross_mass_kg)) for r in s.scalars(select(DeclarationTransportRef))
        }
    assert lodged == {
        (numbers[0], "MAEU256781234", ("MSKU1234565", "TGHU9876542"), "610.0"),
        (numbers[1], "DOCBL0001", ("MSKU1234565", "TGHU9876542"), "610.0"),
    }
    cfg = schema.alembic_config(rt.engine)
    command.downgrade(cfg, "0009")  # as before manifests: the tables and references gone
    command.upgrade(cfg, "heads")
    with rt.read() as s:
        again = {
            (r.number, r.bill_of_lading, tuple(r.containers), str(r.gross_mass_kg)) for r in s.scalars(select(DeclarationTransportRef))
        }
    assert again == lodged
