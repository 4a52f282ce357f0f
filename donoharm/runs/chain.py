"""The hash chain binding a run's header and every event in order (pure)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
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


def verify_chain(run: dict[str, Any], events: Iterable[dict[str, Any]]) -> list[str]:
    """Check every link from the run header to the head; return the problems found."""
    problems: list[str] = []
    prev = genesis_hash(run)
    for expected_seq, event in enumerate(events, start=1):
        where = f"event {expected_seq} ({event.get('id')})"
        if event.get("seq") != expected_seq:
            problems.append(f"{where}: sequence number is {event.get('seq')}, expected {expected_seq}")
        if event.get("run") != run["id"]:
            problems.append(f"{where}: belongs to another run")
        if event.get("prev_hash") != prev:
            problems.append(f"{where}: does not link to the event before it")
        if event.get("hash") != event_hash(event.get("prev_hash", ""), event):
            problems.append(f"{where}: its content does not match its hash")
        prev = event.get("hash", "")
    return problems


def head_hash(run: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """The hash of the last event, or the genesis hash for a run with no events."""
    return events[-1]["hash"] if events else genesis_hash(run)
