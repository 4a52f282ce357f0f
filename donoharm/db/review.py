"""Review queue and oversight: the per-run summaries kept with each append, and the queries on them."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from ..runs import RunState

QUEUE_LIMIT = 50
QUEUE_STATUSES = ("submitted", "returned", "approved", "in_progress")


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _contribution(facts: dict[str, Any] | None, steps: dict[str, tuple[str, bool]]) -> tuple[dict, dict]:
    """What one run adds to the day totals: (run_days values, {step id: step_days values})."""
    if not facts or not facts["live"]:
        return {}, {}
    submitted = bool(facts["submitted"])
    run = {"submitted": int(submitted), "returned": int(facts["returned"] > 0), "approved": facts["approved"],
           "deviations": facts["deviation_count"] if submitted else 0, "na": facts["na_count"] if submitted else 0}
    per_step = {}
    if submitted:  # step figures describe submitted runs only
        per_step = {step_id: {"runs": 1, "answered": int(status == "done"), "na": int(status == "na"),
                              "deviated": int(deviated)} for step_id, (status, deviated) in steps.items()}
    return run, per_step


def _minus(new: dict[str, int], old: dict[str, int]) -> dict[str, int]:
    return {key: new.get(key, 0) - old.get(key, 0) for key in set(new) | set(old)}


def _add_day_totals(db: Database, key: list[Any], old: tuple[dict, dict], new: tuple[dict, dict]) -> None:
    delta = _minus(new[0], old[0])
    if any(delta.values()):
        db.execute("INSERT INTO run_days (protocol_id, protocol_version, start_day, submitted, returned, approved, "
                   "deviations, na) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                   "submitted = submitted + excluded.submitted, returned = returned + excluded.returned, "
                   "approved = approved + excluded.approved, deviations = deviations + excluded.deviations, "
                   "na = na + excluded.na",
                   [*key, delta["submitted"], delta["returned"], delta["approved"], delta["deviations"], delta["na"]])
    rows = []
    for step_id in set(new[1]) | set(old[1]):
        d = _minus(new[1].get(step_id, {}), old[1].get(step_id, {}))
        if any(d.values()):
            rows.append([*key, step_id, d["runs"], d["answered"], d["na"], d["deviated"]])
    db.conn.executemany("INSERT INTO step_days (protocol_id, protocol_version, start_day, step_id, runs, answered, "
                        "na, deviated) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                        "runs = runs + excluded.runs, answered = answered + excluded.answered, na = na + excluded.na, "
                        "deviated = deviated + excluded.deviated", rows)


def write_summary(db: Database, run: dict[str, Any], state: RunState) -> None:
    """Store a run's per-step statuses and review figures as the fold has them (call inside the append)."""
    old_facts = run_facts_of(db, run["id"])
    old_steps = run_steps_of(db, run["id"]) if old_facts else {}
    deviated = state.deviated_steps()
    steps = {step_id: (entry["status"], step_id in deviated) for step_id, entry in state.steps.items()}
    changed = [(run["id"], step_id, status, int(dev)) for step_id, (status, dev) in steps.items()
               if old_steps.get(step_id) != (status, dev)]
    db.conn.executemany("INSERT INTO run_steps (run_id, step_id, status, deviated) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, "
                        "deviated = excluded.deviated", changed)
    started = _utc(run["created_at"])
    seconds = None
    if state.submissions:
        seconds = max(0.0, (_utc(state.submissions[0]["at"]) - started).total_seconds())
    returns = [r for r in state.reviews if r["decision"] == "returned"]
    last_return = returns[-1] if returns else {}
    counts = {"done": 0, "na": 0, "todo": 0}
    for entry in state.steps.values():
        counts[entry["status"]] += 1
    facts = {"run_id": run["id"], "live": int(run["mode"] == "live"), "protocol_id": run["protocol_id"],
             "protocol_version": run["protocol_version"], "start_day": started.date().isoformat(),
             "submitted": int(bool(state.submissions)), "returned": len(returns),
             "approved": int(state.status == "approved"), "seconds_to_submit": seconds, "done_count": counts["done"],
             "na_count": counts["na"], "deviation_count": len(state.deviations),
             "returned_comment": last_return.get("comment"), "returned_by": last_return.get("actor"),
             "returned_at": last_return.get("received_at")}
    db.execute(f"INSERT OR REPLACE INTO run_facts ({', '.join(facts)}) VALUES ({', '.join('?' * len(facts))})",
               list(facts.values()))
    key = [facts["protocol_id"], facts["protocol_version"], facts["start_day"]]
    _add_day_totals(db, key, _contribution(old_facts, old_steps), _contribution(facts, steps))


