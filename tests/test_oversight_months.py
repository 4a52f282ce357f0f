"""Oversight read from month totals (issue 14): the figures of any period are the same as summing its days, the
month totals stay the sum of their days as runs change, and runs started are counted as runs are stored."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from donoharm.db import connect
from donoharm.db import oversight as oversight_db
from donoharm.db import summaries as summaries_db
from donoharm.runs.summary import MEASURE_DAY_FIELDS, RUN_DAY_FIELDS, STEP_DAY_FIELDS, RunSummary

VERSIONS = [("proto-a", "1.0.0"), ("proto-a", "1.1.0"), ("proto-b", "2.0.0")]
STEPS = ["step-one", "step-two", "step-three"]
FIRST_DAY = date(2025, 10, 20)


def synthetic_summary(rng: random.Random, version: tuple[str, str], day: date, submitted: bool) -> RunSummary:
    facts = {"live": 1, "protocol_id": version[0], "protocol_version": version[1], "start_day": day.isoformat(),
             "submitted": int(submitted), "returned": rng.randint(0, 1),
             "approved": int(submitted and rng.random() < .5),
             "deviation_count": rng.randint(0, 2), "na_count": rng.randint(0, 3), "flag_count": rng.randint(0, 1),
             "follow_ups_due": rng.randint(0, 1), "follow_ups_on_time": 0, "follow_ups_late": 0}
    steps = {step: (rng.choice(["done", "na", "todo"]), rng.random() < .2, rng.random() < .1) for step in STEPS}
    measures = {"people-screened": (rng.randint(0, 9), rng.choice([None, rng.randint(0, 9)]))}
    return RunSummary(facts, steps, measures)


def fill(db, rng: random.Random, runs: int = 160) -> None:
    """Runs over fifteen months, through the append's own day-total writer; some change after submission."""
    for _ in range(runs):
        version = rng.choice(VERSIONS)
        day = FIRST_DAY + timedelta(days=rng.randint(0, 450))
        key = [version[0], version[1], day.isoformat()]
        first = synthetic_summary(rng, version, day, submitted=False)
        summaries_db._add_day_totals(db, key, None, first)
        second = synthetic_summary(rng, version, day, submitted=True)
        summaries_db._add_day_totals(db, key, first, second)
        if rng.random() < .3:  # returned, corrected and submitted again
            summaries_db._add_day_totals(db, key, second, synthetic_summary(rng, version, day, submitted=True))


def summed_days(db, table: str, keys: tuple[str, ...], fields: tuple[str, ...], since: str, until: str,
                protocol: str | None) -> list[dict]:
    """The figures as the day totals alone give them (how they were read before the month totals)."""
    where, params = "start_day BETWEEN ? AND ?", [since, until]
    if protocol:
        where, params = "protocol_id = ? AND " + where, [protocol, *params]
    rows = db.execute(f"SELECT {', '.join(keys)}, {', '.join(f'sum({f}) AS {f}' for f in fields)} FROM {table}_days "
                      f"WHERE {where} GROUP BY {', '.join(keys)}", params)
    return sorted((dict(r) for r in rows), key=repr)


def test_every_period_adds_up_to_the_same_figures_as_its_days(app):
    db = connect(app.config["DATABASE"])
    rng = random.Random(14)
    fill(db, rng)
    queries = [(oversight_db.outcomes_by_version, "run", ("protocol_id", "protocol_version"), RUN_DAY_FIELDS),
               (oversight_db.step_figures, "step", ("protocol_id", "protocol_version", "step_id"), STEP_DAY_FIELDS),
               (oversight_db.measure_figures, "measure", ("protocol_id", "measure"), MEASURE_DAY_FIELDS)]
    periods = [(date(2025, 11, 1), date(2026, 10, 31)), (date(2025, 10, 20), date(2027, 1, 12)),
               (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 2, 10), date(2026, 2, 11))]
    periods += [(since, since + timedelta(days=rng.randint(0, 420)))
                for since in (FIRST_DAY + timedelta(days=rng.randint(-10, 440)) for _ in range(40))]
    checked = 0
    for since, until in periods:
        for protocol in (None, "proto-a"):
            for read, table, keys, fields in queries:
                got = sorted(read(db, since.isoformat(), until.isoformat(), protocol), key=repr)
                assert got == summed_days(db, table, keys, fields, since.isoformat(), until.isoformat(), protocol), \
                    (table, since, until, protocol)
                checked += bool(got)
    db.conn.close()
    assert checked > 100  # most periods hold figures: the comparison is not between empty lists


def test_month_totals_stay_the_sum_of_their_days_and_are_rebuilt_with_them(app):
    db = connect(app.config["DATABASE"])
    fill(db, random.Random(7), runs=60)

    def months(table: str, name: str | None, fields: tuple[str, ...]) -> tuple[list, list]:
        keys = ", ".join(["protocol_id", "protocol_version", *([name] if name else [])])
        stored = db.execute(f"SELECT {keys}, month, {', '.join(fields)} FROM {table}_months "
                            f"ORDER BY {keys}, month").fetchall()
        from_days = db.execute(f"SELECT {keys}, substr(start_day, 1, 7) AS month, "
                               f"{', '.join(f'sum({f})' for f in fields)} FROM {table}_days "
                               f"GROUP BY {keys}, month ORDER BY {keys}, month").fetchall()
        return [tuple(r) for r in stored], [tuple(r) for r in from_days]

    tables = [("run", None, RUN_DAY_FIELDS), ("step", "step_id", STEP_DAY_FIELDS),
              ("measure", "measure", MEASURE_DAY_FIELDS)]
    for table, name, fields in tables:
        stored, from_days = months(table, name, fields)
        assert stored and stored == from_days, table
    summaries_db.rebuild_day_totals(db)  # from the per-run summaries: none here, so everything goes
    for table, name, fields in tables:
        assert months(table, name, fields) == ([], []), table
    db.conn.close()


