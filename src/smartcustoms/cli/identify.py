"""`smartcustoms risk classify`: the HS headings a goods description most likely belongs to."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from smartcustoms.cli.common import JsonOpt, console, emit_json, err_console, runtime


def classify(
    description: Annotated[str, typer.Argument(help="The goods description, as a trader would write it on a declaration")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many headings to suggest (1 to 10)")] = 3,
    json_output: JsonOpt = False,
) -> None:
    """Suggest the HS headings (4 digits) a goods description most likely belongs to, with probabilities.

    The model learns from the HS nomenclature in the reference data and from accepted
    declarations; the first call in a process trains it (a few seconds).
    """
    from smartcustoms.risk.identification import service as identification

    with runtime(json_output) as rt, rt.read() as s:
        suggestions = identification.suggest(s, description, k)
    if json_output:
        emit_json([x.as_dict() for x in suggestions])
        return
    if not suggestions:
        err_console.print("no suggestion: the description has no word the model knows")
        raise typer.Exit(1)
    table = Table("heading", "probability", "nomenclature text", title=description)
    for x in suggestions:
        table.add_row(x.heading, f"{100 * x.probability:.1f} %", x.text)
    console.print(table)
