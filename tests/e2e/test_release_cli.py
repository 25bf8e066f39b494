"""`smartcustoms release new-key|public-key|verify`, run as the real console script on a fresh SQLite file."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

from smartcustoms.audit.service import Actor
from smartcustoms.declaration import repository
from smartcustoms.release import service
from tests.conftest import EXAMPLE, NOW
from tests.e2e.test_cli import SMARTCUSTOMS, Cli

pytest_plugins = ["tests.e2e.test_cli"]


def _run(cli: Cli, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SMARTCUSTOMS), *args], cwd=cli.home, env=cli.env(**env), capture_output=True, text=True, timeout=120)


def test_new_key_prints_a_key_the_settings_take_and_public_key_shows_its_public_half(initialized: Cli) -> None:
    key = initialized.run("release", "new-key").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    made = initialized.json("release", "public-key")  # no key configured: the development key file, made now
    assert (initialized.home / "files" / "release-signing.key").exists()
    configured = _run(initialized, "release", "public-key", "--json", SMARTCUSTOMS_SIGNING_KEY=key)
    assert configured.returncode == 0, configured.stderr
    assert json.loads(configured.stdout)["key_id"] != made["key_id"]  # the configured key, not the file's
    refused = _run(initialized, "release", "public-key", SMARTCUSTOMS_SIGNING_KEY=base64.b64encode(b"short").decode())
    assert refused.returncode == 2 and "SMARTCUSTOMS_SIGNING_KEY must be 32 bytes" in refused.stderr, refused.stderr


def test_verify_says_valid_with_what_was_released_and_exits_1_on_an_altered_token(populated: Cli, runtime_of: Any) -> None:
    number = populated.json("declaration", "lodge", str(EXAMPLE), "--as", "broker")["number"]
    rt = runtime_of(populated)
    with rt.write() as s:
        decl = repository.by_number(s, number=number)
        assert decl is not None
        token = service.issue(s, declaration=decl, actor=Actor.system("clearance"), now=NOW).token
    found = populated.json("release", "verify", token)
    assert found["valid"] is True and found["release"]["declaration"] == number
    head, body, sig = token.split(".")
    altered = f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{sig}"
    out = populated.run("release", "verify", altered, expect=1)
    assert out.stdout.startswith("forged")
