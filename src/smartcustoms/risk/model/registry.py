"""The registry: list and describe versions, make one the champion or challenger of a procedure,
retire one, and retrain (a new version compared with the champion, promoted only if not worse)."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smartcustoms.audit.service import Actor, record
from smartcustoms.errors import Conflict, Problem, ValidationFailed
from smartcustoms.risk.history import service as history
from smartcustoms.risk.model.evaluation import _baseline_rules, evaluate_frame
from smartcustoms.risk.model.models import ModelRole, RiskModel
from smartcustoms.risk.model.serving import LoadedModel, _forget_serving, get, load
from smartcustoms.risk.model.training import TUNE_GRID, train


def listing(session: Session, *, name: str | None = None) -> Sequence[RiskModel]:
    """Registered models by name, newest version first."""
    stmt = select(RiskModel).order_by(RiskModel.name, RiskModel.version.desc())
    if name is not None:
        stmt = stmt.where(RiskModel.name == name)
    return session.scalars(stmt).all()


def describe(row: RiskModel) -> dict[str, Any]:
    """A registry entry for listings (no artefact)."""
    return {
        "name": row.name,
        "version": row.version,
        "kind": row.kind,
        "procedure": row.procedure,
        "role": row.role.value,
        "train_from": row.train_from.isoformat(),
        "train_until": row.train_until.isoformat(),
        "rows": row.rows,
        "positives": row.positives,
        "validation_auc": (row.metrics.get("validation") or {}).get("auc"),
        "features": len(row.features.get("names", [])),
        "tuned": bool(row.metrics.get("tuned")),
        # The hyper-parameters it was trained with (chosen by `train --tune`, else the defaults).
        "params": {k: (row.metrics.get("params") or {}).get(k) for k in TUNE_GRID},
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


def activate(session: Session, *, name: str, version: int, role: str, procedure: str = "*", actor: Actor, now: datetime) -> RiskModel:
    """Make a model version the champion (decides) or the challenger (scores in shadow) of a procedure.

    The version that held the role for the procedure goes back to registered.
    """
    try:
        new_role = ModelRole(role)
    except ValueError:
        new_role = None
    if new_role not in (ModelRole.champion, ModelRole.challenger):
        raise ValidationFailed("Unknown role.", [Problem("RSK-MDL-007", "/role", "The role is champion or challenger.")])
    assert new_role is not None
    row = get(session, name=name, version=version)
    if row.role is ModelRole.retired:
        raise Conflict(f"Model {name}/v{version} is retired.", code="model_retired")
    before = {"role": row.role.value, "procedure": row.procedure}
    for old in session.scalars(
        select(RiskModel).where(RiskModel.role == new_role, RiskModel.procedure == procedure, RiskModel.id != row.id)
    ):
        old_before = {"role": old.role.value, "procedure": old.procedure}
        old.role = ModelRole.registered
        record(
            session,
            actor=actor,
            action="risk_model.replaced",
            subject_type="risk_model",
            subject_id=f"{old.name}/v{old.version}",
            now=now,
            before=old_before,
            after={"role": old.role.value, "procedure": old.procedure},
            reason=f"{name}/v{version} became {new_role.value} for {procedure}",
        )
    row.role, row.procedure = new_role, procedure
    session.flush()
    _forget_serving(session)
    record(
        session,
        actor=actor,
        action="risk_model.activated",
        subject_type="risk_model",
        subject_id=f"{name}/v{version}",
        now=now,
        before=before,
        after={"role": row.role.value, "procedure": procedure},
    )
    return row


def retire(session: Session, *, name: str, version: int, reason: str, actor: Actor, now: datetime) -> RiskModel:
    """Take a model version out of use for good (it stays in the registry)."""
    row = get(session, name=name, version=version)
    before = {"role": row.role.value, "procedure": row.procedure}
    row.role = ModelRole.retired
    session.flush()
    _forget_serving(session)
    record(
        session,
        actor=actor,
        action="risk_model.retired",
        subject_type="risk_model",
        subject_id=f"{name}/v{version}",
        now=now,
        before=before,
        after={"role": row.role.value},
        reason=reason,
    )
    return row


# --- retraining: the model learns from outcomes ------------------------------------------------------


class NotBetter(Conflict):
    """A retrained version that is not at least as good as the champion is not activated; nothing was stored."""

    default_code = "model_not_better"

    def __init__(self, detail: str, report: dict[str, Any]) -> None:
        super().__init__(detail)
        self.report = report


def champion(session: Session, *, procedure: str) -> RiskModel | None:
    """The champion registered for exactly this procedure (no fallback to "*")."""
    return session.scalar(select(RiskModel).where(RiskModel.role == ModelRole.champion, RiskModel.procedure == procedure))


def _month_before(d: date) -> date:
    """The same day a month earlier (the last day of that month when it is shorter)."""
    y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("model", "rows", "positives", "auc", "precision_at", "recall_at", "revenue_at")
    return {**{k: result[k] for k in keep}, "rules_auc": result["baselines"]["rules"]["auc"]}


def retrain(
    session: Session,
    *,
    name: str,
    train_until: date,
    promote: bool = False,
    actor: Actor,
    now: datetime,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a new version of `name` on all history before `train_until` (imported and outcome rows) and
    compare it with the champion of its procedure on the most recent month of that history.

    The procedure and excluded columns are those of the newest version of `name` ("*" and none for a
    new name). Both models are evaluated with `evaluate_frame` on [a month before the end, the day
    after the last history row); rows declared on or after `train_until` are never used. With
    `promote`, the new version becomes the champion when its AUC is at least the champion's (or there
    is no champion); otherwise `NotBetter` is raised and the caller's transaction must roll back,
    storing nothing. The comparison is journaled (`risk_model.retrained`), the activation too.
    """
    step = progress or (lambda _text: None)
    previous = session.scalar(select(RiskModel).where(RiskModel.name == name).order_by(RiskModel.version.desc()).limit(1))
    procedure = previous.procedure if previous is not None else "*"
    exclude = tuple(previous.features.get("exclude", ())) if previous is not None else ()
    current = champion(session, procedure=procedure)

    step(f"training {name} on history before {train_until}")
    row = train(session, name=name, train_until=train_until, procedure=procedure, exclude=exclude, actor=actor, now=now)
    new = LoadedModel.from_row(row)  # not load(): the version is not committed yet and may be rolled back

    step("reading the most recent month of history")
    frame = history.frame(session, date_to=train_until)
    eval_to = frame["declared_on"].max().date() + timedelta(days=1)
    eval_from = _month_before(eval_to)
    rules, source = _baseline_rules(session, on=eval_from)
    outcome_rows = int((frame["source"] == "outcome").sum())

    step(f"evaluating {new.label}")
    new_result = evaluate_frame(new, frame, date_from=eval_from, date_to=eval_to, rules=rules, rules_source=source)
    champ_result = None
    if current is not None:
        step(f"evaluating champion {current.name}/v{current.version}")
        champ = load(session, name=current.name, version=current.version)
        champ_result = evaluate_frame(champ, frame, date_from=eval_from, date_to=eval_to, rules=rules, rules_source=source)

    new_auc = new_result["auc"]
    champ_auc = champ_result["auc"] if champ_result is not None else None
    if current is None:
        better: bool | None = True
        verdict = f"There is no champion for procedure {procedure}: {new.label} may become the first."
    elif new_auc is None or champ_auc is None:
        better = None
        verdict = (
            f"AUC cannot be computed on {eval_from} – {eval_to} ({new_result['positives']} frauds in "
            f"{new_result['rows']} rows): {new.label} cannot be compared with {current.name}/v{current.version}."
        )
    else:
        better = new_auc >= champ_auc
        verdict = (
            f"{new.label} has AUC {new_auc:.4f} against {champ_auc:.4f} for champion {current.name}/v{current.version} "
            f"on {eval_from} – {eval_to}: {'at least as good' if better else 'worse'}."
        )
    caveats = []
    fitted_until = (row.metrics.get("validation") or {}).get("from")
    if fitted_until is None or date.fromisoformat(fitted_until) > eval_from:
        caveats.append(f"{new.label} was fitted on rows of the evaluation month (its held-out rows start {fitted_until or 'nowhere'}).")
    if current is not None and current.train_until > eval_from:
        caveats.append(f"Champion {current.name}/v{current.version} was trained on history until {current.train_until}.")
    report: dict[str, Any] = {
        "model": {**describe(row), "metrics": row.metrics},
        "procedure": procedure,
        "history": {"rows": len(frame), "outcome_rows": outcome_rows, "imported_rows": len(frame) - outcome_rows},
        "evaluation": {"from": eval_from.isoformat(), "to": eval_to.isoformat(), "rules": source},
        "new": _summary(new_result),
        "champion": _summary(champ_result) if champ_result is not None else None,
        "better": better,
        "verdict": verdict,
        "caveats": caveats,
        "activated": False,
    }
    if promote and not better:
        raise NotBetter(f"{verdict} The champion is unchanged and {new.label} was not stored.", report)
    if promote:
        step(f"activating {new.label} as champion for {procedure}")
        activate(session, name=name, version=row.version, role=ModelRole.champion.value, procedure=procedure, actor=actor, now=now)
        report["activated"] = True
        report["model"] = {**describe(row), "metrics": row.metrics}
    record(
        session,
        actor=actor,
        action="risk_model.retrained",
        subject_type="risk_model",
        subject_id=new.label,
        now=now,
        after={
            "evaluation_from": eval_from.isoformat(),
            "evaluation_to": eval_to.isoformat(),
            "auc": new_auc,
            "champion": f"{current.name}/v{current.version}" if current is not None else None,
            "champion_auc": champ_auc,
            "better": better,
            "activated": report["activated"],
            "outcome_rows": outcome_rows,
        },
        reason=verdict,
    )
    return report
