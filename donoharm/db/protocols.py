"""Uploaded protocol versions, trainers' lifecycle choices and users' last visit to /protocols."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def get_upload(db: Database, protocol_id: str, version: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM protocol_uploads WHERE protocol_id = ? AND version = ?",
                     [protocol_id, version]).fetchone()
    return dict(row) if row else None


def insert_upload(db: Database, protocol_id: str, version: str, sha256: str, yaml_text: str,
                  user_id: int | None) -> str:
    """Store an uploaded version with its original YAML; return the upload time."""
    at = now()
    db.execute("INSERT INTO protocol_uploads (protocol_id, version, sha256, yaml_text, uploaded_by, uploaded_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", [protocol_id, version, sha256, yaml_text, user_id, at])
    return at


def uploads_after(db: Database, rowid: int) -> list[dict[str, Any]]:
    """Uploads stored after a row id, oldest first, each with its rowid (uploads are never deleted)."""
    rows = db.execute("SELECT rowid, * FROM protocol_uploads WHERE rowid > ? ORDER BY rowid", [rowid])
    return [dict(r) for r in rows]


def upload_generation(db: Database) -> tuple[int, str]:
    """A cheap signature of the uploads and lifecycle tables that changes whenever either does."""
    row = db.execute(
        "SELECT (SELECT coalesce(max(rowid), 0) FROM protocol_uploads), "
        "(SELECT count(*) || '|' || coalesce(max(set_at), '') || '|' || "
        "coalesce(group_concat(protocol_id || ' ' || version || ' ' || state, ','), '') FROM protocol_lifecycle)"
    ).fetchone()
    return int(row[0]), str(row[1])


def upload_info(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    """Who uploaded each version and when, keyed by (id, version)."""
    rows = db.execute("SELECT u.protocol_id, u.version, u.uploaded_at, users.username AS uploaded_by "
                      "FROM protocol_uploads u LEFT JOIN users ON users.id = u.uploaded_by")
    return {(r["protocol_id"], r["version"]): dict(r) for r in rows}


def lifecycle(db: Database) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The trainers' choices: {protocol id: current version} and the retired (id, version) pairs."""
    current: dict[str, str] = {}
    retired: list[tuple[str, str]] = []
    for row in db.execute("SELECT protocol_id, version, state FROM protocol_lifecycle ORDER BY set_at"):
        if row["state"] == "current":
            current[row["protocol_id"]] = row["version"]
        else:
            retired.append((row["protocol_id"], row["version"]))
    return current, retired


def retired_at(db: Database, protocol_id: str, version: str) -> str | None:
    """When a version was retired (ISO 8601, UTC), or None if it is not retired."""
    row = db.execute("SELECT set_at FROM protocol_lifecycle WHERE protocol_id = ? AND version = ? "
                     "AND state = 'retired'", [protocol_id, version]).fetchone()
    return row[0] if row else None


def set_current(db: Database, protocol_id: str, version: str, user_id: int | None) -> None:
    """Make a version the one new runs default to; it is no longer retired."""
    db.execute("DELETE FROM protocol_lifecycle WHERE protocol_id = ? AND state = 'current'", [protocol_id])
    db.execute("DELETE FROM protocol_lifecycle WHERE protocol_id = ? AND version = ? AND state = 'retired'",
               [protocol_id, version])
    db.execute("INSERT INTO protocol_lifecycle (protocol_id, version, state, set_by, set_at) "
               "VALUES (?, ?, 'current', ?, ?)", [protocol_id, version, user_id, now()])


def retire(db: Database, protocol_id: str, version: str, user_id: int | None) -> None:
    """Retire a version: no new runs start on it; it stops being the current one."""
    db.execute("DELETE FROM protocol_lifecycle WHERE protocol_id = ? AND version = ?", [protocol_id, version])
    db.execute("INSERT INTO protocol_lifecycle (protocol_id, version, state, set_by, set_at) "
               "VALUES (?, ?, 'retired', ?, ?)", [protocol_id, version, user_id, now()])


def reinstate(db: Database, protocol_id: str, version: str) -> None:
    """Undo a retirement."""
    db.execute("DELETE FROM protocol_lifecycle WHERE protocol_id = ? AND version = ? AND state = 'retired'",
               [protocol_id, version])


def protocols_seen_at(db: Database, user_id: int) -> str | None:
    """When the user last opened the protocol list; before that, when the account was made."""
    row = db.execute("SELECT coalesce(protocols_seen_at, created_at) FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row else None


def mark_protocols_seen(db: Database, user_id: int) -> None:
    db.execute("UPDATE users SET protocols_seen_at = ? WHERE id = ?", [now(), user_id])
