"""Signed PDF audit records: rendering, signing, issuing and verification."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from . import queue
from .issuing import current_record, issue_record
from .queue import issue_due
from .receipting import check_receipt_command
from .roots import rotate_root_command
from .signing import signing_key
from .verify import MAX_BYTES, Verdict, verdict_lines, verify_pdf

__all__ = ["current_record", "issue_record", "signing_key", "verify_pdf", "Verdict", "init_app"]


@click.group("records", cls=AppGroup)
def records_cli() -> None:
    """Verify signed audit records."""


@records_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Verify a record PDF: signatures, signer, changes after signing, match with an issued record."""
    from flask_babel import force_locale

    from ..db import get_db
    from .verdicts import outcome, sentence

    data = file.read_bytes() if file.stat().st_size <= MAX_BYTES else b"\0" * (MAX_BYTES + 1)
    verdict = verify_pdf(data, signing_key(), get_db())
    click.echo(f"{file}: {'VALID' if verdict.valid else 'NOT VALID'}")
    with force_locale("en"):  # the one verdict first, as on /verify; the command speaks English throughout
        click.echo(f"  {sentence(outcome(verdict))}")
    for label, value in (("signatures intact", verdict.intact), ("signed by this organisation", verdict.trusted),
                         ("nothing added after signing", verdict.unmodified),
                         ("matches a record issued here", verdict.matches_record)):
        click.echo(f"  {'yes' if value else 'NO '}  {label}")
    for name, value in (("signer", verdict.signer), ("signed at", verdict.signed_at), ("run", verdict.run_id),
                        ("record", verdict.record_id), ("chain head", verdict.head_hash),
                        ("timestamped at", verdict.timestamped_at), ("by", verdict.timestamp_authority),
                        ("root certificate", verdict.root_fingerprint)):
        if value:
            click.echo(f"  {name}: {value}")
    for line in verdict_lines(verdict):
        click.echo(f"  {line}")
    if verdict.latest is False:
        click.echo("  note: this run has a newer record; this one was superseded")
    if verdict.root_current is False:
        click.echo("  note: signed under an earlier root certificate of this organisation (rotated since)")
    for problem in verdict.problems:
        click.echo(f"  problem: {problem}")
    sys.exit(0 if verdict.valid else 1)


records_cli.add_command(check_receipt_command)
records_cli.add_command(rotate_root_command)


@records_cli.command("issue-due")
def issue_due_command() -> None:
    """Issue every queued record now, also those waiting to be tried again; exit 1 if one could not be issued."""
    from flask import current_app

    issued, failed = issue_due(current_app._get_current_object(), limit=1_000_000, retry_now=True)
    for run_id in failed:
        click.echo(f"run {run_id}: the record could not be issued yet; it is tried again later", err=True)
    click.echo(f"Issued {len(issued)} record(s); {len(failed)} could not be issued yet.")
    sys.exit(1 if failed else 0)


def init_app(app: Flask) -> None:
    """Start issuing queued records. The signing key is loaded at the first signature (and made by `db migrate`
    for a named organisation, or on first use for the name /setup asks), so commands start without pyHanko."""
    from ..accounts.setup import serving

    app.extensions["donoharm_records"] = True
    queue.init_app(app, serving=serving())
    app.cli.add_command(records_cli)
