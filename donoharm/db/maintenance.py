"""The last outcome of each maintenance task (backup, verify, checkpoint), read by the health check."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from ..timefmt import now_z
from . import transaction


def _now() -> str:
    return now_z()


def record_task(db: Database, task: str, ok: bool, detail: str = "", at: str | None = None) -> None:
    """Note a task's outcome; `last_ok_at` keeps the time of its last success."""
    at = at or _now()
    with transaction(db):
        db.execute(
            "INSERT INTO maintenance_log (task, finished_at, ok, detail, last_ok_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (task) DO UPDATE SET finished_at = excluded.finished_at, ok = excluded.ok, "
            "detail = excluded.detail, last_ok_at = COALESCE(excluded.last_ok_at, last_ok_at)",
            [task, at, int(ok), detail[:500], at if ok else None])


def last_task(db: Database, task: str) -> dict[str, Any] | None:
    row = db.execute("SELECT task, finished_at, ok, detail, last_ok_at FROM maintenance_log WHERE task = ?",
                     [task]).fetchone()
    return dict(row) if row else None


def probe_write_read(db: Database, at: str) -> bool:
    """Write a row and read it back: False when the database cannot take a write (full disk, read-only)."""
    with transaction(db):
        db.execute("INSERT INTO health_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                   [at])
    row = db.execute("SELECT at FROM health_probe WHERE id = 1").fetchone()
    return row is not None and row[0] == at


def instance_started_at(db: Database) -> str | None:
    """When the first account was made: how long the instance has existed without a backup."""
    return db.execute("SELECT min(created_at) FROM users").fetchone()[0]
