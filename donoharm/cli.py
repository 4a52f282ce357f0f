"""Command-line commands: `flask --app app protocols …` (others register beside their modules)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .library import get_registry
from .protocols import ProtocolError, Registry, load_file, protocol_files


@click.group("protocols", cls=AppGroup)
def protocols_cli() -> None:
    """Check and list protocol versions."""


@protocols_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check_command(paths: tuple[Path, ...]) -> None:
    """Validate protocol files (default: all of protocols/); print path:line: message per problem."""
    root = Path(current_app.config["PROTOCOLS_DIR"])
    files = protocol_files(paths or (root,))
    registry = Registry()
    problems = []
    for path in files:
        if not path.exists():
            problems.append(f"{path}:1: no such file or folder")
            continue
        try:
            registry.add(load_file(path.resolve(), Path.cwd()))
        except ProtocolError as error:
            problems.extend(str(p) for p in error.problems)
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(files)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} file(s) OK.")


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
    app.cli.add_command(protocols_cli)
