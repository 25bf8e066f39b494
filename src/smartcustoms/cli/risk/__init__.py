"""`smartcustoms risk`: labelled history, the model library (train, evaluate, register, retrain, drift),
the parameter library (rules, with a second person's approval), the knowledge base (watch lists,
restricted goods), selectivity settings and the outcomes of checks.

The commands live by responsibility in `model`, `rules`, `knowledge` and `selectivity`; this module
only puts them together, in the order `--help` lists them.
"""

from __future__ import annotations

import typer

from smartcustoms.cli.risk import knowledge, model, rules, selectivity

app = typer.Typer(
    help="Risk: labelled history, models (train, evaluate, activate, retrain, drift), rules, watch lists, restricted goods, "
    "selectivity, outcomes, reference prices.",
    no_args_is_help=True,
)
app.command("import-history")(model.import_history)
app.command("train")(model.train)
app.command("evaluate")(model.evaluate)
app.command("models")(model.models_list)
app.command("activate")(model.activate)
app.command("retire")(model.retire)
app.command("drift")(model.drift)
app.command("refresh-prices")(knowledge.refresh_prices)
app.command("profile")(selectivity.enterprise_profile)
app.command("outcome")(selectivity.outcome)
app.command("retrain")(model.retrain)
app.add_typer(rules.rule_app, name="rule")
app.add_typer(knowledge.watch_app, name="watch")
app.add_typer(knowledge.restrict_app, name="restrict")
app.add_typer(selectivity.selectivity_app, name="selectivity")

__all__ = ["app"]
