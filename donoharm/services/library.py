"""The app's protocol library: shipped files and trainers' uploads as one registry.

Files are loaded once at start; uploaded versions and lifecycle choices live in the database and
are re-read whenever their signature changes, so a version published by another worker process
becomes visible on the next request without a restart. A refresh builds a new registry and swaps
it in whole, so a request never sees one half-updated.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app, g, has_request_context
from sqlite_utils import Database

from ..db import connect, get_db, transaction
from ..db import protocols as protocols_db
from ..protocols import ConflictError, Problem, Protocol, ProtocolError, Registry, load_directory, load_text

UPLOAD_SOURCE = "the database"


def load_library(protocols_dir: str) -> tuple[Registry, list[Problem]]:
    """Load every valid protocol file; return the registry and the problems left out."""
    return load_directory(Path(protocols_dir))


@dataclass
class _State:
    """What this process has loaded from the database so far."""

    files: list[Protocol]
    uploads: list[Protocol] = field(default_factory=list)
    last_rowid: int = 0
    signature: tuple[int, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state(app: Flask) -> _State:
    return app.extensions["donoharm.services.library"]


def refresh(app: Flask, db: Database) -> Registry:
    """Bring the registry up to date with the database if uploads or lifecycle changed."""
    state = _state(app)
    signature = protocols_db.upload_generation(db)
    if signature == state.signature:
        return app.extensions["donoharm.registry"]
    with state.lock:
        if signature != state.signature:
            for row in protocols_db.uploads_after(db, state.last_rowid):
                state.last_rowid = row["rowid"]
                try:
                    state.uploads.append(load_text(row["yaml_text"], UPLOAD_SOURCE,
                                                   (row["protocol_id"], row["version"])))
                except ProtocolError as error:  # e.g. a later schema change; never fatal
                    app.logger.warning("uploaded protocol left out: %s", error)
            registry = Registry()
            for protocol in [*state.files, *state.uploads]:
                try:
                    registry.add(protocol)
                except ConflictError as error:  # a file added later under an uploaded id+version
                    app.logger.warning("protocol left out: %s", error)
            registry.set_lifecycle(*protocols_db.lifecycle(db))
            app.extensions["donoharm.registry"] = registry
            state.signature = signature
    return app.extensions["donoharm.registry"]


def get_registry() -> Registry:
    """The registry of every published protocol version, checked against the database once per request
    (outside a request, e.g. a command, read from the database the first time)."""
    if has_request_context():
        if not g.get("_protocols_fresh"):
            g._protocols_fresh = True
            return refresh(current_app, get_db())
    elif _state(current_app).signature is None:
        db = connect(current_app.config["DATABASE"])
        try:
            return refresh(current_app, db)
        finally:
            db.conn.close()
    return current_app.extensions["donoharm.registry"]


def publish(db: Database, text: str | bytes, user_id: int | None) -> tuple[Protocol, bool]:
    """Validate and store an uploaded version; return (protocol, created).

    The same content again is acknowledged (created False); different content under a published
    id and version raises ConflictError; invalid text raises ProtocolError. Nothing is stored on refusal.
    """
    protocol = load_text(text, "<upload>")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    registry = refresh(current_app, db)
    known = registry.get(protocol.id, protocol.version)
    with transaction(db):
        stored = protocols_db.get_upload(db, protocol.id, protocol.version)
        existing_sha = stored["sha256"] if stored else (known.sha256 if known else None)
        if existing_sha == protocol.sha256:
            return known or protocol, False
        if existing_sha is not None:
            raise ConflictError([Problem("<upload>", 1, (
                f"{protocol.id} {protocol.version} is already published with different content; "
                "publish it under a new version number instead"))])
        protocols_db.insert_upload(db, protocol.id, protocol.version, protocol.sha256, text, user_id)
    refresh(current_app, db)
    return protocol, True


def set_current(db: Database, protocol: Protocol, user_id: int | None) -> None:
    """Make a version the one new runs default to."""
    with transaction(db):
        protocols_db.set_current(db, protocol.id, protocol.version, user_id)
    refresh(current_app, db)


def retire(db: Database, protocol: Protocol, user_id: int | None) -> None:
    """Retire a version: no new runs start on it; started runs keep it."""
    with transaction(db):
        protocols_db.retire(db, protocol.id, protocol.version, user_id)
    refresh(current_app, db)


def reinstate(db: Database, protocol: Protocol) -> None:
    """Allow new runs on a retired version again."""
    with transaction(db):
        protocols_db.reinstate(db, protocol.id, protocol.version)
    refresh(current_app, db)


def original_yaml(db: Database, protocol: Protocol) -> str | None:
    """The version's YAML exactly as published: the uploaded text, else the shipped file."""
    stored = protocols_db.get_upload(db, protocol.id, protocol.version)
    if stored is not None:
        return stored["yaml_text"]
    root = Path(current_app.config["PROTOCOLS_DIR"])
    for path in (root.parent / protocol.source, root / protocol.id / f"{protocol.version}.yaml"):
        if protocol.source and path.is_file():
            return path.read_text("utf-8")
    return None


def init_app(app: Flask) -> None:
    """Load the files (uploads are read at the first use, from a prepared database); an invalid one is logged and
    left out, never fatal."""
    registry, problems = load_library(app.config["PROTOCOLS_DIR"])
    for problem in problems:
        app.logger.warning("protocol left out: %s", problem)
    app.extensions["donoharm.registry"] = registry
    app.extensions["donoharm.protocol_problems"] = problems
    app.extensions["donoharm.services.library"] = _State(files=registry.all())
