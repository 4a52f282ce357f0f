"""Signed PDF audit records: rendering, signing, issuing and verification."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .. import run_service
from .issuing import current_record, issue_record, on_status_changed
from .receipting import check_receipt_command
from .roots import rotate_root_command
from .signing import signing_key
from .verify import MAX_BYTES, Verdict, verify_pdf

__all__ = ["current_record", "issue_record", "signing_key", "verify_pdf", "Verdict", "init_app"]


@click.group("records", cls=AppGroup)
def records_cli() -> None:
    """Verify signed audit records."""


@records_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Verify a record PDF: signatures, signer, changes after signing, match with an issued record."""
    from ..db import get_db

    data = file.read_bytes() if file.stat().st_size <= MAX_BYTES else b"\0" * (MAX_BYTES + 1)
    verdict = verify_pdf(data, signing_key(), get_db())
    click.echo(f"{file}: {'VALID' if verdict.valid else 'NOT VALID'}")
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
    if verdict.latest is False:
        click.echo("  note: this run has a newer record; this one was superseded")
    if verdict.root_current is False:
        click.echo("  note: signed under an earlier root certificate of this organisation (rotated since)")
    for problem in verdict.problems:
        click.echo(f"  problem: {problem}")
    sys.exit(0 if verdict.valid else 1)


records_cli.add_command(check_receipt_command)
records_cli.add_command(rotate_root_command)


def init_app(app: Flask) -> None:
    """Load the signing key now (created on first start) and issue records on status changes."""
    app.extensions["donoharm_records"] = True
    if not app.testing:  # tests load (or make) the key on first use, so other tests stay fast
        signing_key(app)
    run_service.status_changed.connect(on_status_changed)  # module-level function: connected once
    app.cli.add_command(records_cli)
