"""The app's protocol library: the published files loaded once at start."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from .protocols import Problem, Registry, load_directory


def load_library(protocols_dir: str) -> tuple[Registry, list[Problem]]:
    """Load every valid protocol file; return the registry and the problems left out."""
    return load_directory(Path(protocols_dir))


def get_registry() -> Registry:
    """The registry of every published protocol version."""
    return current_app.extensions["donoharm.registry"]


def init_app(app: Flask) -> None:
    """Load the library; an invalid file is logged and left out, never fatal."""
    registry, problems = load_library(app.config["PROTOCOLS_DIR"])
    for problem in problems:
        app.logger.warning("protocol left out: %s", problem)
    app.extensions["donoharm.registry"] = registry
    app.extensions["donoharm.protocol_problems"] = problems
