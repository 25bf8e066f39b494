"""`smartcustoms`: set up, serve, load reference data, manage enterprises and users, lodge and follow."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from smartcustoms import schema
from smartcustoms.auth import service as auth_service
from smartcustoms.auth.models import Role
from smartcustoms.cli.clearance import app as clearance_app
from smartcustoms.cli.common import (
    OPERATOR,
    console,
    emit,
    emit_json,
    err_console,
    handled,
    make_runtime,
    parse_date,
    principal_named,
    progress_bar,
    runtime,
)
from smartcustoms.cli.declaration import app as declaration_app
from smartcustoms.cli.duty import guarantee_app, report_app, tariff_app
from smartcustoms.cli.gate import app as gate_app
from smartcustoms.cli.identify import classify
from smartcustoms.cli.mandate import app as mandate_app
from smartcustoms.cli.manifest import app as manifest_app
from smartcustoms.cli.release import app as release_app
from smartcustoms.cli.risk import app as risk_app
from smartcustoms.cli.roster import app as officer_app
from smartcustoms.cli.simulate import simulate
from smartcustoms.cli.xray import app as xray_app
from smartcustoms.errors import Problem, ValidationFailed
from smartcustoms.kit.clock import utcnow
from smartcustoms.party import service as party_service
from smartcustoms.party.models import CreditRating
from smartcustoms.party.schemas import EnterpriseCreate
from smartcustoms.reference import service as reference_service
from smartcustoms.risk.selectivity import service as selectivity

app = typer.Typer(help="smartcustoms: an open-source smart-customs platform.", no_args_is_help=True)
reference_app = typer.Typer(help="Reference data: HS nomenclature, UN/LOCODE, exchange rates.", no_args_is_help=True)
enterprise_app = typer.Typer(help="Enterprises, by USCC.", no_args_is_help=True)
user_app = typer.Typer(help="Users, roles and tokens.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(user_app, name="user")
app.add_typer(declaration_app, name="declaration")
app.add_typer(mandate_app, name="mandate")
app.add_typer(manifest_app, name="manifest")
risk_app.command("classify")(classify)
app.add_typer(risk_app, name="risk")
app.add_typer(officer_app, name="officer")
app.add_typer(clearance_app, name="clearance")
app.add_typer(tariff_app, name="tariff")
app.add_typer(guarantee_app, name="guarantee")
app.add_typer(report_app, name="report")
app.add_typer(gate_app, name="gate")
app.add_typer(release_app, name="release")
app.add_typer(xray_app, name="xray")
app.command("simulate")(simulate)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def init(
    json_output: JsonOpt = False,
    runtime_role: Annotated[
        Optional[str],
        typer.Option(help="PostgreSQL: also create (or update) this login role for the server, owning nothing (see docs/security.md)."),
    ] = None,
    password: Annotated[
        Optional[str], typer.Option(envvar="SMARTCUSTOMS_RUNTIME_ROLE_PASSWORD", help="The runtime role's password (or that variable).")
    ] = None,
) -> None:
    """Create or upgrade the database schema and load the built-in reference data (idempotent)."""
    rt = make_runtime()
    if runtime_role is not None and rt.engine.dialect.name != "postgresql":
        err_console.print("[red]--runtime-role[/red] is for PostgreSQL; SQLite has no roles (protect the file instead).")
        raise typer.Exit(2)
    schema.upgrade(rt.engine)
    with handled(json_output), rt.write() as s:
        counts = reference_service.load_builtin(s, actor=OPERATOR, now=utcnow())
        counts["selectivity_settings"] = 1 if selectivity.ensure_default(s, actor=OPERATOR, now=utcnow()) else 0
    granted: dict[str, str] = {}
    if runtime_role is not None:
        try:
            granted = schema.grant_runtime_role(rt.engine, role=runtime_role, password=password)
        except ValueError as exc:
            err_console.print(f"[red]--runtime-role[/red]: {exc}")
            raise typer.Exit(2) from exc
    if json_output:
        emit_json(
            {"database": rt.engine.dialect.name, "loaded": counts} | ({"runtime_role": runtime_role, "grants": granted} if granted else {})
        )
    else:
        console.print(
            f"Schema up to date on {rt.engine.dialect.name}; reference rows added: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        if granted:
            console.print(f"Runtime role {runtime_role}: rows of {len(granted)} tables, append-only ones read and add only; owns nothing.")
    rt.stop()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on (or PORT).")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes: about one per CPU core on PostgreSQL; on SQLite, whose single write lock they share, "
            "more than one rarely helps.",
        ),
    ] = 1,
) -> None:
    """Serve the API and pages over HTTP (uvicorn); says "serving" once GET /readyz answers 200."""
    import uvicorn

    rt = make_runtime()
    rt.stop()
    err_console.print(f"smartcustoms starting on http://{host}:{port}; warming caches ...")
    threading.Thread(target=_announce_when_ready, args=(host, port), name="ready-announcer", daemon=True).start()
    uvicorn.run("smartcustoms.web.main:app", host=host, port=port, workers=workers, log_level="warning", access_log=False)


def _announce_when_ready(host: str, port: int, *, timeout: float = 600.0) -> None:
    """Print the "serving" line once the server's /readyz answers 200 (its caches are warm)."""
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else f"[{host}]" if ":" in host else host  # noqa: S104
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{probe}:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    console.print(f"smartcustoms serving on http://{host}:{port}  (API docs at /docs)")
                    return
        except (OSError, ValueError):
            pass  # not listening yet, or 503 while warming
        time.sleep(0.2)
    err_console.print(f"[red]smartcustoms on http://{host}:{port} did not become ready in {timeout:.0f} s[/red]")


