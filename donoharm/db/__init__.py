"""Data access: the connection, transactions and schema. All SQL lives in this package."""
from __future__ import annotations

import fcntl
import os
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
    create_private(path)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    # FULL: an event the server has acknowledged survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    return sqlite_utils.Database(conn)


def create_private(path: str | Path) -> None:
    """Create an empty database file readable by its owner only; SQLite gives -wal/-shm the same mode."""
    if str(path) == ":memory:" or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process created it first


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
    # gunicorn workers start together: one migrates while the others wait, then find nothing pending.
    lock = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600) if path != ":memory:" else None
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_EX)
    db = connect(path)
    try:
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        return pending
    finally:
        db.conn.close()
        if lock is not None:
            os.close(lock)  # closing releases the lock


def backup(source: str, dest: Path) -> None:
    """Copy the live database consistently with SQLite's backup API."""
    create_private(dest)
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
    from . import restore, retention  # they import this module, so imported here

    db_cli.add_command(restore.restore_command)
    retention.init_app(app)
