"""What every command shares: the runtime, the console, rendering errors, and the answer as JSON or for people.

A command's usual shape::

    with runtime(json_output) as rt, rt.write() as s:
        out = service.do(s, ...)
    emit(out, json_output, f"done {out['id']}")

`runtime` opens the runtime and stops it when the block ends; an expected error inside it
(`SmartCustomsError`) is printed with its code and problems and the command exits 2.
`emit` prints the JSON with --json, else the text or table for people.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from smartcustoms.audit.service import Actor
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import User
from smartcustoms.auth.service import Principal
from smartcustoms.config import ConfigurationError, get_settings
from smartcustoms.errors import Problem, SmartCustomsError, ValidationFailed
from smartcustoms.runtime import Runtime

console = Console()
err_console = Console(stderr=True)
OPERATOR = Actor(id=None, name="cli-operator", role="admin")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOpt = Annotated[str, typer.Option("--as", help="Name of the user to act as")]


def make_runtime() -> Runtime:
    """The runtime for a command, from the environment's settings."""
    try:
        return Runtime(get_settings())
    except ConfigurationError as exc:
        err_console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def show_error(exc: SmartCustomsError, json_output: bool = False) -> None:
    """An expected error on standard error: its body as JSON with --json, else its code, detail and every problem."""
    if json_output:
        print(json.dumps(exc.body(), indent=2), file=sys.stderr)
    else:
        err_console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        for p in exc.problems:
            err_console.print(f"  [yellow]{p.code}[/yellow] {p.pointer or '/'}: {p.message}")


@contextmanager
def handled(json_output: bool = False) -> Iterator[None]:
    """Render expected errors with their codes and exit 2, as the API would answer them."""
    try:
        yield
    except SmartCustomsError as exc:
        show_error(exc, json_output)
        raise typer.Exit(2) from exc


@contextmanager
def runtime(json_output: bool = False) -> Iterator[Runtime]:
    """The command's runtime, stopped when the block ends; expected errors inside it are rendered by `handled` (exit 2)."""
    rt = make_runtime()
    try:
        with handled(json_output):
            yield rt
    finally:
        rt.stop()


def emit_json(data: Any) -> None:
    """Print JSON to standard output."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def emit(data: Any, json_output: bool, human: RenderableType | Callable[[], RenderableType | None]) -> None:
    """The command's answer: `data` as JSON with --json; else `human` on the console.

    `human` is a text or a rich table, or a function (called only without --json) that returns one or prints itself.
    """
    if json_output:
        emit_json(data)
        return
    shown = human() if callable(human) else human
    if shown is not None:
        console.print(shown)


def parse_date(text: str, ptr: str) -> date:
    """A date option written YYYY-MM-DD; anything else is refused (CLI-DATE-001) at the option's pointer."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed("Bad date.", [Problem("CLI-DATE-001", ptr, f"{text!r} is not a date written YYYY-MM-DD.")]) from exc


def read_json(path: Path) -> Any:
    """The file's JSON content; a file that is not JSON is refused like a body that is not (REQ-008)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{path.name} is not valid JSON.", [Problem("REQ-008", "/file", f"{path.name}: {exc}")]) from exc


def progress_bar(*, quiet: bool = False) -> Progress:
    """A progress bar on standard error (none when quiet, e.g. with --json)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, disable=quiet
    )


def principal_named(rt: Runtime, name: str) -> Principal:
    """Act as a registered user (the operator running the CLI speaks for them)."""
    from smartcustoms.errors import NotFound

    with rt.read() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"No user named {name!r}.", code="user_not_found")
        return auth_service.principal_of(s, user)
