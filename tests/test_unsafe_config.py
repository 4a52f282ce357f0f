"""The app refuses to start with settings that would do lasting harm (issue 25), with one line naming the
setting: a placeholder secret key, signing keys made for no organisation, a PKCS#12 it cannot read."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from donoharm import create_app
from donoharm.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _start(tmp_path, **config):
    """A production start after `flask --app app db migrate` (PREPARE does in the factory what the command does)."""
    return create_app({"INSTANCE": tmp_path / "instance", "PREPARE": True, **config})


@pytest.mark.parametrize("secret", ["change-me", "CHANGE-ME", "secret", "short-but-not-a-placeholder"])
def test_a_placeholder_or_short_secret_key_is_refused(tmp_path, monkeypatch, secret):
    monkeypatch.setenv("DONOHARM_SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="DONOHARM_SECRET_KEY is a placeholder or shorter than 32"):
        _start(tmp_path)


def test_a_long_random_secret_key_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("DONOHARM_SECRET_KEY", "0f" * 32)
    assert _start(tmp_path).config["SECRET_KEY"] == "0f" * 32


def test_keys_are_never_made_for_the_unconfigured_organisation(tmp_path, monkeypatch):
    from donoharm.records.signing import signing_key

    monkeypatch.delenv("DONOHARM_ORGANISATION", raising=False)
    app = _start(tmp_path)  # prepared, it starts so that /setup can ask for the name (issue 19), but makes no keys
    assert not (tmp_path / "instance" / "signing.pem").exists()
    with app.app_context(), pytest.raises(ConfigError, match="DONOHARM_ORGANISATION is not set"):
        signing_key(app)
    assert not (tmp_path / "instance" / "signing.pem").exists()
    monkeypatch.setenv("DONOHARM_ORGANISATION", "OP-TEST Organisation")
    _start(tmp_path)
    assert (tmp_path / "instance" / "signing.pem").exists()
    monkeypatch.delenv("DONOHARM_ORGANISATION")
    _start(tmp_path)  # keys made already: the name on them is settled, the app starts


def test_an_unreadable_pkcs12_is_named(tmp_path, monkeypatch):
    p12 = tmp_path / "signing.p12"
    p12.write_bytes(b"not a pkcs12 file")
    monkeypatch.setenv("DONOHARM_SIGNING_P12", str(p12))
    with pytest.raises(ConfigError, match=r"DONOHARM_SIGNING_P12 \(.*signing.p12\) cannot be opened"):
        _start(tmp_path)
    monkeypatch.setenv("DONOHARM_SIGNING_P12", str(tmp_path / "missing.p12"))
    with pytest.raises(ConfigError, match=r"cannot be read by this user \(No such file or directory\)"):
        _start(tmp_path)


def test_the_command_line_says_it_in_one_line(tmp_path):
    env = {**os.environ, "DONOHARM_INSTANCE": str(tmp_path / "instance"), "DONOHARM_SECRET_KEY": "change-me"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "protocols", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Do No Harm cannot start: DONOHARM_SECRET_KEY is a placeholder" in done.stderr
