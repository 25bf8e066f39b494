"""What the risk commands share: options, percentages, bodies checked as the API checks them, and problems gathered before refusing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from smartcustoms.auth.models import Role
from smartcustoms.auth.service import Principal
from smartcustoms.cli.common import parse_date, principal_named
from smartcustoms.declaration.validation import label, pointer
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.runtime import Runtime

FromOpt = Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")]
ToOpt = Annotated[str, typer.Option("--to", help="Day after the period (YYYY-MM-DD, exclusive).")]
KS = ("1", "2", "5", "10")
RISK_STAFF = (Role.analyst, Role.supervisor, Role.admin)  # who changes the knowledge base and selectivity
M = TypeVar("M", bound=BaseModel)


def pct(v: Any) -> str:
    return "—" if v is None else f"{100 * float(v):.1f} %"


def parse_body(model: type[M], raw: Any, what: str) -> M:
    """A request body checked as the API checks it: every problem, coded REQ-001/002/003."""
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            loc = tuple(e["loc"])
            code = {"missing": "REQ-001", "extra_forbidden": "REQ-002"}.get(e["type"], "REQ-003")
            problems.append(Problem(code, pointer(*loc), f"{label(loc) if loc else what}: {e['msg']}."))
        raise ValidationFailed(f"The {what} has {len(problems)} problem(s).", problems) from exc


def noted_reason(text: str, ptr: str, problems: list[Problem]) -> str:
    """A reason, noting REQ-001 when it is blank."""
    if not text.strip():
        problems.append(Problem("REQ-001", ptr, "A reason is required and cannot be blank."))
    return text.strip()


def noted_day(text: str | None, ptr: str, problems: list[Problem]) -> date | None:
    """A date option, noting CLI-DATE-001 when it is not YYYY-MM-DD (None then, or when not given)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem("CLI-DATE-001", ptr, f"{text!r} is not a date written YYYY-MM-DD."))
        return None


@contextmanager
def together(problems: list[Problem]) -> Iterator[None]:
    """Refuse with the command line's problems and the service's together, each once, so every problem shows at once.

    Used inside the write transaction: when only the command line found problems, raising here rolls the change back.
    """
    try:
        yield
    except ValidationFailed as exc:
        if problems:
            raise ValidationFailed(exc.detail, [*problems, *(p for p in exc.problems if p not in problems)]) from exc
        raise
    if problems:
        raise ValidationFailed(f"The command has {len(problems)} problem(s); nothing was changed.", problems)


def staff(rt: Runtime, name: str) -> Principal:
    """The named user, who must be an analyst, a supervisor or an admin."""
    who = principal_named(rt, name)
    who.require(*RISK_STAFF)
    return who


def dates(date_from: str, date_to: str) -> tuple[date, date]:
    """--from and --to as dates (CLI-DATE-001 at /from or /to)."""
    return parse_date(date_from, "/from"), parse_date(date_to, "/to")


def period(date_from: str, date_to: str) -> tuple[date, date]:
    """--from and --to as dates, --to after --from (CLI-PERIOD-001)."""
    start, end = dates(date_from, date_to)
    if end <= start:
        raise ValidationFailed("Empty period.", [Problem("CLI-PERIOD-001", "/to", f"--to {end} must be after --from {start}.")])
    return start, end
