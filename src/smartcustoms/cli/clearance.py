"""`smartcustoms clearance`: how each office orders its checks."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from smartcustoms.clearance import settings
from smartcustoms.cli.common import OPERATOR, JsonOpt, emit, runtime
from smartcustoms.kit.clock import utcnow

app = typer.Typer(help="Clearance: how each office orders its checks.", no_args_is_help=True)


@app.command("office")
def office(
    code: Annotated[str, typer.Argument(help="Customs office code, e.g. 2248")],
    review_first: Annotated[
        Optional[bool],
        typer.Option(
            "--review-first/--inspect-first",
            help="Red lane: review the documents before the inspection, or inspect straight away (the default)",
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Show the office's clearance setting, or change it (journaled)."""
    with runtime(json_output) as rt, rt.write() as s:
        if review_first is not None:
            settings.set_review_first(s, office=code, on=review_first, actor=OPERATOR, now=utcnow())
        out = settings.read(s, office=code)
    order = "review, then inspection" if out["review_first"] else "inspection straight away"
    updated = out["updated_at"].isoformat() if out["updated_at"] else None  # type: ignore[attr-defined]
    emit({**out, "updated_at": updated}, json_output, f"Office {code}: red lane → {order}")
