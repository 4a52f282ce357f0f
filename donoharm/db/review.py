"""The review queue and the review homes, read from the per-run summaries (db/summaries.py)."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

QUEUE_LIMIT = 50
HOME_LIMIT = 20
QUEUE_STATUSES = ("submitted", "returned", "approved", "follow_up", "closed", "in_progress")
# The queue's orders: longest waiting first, or most red flags first (then longest waiting).
QUEUE_ORDERS = {"waiting": "r.submitted_at, r.id",
                "flags": "COALESCE(f.flag_count, 0) DESC, r.submitted_at, r.id"}


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _queue_where(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    clauses, params = ["r.mode = 'live'"], []
    status = filters.get("status") or "submitted"
    if status == "all":
        clauses.append("r.status != 'in_progress'")
    elif status == "approved":  # approved in any way: locked, follow-up due, or closed after its follow-up
        clauses.append("r.status IN ('approved', 'follow_up', 'closed')")
    else:
        clauses.append("r.status = ?")
        params.append(status)
    if filters.get("protocol"):
        clauses.append("r.protocol_id = ?")
        params.append(filters["protocol"])
    if filters.get("accompanier"):
        clauses.append("u.username = ? COLLATE NOCASE")
        params.append(filters["accompanier"])
    if filters.get("label"):  # a substring of the operation label; LIKE ignores ASCII case
        clauses.append("r.label LIKE ? ESCAPE '\\'")
        params.append(like_pattern(filters["label"]))
    if filters.get("operation"):  # an operation's id (runs_by_operation)
        clauses.append("r.operation_id = ?")
        params.append(filters["operation"])
    if filters.get("since"):
        clauses.append("r.submitted_at >= ?")
        params.append(filters["since"].isoformat())
    if filters.get("until"):  # inclusive day: before the start of the next day
        clauses.append("r.submitted_at < date(?, '+1 day')")
        params.append(filters["until"].isoformat())
    return " AND ".join(clauses), params


def queue(db: Database, filters: dict[str, Any], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Live runs for review matching the filters, longest waiting first (or most red flags first with
    filters["sort"] == "flags"); and how many match in all."""
    where, params = _queue_where(filters)
    order = QUEUE_ORDERS.get(filters.get("sort") or "waiting", QUEUE_ORDERS["waiting"])
    rows = db.execute(
        f"""SELECT r.id, r.protocol_id, r.protocol_version, r.label, r.status, r.submitted_at,
                   u.username AS created_by, r.created_by AS creator_id,
                   COALESCE(f.deviation_count, 0) AS deviation_count, COALESCE(f.na_count, 0) AS na_count,
                   COALESCE(f.returned, 0) AS returned_count, COALESCE(f.flag_count, 0) AS flag_count,
                   COALESCE(f.follow_up_flag_count, 0) AS follow_up_flag_count, f.follow_up_due_at,
                   r.operation_id, o.label AS operation_label
            FROM runs r JOIN users u ON u.id = r.created_by LEFT JOIN run_facts f ON f.run_id = r.id
                 LEFT JOIN operations o ON o.id = r.operation_id
            WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?""",
        [*params, QUEUE_LIMIT, offset]).fetchall()
    total = db.execute(f"SELECT count(*) FROM runs r JOIN users u ON u.id = r.created_by WHERE {where}",
                       params).fetchone()[0]
    return [dict(r) for r in rows], total


def waiting_count(db: Database, reviewer_id: int) -> int:
    """Submitted live runs someone other than their creator must review."""
    return db.execute("SELECT count(*) FROM runs WHERE mode = 'live' AND status = 'submitted' AND created_by != ?",
                      [reviewer_id]).fetchone()[0]


def overdue_follow_ups(db: Database, now: str, limit: int = HOME_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """Live runs with a follow-up phase still open after its due time (`now`: UTC, as utc_iso writes it),
    the most overdue first; and how many there are in all. A closed run has none open."""
    # follow_up_due_at is set only while a follow-up phase is open, so the partial index run_facts_follow_ups
    # holds just those runs; the unary + keeps SQLite from reading every live run through another index instead.
    where = ("f.follow_up_due_at IS NOT NULL AND f.follow_up_due_at < ? AND +f.live = 1 "
             "AND r.status != 'closed'")
    rows = db.execute(
        f"""SELECT r.id, r.label, r.protocol_id, r.protocol_version, r.status, r.mode, u.username AS created_by,
                   f.follow_up_due_at FROM run_facts f JOIN runs r ON r.id = f.run_id
                   JOIN users u ON u.id = r.created_by
            WHERE {where} ORDER BY f.follow_up_due_at, r.id LIMIT ?""", [now, limit]).fetchall()
    total = len(rows) if len(rows) < limit else db.execute(
        f"SELECT count(*) FROM run_facts f JOIN runs r ON r.id = f.run_id WHERE {where}", [now]).fetchone()[0]
    return [dict(r) for r in rows], total


def follow_up_flagged_runs(db: Database, limit: int = HOME_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """Approved live runs (follow-up due, or closed) whose follow-up steps raised red flags, the latest
    change first; and how many there are in all."""
    # Read from run_facts (a partial index on follow_up_flag_count > 0 makes this a few rows), not from the
    # runs of these statuses: closed runs pile up year after year.
    where = "f.follow_up_flag_count > 0 AND +f.live = 1 AND +r.status IN ('follow_up', 'closed')"
    rows = db.execute(
        f"""SELECT r.id, r.label, r.protocol_id, r.protocol_version, r.status, r.mode, r.updated_at,
                   u.username AS created_by, f.follow_up_flag_count
            FROM run_facts f JOIN runs r ON r.id = f.run_id JOIN users u ON u.id = r.created_by
            WHERE {where} ORDER BY r.updated_at DESC, r.id LIMIT ?""", [limit]).fetchall()
    total = len(rows) if len(rows) < limit else db.execute(
        f"SELECT count(*) FROM run_facts f JOIN runs r ON r.id = f.run_id WHERE {where}").fetchone()[0]
    return [dict(r) for r in rows], total


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


