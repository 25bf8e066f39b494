"""The README's walk-through after `make run`: the demo's lanes near its targets, the canonical declaration green."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from smartcustoms import demo
from smartcustoms.gate.models import GateCheck, GateExit
from smartcustoms.kit.clock import utcnow
from smartcustoms.runtime import Runtime
from tests.conftest import example


def test_after_the_demo_lanes_follow_the_targets_and_the_readme_example_lodges_green(rt: Runtime, client: TestClient) -> None:
    report = demo.load(rt, declarations=300, now=utcnow())  # what `smartcustoms demo --declarations 300` does
    analyst = {"Authorization": f"Bearer {report.tokens['analyst']}"}
    # The whole path: some of office 2248's releases have left the port through the demo's gate, once each.
    with rt.read() as s:
        exits = s.execute(select(GateExit.release_number, GateExit.container)).all()
        passes = s.scalar(select(func.count()).select_from(GateCheck).where(GateCheck.decision == "pass"))
    assert report.gated_out == len(exits) == passes > 5 and len(set(exits)) == len(exits)
    assert demo.load(rt, declarations=300, now=utcnow()).gated_out == 0  # again: nothing leaves twice
    shares = client.get("/api/v1/risk/selectivity/shares", headers=analyst).json()
    targets = shares["targets"]
    assert (targets["red_rate"], targets["yellow_rate"], targets["random_rate"]) == (0.03, 0.07, 0.03)
    n = shares["assessments"]
    assert n >= 300
    model = shares["by_cause"]["model"]["counts"]
    # The model's own lanes stay near the targets (before: red 34 %, yellow 18 %); each office's window
    # holds only some sixty scores in a 300-declaration demo, so a few points either way.
    assert model["red"] / n <= 0.06 and model["yellow"] / n <= 0.10, shares["by_cause"]
    # What is left above the targets is explained by the other causes.
    assert shares["counts"]["red"] <= sum(c["counts"]["red"] for c in shares["by_cause"].values())
    assert shares["shares"]["red"] < 0.10 and shares["shares"]["yellow"] < 0.15, shares

    # The README: lodge ../shared/examples/declaration-import.json as the broker.
    broker = {"Authorization": f"Bearer {report.tokens['broker']}"}
    r = client.post("/api/v1/declarations", json=example(), headers=broker)
    assert r.status_code == 202, r.text
    body = r.json()
    shown = client.get(f"/api/v1/declarations/{body['number']}", headers=analyst).json()["assessment"]
    asked = shown["random_draw"]["asked"]
    assert asked["rule"] == asked["model"] == asked["review_on_error"] == "green", shown
    # Green, as the README says, unless this install's secret seed draws it for a random check (3 in 100).
    if not shown["random_draw"]["selected"]:
        assert body["assessment"]["lane"] == "green" and body["assessment"]["check"] == "none"
        assert body["status"] == "released"  # green is released in the lodging request
    else:
        assert body["status"] in ("under_review", "under_inspection"), body
    again = client.post("/api/v1/declarations", json=example(), headers=broker)
    assert again.status_code == 200 and again.json() == body
