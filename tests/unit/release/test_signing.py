"""Release tokens and the signing key: sign and check, the key from the settings or made once in development."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from smartcustoms.config import ConfigurationError, Settings
from smartcustoms.release import signing
from tests.conftest import SIGNING_KEY

STRONG = "c0ffee-" + "Q7x9Lm2Rt5Vb8Nc1Zs4Hj6Kd3Wf0Pg" + "yUaEoI"


def test_production_requires_a_signing_key_and_any_mode_refuses_one_that_is_not_32_bytes_of_base64() -> None:
    with pytest.raises(ConfigurationError, match="SMARTCUSTOMS_SIGNING_KEY is required in production mode"):
        Settings(mode="production", secret_key=STRONG)
    assert Settings(mode="production", secret_key=STRONG, signing_key=SIGNING_KEY).signing_key == SIGNING_KEY
    for bad, why in (("not base64!", "is not base64"), (base64.b64encode(b"x" * 31).decode(), "must be 32 bytes")):
        with pytest.raises(ConfigurationError, match=f"SMARTCUSTOMS_SIGNING_KEY {why}"):
            Settings(signing_key=bad)


def test_the_configured_key_signs_and_its_public_key_checks_offline(tmp_path: Path) -> None:
    signer = signing.LazySigner(Settings(signing_key=SIGNING_KEY, storage_dir=tmp_path)).get()
    assert not (tmp_path / signing.KEY_FILE).exists()  # a configured key is never written down
    token = signer.sign({"n": "22482026R000000001", "d": "224820261000000001", "t": "2026-11-22T11:00:00Z"})
    public = signing.Ed25519PublicKey.from_public_bytes(base64.b64decode(signer.public_raw()))
    found = signing.check_with(public, token)
    assert found.verdict is signing.Verdict.valid
    assert found.claims == {"n": "22482026R000000001", "d": "224820261000000001", "t": "2026-11-22T11:00:00Z", "k": signer.key_id}
    assert "BEGIN PUBLIC KEY" in signer.public_pem()
    other = signing.Signer(signing.private_key_from_text(signing.new_key_text()))
    assert other.check(token).verdict is signing.Verdict.forged


def test_in_development_a_key_is_made_once_under_the_storage_directory_and_kept(tmp_path: Path) -> None:
    settings = Settings(storage_dir=tmp_path / "files")
    first = signing.LazySigner(settings).get()
    path = tmp_path / "files" / signing.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = signing.LazySigner(settings).get()  # another process, later: the same key
    assert first.key_id == second.key_id
    assert second.check(first.sign({"n": "x"})).verdict is signing.Verdict.valid
