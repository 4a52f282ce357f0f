"""Command-line commands: `flask --app app protocols …` (others register beside their modules)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .protocols import ProtocolError, Registry, load_file, protocol_files
from .protocols.advice import warnings
from .services.library import get_registry


@click.group("protocols", cls=AppGroup)
def protocols_cli() -> None:
    """Check and list protocol versions."""


@protocols_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check_command(paths: tuple[Path, ...], strict: bool) -> None:
    """Validate protocol files (default: all of protocols/); print path:line: message per problem.

    Warnings (pause points too long, too many critical steps in one, counts of people with no 'of') are
    printed too; they fail the check only with --strict."""
    root = Path(current_app.config["PROTOCOLS_DIR"])
    files = protocol_files(paths or (root,))
    registry = Registry()
    problems, advice = [], []
    for path in files:
        if not path.exists():
            problems.append(f"{path}:1: no such file or folder")
            continue
        try:
            protocol = load_file(path.resolve(), Path.cwd())
            registry.add(protocol)
        except ProtocolError as error:
            problems.extend(str(p) for p in error.problems)
            continue
        advice.extend(str(w) for w in warnings(protocol, path.read_text("utf-8"), protocol.source))
    for line in problems + advice:
        click.echo(line)
    if problems or (strict and advice):
        click.echo(f"{len(problems)} problem(s) and {len(advice)} warning(s) in {len(files)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} file(s) OK" + (f", {len(advice)} warning(s)." if advice else "."))


@protocols_cli.command("list")
def list_command() -> None:
    """List every published version: id, version, short sha256, title, step count, status."""
    registry = get_registry()
    for protocol in registry.all():
        click.echo(
            f"{protocol.id}\t{protocol.version}\t{protocol.sha256[:12]}\t{protocol.title}\t"
            f"{len(protocol.steps)} steps\t{registry.status(protocol)}"
        )


def init_app(app: Flask) -> None:
    from .services import reports_cli

    app.cli.add_command(protocols_cli)
    reports_cli.init_app(app)  # transparency reports (issue 22)
