"""Removing a free text that should never have been written (issue 18), through the one append path.

A `redaction` event records who removed which event's text, when and why; the append deletes the text and its
salt in the same transaction, so the chain still verifies against the commitment (runs/chain.py). Afterwards the
server's own copies of records that held the text are deleted (their rows stay, so `records verify` can say a
file was superseded by a redaction) and the database's write-ahead log is folded back, so the text is not left
in the WAL file either.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from sqlite_utils import Database

from ..db import fold_write_ahead_log
from ..db import records as records_db
from ..protocols import Registry
from ..runs import Actor, policy
from . import run_service

SYSTEM = Actor(policy.SYSTEM, policy.SYSTEM)  # the retention job


def redact(db: Database, registry: Registry, run_id: str, event_id: str, reason: str, actor: Actor,
           instance: Path, confirmed: bool = False, at: str | None = None) -> run_service.AppendResult:
    """Remove an event's free text for good; raise EventError/RunError when that cannot be done."""
    raw = {"id": str(uuid.uuid4()), "type": "redaction", "value": {"event": event_id}, "note": reason,
           "at": at or run_service.utc_now(), "text_confirmed": confirmed}
    result = run_service.append_events(db, registry, run_id, [raw], actor)
    if result.accepted:
        remove_superseded_files(db, result.accepted[0], instance)
    return result


def remove_superseded_files(db: Database, redaction_id: str, instance: Path) -> list[str]:
    """Delete the server's files of records a redaction superseded; their rows stay. Returns their ids."""
    removed = []
    for record in records_db.redacted_files(db, redaction_id):
        path = (instance / record["path"]).resolve()
        if path.is_relative_to(instance.resolve()):
            path.unlink(missing_ok=True)
        records_db.file_removed(db, record["id"], run_service.utc_now())
        removed.append(record["id"])
    fold_write_ahead_log(db)  # the removed text must not linger in the WAL file either
    return removed
