"""Oversight figures from the day totals and per-run summaries kept with each append (db/summaries.py).

Every query takes the same period (UTC start days, inclusive) and optional protocol.
"""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database


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
    """Per protocol version: runs submitted, returned at least once, approved; their deviations, N/As and red
    flags, the submitted runs with a red flag; follow-ups due, done on time and done late."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, protocol_version, sum(submitted) AS submitted, sum(returned) AS returned, "
                      f"sum(approved) AS approved, sum(deviations) AS deviations, sum(na) AS na, "
                      f"sum(flags) AS flags, sum(flagged_runs) AS flagged_runs, "
                      f"sum(follow_ups_due) AS follow_ups_due, sum(follow_ups_on_time) AS follow_ups_on_time, "
                      f"sum(follow_ups_late) AS follow_ups_late FROM run_days "
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
    """Per protocol, version and step, over submitted runs: how often answered, not applicable, deviated, and
    in how many runs the step raised a red flag."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, protocol_version, step_id, sum(runs) AS runs, sum(answered) AS answered, "
                      f"sum(na) AS na, sum(deviated) AS deviated, sum(flagged) AS flagged FROM step_days "
                      f"WHERE {clause} GROUP BY protocol_id, protocol_version, step_id", params)
    return [dict(r) for r in rows]


def measure_figures(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol and outcome measure, over submitted runs: the runs that reported it and its total, and over
    the runs that also answered its denominator, those runs and the sums of the measure and the denominator."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, measure, sum(runs) AS runs, sum(total) AS total, "
                      f"sum(paired_runs) AS paired_runs, sum(paired_total) AS paired_total, "
                      f"sum(paired_of_total) AS paired_of_total FROM measure_days WHERE {clause} "
                      f"GROUP BY protocol_id, measure", params)
    return [dict(r) for r in rows]


def _days(since: str, until: str, protocol: str | None) -> tuple[str, list[Any]]:
    if protocol:
        return "protocol_id = ? AND start_day BETWEEN ? AND ?", [protocol, since, until]
    return "start_day BETWEEN ? AND ?", [since, until]
