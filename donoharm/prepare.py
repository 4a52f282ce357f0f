"""Preparing an instance: everything a new or upgraded instance needs before it serves, done on purpose.

`create_app` only wires the application. `flask --app app db migrate` (run by `make run`, by the deployment's
`ExecStartPre` and by the tests' app factory) applies the schema migrations, purges practice runs past their
retention and makes the signing key of a named organisation. A server started on a database that is behind
refuses to start and names the command, rather than serving pages over a schema it does not know.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .config import ConfigError
from .db import db_cli, migrate, pending_migrations

# The commands that work on a database that is behind: they are how it gets prepared or replaced.
PREPARING_COMMANDS = (("db", "migrate"), ("db", "restore"), ("db", "backup"))


def prepare(app: Flask) -> list[str]:
    """Bring the instance up to date; return what was done, one line each (call inside an app context)."""
    done = []
    applied = migrate(app.config["DATABASE"])
    done.append(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied
                else "The database is up to date.")
    days = app.config.get("PRACTICE_RETENTION_DAYS")
    if days:
        from .db.retention import purge_practice_now

        purged = purge_practice_now(app, days)
        if purged:
            done.append(f"Deleted {purged} practice run(s) older than {days} days.")
    summarised = _summarise_pending(app)
    if summarised:
        done.append(f"Summarised {summarised} run(s) stored before the review summaries existed.")
    from .services.organisation import is_named

    # Tests make their key on first use (a key per test app would cost seconds each). A PKCS#12 that cannot be
    # read stops the migration with one line; an unnamed organisation gets its key for the name /setup asks.
    if not app.testing and (app.config.get("SIGNING_P12") or is_named(app)):
        from .records.signing import SIGN_CERT, signing_key

        made = not app.config.get("SIGNING_P12") and not (Path(app.instance_path) / SIGN_CERT).exists()
        signing_key(app)
        if made:
            done.append("Made this instance's signing key and certificate.")
    return done


def _summarise_pending(app: Flask) -> int:
    """Summarise runs stored before the summary tables existed (once, after that migration)."""
    from .db import connect, transaction
    from .db import summaries as summaries_db
    from .services import run_service
    from .services.library import get_registry
    from .services.run_service import RunError

    db = connect(app.config["DATABASE"])
    count = 0
    try:
        registry = get_registry()
        for run_id in summaries_db.pending_runs(db):
            with transaction(db):
                try:
                    run = run_service.load_run(db, run_id)
                    run_state, _events = run_service.run_state(db, registry, run)
                except RunError as error:  # e.g. its protocol version is not on this server
                    app.logger.warning("run %s not summarised for review: %s", run_id, error.message)
                else:
                    summaries_db.write_summary(db, run, run_state)
                    count += 1
                summaries_db.clear_pending(db, run_id)
    finally:
        db.conn.close()
    return count


def command_words(argv: list[str] | None = None) -> tuple[str, ...]:
    """The words naming the `flask` command being run (`("db", "migrate")`), skipping options and their values."""
    argv = sys.argv if argv is None else argv
    if not argv or os.path.basename(argv[0]) not in ("flask", "__main__.py"):  # `flask` or `python -m flask`
        return ()
    words, skip = [], False
    for word in argv[1:]:
        if skip:
            skip = False
        elif word in ("--app", "-A", "--env-file", "-e"):
            skip = True
        elif not word.startswith("-"):
            words.append(word)
    return tuple(words[:2])


def check_ready(app: Flask) -> None:
    """Refuse to start on a database that is behind (tests prepare their instance in the factory instead)."""
    if app.testing or app.config.get("PREPARE") or command_words() in PREPARING_COMMANDS:
        return
    pending = pending_migrations(app.config["DATABASE"])
    if pending:
        raise ConfigError(f"the database at {app.config['DATABASE']} needs {len(pending)} migration(s) first: "
                          "run `flask --app app db migrate`")


@db_cli.command("migrate")
def migrate_command() -> None:
    """Prepare the instance: apply pending schema migrations, purge expired practice runs, make the signing key."""
    app = current_app._get_current_object()
    try:
        done = prepare(app)
    except ConfigError as error:  # e.g. a PKCS#12 it cannot read: one line, not a traceback
        raise click.ClickException(str(error)) from None
    for line in done:
        click.echo(line)


def init_app(app: Flask) -> None:
    """Tests' apps (and a factory given PREPARE=True) are prepared here, as `db migrate` would; others are checked."""
    if app.config.get("PREPARE", app.testing):
        with app.app_context():
            prepare(app)
    check_ready(app)
