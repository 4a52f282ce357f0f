"""Tamper evidence against the server's own database: `db verify` and signed checkpoints."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..db import db_cli, get_db
from ..db import maintenance as maintenance_db
from ..services import run_service
from . import checkpoints
from .verify import verify_instance


def _timestamp_functions():
    """(make a token, check a token) for the configured timestamp authority (DONOHARM_TSA_URL)."""
    from ..records.timestamps import check_timestamp_token, timestamp_token

    return timestamp_token, check_timestamp_token


def make_checkpoint(app: Flask) -> tuple[Path, dict, list[str]]:
    """Build, sign (and timestamp, when configured), and save a checkpoint now."""
    from ..records.signing import signing_key
    from ..services.organisation import organisation_name

    unsigned, left_out = checkpoints.build(get_db(), run_service.utc_now(), organisation_name(app))
    stamp, _check = _timestamp_functions()
    signed = checkpoints.sign(unsigned, signing_key(app), stamp)
    return checkpoints.save(Path(app.instance_path), signed), signed, left_out


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check every run's chain, every issued record and the last checkpoint; exit 1 on any problem."""
    from ..records.signing import signing_key, trusted_roots

    _stamp, check = _timestamp_functions()
    report = verify_instance(get_db(), Path(current_app.instance_path), trusted_roots(signing_key()),
                             run_service.utc_now(), check)
    maintenance_db.record_task(get_db(), "verify", not report.problems,
                               f"{len(report.problems)} problem(s)" if report.problems else "clean")
    for problem in report.problems:
        click.echo(problem)
    against = f", against {report.checkpoint}" if report.checkpoint else ", no checkpoint yet"
    summary = (f"{report.runs} run(s), {report.events} event(s), {report.records} record(s), "
               f"{report.reports} published report(s) checked{against}: "
               f"{len(report.problems)} problem(s).")
    click.echo(summary, err=bool(report.problems))
    sys.exit(1 if report.problems else 0)


@click.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign a checkpoint of every live run's chain head now (the maintenance timer makes one nightly)."""
    from ..records.timestamps import TimestampError

    try:
        path, signed, left_out = make_checkpoint(current_app._get_current_object())
    except TimestampError as error:  # never a checkpoint without the timestamp the organisation asked for
        maintenance_db.record_task(get_db(), "checkpoint", False, str(error))
        raise click.ClickException(f"no checkpoint was made: {error}") from None
    maintenance_db.record_task(get_db(), "checkpoint", not left_out,
                               f"{signed['runs']} run(s), {len(left_out)} left out")
    for run_id in left_out:
        click.echo(f"run {run_id}: left out, its chain does not verify (see `db verify`)", err=True)
    stamped = " with a timestamp" if signed.get("timestamp") else ""
    click.echo(f"Checkpoint of {signed['runs']} run(s){stamped}: {signed['root']} in {path}")
    sys.exit(1 if left_out else 0)


@click.command("clear-fault")
@with_appcontext
@click.argument("run_id")
def clear_fault_command(run_id: str) -> None:
    """Take a run off the administrators' list once its history verifies again (e.g. after a restore)."""
    from ..db import integrity as integrity_db
    from ..db import runs as runs_db
    from ..runs.integrity import first_fault

    db = get_db()
    run, events = runs_db.run_with_events(db, run_id)
    if run is None:
        raise click.ClickException(f"no run {run_id}")
    fault = first_fault(run, events)
    if fault is not None:
        raise click.ClickException(f"run {run_id} seq {fault.seq}: {fault.problem}; it stays on the list until "
                                   "its history verifies (restore it from a backup made before the change)")
    integrity_db.clear_fault(db, run_id)
    click.echo(f"Run {run_id} verifies; it is no longer listed as changed outside the app.")


def init_app(app: Flask) -> None:
    db_cli.add_command(verify_command)
    db_cli.add_command(checkpoint_command)
    db_cli.add_command(clear_fault_command)
