"""Issued audit records: one row per signed PDF, kept for good.

Each issue writes two signed PDFs of the same chain head and status (records/profiles.py): the `internal`
record and its `shareable` profile, each row naming the other by `pair_id`. Records issued before profiles
existed are internal with no pair. Every lookup of "the" record of a run means the internal one unless a
profile is asked for."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

COLUMNS = "id, run_id, issued_at, reason, status, head_hash, sha256, size, path, profile, pair_id"
INTERNAL = "internal"


def insert_record(db: Database, record: dict[str, Any]) -> None:
    names = [c.strip() for c in COLUMNS.split(",")]
    db.execute(f"INSERT INTO records ({COLUMNS}) VALUES ({', '.join('?' * len(names))})",
               [record.get(name, INTERNAL if name == "profile" else None) for name in names])


def records_of(db: Database, run_id: str, profile: str = INTERNAL) -> list[dict[str, Any]]:
    """A run's records of one profile, newest first."""
    rows = db.execute(f"SELECT {COLUMNS} FROM records WHERE run_id = ? AND profile = ? "
                      "ORDER BY issued_at DESC, rowid DESC", [run_id, profile]).fetchall()
    return [dict(row) for row in rows]


def latest_record(db: Database, run_id: str, profile: str = INTERNAL) -> dict[str, Any] | None:
    records = records_of(db, run_id, profile)
    return records[0] if records else None


def pair_of(db: Database, record: dict[str, Any]) -> dict[str, Any] | None:
    """The other profile of the same issue (internal <-> shareable); None for a record issued before profiles."""
    if not record.get("pair_id"):
        return None
    return get_record(db, record["pair_id"])


def staff_roles(db: Database, usernames: list[str]) -> dict[str, str]:
    """The current role of each of these users who has an account (shareable records name roles, not people)."""
    names = sorted(set(usernames))
    if not names:
        return {}
    rows = db.execute(f"SELECT username, role FROM users WHERE username IN ({', '.join('?' * len(names))})",
                      names).fetchall()
    return {row["username"]: row["role"] for row in rows}


