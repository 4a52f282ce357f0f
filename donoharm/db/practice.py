"""Practice runs, for trainers: read-only queries (practice runs never reach review or oversight)."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from .runs import RUN_COLUMNS, _event


def practice_runs(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """The most recent practice runs of every user, newest first."""
    rows = db.execute(f"SELECT {RUN_COLUMNS} FROM runs r JOIN users u ON u.id = r.created_by "
                      "WHERE r.mode = 'practice' ORDER BY r.created_at DESC LIMIT ?", [limit])
    return [dict(r) for r in rows]


def practice_events(db: Database, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The events of several practice runs in one query, by run id, in sequence order."""
    found: dict[str, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    marks = ", ".join("?" for _ in run_ids)
    rows = db.execute(f"SELECT e.* FROM events e JOIN runs r ON r.id = e.run_id WHERE r.mode = 'practice' "
                      f"AND e.run_id IN ({marks}) ORDER BY e.run_id, e.seq", run_ids)
    for row in rows:
        event = _event(row)
        found[event["run"]].append(event)
    return found
