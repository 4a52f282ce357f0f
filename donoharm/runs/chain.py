"""The hash chain binding a run's header and every event in order (pure).

Free text is chained as a salted commitment (issue 18): an event's note, and the value of a free-text answer,
enter the hash only as sha256(salt + canonical_json(texts)), stored beside the text. A supervisor can later
delete the text and its salt (a redaction) and every hash still verifies; without the salt nobody can test a
guess against the commitment. Events chained before commitments existed have no `text_commitment` and are
hashed over their text as before, so they keep verifying unchanged.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..protocols import canonical_json, sha256_of

RUN_HEADER_FIELDS = ("id", "protocol_id", "protocol_version", "protocol_sha256",
                     "label", "mode", "created_by", "created_at")
HASHED_EVENT_FIELDS = ("id", "run", "type", "step", "value", "note", "at",
                       "received_at", "actor", "seq")
# For an event with a commitment: its texts are replaced by the commitment, and the confirmation that the
# text identifies nobody (made on the phone after the personal-data warning) is sealed with it.
COMMITTED_EVENT_FIELDS = HASHED_EVENT_FIELDS + ("text_commitment", "value_is_text", "text_confirmed")


def genesis_hash(run: dict[str, Any]) -> str:
    """The chain's starting point: a hash of the run header, so the header cannot change."""
    return sha256_of({field: run[field] for field in RUN_HEADER_FIELDS})


def texts_of(event: dict[str, Any]) -> dict[str, Any]:
    """The free texts an event's commitment covers: its note, and its value when that is a free-text answer."""
    return {"note": event.get("note"), "value": event.get("value") if event.get("value_is_text") else None}


def has_text(event: dict[str, Any]) -> bool:
    return any(text is not None for text in texts_of(event).values())


def text_commitment(salt: str, event: dict[str, Any]) -> str:
    """sha256(salt + canonical_json(texts)): binds the texts without revealing them once the salt is gone."""
    return hashlib.sha256((salt + canonical_json(texts_of(event))).encode("utf-8")).hexdigest()


def commit_texts(event: dict[str, Any], value_is_text: bool) -> dict[str, Any]:
    """The event with a fresh salt and the commitment to its texts (every event sealed from now on)."""
    salt = secrets.token_hex(16)
    committed = {**event, "value_is_text": bool(value_is_text), "text_confirmed": bool(event.get("text_confirmed")),
                 "text_salt": salt}
    committed["text_commitment"] = text_commitment(salt, committed)
    return committed


def hashed_body(event: dict[str, Any]) -> dict[str, Any]:
    """What an event's hash covers: its fields, with committed texts replaced by their commitment."""
    if not event.get("text_commitment"):
        return {field: event.get(field) for field in HASHED_EVENT_FIELDS}
    body = {field: event.get(field) for field in COMMITTED_EVENT_FIELDS}
    body["note"] = None
    if event.get("value_is_text"):
        body["value"] = None
    body["value_is_text"] = bool(event.get("value_is_text"))
    body["text_confirmed"] = bool(event.get("text_confirmed"))
    return body


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical_json(event)) over the fields that make up an event."""
    body = canonical_json(hashed_body(event))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def text_problem(event: dict[str, Any]) -> str | None:
    """Why an event's stored texts do not match its commitment, or None (also None for a redacted event,
    whose texts and salt are gone, and for an event chained before commitments)."""
    if not event.get("text_commitment"):
        return None
    if event.get("text_salt") is None:
        if has_text(event):
            return "has a text but no salt: a text was put back after a redaction"
        return None
    if text_commitment(event["text_salt"], event) != event["text_commitment"]:
        return "holds a text other than the one sealed"
    return None


def seal(event: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return the event with prev_hash and hash set."""
    return {**event, "prev_hash": prev_hash, "hash": event_hash(prev_hash, event)}


def head_hash(run: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """The hash of the last event, or the genesis hash for a run with no events."""
    return events[-1]["hash"] if events else genesis_hash(run)