def get_record(db: Database, record_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE id = ?", [record_id]).fetchone()
    return dict(row) if row else None


def record_by_sha256(db: Database, sha256: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE sha256 = ?", [sha256]).fetchone()
    return dict(row) if row else None


def record_for_head(db: Database, run_id: str, head_hash: str, status: str,
                    profile: str = INTERNAL) -> dict[str, Any] | None:
    """The record already issued for this exact chain head and status, if any."""
    row = db.execute(f"SELECT {COLUMNS} FROM records WHERE run_id = ? AND head_hash = ? AND status = ? "
                     "AND profile = ?", [run_id, head_hash, status, profile]).fetchone()
    return dict(row) if row else None


def mark_redacted(db: Database, run_id: str, event_id: str, redaction_id: str, at: str) -> None:
    """List every record of the run issued once the event was in its chain (so its file holds the text now
    removed) as superseded by this redaction: the administrator is told to destroy its copies. Only internal
    records: a shareable record holds no free text, so it stays as it is."""
    db.execute("INSERT OR IGNORE INTO redacted_records (record_id, redaction_event, redacted_at) "
               "SELECT c.id, ?, ? FROM records c "
               "JOIN events h ON h.run_id = c.run_id AND h.hash = c.head_hash "
               "JOIN events t ON t.id = ? "
               "WHERE c.run_id = ? AND h.seq >= t.seq AND c.profile = 'internal'",
               [redaction_id, at, event_id, run_id])


def redacted_files(db: Database, redaction_id: str) -> list[dict[str, Any]]:
    """The records a redaction superseded whose file is still on the server."""
    rows = db.execute(f"SELECT {', '.join('c.' + c.strip() for c in COLUMNS.split(','))} FROM redacted_records x "
                      "JOIN records c ON c.id = x.record_id WHERE x.redaction_event = ? AND x.file_removed_at IS NULL",
                      [redaction_id]).fetchall()
    return [dict(row) for row in rows]


def superseded_by(db: Database, redaction_id: str) -> list[str]:
    """The ids of every record a redaction superseded (whether or not its file is still on the server)."""
    rows = db.execute("SELECT x.record_id FROM redacted_records x JOIN records c ON c.id = x.record_id "
                      "WHERE x.redaction_event = ? ORDER BY c.issued_at", [redaction_id]).fetchall()
    return [row[0] for row in rows]


def file_removed(db: Database, record_id: str, at: str) -> None:
    db.execute("UPDATE redacted_records SET file_removed_at = ? WHERE record_id = ? AND file_removed_at IS NULL",
               [at, record_id])


def redaction_of(db: Database, record_id: str) -> dict[str, Any] | None:
    """When a record was superseded by a redaction (the earliest), or None."""
    row = db.execute("SELECT redaction_event, redacted_at, file_removed_at FROM redacted_records "
                     "WHERE record_id = ? ORDER BY redacted_at LIMIT 1", [record_id]).fetchone()
    return dict(row) if row else None


def redacted_records(db: Database) -> list[dict[str, Any]]:
    """Every record superseded by a redaction, once (with the first redaction that superseded it and when its
    file was deleted), newest first, with its run's label: copies to destroy."""
    rows = db.execute("SELECT x.record_id, min(x.redacted_at) AS redacted_at, min(x.file_removed_at) AS "
                      "file_removed_at, c.run_id, c.issued_at, c.sha256, r.label FROM redacted_records x "
                      "JOIN records c ON c.id = x.record_id JOIN runs r ON r.id = c.run_id GROUP BY x.record_id "
                      "ORDER BY min(x.redacted_at) DESC, c.issued_at DESC").fetchall()
    return [dict(row) for row in rows]


# The queue of records to issue (records/queue.py): one row per run, for its latest status change.

DUE_COLUMNS = "run_id, status, head_hash, reason, due_at, attempts, next_attempt_at, claimed_until, last_error"


def enqueue_due(db: Database, run_id: str, status: str, head_hash: str, reason: str, at: str) -> None:
    """Queue the record of a run's new status (replacing an older one still waiting); inside the append's
    transaction, so a committed status change always has its record queued."""
    db.execute(
        f"INSERT INTO records_due ({DUE_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, NULL) "
        "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, head_hash = excluded.head_hash, "
        "reason = excluded.reason, due_at = excluded.due_at, attempts = 0, "
        "next_attempt_at = excluded.next_attempt_at, claimed_until = NULL, last_error = NULL",
        [run_id, status, head_hash, reason, at, at])


def due_records(db: Database, now: str, limit: int, retry_now: bool = False) -> list[dict[str, Any]]:
    """Queued records whose time has come (or all, with `retry_now`) that no worker holds, oldest first."""
    rows = db.execute(f"SELECT {DUE_COLUMNS} FROM records_due WHERE (next_attempt_at <= ? OR ?) "
                      "AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at LIMIT ?",
                      [now, int(retry_now), now, limit]).fetchall()
    return [dict(row) for row in rows]


def due_record(db: Database, run_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {DUE_COLUMNS} FROM records_due WHERE run_id = ?", [run_id]).fetchone()
    return dict(row) if row else None


def claim_due(db: Database, run_id: str, head_hash: str, now: str, until: str) -> bool:
    """Take a queued record for one worker until `until`; False if another worker holds it or it changed."""
    cursor = db.execute("UPDATE records_due SET claimed_until = ? WHERE run_id = ? AND head_hash = ? "
                        "AND (claimed_until IS NULL OR claimed_until < ?)", [until, run_id, head_hash, now])
    return cursor.rowcount == 1


def finish_due(db: Database, run_id: str, head_hash: str) -> None:
    """The record was issued: drop its queue row, unless a newer status change replaced it meanwhile."""
    db.execute("DELETE FROM records_due WHERE run_id = ? AND head_hash = ?", [run_id, head_hash])


def retry_due(db: Database, run_id: str, head_hash: str, error: str, next_attempt_at: str) -> None:
    db.execute("UPDATE records_due SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
               "claimed_until = NULL WHERE run_id = ? AND head_hash = ?",
               [error[:500], next_attempt_at, run_id, head_hash])


def due_summary(db: Database) -> tuple[int, str | None]:
    """How many records wait to be issued, and since when the oldest has."""
    row = db.execute("SELECT count(*), min(due_at) FROM records_due").fetchone()
    return row[0], row[1]
