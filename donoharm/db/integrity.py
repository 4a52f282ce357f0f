"""Integrity faults: runs found changed outside the app, kept visible for administrators."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from . import transaction


def record_fault(db: Database, run_id: str, seq: int, problem: str, now: str) -> None:
    """Note (or refresh) a run's fault; the first detection time is kept."""
    statement = ("INSERT INTO integrity_faults (run_id, seq, problem, detected_at, last_seen_at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, "
                 "problem = excluded.problem, last_seen_at = excluded.last_seen_at")
    values = [run_id, seq, problem, now, now]
    if db.conn.in_transaction:
        db.execute(statement, values)
    else:
        with transaction(db):
            db.execute(statement, values)


def faults(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """Faults with the run's label and author, most recently seen first."""
    rows = db.execute(
        """SELECT f.run_id, f.seq, f.problem, f.detected_at, f.last_seen_at, r.label, u.username AS created_by
           FROM integrity_faults f LEFT JOIN runs r ON r.id = f.run_id LEFT JOIN users u ON u.id = r.created_by
           ORDER BY f.last_seen_at DESC LIMIT ?""", [limit]).fetchall()
    return [dict(row) for row in rows]


def fault_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM integrity_faults").fetchone()[0]


def clear_fault(db: Database, run_id: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM integrity_faults WHERE run_id = ?", [run_id])


def live_chain_positions(db: Database) -> list[dict[str, Any]]:
    """Every live run's id, cached head and event count (practice runs are deleted by retention)."""
    rows = db.execute("SELECT id, head_hash, event_count FROM runs WHERE mode = 'live' ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def run_ids(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT id FROM runs ORDER BY created_at, id").fetchall()]


def head_at(db: Database, run_id: str, count: int) -> str | None:
    """The chain head after `count` events (the genesis hash for 0), or None when there is no such position."""
    if count == 0:
        row = db.execute("SELECT genesis_hash FROM runs WHERE id = ?", [run_id]).fetchone()
    else:
        row = db.execute("SELECT hash FROM events WHERE run_id = ? AND seq = ?", [run_id, count]).fetchone()
    return row[0] if row else None


def all_records(db: Database) -> list[dict[str, Any]]:
    """Every issued record; `redacted`: a redaction superseded it, so its file is deleted on purpose."""
    rows = db.execute("SELECT id, run_id, head_hash, sha256, path, status, EXISTS (SELECT 1 FROM redacted_records x "
                      "WHERE x.record_id = records.id) AS redacted FROM records ORDER BY issued_at").fetchall()
    return [dict(row) for row in rows]
