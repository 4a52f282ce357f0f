"""An instance is prepared on purpose (`flask --app app db migrate`), and the app factory only wires: a server on a
database that is behind refuses to start and names the command; commands start without pyHanko or the key."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from donoharm import create_app
from donoharm.config import ConfigError
from donoharm.db import pending_migrations
from donoharm.prepare import command_words

ROOT = Path(__file__).resolve().parent.parent
SECRET = "prepare-test-secret-key-" + "0" * 40


def _flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "DONOHARM_INSTANCE": str(tmp_path / "instance"), "DONOHARM_SECRET_KEY": SECRET,
            "DONOHARM_ORGANISATION": "OP-TEST Organisation"}


def test_a_server_on_a_database_that_is_behind_refuses_to_start_and_names_the_command(tmp_path):
    with pytest.raises(ConfigError, match=r"needs \d+ migration\(s\) first: run `flask --app app db migrate`"):
        create_app({"INSTANCE": tmp_path / "instance", "SECRET_KEY": SECRET})


def test_db_migrate_prepares_a_new_instance_then_commands_and_the_app_start(env, tmp_path):
    refused = _flask(env, "protocols", "list", check=False)
    assert refused.returncode != 0
    assert "Do No Harm cannot start" in refused.stderr and "db migrate" in refused.stderr
    assert "Traceback" not in refused.stderr

    first = _flask(env, "db", "migrate")
    assert "Applied" in first.stdout
    assert "Made this instance's signing key and certificate." in first.stdout
    assert (tmp_path / "instance" / "signing.pem").exists()
    assert pending_migrations(str(tmp_path / "instance" / "donoharm.db")) == []

    again = _flask(env, "db", "migrate")
    assert again.stdout.strip() == "The database is up to date."
    listed = _flask(env, "protocols", "list")
    assert "immigration-separation" in listed.stdout


def test_a_command_starts_without_loading_pyhanko_or_the_key(env):
    _flask(env, "db", "migrate")
    probe = ("import json, sys; sys.argv = ['flask', 'protocols', 'list']; import app; "
             "print(json.dumps([sorted(m for m in sys.modules if m.startswith('pyhanko')), "
             "'donoharm_signing' in app.app.extensions]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    modules, key_loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert modules == [] and key_loaded is False


def test_an_unreadable_pkcs12_stops_db_migrate_with_one_line(env, tmp_path):
    p12 = tmp_path / "signing.p12"
    p12.write_bytes(b"not a pkcs12 file")
    done = _flask({**env, "DONOHARM_SIGNING_P12": str(p12)}, "db", "migrate", check=False)
    assert done.returncode != 0
    assert "DONOHARM_SIGNING_P12" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("argv", "words"), [
    (["/x/.venv/bin/flask", "--app", "app", "db", "migrate"], ("db", "migrate")),
    (["/x/flask/__main__.py", "-A", "app", "db", "restore", "copy.db"], ("db", "restore")),
    (["/x/.venv/bin/flask", "--app", "app", "--env-file", "db", "run"], ("run",)),
    (["/x/.venv/bin/gunicorn", "app:app"], ()),
    (["/x/pytest", "db", "migrate"], ()),
])
def test_the_command_being_run_is_read_from_the_command_line(argv, words):
    assert command_words(argv) == words
