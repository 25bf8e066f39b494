"""`smartcustoms xray`: the marked X-ray images, with their regions, as training data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from smartcustoms.cli.common import JsonOpt, emit, runtime
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.xray.domain import VERDICTS
from smartcustoms.xray.export import export as export_scans

app = typer.Typer(help="X-ray scans: export the reviewed images and their marked regions.", no_args_is_help=True)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write images/ and regions.jsonl (made if missing)")],
    verdict: Annotated[Optional[str], typer.Option(help="Only scans with this verdict: clear or suspect")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Write every reviewed scan's image (once, by SHA-256) and one line of regions and verdict per scan."""
    with runtime(json_output) as rt:
        if verdict is not None and verdict not in VERDICTS:
            raise ValidationFailed("Unknown verdict.", [Problem("XRY-EXP-001", "/verdict", "--verdict is clear or suspect.")])
        with rt.read() as s:
            out = export_scans(s, store=rt.store, directory=directory, verdict=verdict)
    summary = {"scans": out.scans, "images": out.images, "suspect": out.suspect, "regions": out.regions, "index": str(out.index)}
    emit(
        summary,
        json_output,
        f"{out.scans} reviewed scans ({out.suspect} suspect, {out.regions} regions), {out.images} images → {out.index}",
    )
