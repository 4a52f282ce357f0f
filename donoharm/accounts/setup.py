"""The one-time link to /setup, where the first administrator is made: printed when a server starts with no
administrator (once for all its workers), and by `flask --app app users setup-link`."""
from __future__ import annotations

import os
import secrets
import sys
from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..db import connect
from ..db import users as users_db
from .auth import _token_hash


def new_setup_link(database: str) -> str | None:
    """Store a new one-time setup token and return its link path, or None if an administrator exists."""
    db = connect(database)
    try:
        if users_db.count_active_admins(db):
            return None
        token = secrets.token_urlsafe(24)
        users_db.add_setup_token(db, _token_hash(token))
        return f"/setup?token={token}"
    finally:
        db.conn.close()


def serving(argv: list[str] | None = None) -> bool:
    """True when this process serves HTTP (`flask … run` or gunicorn), not for other commands."""
    argv = sys.argv if argv is None else argv
    if any("gunicorn" in os.path.basename(arg) for arg in argv[:2]):
        return True
    if argv and os.path.basename(os.path.dirname(argv[0])) == "gunicorn":  # python -m gunicorn: …/gunicorn/__main__.py
        return True
    # The flask command is the first word that is neither an option nor an option's value.
    words = iter(argv[1:])
    for word in words:
        if word in ("--app", "-A", "--env-file", "-e"):
            next(words, None)
        elif not word.startswith("-"):
            return word == "run"
    return False


def announce_setup(app: Flask) -> None:
    """With no administrator yet, print a one-time setup link when the app starts serving."""
    if app.testing:  # tests read the link instead of the console
        app.extensions["donoharm.setup_token"] = (new_setup_link(app.config["DATABASE"]) or "=").split("=", 1)[1]
        return
    if not serving():
        return
    path = announced_setup_link(app.config["DATABASE"])
    if path:
        print(f"\n  No administrator yet. Create one at: {public_base(app)}{path}\n", file=sys.stderr, flush=True)


def public_base(app: Flask) -> str:
    """Where people reach the app: DONOHARM_BASE_URL, else this machine's loopback address and port."""
    return app.config.get("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"


SETUP_ANNOUNCE_MINUTES = 10


def announced_setup_link(database: str) -> str | None:
    """A new setup link to print at start, or None: an administrator exists, or another worker of this server
    printed one minutes ago (every gunicorn worker starts the app; one link is printed, not one each)."""
    db = connect(database)
    try:
        if users_db.count_active_admins(db):
            return None
        token = secrets.token_urlsafe(24)
        since = (datetime.now(UTC) - timedelta(minutes=SETUP_ANNOUNCE_MINUTES)).isoformat(timespec="seconds")
        stored = users_db.add_setup_token_unless_recent(db, _token_hash(token), since)
        return f"/setup?token={token}" if stored else None
    finally:
        db.conn.close()



@click.command("setup-link")
@with_appcontext
def setup_link_command() -> None:
    """Print a new one-time link to create the first administrator."""
    path = new_setup_link(current_app.config["DATABASE"])
    if path is None:
        raise click.ClickException("an administrator exists already; sign in as them to add users")
    click.echo(f"Open {public_base(current_app)}{path}")
