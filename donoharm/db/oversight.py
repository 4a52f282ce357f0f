"""Oversight figures from the day and month totals and per-run summaries kept with each append (db/summaries.py).

Every query takes the same period (UTC start days, inclusive) and optional protocol. Totals are read from the
month totals for the months wholly inside the period and from the day totals for the rest (oversight/periods.py),
so a year costs about the same however many runs it holds.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlite_utils import Database

from ..oversight.periods import split_period
from ..runs.summary import MEASURE_DAY_FIELDS, RUN_DAY_FIELDS, STEP_DAY_FIELDS
from . import submit_times


def started_by_version(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Live runs started in the period, counted per protocol version (runs with no events included)."""
    clause, params = _days(since, until, protocol)
    rows = db.execute(f"SELECT protocol_id, protocol_version, sum(started) AS started FROM run_starts WHERE {clause} "
                      "GROUP BY protocol_id, protocol_version HAVING sum(started) > 0", params)
    return [dict(r) for r in rows]


def _totals(db: Database, table: str, keys: tuple[str, ...], fields: tuple[str, ...], since: str, until: str,
            protocol: str | None) -> list[dict[str, Any]]:
    """The sums of `fields` per `keys` over the period, from `{table}_months` and `{table}_days`."""
    split = split_period(date.fromisoformat(since), date.fromisoformat(until))
    columns = ", ".join((*keys, *fields))
    parts: list[str] = []
    params: list[Any] = []
    for first, last in split.days:
        clause, values = _days(first, last, protocol)
        parts.append(f"SELECT {columns} FROM {table}_days WHERE {clause}")
        params += values
    if split.months:
        clause, values = _days(*split.months, protocol, column="month")
        parts.append(f"SELECT {columns} FROM {table}_months WHERE {clause}")
        params += values
    if not parts:
        return []
    sums = ", ".join(f"sum({field}) AS {field}" for field in fields)
    rows = db.execute(f"SELECT {', '.join(keys)}, {sums} FROM ({' UNION ALL '.join(parts)}) "
                      f"GROUP BY {', '.join(keys)}", params)
    return [dict(r) for r in rows]


def outcomes_by_version(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol version: runs submitted, returned at least once, approved; their deviations, N/As and red
    flags, the submitted runs with a red flag; follow-ups due, done on time and done late."""
    return _totals(db, "run", ("protocol_id", "protocol_version"), RUN_DAY_FIELDS, since, until, protocol)


def submit_seconds(db: Database, since: str, until: str, protocol: str | None) -> dict[tuple[str, str], list[float]]:
    """Per protocol version, the seconds from start to first submission of the period's submitted live runs
    (the medians are taken in the core), from the months wholly inside the period and the days at its ends."""
    split = split_period(date.fromisoformat(since), date.fromisoformat(until))
    found: dict[tuple[str, str], list[float]] = {}
    reads = [("submit_days", first, last) for first, last in split.days]
    if split.months:
        reads.append(("submit_months", *split.months))
    for table, first, last in reads:
        for protocol_id, version, values in submit_times.read(db, table, first, last, protocol):
            found.setdefault((protocol_id, version), []).extend(values)
    return found


def step_figures(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol, version and step, over submitted runs: how often answered, not applicable, deviated, and
    in how many runs the step raised a red flag."""
    return _totals(db, "step", ("protocol_id", "protocol_version", "step_id"), STEP_DAY_FIELDS, since, until,
                   protocol)


def measure_figures(db: Database, since: str, until: str, protocol: str | None) -> list[dict[str, Any]]:
    """Per protocol and outcome measure, over submitted runs: the runs that reported it and its total, and over
    the runs that also answered its denominator, those runs and the sums of the measure and the denominator."""
    return _totals(db, "measure", ("protocol_id", "measure"), MEASURE_DAY_FIELDS, since, until, protocol)


def _days(since: str, until: str, protocol: str | None, column: str = "start_day") -> tuple[str, list[Any]]:
    if protocol:
        return f"protocol_id = ? AND {column} BETWEEN ? AND ?", [protocol, since, until]
    return f"{column} BETWEEN ? AND ?", [since, until]
