"""Benchmark: submitting a run never waits for its record (issue 14's first target), on a real server.

gunicorn with one worker of four threads, and its record worker thread (the default): the harshest case, since
issuing a record shares that worker's interpreter with every request it answers. One phone fills a run with
5,000 events and submits it; the submit is timed against a one-note append to the same run. While the record of
those 5,000 events is being issued, a second phone keeps sending batches of 10 notes, timed one by one.

Usage: python -m benchmarks.bench_submit [--events 5000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.load import Phone, create_accounts, free_port, start_gunicorn
from donoharm import create_app
from donoharm.services.library import get_registry
from tests.conftest import complete_answers

PROTOCOL = ("immigration-separation", "1.0.0")
ISSUE_TIMEOUT_S = 300


def _event(kind: str, note: str | None = None, value=None) -> dict:
    return {"id": str(uuid.uuid4()), "type": kind, "step": None, "value": value, "note": note,
            "at": datetime.now(UTC).isoformat()}


def _post(phone: Phone, events: list[dict]) -> float:
    """Send one batch; the seconds it took. Anything but 200 stops here."""
    started = time.perf_counter()
    status, body = phone.request("POST", f"/api/v1/runs/{phone.run_id}/events", json.dumps({"events": events}))
    if status != 200:
        raise RuntimeError(f"batch refused: {status} {body[:300]!r}")
    return time.perf_counter() - started


def _issued(database: str, run_id: str) -> bool:
    """Whether the run has a record yet, read from the database file (asking the server, whose answer folds all
    5,000 events, would load the very worker being measured)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT 1 FROM records WHERE run_id = ?", [run_id]).fetchone() is not None


def _new_run(phone: Phone) -> None:
    """Give the phone a fresh run (the Phone made one at sign-in; each repeat needs its own)."""
    phone.run_id = str(uuid.uuid4())
    status, body = phone.request("PUT", f"/api/v1/runs/{phone.run_id}", json.dumps({
        "protocol_id": PROTOCOL[0], "protocol_version": PROTOCOL[1], "label": "OP-BENCH-SUBMIT-001"}))
    if status not in (200, 201):
        raise RuntimeError(f"could not start a run: {status} {body[:300]!r}")


def one_submit(submitter: Phone, other: Phone, answers: list[dict], events: int, database: str) -> dict:
    _new_run(submitter)
    notes = events - len(answers) - 1
    for start in range(0, len(answers), 50):
        _post(submitter, [dict(a, id=str(uuid.uuid4())) for a in answers[start:start + 50]])
    for start in range(0, notes, 50):
        _post(submitter, [_event("note", f"Benchmark note, item {start + k}") for k in range(min(50, notes - start))])
    note_times = [_post(submitter, [_event("note", "One more benchmark note")]) for _ in range(7)]
    submit_time = _post(submitter, [_event("run.submitted", value={"name": "Bench Accompanier", "confirmed": True})])
    # While the record is issued, the other phone keeps sending; each batch is timed.
    during, started = [], time.perf_counter()
    while not _issued(database, submitter.run_id):
        if time.perf_counter() - started > ISSUE_TIMEOUT_S:
            raise RuntimeError("the record was not issued in time")
        during.append(_post(other, [_event("note", "Batch sent while a record is issued") for _ in range(10)]))
        time.sleep(0.05)
    return {"note_ms": statistics.median(note_times) * 1000, "submit_ms": submit_time * 1000,
            "issue_s": time.perf_counter() - started, "during_ms": [t * 1000 for t in during]}


def run(events: int = 5000, repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "DONOHARM_INSTANCE": instance, "DONOHARM_SECRET_KEY": "bench-submit-key-" + "0" * 40,
               "DONOHARM_RECORDS_WORKER": "thread"}
        names = create_accounts(env, 2)
        app = create_app({"INSTANCE": Path(instance), "SECRET_KEY": env["DONOHARM_SECRET_KEY"]})
        with app.app_context():
            answers = complete_answers(get_registry().get(*PROTOCOL))
        server = start_gunicorn(env, port := free_port(), 1, 4)
        try:
            submitter, other = Phone(port, names[0]), Phone(port, names[1])
            for phone in (submitter, other):  # the first signature loads the key: not counted
                phone.send(1)
            database = os.path.join(instance, "donoharm.db")
            results = [one_submit(submitter, other, answers, events, database) for _ in range(repeats)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    during = [t for r in results for t in r["during_ms"]]
    note = statistics.median(r["note_ms"] for r in results)
    submit = statistics.median(r["submit_ms"] for r in results)
    return {"events": events, "note_ms": note, "submit_ms": submit, "ratio": submit / note,
            "issue_s": statistics.median(r["issue_s"] for r in results), "during_batches": len(during),
            "during_median_ms": statistics.median(during) if during else 0.0,
            "during_max_ms": max(during) if during else 0.0}


def rows(events: int = 5000, repeats: int = 3) -> list[tuple[str, str]]:
    found = run(events, repeats)
    return [
        (f"submit a run of {events:,} events (gunicorn, record worker on)",
         f"{found['submit_ms']:.1f} ms ({found['ratio']:.2f}x a one-note append, {found['note_ms']:.1f} ms)"),
        ("  another phone's batches while that record is issued",
         f"median {found['during_median_ms']:.1f} ms, slowest {found['during_max_ms']:.0f} ms "
         f"({found['during_batches']} batches in {found['issue_s']:.1f} s)"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    for name, figure in rows(arguments.events, arguments.repeats):
        print(f"{name:62} {figure}")
