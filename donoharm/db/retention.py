"""Retention: delete practice runs, with everything stored about them, after a number of days; find the closed
runs whose free texts or whole history are due to go (donoharm/services/retention.py decides and acts), and delete runs
leaving a row in the deletion register."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlite_utils import Database

from ..runs.state import LOCKED_STATUSES
from . import connect, transaction

# Practice runs whose last change is older than the cutoff; live runs are never touched.
EXPIRED_SQL = "SELECT id FROM runs WHERE mode = 'practice' AND updated_at < ?"

# Each locked (approved or closed) run with the server's time of the event that locked it: the last event
# other than a redaction, as nothing else can be added to a locked run. runs.updated_at will not do: a
# redaction made after the lock (by a supervisor, or by retention itself) moves it.
LOCKED_SQL = f"""
    SELECT r.id, r.label, r.mode, r.protocol_id, r.protocol_version, r.created_at, r.head_hash, r.event_count,
           max(e.received_at) AS locked_at
    FROM runs r JOIN events e ON e.run_id = r.id AND e.type != 'redaction'
    WHERE r.status IN ({", ".join(f"'{status}'" for status in LOCKED_STATUSES)})
    GROUP BY r.id
    HAVING locked_at <= ?
"""
# An event still holding a free text: a note, comment or reason, or a free-text answer. The retention job's own
# redactions are left out: their reason says why the texts went, and removing it would never end.
HOLDS_TEXT = ("(e.note IS NOT NULL OR (e.value_is_text = 1 AND e.value IS NOT NULL)) "
              "AND NOT (e.type = 'redaction' AND e.actor = 'system')")


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


def locked_runs(db: Database, before: str) -> list[dict[str, Any]]:
    """Runs locked (approved or closed) at or before `before`, oldest lock first. Runs whose stored history was
    changed outside the app are left alone until an administrator has dealt with them (faulty_locked_runs)."""
    rows = db.execute(f"SELECT * FROM ({LOCKED_SQL}) WHERE id NOT IN (SELECT run_id FROM integrity_faults) "
                      "ORDER BY locked_at, id", [before]).fetchall()
    return [dict(row) for row in rows]


def faulty_locked_runs(db: Database, before: str) -> int:
    """How many runs locked at or before `before` are left alone because of an integrity fault (`db verify`)."""
    return db.execute(f"SELECT count(*) FROM ({LOCKED_SQL}) WHERE id IN (SELECT run_id FROM integrity_faults)",
                      [before]).fetchone()[0]


def texts_of_runs(db: Database, run_ids: list[str]) -> list[dict[str, Any]]:
    """The events of these runs still holding a free text: run_id, id, and whether it has a commitment
    (only those can be removed with the chain intact)."""
    rows = db.execute(f"SELECT e.run_id, e.id, e.text_commitment IS NOT NULL AS committed FROM events e "
                      f"WHERE e.run_id IN (SELECT value FROM json_each(?)) AND {HOLDS_TEXT} ORDER BY e.run_id, e.seq",
                      [json.dumps(run_ids)]).fetchall()
    return [dict(row) for row in rows]


def delete_runs(db: Database, runs: list[dict[str, Any]], deleted_at: str, instance: Path) -> Purged:
    """Delete whole runs (rows as locked_runs gives them) with everything stored about them, each leaving a row in
    the deletion register; emptied operations go too (their label could name one). Record files go after the
    commit."""
    purged = Purged()
    if not runs:
        return purged
    ids = json.dumps([run["id"] for run in runs])
    chosen = "SELECT value FROM json_each(?)"
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO deleted_runs (run_id, protocol_id, protocol_version, created_at, locked_at, deleted_at, "
            "head_hash, event_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[r["id"], r["protocol_id"], r["protocol_version"], r["created_at"], r["locked_at"], deleted_at,
              r["head_hash"], r["event_count"]] for r in runs])
        purged.runs = len(runs)
        purged.events = db.execute(f"SELECT count(*) FROM events WHERE run_id IN ({chosen})", [ids]).fetchone()[0]
        paths = db.execute(f"SELECT path FROM records WHERE run_id IN ({chosen})", [ids]).fetchall()
        purged.record_files = [_inside(instance, row["path"]) for row in paths]
        operations = [row[0] for row in db.execute(
            f"SELECT DISTINCT operation_id FROM runs WHERE id IN ({chosen}) AND operation_id IS NOT NULL", [ids])]
        db.execute(f"DELETE FROM integrity_faults WHERE run_id IN ({chosen})", [ids])
        _delete(db, "runs", "id", chosen, [ids])
        db.execute("DELETE FROM operations WHERE id IN (SELECT value FROM json_each(?)) "
                   "AND NOT EXISTS (SELECT 1 FROM runs WHERE operation_id = operations.id)", [json.dumps(operations)])
    for path in purged.record_files:
        if path is not None:
            path.unlink(missing_ok=True)
    return purged


def deleted_run(db: Database, run_id: str) -> dict[str, Any] | None:
    """A run's row in the deletion register, or None when retention never deleted it."""
    if "deleted_runs" not in db.table_names():
        return None
    row = db.execute("SELECT * FROM deleted_runs WHERE run_id = ?", [run_id]).fetchone()
    return dict(row) if row else None


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
    """Register `flask runs purge-practice` and `flask db purge` (texts and closed runs go by `db purge`, from the
    maintenance timer; practice runs past DONOHARM_PRACTICE_RETENTION_DAYS also at each `db migrate`)."""
    from ..services import retention  # the service: it imports this module
    from . import db_cli

    app.cli.add_command(runs_cli)
    db_cli.add_command(retention.purge_command)


def purge_practice_now(app: Flask, days: int) -> int:
    """Delete practice runs older than `days`; return how many."""
    db = connect(app.config["DATABASE"])
    try:
        purged = purge_practice(db, cutoff(days), Path(app.instance_path))
    finally:
        db.conn.close()
    if purged.runs:
        app.logger.info("deleted %d practice run(s) older than %d days", purged.runs, days)
    return purged.runs