@app.command()
def demo(
    declarations: Annotated[int, typer.Option(help="How many demo declarations to have in all.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    json_output: JsonOpt = False,
) -> None:
    """Load demo enterprises, users of every role and declarations; print the demo users' tokens."""
    from smartcustoms import demo as demo_data

    rt = make_runtime()
    if rt.settings.mode == "production":
        rt.stop()
        err_console.print("[red]refused:[/red] demo data is refused in production mode")
        raise typer.Exit(2)
    with progress_bar() as progress:
        task = progress.add_task("Demo declarations", total=None)
        report = demo_data.load(
            rt,
            declarations=declarations,
            seed=seed,
            now=utcnow(),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    rt.stop()
    if json_output:
        emit_json(
            {
                "enterprises_added": report.enterprises,
                "declarations_added": report.declarations,
                "gated_out": report.gated_out,
                "tokens": report.tokens,
            }
        )
        return
    table = Table(title=f"Demo users (web password: {demo_data.DEMO_PASSWORD})")
    table.add_column("user")
    table.add_column("bearer token")
    for name, token in report.tokens.items():
        table.add_row(name, token)
    console.print(table)
    console.print(
        f"{report.enterprises} enterprises and {report.declarations} declarations added; {report.gated_out} containers left the port."
    )


@app.command()
def relay(once: Annotated[bool, typer.Option(help="Relay what is pending and stop.")] = False) -> None:
    """Deliver outbox messages to the bus, the feeds and webhooks (the server also does this)."""
    rt = make_runtime()
    if once:
        relayed, delivered = rt.pump()
        console.print(f"relayed {relayed} message(s), tried {delivered} webhook delivery(ies)")
        rt.stop()
        return
    rt.start()
    try:
        typer.echo("relaying; Ctrl-C to stop")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        rt.stop()


# --- reference -----------------------------------------------------------------------


@reference_app.command("load-hs")
def load_hs(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: section,hscode,description,parent,level")],
    edition: Annotated[str, typer.Option(help="Edition name, e.g. HS2027.")] = "HS2022",
    valid_from: Annotated[Optional[str], typer.Option(help="First day the edition applies (YYYY-MM-DD); default today.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Load an HS edition; codes it drops are closed, new or reworded codes open on --valid-from."""
    with runtime(json_output) as rt:
        start = parse_date(valid_from, "/valid_from") if valid_from else utcnow().date()
        with progress_bar() as progress, rt.write() as s:
            task = progress.add_task("HS codes", total=None)
            report = reference_service.load_hs(
                s,
                path=file,
                edition=edition,
                valid_from=start,
                actor=OPERATOR,
                now=utcnow(),
                progress=lambda d, t: progress.update(task, completed=d, total=t),
            )
    out = {"added": report.added, "closed": report.closed, "unchanged": report.unchanged, "rejected": report.rejected}
    emit(out, json_output, f"added {report.added}, closed {report.closed}, unchanged {report.unchanged}, rejected {len(report.rejected)}")


@reference_app.command("load-locode")
def load_locode(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of per-country UN/LOCODE CSV files")],
    json_output: JsonOpt = False,
) -> None:
    """Load UN/LOCODE places from per-country CSV files."""
    with runtime(json_output) as rt, progress_bar() as progress, rt.write() as s:
        task = progress.add_task("Countries", total=None)
        report = reference_service.load_locode(
            s, directory=directory, actor=OPERATOR, now=utcnow(), progress=lambda d, t: progress.update(task, completed=d, total=t)
        )
    out = {"added": report.added, "updated": report.unchanged, "rejected": len(report.rejected)}
    emit(out, json_output, f"added {report.added}, updated {report.unchanged}, rejected {len(report.rejected)}")


@reference_app.command("set-rate")
def set_rate(
    currency: Annotated[str, typer.Option(help="ISO 4217 code")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    rate: Annotated[str, typer.Option(help="CNY per unit of the currency")],
) -> None:
    """Set the customs exchange rate of a currency for a month."""
    with runtime() as rt:
        try:
            value = Decimal(rate)
        except InvalidOperation as exc:
            raise ValidationFailed("Bad rate.", [Problem("REF-RATE-003", "/rate", "The rate must be a decimal number.")]) from exc
        with rt.write() as s:
            reference_service.set_rate(s, currency=currency.upper(), month=month, rate=value, actor=OPERATOR, now=utcnow())
    console.print(f"{currency.upper()} {month}: {rate} CNY")


@reference_app.command("hs")
def hs(code: str, json_output: JsonOpt = False) -> None:
    """Show an HS code in force today, or search by words."""
    with runtime(json_output) as rt, rt.read() as s:
        rows = reference_service.hs_search(s, text=code[:6] if code.isascii() and code.isdigit() else code, limit=20)
        out = [{"code": h.code, "description": h.description, "edition": h.edition, "valid_from": h.valid_from.isoformat()} for h in rows]
    if json_output:
        emit_json(out)
        return
    if not out:
        err_console.print(f"no HS code matches {code!r}")
        raise typer.Exit(1)
    for r in out:
        console.print(f"[bold]{r['code']}[/bold]  {r['description']}")


# --- enterprises and users -------------------------------------------------------------


@enterprise_app.command("add")
def enterprise_add(
    uscc: Annotated[str, typer.Option(help="18-character unified social credit code")],
    name: Annotated[str, typer.Option(help="Registered name")],
    credit: Annotated[CreditRating, typer.Option(help="Credit rating")] = CreditRating.general,
    address: Annotated[Optional[str], typer.Option()] = None,
    region: Annotated[Optional[str], typer.Option()] = None,
    out_of_town: Annotated[bool, typer.Option("--out-of-town", help="Registered outside this customs district")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Register an enterprise."""
    with runtime(json_output) as rt, rt.write() as s:
        ent = party_service.add(
            s,
            data=EnterpriseCreate(uscc=uscc, name=name, credit=credit, address=address, region=region, out_of_town=out_of_town),
            actor=OPERATOR,
            now=utcnow(),
        )
        out = {"uscc": ent.uscc, "name": ent.name, "credit": ent.credit.value}
    emit(out, json_output, f"registered {out['uscc']} {out['name']} ({out['credit']})")


@enterprise_app.command("list")
def enterprise_list(json_output: JsonOpt = False) -> None:
    """List registered enterprises."""
    with runtime(json_output) as rt, rt.read() as s:
        rows = [
            {"uscc": e.uscc, "name": e.name, "credit": e.credit.value, "region": e.region, "out_of_town": e.out_of_town}
            for e in party_service.list_all(s, limit=10000)
        ]
    emit(rows, json_output, lambda: _enterprises_table(rows))


def _enterprises_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("USCC", "name", "credit", "region", "out of town")
    for r in rows:
        table.add_row(str(r["uscc"]), str(r["name"]), str(r["credit"]), str(r["region"] or ""), "yes" if r["out_of_town"] else "")
    return table


@user_app.command("add")
def user_add(
    role: Annotated[Role, typer.Option(help="Role of the user")],
    name: Annotated[str, typer.Option(help="Unique user name")],
    enterprise: Annotated[Optional[str], typer.Option(help="USCC of the enterprise (enterprise users)")] = None,
    office: Annotated[Optional[str], typer.Option(help="Customs office code (required for officers, inspectors, gate)")] = None,
    password: Annotated[Optional[str], typer.Option(help="Password for the web pages", envvar="SMARTCUSTOMS_NEW_PASSWORD")] = None,
) -> None:
    """Create a user; the new bearer token is printed as the last line."""
    with runtime() as rt, rt.write() as s:
        _user, token = auth_service.add_user(
            s,
            name=name,
            role=role,
            enterprise_uscc=enterprise,
            office=office,
            password=password,
            actor=OPERATOR,
            now=utcnow(),
            production=rt.settings.mode == "production",
        )
    err_console.print(f"user {name} ({role.value}) created; keep this token, it is not shown again:")
    typer.echo(token)


@user_app.command("token")
def user_token(name: Annotated[str, typer.Option(help="User name")]) -> None:
    """Issue another bearer token for a user; printed as the last line."""
    with runtime() as rt:
        who = principal_named(rt, name)
        from smartcustoms.auth.models import User

        with rt.write() as s:
            user = s.get(User, who.user_id)
            assert user is not None
            token = auth_service.issue_token(s, user=user, now=utcnow(), label="cli")
    typer.echo(token)


@user_app.command("set-password")
def user_set_password(
    name: Annotated[str, typer.Option(help="User name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="SMARTCUSTOMS_NEW_PASSWORD")],
) -> None:
    """Set a user's password for the web pages; their web sessions end (stricter rules in production mode)."""
    with runtime() as rt, rt.write() as s:
        auth_service.set_password(
            s, name=name, password=password, actor=OPERATOR, now=utcnow(), production=rt.settings.mode == "production"
        )
    console.print(f"password set for {name}")


@user_app.command("revoke")
def user_revoke(name: Annotated[str, typer.Option(help="User name")], json_output: JsonOpt = False) -> None:
    """Revoke every bearer token of a user and end their web sessions (servers stop accepting the tokens within SMARTCUSTOMS_AUTH_CACHE_SECONDS)."""
    with runtime(json_output) as rt, rt.write() as s:
        n = auth_service.revoke_tokens(s, name=name, actor=OPERATOR, now=utcnow())
    emit({"user": name, "revoked": n}, json_output, f"{n} token(s) of {name} revoked")


def _set_active(name: str, *, active: bool, json_output: bool) -> None:
    with runtime(json_output) as rt, rt.write() as s:
        auth_service.set_active(s, name=name, active=active, actor=OPERATOR, now=utcnow())
    emit({"user": name, "active": active}, json_output, f"{name} {'enabled' if active else 'disabled'}")


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Option(help="User name")], json_output: JsonOpt = False) -> None:
    """Disable a user: none of their tokens, passwords or web sessions works any more."""
    _set_active(name, active=False, json_output=json_output)


@user_app.command("enable")
def user_enable(name: Annotated[str, typer.Option(help="User name")], json_output: JsonOpt = False) -> None:
    """Enable a disabled user again (revoked tokens stay revoked)."""
    _set_active(name, active=True, json_output=json_output)


def main() -> None:  # pragma: no cover - console entry
    """Entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