def rebuild_day_totals(db: Database) -> None:
    """Recompute the oversight day totals from the per-run summaries."""
    db.executescript(
        """
        DELETE FROM run_days;
        DELETE FROM step_days;
        INSERT INTO run_days SELECT protocol_id, protocol_version, start_day, sum(submitted), sum(returned > 0),
               sum(approved), sum(CASE WHEN submitted THEN deviation_count ELSE 0 END),
               sum(CASE WHEN submitted THEN na_count ELSE 0 END)
        FROM run_facts WHERE live = 1 GROUP BY protocol_id, protocol_version, start_day;
        INSERT INTO step_days SELECT f.protocol_id, f.protocol_version, f.start_day, s.step_id, count(*),
               sum(s.status = 'done'), sum(s.status = 'na'), sum(s.deviated)
        FROM run_facts f JOIN run_steps s ON s.run_id = f.run_id WHERE f.live = 1 AND f.submitted = 1
        GROUP BY f.protocol_id, f.protocol_version, f.start_day, s.step_id;
        """
    )


def pending_runs(db: Database) -> list[str]:
    """Runs whose events predate the summary tables and still need summarising."""
    return [r[0] for r in db.execute("SELECT run_id FROM review_pending")]


def clear_pending(db: Database, run_id: str) -> None:
    db.execute("DELETE FROM review_pending WHERE run_id = ?", [run_id])


def run_steps_of(db: Database, run_id: str) -> dict[str, tuple[str, bool]]:
    """The stored per-step summary of a run: step id -> (status, deviated)."""
    rows = db.execute("SELECT step_id, status, deviated FROM run_steps WHERE run_id = ?", [run_id])
    return {r["step_id"]: (r["status"], bool(r["deviated"])) for r in rows}


def run_facts_of(db: Database, run_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM run_facts WHERE run_id = ?", [run_id]).fetchone()
    return dict(row) if row else None


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


# Oversight: every query takes the same period (UTC start days, inclusive) and optional protocol.

def _period(alias: str, since: str, until: str, protocol: str | None) -> tuple[str, list[Any]]:
    clause = f"{alias}.live = 1 AND {alias}.start_day BETWEEN ? AND ?"
    params: list[Any] = [since, until]
    if protocol:
        clause = f"{alias}.live = 1 AND {alias}.protocol_id = ? AND {alias}.start_day BETWEEN ? AND ?"
        params = [protocol, since, until]
    return clause, params


def started_by_version(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Live runs started in the period, counted per protocol version (runs with no events included)."""
    clause, params = "mode = 'live' AND date(created_at) BETWEEN ? AND ?", [since, until]
    if protocol:
        clause, params = "mode = 'live' AND protocol_id = ? AND date(created_at) BETWEEN ? AND ?", [protocol, since,
                                                                                                     until]
    rows = db.execute(f"SELECT protocol_id, protocol_version, count(*) AS started FROM runs WHERE {clause} "
                      "GROUP BY protocol_id, protocol_version", params)
    return [dict(r) for r in rows]


def outcomes_by_version(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol version: runs submitted, returned at least once, approved, and their deviations and N/As."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, protocol_version, sum(submitted) AS submitted, sum(returned) AS returned, "
                      f"sum(approved) AS approved, sum(deviations) AS deviations, sum(na) AS na FROM run_days "
                      f"WHERE {clause} GROUP BY protocol_id, protocol_version", params)
    return [dict(r) for r in rows]


def median_to_submit(db: Database, since: str, until: str, protocol: str | None,
                     version: str | None = None) -> tuple[int, float | None]:
    """How many runs of the period were submitted, and the median seconds from start to first submission."""
    clause, params = _period("f", since, until, protocol)
    if version is not None:
        clause, params = clause + " AND f.protocol_version = ?", [*params, version]
    where = f"{clause} AND f.submitted = 1 AND f.seconds_to_submit IS NOT NULL"
    day_clause, day_params = _days(since, until, protocol)
    if version is not None:
        day_clause, day_params = day_clause + " AND protocol_version = ?", [*day_params, version]
    # Every submitted run has its time to submission, so the day totals give the count without a scan.
    count = db.execute(f"SELECT coalesce(sum(submitted), 0) FROM run_days WHERE {day_clause}", day_params).fetchone()[0]
    if not count:
        return 0, None
    # The middle one or two values, sorted by SQLite rather than fetched into Python.
    middle = db.execute(f"SELECT f.seconds_to_submit FROM run_facts f WHERE {where} ORDER BY f.seconds_to_submit "
                        f"LIMIT ? OFFSET ?", [*params, 2 - count % 2, (count - 1) // 2]).fetchall()
    return count, sum(r[0] for r in middle) / len(middle)


def step_figures(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol, version and step, over submitted runs: how often answered, not applicable, deviated."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, protocol_version, step_id, sum(runs) AS runs, sum(answered) AS answered, "
                      f"sum(na) AS na, sum(deviated) AS deviated FROM step_days WHERE {clause} "
                      f"GROUP BY protocol_id, protocol_version, step_id", params)
    return [dict(r) for r in rows]


def _days(since: str, until: str, protocol: str | None) -> tuple[str, list[Any]]:
    if protocol:
        return "protocol_id = ? AND start_day BETWEEN ? AND ?", [protocol, since, until]
    return "start_day BETWEEN ? AND ?", [since, until]
