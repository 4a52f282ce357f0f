"""Issued audit records: one row per signed PDF, kept for good."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

COLUMNS = "id, run_id, issued_at, reason, status, head_hash, sha256, size, path"


def insert_record(db: Database, record: dict[str, Any]) -> None:
    db.execute(f"INSERT INTO records ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [record[c.strip()] for c in COLUMNS.split(",")])


def records_of(db: Database, run_id: str) -> list[dict[str, Any]]:
    """A run's records, newest first."""
    rows = db.execute(f"SELECT {COLUMNS} FROM records WHERE run_id = ? ORDER BY issued_at DESC, rowid DESC",
                      [run_id]).fetchall()
    return [dict(row) for row in rows]


def latest_record(db: Database, run_id: str) -> dict[str, Any] | None:
    records = records_of(db, run_id)
    return records[0] if records else None


def get_record(db: Database, record_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE id = ?", [record_id]).fetchone()
    return dict(row) if row else None


def record_by_sha256(db: Database, sha256: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE sha256 = ?", [sha256]).fetchone()
    return dict(row) if row else None


def record_for_head(db: Database, run_id: str, head_hash: str, status: str) -> dict[str, Any] | None:
    """The record already issued for this exact chain head and status, if any."""
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE run_id = ? AND head_hash = ? AND status = ?",
                     [run_id, head_hash, status]).fetchone()
    return dict(row) if row else None
