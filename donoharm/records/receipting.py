"""Receipts on this server: one signed for every acknowledged append, and checking one against today's chain.

The format and the checks are in receipts.py (pure); this module gives them the signing key, the trusted
roots and the database. `flask --app app records check-receipt FILE.json` is defined here.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from ..db import runs as runs_db
from ..runs import is_uuid
from .receipts import ChainLookup, ReceiptVerdict, chain_hashes, check_receipt, make_receipt, parse_receipt
from .signing import SigningKey, signing_key, trusted_roots

MAX_BYTES = 64 * 1024  # a receipt is under 3 KB; an intermediate or two make it a little larger


def intermediates(key: SigningKey) -> list[bytes]:
    """The certificates between the signing certificate and a trusted root (an organisation's PKCS#12 may
    hold some), so a receipt can be checked with the root alone."""
    return key.intermediates_der


def issue_receipt(db: Database, run_id: str, head: str, key: SigningKey | None = None) -> dict[str, Any] | None:
    """A signed receipt for a run's chain at `head` (the head an append answered with), or None if the
    head is not in the run's chain."""
    position = runs_db.position_of(db, run_id, head)
    if position is None:
        return None
    key = key or signing_key()
    seq, received_at = position
    return make_receipt(key, run_id, seq, head, received_at, intermediates(key))


def receipt_or_none(db: Database, run_id: str, head: str) -> dict[str, Any] | None:
    """issue_receipt, but never failing the request: the events are stored already, and an error here
    would only make the phone send them again and again. The log says what went wrong."""
    try:
        return issue_receipt(db, run_id, head)
    except Exception:
        current_app.logger.exception("could not sign a receipt for run %s", run_id)
        return None


def chain_of(db: Database) -> ChainLookup:
    """Look up a run's chain as stored today, every hash recomputed from the stored content."""
    def lookup(run_id: str) -> list[str] | None:
        run = runs_db.get_run(db, run_id) if is_uuid(run_id) else None
        return None if run is None else chain_hashes(run, runs_db.events_of(db, run_id))
    return lookup


def check_with_server(db: Database, receipt: Any, key: SigningKey | None = None) -> ReceiptVerdict:
    """Is the receipt genuine (signed under one of this instance's roots), and does the chain still hold it?"""
    return check_receipt(receipt, trusted_roots(key or signing_key()), chain_of(db))


def _shown(value: object) -> str:
    """A value from the file as one safe line: control characters written as escapes."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(value))


@click.command("check-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def check_receipt_command(file: Path) -> None:
    """Check a receipt from a phone: signed by this server, and its head still at its place in the chain."""
    from ..db import get_db

    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    try:
        if len(data) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES // 1024} KB")
        verdict = check_with_server(get_db(), parse_receipt(data))
    except ValueError as error:
        verdict = ReceiptVerdict(problems=[f"not a receipt: {error}"])
    click.echo(f"{file}: {'VALID' if verdict.valid else 'NOT VALID'}")
    click.echo(f"  {'yes' if verdict.genuine else 'NO '}  signed by this server")
    if verdict.genuine:
        click.echo(f"  {'yes' if verdict.contained else 'NO '}  still in the run's chain at its position")
    for name, value in (("run", verdict.run), ("position", verdict.seq), ("head", verdict.head),
                        ("received at", verdict.received_at), ("signer", verdict.signer)):
        if value is not None:
            click.echo(f"  {name}: {_shown(value)}")
    for problem in verdict.problems:
        click.echo(f"  problem: {problem}")
    sys.exit(0 if verdict.valid else 1)
