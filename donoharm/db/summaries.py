"""Per-run summaries and day totals, written in the same transaction as each append.

The core (runs/summary.py) says what a run adds up to; this module stores it and moves the day totals by the
difference between the run's new and old contribution, so a year of figures stays a few thousand rows.
"""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from ..runs import RunState
from ..runs.summary import (
    MEASURE_DAY_FIELDS,
    RUN_DAY_FIELDS,
    STEP_DAY_FIELDS,
    RunSummary,
    contribution,
    difference,
    submit_time,
    summarise,
)
from . import submit_times


def _upsert_adding(table: str, keys: tuple[str, ...], fields: tuple[str, ...]) -> str:
    columns = (*keys, *fields)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT DO UPDATE SET {', '.join(f'{f} = {f} + excluded.{f}' for f in fields)}")


def _upserts(table: str, name: str | None, fields: tuple[str, ...]) -> tuple[str, str]:
    """The day total's upsert and its month total's (the same figures, keyed by 'YYYY-MM')."""
    named = (name,) if name else ()
    return (_upsert_adding(f"{table}_days", ("protocol_id", "protocol_version", "start_day", *named), fields),
            _upsert_adding(f"{table}_months", ("protocol_id", "protocol_version", "month", *named), fields))


_RUN_TOTALS = _upserts("run", None, RUN_DAY_FIELDS)
_STEP_TOTALS = _upserts("step", "step_id", STEP_DAY_FIELDS)
_MEASURE_TOTALS = _upserts("measure", "measure", MEASURE_DAY_FIELDS)


def _add_day_totals(db: Database, key: list[Any], old: RunSummary | None, new: RunSummary) -> None:
    """Move the run's day totals, and their month's, by the difference between its new and old contribution."""
    month_key = [key[0], key[1], key[2][:7]]
    old_run, old_steps, old_measures = contribution(old)
    new_run, new_steps, new_measures = contribution(new)
    delta = difference(new_run, old_run)
    if any(delta.values()):
        values = [delta.get(f, 0) for f in RUN_DAY_FIELDS]
        db.execute(_RUN_TOTALS[0], [*key, *values])
        db.execute(_RUN_TOTALS[1], [*month_key, *values])
    for (by_day, by_month), fields, old_rows, new_rows in (
            (_STEP_TOTALS, STEP_DAY_FIELDS, old_steps, new_steps),
            (_MEASURE_TOTALS, MEASURE_DAY_FIELDS, old_measures, new_measures)):
        rows = []
        for name in set(new_rows) | set(old_rows):
            d = difference(new_rows.get(name, {}), old_rows.get(name, {}))
            if any(d.values()):
                rows.append([name, *(d.get(f, 0) for f in fields)])
        db.conn.executemany(by_day, [[*key, *row] for row in rows])
        db.conn.executemany(by_month, [[*month_key, *row] for row in rows])
    submit_times.move(db, (key[0], key[1]), key[2], submit_time(old), submit_time(new))


def write_summary(db: Database, run: dict[str, Any], state: RunState) -> None:
    """Store a run's facts, step statuses and measures as the fold has them (call inside the append)."""
    old = stored_summary(db, run["id"])
    new = summarise(run, state)
    old_steps = old.steps if old else {}
    db.conn.executemany(
        "INSERT INTO run_steps (run_id, step_id, status, deviated, flagged) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, deviated = excluded.deviated, "
        "flagged = excluded.flagged",
        [(run["id"], step_id, status, int(deviated), int(flagged))
         for step_id, (status, deviated, flagged) in new.steps.items() if old_steps.get(step_id) != (status, deviated,
                                                                                                      flagged)])
    old_measures = old.measures if old else {}
    db.conn.executemany("DELETE FROM run_measures WHERE run_id = ? AND measure = ?",
                        [(run["id"], name) for name in old_measures if name not in new.measures])
    db.conn.executemany("INSERT OR REPLACE INTO run_measures (run_id, measure, value, of_value) VALUES (?, ?, ?, ?)",
                        [(run["id"], name, value, of) for name, (value, of) in new.measures.items()
                         if old_measures.get(name) != (value, of)])
    facts = new.facts
    if old is None or old.facts != facts:  # most appends (notes, answers) leave the facts as they were
        db.execute(f"INSERT OR REPLACE INTO run_facts ({', '.join(facts)}) VALUES ({', '.join('?' * len(facts))})",
                   list(facts.values()))
    _add_day_totals(db, [facts["protocol_id"], facts["protocol_version"], facts["start_day"]], old, new)


def stored_summary(db: Database, run_id: str) -> RunSummary | None:
    facts = run_facts_of(db, run_id)
    if facts is None:
        return None
    return RunSummary(facts, run_steps_of(db, run_id), run_measures_of(db, run_id))


