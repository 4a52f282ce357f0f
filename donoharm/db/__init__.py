"""Data access: the connection, transactions and schema. All SQL lives in this package."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
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
    # A removed text (a redaction, retention) is overwritten on disk, not left in a free page.
    conn.execute("PRAGMA secure_delete=ON")
    return sqlite_utils.Database(conn)


def create_private(path: str | Path) -> None:
    """Create an empty database file readable by its owner only; SQLite gives -wal/-shm the same mode."""
    if str(path) == ":memory:" or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process created it first


# One open connection kept per server thread between requests: opening one (and SQLite's checkpoint when the
# last connection to a file closes) cost more than the rest of a small append. It is used again only by the same
# process and thread, for the same file: a database replaced underneath (a restore) is a new file, and is opened.
_kept = threading.local()


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (os.getpid(), found.st_dev, found.st_ino)


def _kept_connection(path: str) -> sqlite_utils.Database | None:
    kept = getattr(_kept, "db", None)
    if kept is None:
        return None
    _kept.db = None
    db, kept_path, identity = kept
    if kept_path == path and identity is not None and identity == _identity(path):
        return db
    if identity is not None and identity[0] == os.getpid():  # never close what a parent process opened
        db.conn.close()
    return None


def release_kept_connection() -> None:
    """Close this thread's kept connection (before a command that needs the database closed, such as restore)."""
    kept = getattr(_kept, "db", None)
    _kept.db = None
    if kept is not None and kept[2] is not None and kept[2][0] == os.getpid():
        kept[0].conn.close()


def get_db() -> sqlite_utils.Database:
    """The request's database connection: the thread's kept one when it still belongs to this database file."""
    if "db" not in g:
        path = current_app.config["DATABASE"]
        g.db = _kept_connection(path) or connect(path)
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    """At teardown: keep the connection for the thread's next request (a transaction left open is rolled back).
    KEEP_CONNECTIONS (default: on, off under TESTING) false closes it instead: tests compare instance folders byte
    for byte and restore in the same process, where a kept connection's -wal file would be in the way."""
    db = g.pop("db", None)
    if db is None:
        return
    path = current_app.config["DATABASE"]
    if db.conn.in_transaction:
        db.conn.rollback()
    if path == ":memory:" or not current_app.config.get("KEEP_CONNECTIONS", not current_app.testing):
        db.conn.close()
        return
    previous = _kept_connection(path)  # a second app in this thread (tests): the older connection goes
    if previous is not None:
        previous.conn.close()
    _kept.db = (db, path, _identity(path))


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


def pending_migrations(path: str) -> list[str]:
    """The migrations not yet applied (every one for a database that does not exist yet); reads only."""
    if path != ":memory:" and not os.path.exists(path):
        return [m.name for m in migrations._migrations]
    db = connect(path)
    try:
        return [m.name for m in migrations.pending(db)]
    finally:
        db.conn.close()


def backup(source: str, dest: Path) -> None:
    """Copy the live database consistently with SQLite's backup API (one step: a snapshot of one moment)."""
    create_private(dest)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(str(dest))
    try:
        src.backup(dst)
        # A copy in WAL mode cannot be opened read-only where its reader may not create a -shm file.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


@click.group("db", cls=AppGroup)
def db_cli() -> None:
    """Manage the database."""


@db_cli.command("backup")
@click.argument("dest", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="The whole instance (database, records, keys, checkpoints) in one "
              "archive (.tar.gz), not only the database.")
@click.option("--into", type=click.Path(file_okay=False, path_type=Path),
              help="With --full: write donoharm-full-<UTC time>.tar.gz into this folder and keep the newest "
              "DONOHARM_BACKUP_KEEP of them (default: DONOHARM_BACKUP_DIR).")
@click.option("--with-root-key", is_flag=True, help="With --full: include the records root key "
              "(signing-root.key), for a copy kept offline.")
def backup_command(dest: Path | None, full: bool, into: Path | None, with_root_key: bool) -> None:
    """Write a consistent copy of the database to DEST while the app runs; with --full, of the whole instance."""
    if full or into is not None or with_root_key:
        from ..backup.full import backup_command as full_backup_command

        full_backup_command(current_app, dest, into, with_root_key)
        return
    from ..backup.archive import BackupError, check_dest, unwritable

    if dest is None:
        raise click.ClickException("give DEST, a new file for the database copy (or --full for the whole instance)")
    try:
        check_dest(dest)
        backup(current_app.config["DATABASE"], dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except PermissionError:
        raise click.ClickException(str(unwritable(dest.parent))) from None
    click.echo(f"Backed up the database to {dest}")


def init_app(app: Flask) -> None:
    """Register teardown and CLI commands (the schema is brought up to date by `db migrate`: donoharm/prepare.py)."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(db_cli)
    from . import restore, retention  # they import this module, so imported here

    db_cli.add_command(restore.restore_command)
    retention.init_app(app)


def fold_write_ahead_log(db: sqlite_utils.Database) -> None:
    """Copy the WAL into the database file and empty it, so removed text or deleted rows do not linger in the WAL
    (best effort: a reader still open keeps the pages it reads until the next checkpoint)."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
