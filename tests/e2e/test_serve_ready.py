"""`smartcustoms serve` says it is serving only once the server is ready (GET /readyz answers 200)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

SMARTCUSTOMS = Path(sys.executable).with_name("smartcustoms")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not SMARTCUSTOMS.exists(), reason=f"console script {SMARTCUSTOMS} is not installed")]


def test_serve_prints_its_serving_line_only_once_readyz_answers_200(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCUSTOMS_") and k != "PORT"}
    env.update(SMARTCUSTOMS_DATABASE_URL=f"sqlite:///{tmp_path / 'sc.db'}", SMARTCUSTOMS_STORAGE_DIR=str(tmp_path / "files"), NO_COLOR="1")
    subprocess.run([str(SMARTCUSTOMS), "init"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(SMARTCUSTOMS), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen: dict[str, float] = {}

    def watch() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            if "serving" in line and "line" not in seen:
                seen["line"] = time.monotonic()

    threading.Thread(target=watch, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while "line" not in seen or "ready" not in seen:
            assert time.monotonic() < deadline and server.poll() is None, f"no ready server and line within 60 s: {seen}"
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
            except httpx.TransportError:
                status = 0
            if status == 200:
                seen.setdefault("ready", time.monotonic())
            elif status == 503:
                seen["warming"] = time.monotonic()
                assert "line" not in seen, "the serving line came while /readyz still answered 503"
            time.sleep(0.05)
        # The line follows readiness (seen here up to one poll late), never comes before it.
        assert seen["line"] >= seen["ready"] - 0.3, seen
    finally:
        server.terminate()
        server.wait(timeout=15)