def run_facts_of(db: Database, run_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM run_facts WHERE run_id = ?", [run_id]).fetchone()
    return dict(row) if row else None


def run_steps_of(db: Database, run_id: str) -> dict[str, tuple[str, bool, bool]]:
    """The stored per-step summary of a run: step id -> (status, deviated, flagged)."""
    rows = db.execute("SELECT step_id, status, deviated, flagged FROM run_steps WHERE run_id = ?", [run_id])
    return {r["step_id"]: (r["status"], bool(r["deviated"]), bool(r["flagged"])) for r in rows}


def run_measures_of(db: Database, run_id: str) -> dict[str, tuple[int, int | None]]:
    rows = db.execute("SELECT measure, value, of_value FROM run_measures WHERE run_id = ?", [run_id])
    return {r["measure"]: (r["value"], r["of_value"]) for r in rows}


def rebuild_day_totals(db: Database) -> None:
    """Recompute the oversight day totals, and their months', from the per-run summaries."""
    db.executescript(
        """
        DELETE FROM run_days;
        DELETE FROM step_days;
        DELETE FROM measure_days;
        INSERT INTO run_days (protocol_id, protocol_version, start_day, submitted, returned, approved, deviations, na,
                              flags, flagged_runs, follow_ups_due, follow_ups_on_time, follow_ups_late)
        SELECT protocol_id, protocol_version, start_day, sum(submitted), sum(returned > 0), sum(approved),
               sum(CASE WHEN submitted THEN deviation_count ELSE 0 END),
               sum(CASE WHEN submitted THEN na_count ELSE 0 END),
               sum(CASE WHEN submitted THEN flag_count ELSE 0 END), sum(submitted AND flag_count > 0),
               sum(follow_ups_due), sum(follow_ups_on_time), sum(follow_ups_late)
        FROM run_facts WHERE live = 1 GROUP BY protocol_id, protocol_version, start_day;
        INSERT INTO step_days (protocol_id, protocol_version, start_day, step_id, runs, answered, na, deviated, flagged)
        SELECT f.protocol_id, f.protocol_version, f.start_day, s.step_id, count(*),
               sum(s.status = 'done'), sum(s.status = 'na'), sum(s.deviated), sum(s.flagged)
        FROM run_facts f JOIN run_steps s ON s.run_id = f.run_id WHERE f.live = 1 AND f.submitted = 1
        GROUP BY f.protocol_id, f.protocol_version, f.start_day, s.step_id;
        INSERT INTO measure_days (protocol_id, protocol_version, start_day, measure, runs, total, paired_runs,
                                  paired_total, paired_of_total)
        SELECT f.protocol_id, f.protocol_version, f.start_day, m.measure, count(*), sum(m.value),
               sum(m.of_value IS NOT NULL), sum(CASE WHEN m.of_value IS NOT NULL THEN m.value ELSE 0 END),
               coalesce(sum(m.of_value), 0)
        FROM run_facts f JOIN run_measures m ON m.run_id = f.run_id WHERE f.live = 1 AND f.submitted = 1
        GROUP BY f.protocol_id, f.protocol_version, f.start_day, m.measure;
        DELETE FROM run_months;
        DELETE FROM step_months;
        DELETE FROM measure_months;
        INSERT INTO run_months (protocol_id, protocol_version, month, submitted, returned, approved, deviations, na,
                                flags, flagged_runs, follow_ups_due, follow_ups_on_time, follow_ups_late)
        SELECT protocol_id, protocol_version, substr(start_day, 1, 7), sum(submitted), sum(returned), sum(approved),
               sum(deviations), sum(na), sum(flags), sum(flagged_runs), sum(follow_ups_due), sum(follow_ups_on_time),
               sum(follow_ups_late)
        FROM run_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7);
        INSERT INTO step_months (protocol_id, protocol_version, month, step_id, runs, answered, na, deviated, flagged)
        SELECT protocol_id, protocol_version, substr(start_day, 1, 7), step_id, sum(runs), sum(answered), sum(na),
               sum(deviated), sum(flagged)
        FROM step_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7), step_id;
        INSERT INTO measure_months (protocol_id, protocol_version, month, measure, runs, total, paired_runs,
                                    paired_total, paired_of_total)
        SELECT protocol_id, protocol_version, substr(start_day, 1, 7), measure, sum(runs), sum(total),
               sum(paired_runs), sum(paired_total), sum(paired_of_total)
        FROM measure_days GROUP BY protocol_id, protocol_version, substr(start_day, 1, 7), measure;
        """
    )
    submit_times.rebuild(db)


def pending_runs(db: Database) -> list[str]:
    """Runs whose events predate the summary tables (or a new summary column) and still need summarising."""
    return [r[0] for r in db.execute("SELECT run_id FROM review_pending")]


def clear_pending(db: Database, run_id: str) -> None:
    db.execute("DELETE FROM review_pending WHERE run_id = ?", [run_id])
