"""`smartcustoms release`: the signing key of release receipts, and checking a receipt's token."""

from __future__ import annotations

from typing import Annotated

import typer

from smartcustoms.cli.common import JsonOpt, console, emit, runtime
from smartcustoms.release import service, signing

app = typer.Typer(help="Release receipts: their signing key, and checking a token.", no_args_is_help=True)


@app.command("new-key")
def new_key() -> None:
    """Print a new Ed25519 private key, base64: set it as SMARTCUSTOMS_SIGNING_KEY (keep it secret; changing it voids earlier receipts' QR codes)."""
    print(signing.new_key_text())


@app.command("public-key")
def public_key(json_output: JsonOpt = False) -> None:
    """Print the public key receipts are checked with (as GET /api/v1/releases/signing-key publishes it)."""
    with runtime(json_output) as rt:
        signer = rt.signer.get()
    key = {"algorithm": "Ed25519", "key_id": signer.key_id, "public_key": signer.public_raw(), "pem": signer.public_pem()}
    emit(key, json_output, f"Ed25519 key {signer.key_id}\n{signer.public_pem()}")


def _verdict(found: service.Verification) -> None:
    if found.release is not None:
        r = found.release
        console.print(
            f"valid: release {r['number']} of declaration {r['declaration']} at {r['released_at']}, containers {', '.join(r['containers']) or '-'}"
        )
    else:
        console.print(f"[red]{found.verdict}[/red]: this token is not a valid release receipt")


@app.command("verify")
def verify(
    token: Annotated[str, typer.Argument(help="The token (the part after /verify/ in the receipt's QR code)")], json_output: JsonOpt = False
) -> None:
    """Check a receipt's token: valid (and what was released), or forged/altered, malformed, not on record (exit 1)."""
    with runtime(json_output) as rt, rt.read() as s:
        found = service.verify(s, token=token)
    emit({"valid": found.verdict == "valid", "verdict": found.verdict, "release": found.release}, json_output, lambda: _verdict(found))
    if found.verdict != "valid":
        raise typer.Exit(1)
