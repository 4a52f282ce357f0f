"""Restore a database backup into this instance, then check every run's hash chain."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from ..runs import verify_chain
from . import connect, migrate
from . import runs as runs_db


def check_backup(source: Path) -> None:
    """Raise ClickException unless `source` is an intact Do No Harm database."""
    if not source.is_file():
        raise click.ClickException(f"{source} is not a file")
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{source} is not a SQLite database ({error})") from None
    if ok != "ok":
        raise click.ClickException(f"{source} is damaged: {ok}")
    if not {"runs", "events", "users"} <= tables:
        raise click.ClickException(f"{source} is not a Do No Harm database (no runs, events or users table)")


def holds_data(db: Database) -> bool:
    """True when the database has any user or run (a restore would overwrite them)."""
    return bool(db.execute("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM runs)").fetchone()[0])


def chain_problems(db: Database) -> tuple[int, int, list[str]]:
    """Verify every run's chain; return (runs, events, problems)."""
    problems: list[str] = []
    runs = events = 0
    for (run_id,) in db.execute("SELECT id FROM runs ORDER BY created_at").fetchall():
        run = runs_db.get_run(db, run_id)
        stored = runs_db.events_of(db, run_id)
        runs += 1
        events += len(stored)
        problems.extend(f"run {run_id}: {problem}" for problem in verify_chain(run, stored))
        if run["event_count"] != len(stored):
            problems.append(f"run {run_id}: {len(stored)} events stored, {run['event_count']} expected")
    return runs, events, problems


def restore(source: Path, database: str) -> None:
    """Copy a backup over the database with SQLite's backup API, then apply pending migrations."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = connect(database)
    try:
        src.backup(dst.conn)
    finally:
        dst.conn.close()
        src.close()
    migrate(database)


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that already has users or runs.")
def restore_command(source: Path, replace: bool) -> None:
    """Restore a backup made by `db backup` into this instance (stop the server first)."""
    check_backup(source)
    database = current_app.config["DATABASE"]
    db = connect(database)
    try:
        if holds_data(db) and not replace:
            raise click.ClickException(f"{database} already has users or runs; restore into a new instance "
                                       "folder (DONOHARM_INSTANCE), or pass --replace to overwrite it")
    finally:
        db.conn.close()
    restore(source, database)
    db = connect(database)
    try:
        runs, events, problems = chain_problems(db)
    finally:
        db.conn.close()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"restored, but {len(problems)} problem(s) in the runs' hash chains")
    click.echo(f"Restored {runs} run(s) and {events} event(s) into {database}; every run's chain verifies.")
