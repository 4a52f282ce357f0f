"""The review queue and the review homes, read from the per-run summaries (db/summaries.py)."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

QUEUE_LIMIT = 50
QUEUE_STATUSES = ("submitted", "returned", "approved", "in_progress")


def _queue_where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    clauses, params = ["r.mode = 'live'"], []
    status = filters.get("status") or "submitted"
    if status == "all":
        clauses.append("r.status != 'in_progress'")
    else:
        clauses.append("r.status = ?")
        params.append(status)
    if filters.get("protocol"):
        clauses.append("r.protocol_id = ?")
        params.append(filters["protocol"])
    if filters.get("accompanier"):
        clauses.append("u.username = ? COLLATE NOCASE")
        params.append(filters["accompanier"])
    if filters.get("since"):
        clauses.append("r.submitted_at >= ?")
        params.append(filters["since"].isoformat())
    if filters.get("until"):  # inclusive day: before the start of the next day
        clauses.append("r.submitted_at < date(?, '+1 day')")
        params.append(filters["until"].isoformat())
    return " AND ".join(clauses), params


def queue(db: Database, filters: dict[str, Any], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Live runs for review matching the filters, longest waiting first; and how many match in all."""
    where, params = _queue_where(filters)
    rows = db.execute(
        f"""SELECT r.id, r.protocol_id, r.protocol_version, r.label, r.status, r.submitted_at,
                   u.username AS created_by, r.created_by AS creator_id,
                   COALESCE(f.deviation_count, 0) AS deviation_count, COALESCE(f.na_count, 0) AS na_count,
                   COALESCE(f.returned, 0) AS returned_count
            FROM runs r JOIN users u ON u.id = r.created_by LEFT JOIN run_facts f ON f.run_id = r.id
            WHERE {where} ORDER BY r.submitted_at, r.id LIMIT ? OFFSET ?""",
        [*params, QUEUE_LIMIT, offset]).fetchall()
    total = db.execute(f"SELECT count(*) FROM runs r JOIN users u ON u.id = r.created_by WHERE {where}",
                       params).fetchone()[0]
    return [dict(r) for r in rows], total


def waiting_count(db: Database, reviewer_id: int) -> int:
    """Submitted live runs someone other than their creator must review."""
    return db.execute("SELECT count(*) FROM runs WHERE mode = 'live' AND status = 'submitted' AND created_by != ?",
                      [reviewer_id]).fetchone()[0]


def returned_runs_of(db: Database, creator_id: int) -> list[dict[str, Any]]:
    """A user's runs returned for correction, with the supervisor's last comment."""
    rows = db.execute(
        """SELECT r.id, r.label, r.protocol_id, r.protocol_version, f.returned_comment, f.returned_by,
                  f.returned_at FROM runs r LEFT JOIN run_facts f ON f.run_id = r.id
           WHERE r.mode = 'live' AND r.status = 'returned' AND r.created_by = ? ORDER BY f.returned_at""",
        [creator_id])
    return [dict(r) for r in rows]


def accompanier_names(db: Database) -> list[str]:
    """Usernames of everyone who has started a live run, for the queue filter."""
    # EXISTS per user (on the runs_by_creator index) stops at each user's first live run; a DISTINCT over
    # the join read every run: 128 ms of /review's 134 ms at 100,000 runs.
    rows = db.execute("SELECT u.username FROM users u WHERE EXISTS (SELECT 1 FROM runs r "
                      "WHERE r.created_by = u.id AND r.mode = 'live') ORDER BY u.username")
    return [r[0] for r in rows]


