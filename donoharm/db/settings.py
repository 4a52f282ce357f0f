"""The organisation's settings (issue 19): one row, written at /setup and on the settings page."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database


def get_settings(db: Database) -> dict[str, Any] | None:
    """The stored settings (name, time_zone, page_size, updated_at, updated_by), or None before any were chosen."""
    row = db.execute("SELECT name, time_zone, page_size, updated_at, updated_by FROM organisation_settings "
                     "WHERE id = 1").fetchone()
    return dict(row) if row else None


def save_settings(db: Database, name: str, time_zone: str, page_size: str, by: str | None) -> None:
    """Store the settings, replacing any earlier ones (the caller checked them: organisation.py)."""
    db.execute(
        "INSERT INTO organisation_settings (id, name, time_zone, page_size, updated_at, updated_by) "
        "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "time_zone = excluded.time_zone, page_size = excluded.page_size, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        [name, time_zone, page_size, datetime.now(UTC).isoformat(timespec="seconds"), by])
