"""`flask --app app reports …`: publish, list and check transparency reports, and combine members' reports."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from ..transparency.document import ReportError, period_of
from . import reports

MAX_REPORT_BYTES = 2 * 1024 * 1024


@click.group("reports", cls=AppGroup)
def reports_cli() -> None:
    """Publish and combine public transparency reports."""


@reports_cli.command("publish")
@click.option("--period", "label", help="A quarter, e.g. 2026-Q2 (or give --start and --end).")
@click.option("--start", help="First day of the period, YYYY-MM-DD.")
@click.option("--end", help="Last day of the period, YYYY-MM-DD.")
@click.option("--by", default="command line", show_default=True, help="Who publishes (kept with the report).")
def publish_command(label: str | None, start: str | None, end: str | None, by: str) -> None:
    """Publish a signed report (JSON and PDF) of a period that ended at least 30 days ago."""
    from ..db import get_db

    try:
        row = reports.publish(get_db(), period_of(label, start, end), by)
    except ReportError as error:
        click.echo(f"{error.field}: {error}", err=True)
        sys.exit(1)
    click.echo(f"Published report {row['id']} for {row['period_label']} ({row['period_start']} to "
               f"{row['period_end']}); data_sha256 {row['data_sha256']}")


@reports_cli.command("list")
def list_command() -> None:
    """List published reports: id, period, published at, data_sha256."""
    from ..db import get_db
    from ..db import reports as reports_db

    for row in reports_db.published(get_db()):
        click.echo(f"{row['id']}\t{row['period_label']}\t{row['period_start']}\t{row['period_end']}\t"
                   f"{row['published_at']}\t{row['data_sha256']}")


@reports_cli.command("check")
@click.argument("report_id")
def check_command(report_id: str) -> None:
    """Check that the runs a published report counted were not changed since (exit 1 if they were)."""
    from ..db import get_db

    intact, lines = reports.check(get_db(), report_id)
    for line in lines:
        click.echo(line)
    click.echo("INTACT" if intact else "CHANGED")
    sys.exit(0 if intact else 1)


@reports_cli.command("combine")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--trust", "trust", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A root certificate (PEM) of a member instance; repeat for each.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the combined report here.")
def combine_command(files: tuple[Path, ...], trust: tuple[Path, ...], out: Path | None) -> None:
    """Verify members' reports against the roots given and add them up into one report signed here."""
    from ..db import get_db

    try:
        named = []
        for path in files:
            if path.stat().st_size > MAX_REPORT_BYTES:
                raise ReportError("reports", f"{path}: larger than {MAX_REPORT_BYTES // 1024 // 1024} MB")
            named.append((str(path), path.read_bytes()))
        roots = reports.load_pem_roots([(str(p), p.read_bytes()) for p in trust])
        combined = reports.combine(get_db(), named, roots)
    except ReportError as error:
        click.echo(f"{error}", err=True)
        sys.exit(1)
    text = json.dumps(combined, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if out:
        out.write_text(text, "utf-8")
        click.echo(f"Combined {len(files)} report(s) into {out}")
    else:
        click.echo(text, nl=False)


def init_app(app: Flask) -> None:
    app.cli.add_command(reports_cli)
