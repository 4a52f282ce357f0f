"""Retention of closed runs (issue 18): free texts go after DONOHARM_RETAIN_TEXT_DAYS, whole runs after
DONOHARM_RETAIN_RUN_YEARS, practice runs after DONOHARM_PRACTICE_RETENTION_DAYS; `flask db purge` does it
(the nightly maintenance timer runs it) and `--dry-run` lists what would go.

Time counts from when a run was locked (approved, or closed after its follow-up), by the server's clock; runs
in progress, submitted, returned or in follow-up are never touched. A text goes through a system redaction
event (redaction.redact, the one append path), so the run's chain still verifies and the run says when and why;
a text stored before commitments cannot go that way and is kept (reported). A deleted run leaves a row in the
deletion register (db/retention.delete_runs): id, protocol, dates, chain head and event count, nothing it said.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from ..db import fold_write_ahead_log, get_db
from ..db import maintenance as maintenance_db
from ..db import retention as retention_db
from ..protocols import Registry
from ..runs import EventError
from . import redaction
from .library import get_registry


def utc_now() -> datetime:
    """The retention job's clock (the tests replace it: no waiting for days to pass)."""
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A time in the format the runs and events tables keep (UTC, milliseconds, Z)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass(frozen=True)
class Settings:
    text_days: int | None = None
    run_years: int | None = None
    practice_days: int | None = None

    @classmethod
    def of(cls, config: dict[str, Any]) -> Settings:
        return cls(config.get("RETAIN_TEXT_DAYS"), config.get("RETAIN_RUN_YEARS"),
                   config.get("PRACTICE_RETENTION_DAYS"))

    def any(self) -> bool:
        return any((self.text_days, self.run_years, self.practice_days))


@dataclass
class Plan:
    """What a purge at one moment removes; `runs` and `texts` are rows from db/retention."""

    practice_runs: int = 0
    practice_events: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    text_runs: int = 0
    kept_uncommitted: int = 0  # texts stored before commitments: only deleting the whole run removes them
    faulty_runs: int = 0  # locked runs whose history was changed outside the app: left for an administrator


@dataclass
class Outcome:
    practice_runs: int = 0
    runs: int = 0
    events: int = 0
    record_files: int = 0
    texts: int = 0
    failures: list[str] = field(default_factory=list)


def plan(db: Database, settings: Settings, now: datetime) -> Plan:
    """What is due at `now`, changing nothing. A run due for deletion is not listed for text removal too."""
    found = Plan()
    if settings.practice_days:
        found.practice_runs, found.practice_events = retention_db.expired_practice(
            db, retention_db.cutoff(settings.practice_days, now))
    if settings.run_years:
        before = stamp(years_before(now, settings.run_years))
        found.runs = retention_db.locked_runs(db, before)
        found.faulty_runs = retention_db.faulty_locked_runs(db, before)
    if settings.text_days:
        before = retention_db.cutoff(settings.text_days, now)
        deleted = {run["id"] for run in found.runs}
        run_ids = [run["id"] for run in retention_db.locked_runs(db, before) if run["id"] not in deleted]
        texts = retention_db.texts_of_runs(db, run_ids)
        found.texts = [text for text in texts if text["committed"]]
        found.text_runs = len({text["run_id"] for text in found.texts})
        found.kept_uncommitted = len(texts) - len(found.texts)
        found.faulty_runs = max(found.faulty_runs, retention_db.faulty_locked_runs(db, before))
    return found


def reason(settings: Settings) -> str:
    """The redaction's reason: the same words on every text removed by retention."""
    return f"Retention: free text kept for {settings.text_days} days"


def carry_out(db: Database, registry: Registry, due: Plan, settings: Settings, now: datetime,
              instance: Path) -> Outcome:
    """Do what `plan` found: practice runs, then whole runs (with the register), then texts one by one."""
    outcome = Outcome()
    if settings.practice_days:
        purged = retention_db.purge_practice(db, retention_db.cutoff(settings.practice_days, now), instance)
        outcome.practice_runs = purged.runs
    purged = retention_db.delete_runs(db, due.runs, stamp(now), instance)
    outcome.runs, outcome.events, outcome.record_files = purged.runs, purged.events, len(purged.record_files)
    if outcome.runs or outcome.practice_runs:
        fold_write_ahead_log(db)  # the deleted rows' old pages do not linger in the WAL file
    for text in due.texts:
        try:
            redaction.redact(db, registry, text["run_id"], text["id"], reason(settings), redaction.SYSTEM, instance)
        except EventError as error:
            if error.code != "already_redacted":  # a supervisor removed it meanwhile: gone all the same
                outcome.failures.append(f"run {text['run_id']} event {text['id']}: {error.message}")
            continue
        outcome.texts += 1
    return outcome


def describe(settings: Settings, due: Plan, done: Outcome | None) -> list[str]:
    """The purge's report, one line per kind (and one per run to delete)."""
    lines = []
    if settings.run_years:
        verb = "Deleted" if done else "Would delete"
        lines.append(f"{verb} {len(due.runs)} closed run(s) locked {settings.run_years} year(s) ago or more "
                     f"({sum(run['event_count'] for run in due.runs)} events), keeping a row in the deletion "
                     "register:")
        lines.extend(f"  {run['id']}  {run['label']}  locked {run['locked_at']}" for run in due.runs)
    if settings.text_days:
        count = done.texts if done else len(due.texts)
        verb = "Removed" if done else "Would remove"
        lines.append(f"{verb} {count} free text(s) of {due.text_runs} run(s) closed {settings.text_days} day(s) "
                     "ago or more, each with a system redaction event.")
        if due.kept_uncommitted:
            lines.append(f"Kept: {due.kept_uncommitted} text(s) stored before texts could be removed (they go with "
                         "the whole run).")
    if due.faulty_runs:
        lines.append(f"Kept: {due.faulty_runs} run(s) whose history was changed outside the app (see db verify).")
    if settings.practice_days:
        count = done.practice_runs if done else due.practice_runs
        lines.append(f"{'Deleted' if done else 'Would delete'} {count} practice run(s) not changed for "
                     f"{settings.practice_days} days.")
    if done:
        lines.extend(f"Not removed: {failure}" for failure in done.failures)
    return lines


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would go; change nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Remove what the retention settings say is due: free texts and whole closed runs, practice runs."""
    settings = Settings.of(current_app.config)
    if not settings.any():
        click.echo("No retention is set (DONOHARM_RETAIN_TEXT_DAYS, DONOHARM_RETAIN_RUN_YEARS, "
                   "DONOHARM_PRACTICE_RETENTION_DAYS): everything is kept.")
        return
    db, now = get_db(), utc_now()
    due = plan(db, settings, now)
    if dry_run:
        for line in describe(settings, due, None):
            click.echo(line)
        return
    done = carry_out(db, get_registry(), due, settings, now, Path(current_app.instance_path))
    for line in describe(settings, due, done):
        click.echo(line)
    maintenance_db.record_task(db, "purge", not done.failures,
                               f"{done.runs} run(s), {done.texts} text(s), {done.practice_runs} practice run(s)"
                               + (f", {len(done.failures)} failure(s)" if done.failures else ""))
    sys.exit(1 if done.failures else 0)
