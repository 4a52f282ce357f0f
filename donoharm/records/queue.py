"""Issuing queued records off the request: a worker thread per server process, or `records issue-due`.

The append that changes a run's status queues its record in the same transaction (run_service), so a
committed submission always has its record queued; rendering and signing (half a second, seconds for a
long run) never make the phone wait. A worker claims a row for a while, so the threads of several gunicorn
workers never render the same record twice; a failure (a full disk, a timestamp authority that does not
answer) is noted with the time of the next attempt, later each time, and `/healthz` reports a record that
waits too long.
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask

from ..db import connect, transaction
from ..db import records as records_db
from ..services import run_service
from ..timefmt import iso_z

log = logging.getLogger(__name__)
CLAIM = timedelta(minutes=5)  # longer than any record takes to issue
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 30, 3600


def _iso(moment: datetime) -> str:
    return iso_z(moment, "milliseconds")


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** attempts, LAST_RETRY_SECONDS))


def issue_due(app: Flask, limit: int = 20, retry_now: bool = False) -> tuple[list[str], list[str]]:
    """Issue the records whose time has come (with `retry_now`, also those waiting to be tried again after a
    failure); return (issued run ids, failed run ids)."""
    from ..services.library import get_registry
    from .issuing import issue_record

    issued, failed = [], []
    with app.app_context():
        db = connect(app.config["DATABASE"])
        try:
            registry = get_registry()
            now = datetime.now(UTC)
            for due in records_db.due_records(db, _iso(now), limit, retry_now):
                with transaction(db):
                    claimed = records_db.claim_due(db, due["run_id"], due["head_hash"], _iso(now), _iso(now + CLAIM))
                if not claimed:
                    continue
                try:
                    issue_record(db, registry, due["run_id"], due["reason"])
                except Exception as error:  # noted and retried; never lost, never a crash of the worker
                    message = error.message if isinstance(error, run_service.RunError) else \
                        f"{type(error).__name__}: {error}"
                    log.warning("the record of run %s was not issued (attempt %d): %s", due["run_id"],
                                due["attempts"] + 1, message)
                    next_at = _iso(datetime.now(UTC) + retry_delay(due["attempts"]))
                    with transaction(db):
                        records_db.retry_due(db, due["run_id"], due["head_hash"], message, next_at)
                    failed.append(due["run_id"])
                else:
                    issued.append(due["run_id"])
        finally:
            db.conn.close()
    return issued, failed


class RecordWorker:
    """A daemon thread issuing queued records every `interval` seconds, in the server process."""

    def __init__(self, app: Flask, interval: float):
        self.app, self.interval = app, interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="donoharm-records", daemon=True)

    def start(self) -> RecordWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                while issue_due(self.app)[0]:  # a full batch issued: there may be more
                    if self.stopping.is_set():
                        return
            except Exception:  # e.g. the database is locked for too long: try again at the next tick
                log.exception("the record worker failed; it tries again in %s s", self.interval)


def init_app(app: Flask, serving: bool) -> None:
    """How records are issued: `thread` (default: a worker thread in each server process), `inline` (at the
    end of each write request: the tests' default, so a test sees the record at once) or `off` (only
    `flask --app app records issue-due`, e.g. from a timer, and on download)."""
    mode = app.config.get("RECORDS_WORKER") or ("inline" if app.testing else "thread")
    if mode == "thread" and serving:
        app.extensions["donoharm_record_worker"] = RecordWorker(
            app, float(app.config.get("RECORDS_POLL_SECONDS", 1))).start()
    elif mode == "inline":
        @app.after_request
        def issue_after_write(response):
            from flask import request

            if request.method != "GET" and (app.config.get("RECORDS_WORKER") or "inline") == "inline":
                issue_due(app)  # (read again: a test may switch the mode off after start)
            return response
