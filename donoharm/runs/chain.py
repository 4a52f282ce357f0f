"""The hash chain binding a run's header and every event in order (pure)."""
from __future__ import annotations

import hashlib
from typing import Any

from ..protocols import canonical_json, sha256_of

RUN_HEADER_FIELDS = ("id", "protocol_id", "protocol_version", "protocol_sha256",
                     "label", "mode", "created_by", "created_at")
HASHED_EVENT_FIELDS = ("id", "run", "type", "step", "value", "note", "at",
                       "received_at", "actor", "seq")


def genesis_hash(run: dict[str, Any]) -> str:
    """The chain's starting point: a hash of the run header, so the header cannot change."""
    return sha256_of({field: run[field] for field in RUN_HEADER_FIELDS})


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical_json(event)) over the fields that make up an event."""
    body = canonical_json({field: event.get(field) for field in HASHED_EVENT_FIELDS})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def seal(event: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return the event with prev_hash and hash set."""
    return {**event, "prev_hash": prev_hash, "hash": event_hash(prev_hash, event)}


def head_hash(run: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """The hash of the last event, or the genesis hash for a run with no events."""
    return events[-1]["hash"] if events else genesis_hash(run)