def test_runs_started_are_counted_as_they_are_stored_and_deleted(app, api):
    acc = api("acc")
    live = [acc.start_run(label=f"OP-TEST-{n:03}") for n in range(3)]
    acc.start_run(label="OP-TEST-900", mode="practice")  # practice runs are not operations
    today = datetime.now(UTC).date().isoformat()
    db = connect(app.config["DATABASE"])
    counted = oversight_db.started_by_version(db, today, today, None)
    assert counted == [{"protocol_id": "immigration-separation", "protocol_version": "1.0.0", "started": 3}]
    db.execute("PRAGMA foreign_keys = OFF")  # the run alone, as retention deletes a whole run
    db.execute("DELETE FROM runs WHERE id = ?", [live[0]])
    assert oversight_db.started_by_version(db, today, today, "immigration-separation")[0]["started"] == 2
    for run_id in live[1:]:
        db.execute("DELETE FROM runs WHERE id = ?", [run_id])
    assert oversight_db.started_by_version(db, today, today, None) == []  # no version row of zeros
    db.conn.close()


def test_the_times_behind_the_medians_are_the_stored_ones_for_any_period(app):
    """Each day's and month's times to submission, kept by the append's writer: for any period, the values read
    are exactly those of the live runs submitted in it, as first submitted (a later change moves them)."""
    db = connect(app.config["DATABASE"])
    rng = random.Random(22)
    expected: dict[tuple[str, str, str], list[float]] = {}  # (protocol, version, day) -> times
    for number in range(150):
        version = rng.choice(VERSIONS)
        day = (FIRST_DAY + timedelta(days=rng.randint(0, 450))).isoformat()
        key = [version[0], version[1], day]
        seconds = round(rng.uniform(0, 400_000), 3)  # kept to the millisecond, like the app's times
        open_run = synthetic_summary(rng, version, date.fromisoformat(day), submitted=False)
        submitted = synthetic_summary(rng, version, date.fromisoformat(day), submitted=True)
        submitted.facts["seconds_to_submit"] = seconds
        practice = number % 5 == 0
        if practice:  # practice runs count for nothing
            open_run.facts["live"] = submitted.facts["live"] = 0
        summaries_db._add_day_totals(db, key, None, open_run)  # not yet submitted: no time
        summaries_db._add_day_totals(db, key, open_run, submitted)
        if practice:
            continue
        if number % 11 == 0:  # a later summary with another time moves the run's time
            moved = synthetic_summary(rng, version, date.fromisoformat(day), submitted=True)
            moved.facts["seconds_to_submit"] = seconds = seconds + 1.5
            summaries_db._add_day_totals(db, key, submitted, moved)
            submitted = moved
        if number % 7 == 0:  # the same time twice in a day: both count
            summaries_db._add_day_totals(db, key, None, submitted)
            expected.setdefault((*version, day), []).append(seconds)
        expected.setdefault((*version, day), []).append(seconds)
    for since, until in [(date(2025, 11, 1), date(2026, 10, 31)), (date(2025, 10, 1), date(2027, 1, 31))] + [
            (start, start + timedelta(days=rng.randint(0, 420)))
            for start in (FIRST_DAY + timedelta(days=rng.randint(-5, 440)) for _ in range(30))]:
        for protocol in (None, "proto-b"):
            read = oversight_db.submit_seconds(db, since.isoformat(), until.isoformat(), protocol)
            wanted: dict[tuple[str, str], list[float]] = {}
            for (protocol_id, version, day), times in expected.items():
                if since.isoformat() <= day <= until.isoformat() and protocol in (None, protocol_id):
                    wanted.setdefault((protocol_id, version), []).extend(times)
            assert {k: sorted(v) for k, v in read.items()} == {k: sorted(v) for k, v in wanted.items()}
    db.conn.close()


def test_the_times_behind_the_medians_are_rebuilt_from_the_runs(app, api):
    acc = api("acc")
    acc.start_run(label="OP-TEST-101")  # never submitted: no time
    db = connect(app.config["DATABASE"])
    db.execute("PRAGMA foreign_keys = OFF")  # summary rows alone, as a database summarised long ago has them
    for number, (seconds, live) in enumerate([(3600.5, 1), (7200.25, 1), (60.0, 0)]):
        db.execute("INSERT INTO run_facts (run_id, live, protocol_id, protocol_version, start_day, submitted, "
                   "seconds_to_submit) VALUES (?, ?, 'p', '1.0.0', '2026-03-04', 1, ?)", [f"r{number}", live, seconds])
    summaries_db.rebuild_day_totals(db)
    read = oversight_db.submit_seconds(db, "2026-03-01", "2026-03-31", None)  # one whole month
    days = oversight_db.submit_seconds(db, "2026-03-04", "2026-03-04", None)  # one day
    db.conn.close()
    assert read == days == {("p", "1.0.0"): [3600.5, 7200.25]}
