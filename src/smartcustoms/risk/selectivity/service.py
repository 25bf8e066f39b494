"""Selectivity: assess a declaration (rules + model + knowledge + random draw), store it, explain it.

The use cases live by responsibility; this module names them all, as callers have always used them:

- `settings`: each office's targets, random share, seed and score window (`set_setting`, `setting_for`, ...)
- `assessment`: `assess` inside the lodging transaction, `lodge`, `amend`, `reassess`, `keep_warm`
- `ranking` (pure) and `thresholds`: the model's lanes follow the office's recent scores
- `views`: what an assessment shows to whom, lane shares by cause, enterprise profiles
- `outcomes`: what checks found, copied into the labelled history
"""

from __future__ import annotations

from smartcustoms.risk.identification import service as identification
from smartcustoms.risk.knowledge import service as knowledge
from smartcustoms.risk.model import service as models
from smartcustoms.risk.parameter import service as parameters
from smartcustoms.risk.selectivity import assessment, thresholds
from smartcustoms.risk.selectivity import settings as settings_mod
from smartcustoms.risk.selectivity.assessment import (
    IDENTIFICATION_CODE,
    IMPORTER_COUNT_CAP,
    amend,
    assess,
    assess_and_route,
    importer_count_statement,
    keep_warm,
    lodge,
    reassess,
)
from smartcustoms.risk.selectivity.outcomes import OUTCOME_ROLES, outcomes, record_outcome
from smartcustoms.risk.selectivity.settings import (
    DEFAULTS,
    SCORE_WINDOW,
    Setting,
    ensure_default,
    in_force,
    set_setting,
    setting_for,
    settings,
)
from smartcustoms.risk.selectivity.views import CASE_ROLES, RISK_READERS, lane_shares, latest, profile, sees_internals, view

__all__ = [
    "CASE_ROLES",
    "DEFAULTS",
    "IDENTIFICATION_CODE",
    "IMPORTER_COUNT_CAP",
    "OUTCOME_ROLES",
    "RISK_READERS",
    "SCORE_WINDOW",
    "Setting",
    "amend",
    "assess",
    "assess_and_route",
    "ensure_default",
    "importer_count_statement",
    "in_force",
    "invalidate",
    "invalidate_all",
    "keep_warm",
    "lane_shares",
    "latest",
    "lodge",
    "outcomes",
    "profile",
    "reassess",
    "record_outcome",
    "sees_internals",
    "set_setting",
    "setting_for",
    "settings",
    "view",
]


def invalidate() -> None:
    """Forget cached settings, recent scores and importer counts (after a change)."""
    settings_mod.invalidate()
    thresholds.invalidate()
    assessment.forget_importer_counts()


def invalidate_all() -> None:
    """Forget every risk cache of this process: rules, knowledge, models, snapshots, settings."""
    parameters.invalidate()
    knowledge.invalidate()
    models.invalidate()
    identification.invalidate()
    invalidate()
