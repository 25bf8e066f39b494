"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from smartcustoms.roster import service as roster
from smartcustoms.runtime import Runtime
from tests.conftest import NOW, OPERATOR, World
from tests.e2e.helpers import rule_lane


@pytest.fixture
def under_review(rt: Runtime, world: World) -> None:
    """Every declaration lodged goes to the yellow lane and its review task to `officer` (on the roster).

    Green declarations are released in the lodging request, after which they can no longer be
    amended or given documents; tests of those steps lodge for review instead. The office's
    officer sees them (officers see only the declarations of their tasks).
    """
    rule_lane(rt, world, "yellow")
    with rt.write() as s:
        roster.set_officer(s, name="officer", capacity=1000, actor=OPERATOR, now=NOW)
