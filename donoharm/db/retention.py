"""Retention: delete practice runs, with everything stored about them, after a number of days."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlite_utils import Database

from . import connect, transaction

# Practice runs whose last change is older than the cutoff; live runs are never touched.
EXPIRED_SQL = "SELECT id FROM runs WHERE mode = 'practice' AND updated_at < ?"


@dataclass
class Purged:
    runs: int = 0
    events: int = 0
    record_files: list[Path] = field(default_factory=list)


def cutoff(days: int, now: datetime | None = None) -> str:
    """The timestamp before which a practice run counts as expired, in the runs table's format."""
    moment = (now or datetime.now(UTC)) - timedelta(days=days)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _referencing(db: Database, table: str) -> list[tuple[str, str, str]]:
    """(child table, child column, parent column) for every foreign key pointing at `table`."""
    found = []
    for child in db.table_names():
        for key in db.execute(f"PRAGMA foreign_key_list([{child}])").fetchall():
            if key["table"] == table:
                found.append((child, key["from"], key["to"] or "rowid"))
    return found


def _delete(db: Database, table: str, column: str, selection: str, params: list) -> int:
    # Children first, so foreign keys hold; any table another module adds that points at runs is included.
    for child, child_column, parent_column in _referencing(db, table):
        if child == table:
            continue
        _delete(db, child, child_column, f"SELECT [{parent_column}] FROM [{table}] WHERE [{column}] IN ({selection})",
                params)
    return db.execute(f"DELETE FROM [{table}] WHERE [{column}] IN ({selection})", params).rowcount


def expired_practice(db: Database, before: str) -> tuple[int, int]:
    """How many practice runs and events a purge with this cutoff would delete."""
    row = db.execute(f"SELECT count(*), coalesce(sum(event_count), 0) FROM runs WHERE id IN ({EXPIRED_SQL})",
                     [before]).fetchone()
    return row[0], row[1]


def purge_practice(db: Database, before: str, instance: Path) -> Purged:
    """Delete practice runs last changed before `before`: events, record rows, then their record files."""
    purged = Purged()
    with transaction(db):
        purged.runs, purged.events = expired_practice(db, before)
        if not purged.runs:
            return purged
        if "records" in db.table_names():
            paths = db.execute(f"SELECT path FROM records WHERE run_id IN ({EXPIRED_SQL})", [before]).fetchall()
            purged.record_files = [_inside(instance, row["path"]) for row in paths]
        _delete(db, "runs", "id", EXPIRED_SQL, [before])
    # After the commit: a crash here leaves orphan files, never rows pointing at missing files.
    for path in purged.record_files:
        if path is not None:
            path.unlink(missing_ok=True)
    return purged


def _inside(instance: Path, stored: str) -> Path | None:
    """A record file's path, only if it lies inside the instance folder (never delete elsewhere)."""
    path = (instance / stored).resolve()
    return path if path.is_relative_to(instance.resolve()) else None


runs_cli = AppGroup("runs", help="Manage runs.")


@runs_cli.command("purge-practice")
@click.option("--days", type=click.IntRange(min=1), help="Override DONOHARM_PRACTICE_RETENTION_DAYS.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge_practice_command(days: int | None, dry_run: bool) -> None:
    """Delete practice runs not changed for N days, with their events and records."""
    days = days or current_app.config.get("PRACTICE_RETENTION_DAYS")
    if not days:
        raise click.ClickException("set DONOHARM_PRACTICE_RETENTION_DAYS or pass --days N")
    db = connect(current_app.config["DATABASE"])
    try:
        if dry_run:
            runs, events = expired_practice(db, cutoff(days))
            click.echo(f"Would delete {runs} practice run(s) not changed for {days} days ({events} events).")
            return
        purged = purge_practice(db, cutoff(days), Path(current_app.instance_path))
    finally:
        db.conn.close()
    click.echo(f"Deleted {purged.runs} practice run(s) not changed for {days} days "
               f"({purged.events} events, {len(purged.record_files)} record file(s)).")


def init_app(app: Flask) -> None:
    """Register `flask runs purge-practice`; with a retention setting, purge once on start."""
    app.cli.add_command(runs_cli)
    days = app.config.get("PRACTICE_RETENTION_DAYS")
    if days:
        db = connect(app.config["DATABASE"])
        try:
            purged = purge_practice(db, cutoff(days), Path(app.instance_path))
        finally:
            db.conn.close()
        if purged.runs:
            app.logger.info("deleted %d practice run(s) older than %d days", purged.runs, days)
