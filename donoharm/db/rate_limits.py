"""Fixed-window request counters for rate limits, shared by every worker through the database."""
from __future__ import annotations

import sqlite_utils

from . import transaction


def hit(db: sqlite_utils.Database, bucket: str, key: str, window: int) -> int:
    """Count one request of `key` in `bucket` during `window`; return the window's count including it.

    One write transaction, so concurrent workers never lose a count. Windows before the previous one
    are deleted in passing (the primary key starts with bucket and window: a range delete)."""
    with transaction(db):
        count = db.execute(
            """INSERT INTO rate_hits (bucket, window, key, count) VALUES (?, ?, ?, 1)
               ON CONFLICT (bucket, window, key) DO UPDATE SET count = count + 1
               RETURNING count""",
            [bucket, window, key],
        ).fetchall()[0][0]
        db.execute("DELETE FROM rate_hits WHERE bucket = ? AND window < ?", [bucket, window - 1])
    return count


def count(db: sqlite_utils.Database, bucket: str, key: str, window: int) -> int:
    """The requests of `key` in `bucket` counted during `window` (0 if none)."""
    row = db.execute("SELECT count FROM rate_hits WHERE bucket = ? AND window = ? AND key = ?",
                     [bucket, window, key]).fetchone()
    return row[0] if row else 0
