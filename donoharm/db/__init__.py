"""Data access: the connection, transactions and schema. All SQL lives in this package."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlite_utils
from flask import Flask, current_app, g
from flask.cli import AppGroup

from .schema import migrations


def connect(path: str) -> sqlite_utils.Database:
    """Open the database with WAL, foreign keys, a busy timeout and durable commits."""
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    # FULL: an event the server has acknowledged survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    return sqlite_utils.Database(conn)


def get_db() -> sqlite_utils.Database:
    """The request's database connection, opened once and closed at teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block in one write transaction, taken at the start so readers never race writers."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def migrate(path: str) -> list[str]:
    """Apply pending schema migrations; return the names applied."""
    db = connect(path)
    try:
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        return pending
    finally:
        db.conn.close()


def backup(source: str, dest: Path) -> None:
    """Copy the live database consistently with SQLite's backup API."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(str(dest))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@click.group("db", cls=AppGroup)
def db_cli() -> None:
    """Manage the database."""


@db_cli.command("migrate")
def migrate_command() -> None:
    """Apply pending schema migrations."""
    applied = migrate(current_app.config["DATABASE"])
    click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied)}" if applied
               else "The database is up to date.")


@db_cli.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(dest: Path) -> None:
    """Write a consistent copy of the database to DEST while the app runs."""
    if dest.exists():
        raise click.ClickException(f"{dest} exists already; choose a new file name")
    backup(current_app.config["DATABASE"], dest)
    click.echo(f"Backed up the database to {dest}")


def init_app(app: Flask) -> None:
    """Create or migrate the database and register teardown and CLI commands."""
    migrate(app.config["DATABASE"])
    app.teardown_appcontext(close_db)
    app.cli.add_command(db_cli)
