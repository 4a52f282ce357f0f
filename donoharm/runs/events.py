"""Event shape and validation against the pinned protocol version and run state (pure)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..protocols import Protocol, Step
from .state import RunState

EVENT_TYPES = ("step.set", "step.cleared", "step.na", "note", "deviation",
               "run.submitted", "review.returned", "review.approved")
CLIENT_FIELDS = ("id", "type", "step", "value", "note", "at")
NOTE_LIMIT = 2000
TEXT_LIMIT = 2000
COUNT_LIMIT = 1_000_000
NAME_LIMIT = 200
SIGNATURE_LIMIT = 100_000
REVIEWER_ROLES = ("supervisor", "admin")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class Actor:
    """Who is appending: a username and a role."""

    username: str
    role: str


class EventError(Exception):
    """An event was refused; code is machine-readable, message is for the user."""

    def __init__(self, code: str, message: str, details: Any = None, index: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.index = index


@dataclass
class ValidatedEvent:
    id: str
    type: str
    step: str | None
    value: Any
    note: str | None
    at: str
    extra: dict[str, Any] = field(default_factory=dict)

    def client_fields(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "step": self.step, "value": self.value,
                "note": self.note, "at": self.at}


def is_uuid(value: Any) -> bool:
    """True for a canonical UUID string."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def parse_time(value: Any) -> str:
    """Accept an ISO 8601 timestamp with a time zone; return it unchanged."""
    if not isinstance(value, str) or len(value) > 40:
        raise EventError("invalid_time", "'at' must be an ISO 8601 time with a time zone")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError("invalid_time", f"'at' is not a valid time: {value!r}") from None
    if parsed.tzinfo is None:
        raise EventError("invalid_time", "'at' must include a time zone, e.g. 2026-01-01T10:00:00Z")
    return value


def _optional_text(raw: dict[str, Any], key: str, limit: int) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError("invalid_field", f"'{key}' must be text")
    if len(value) > limit:
        raise EventError("too_long", f"'{key}' is {len(value)} characters; the limit is {limit}")
    return value.strip() or None


def normalise(raw: Any, run_id: str) -> ValidatedEvent:
    """Check an event's shape (not yet its meaning) and return it in normal form."""
    if not isinstance(raw, dict):
        raise EventError("invalid_event", "each event must be a JSON object")
    unknown = sorted(set(raw) - set(CLIENT_FIELDS) - {"run"})
    if unknown:
        raise EventError("invalid_event", f"unknown field(s): {', '.join(unknown)}")
    if not is_uuid(raw.get("id")):
        raise EventError("invalid_id", "event 'id' must be a UUID like 0b9a…-…, made on the device")
    if raw.get("run") not in (None, run_id):
        raise EventError("wrong_run", "the event names another run")
    if raw.get("type") not in EVENT_TYPES:
        raise EventError("unknown_type", f"unknown event type {raw.get('type')!r}",
                         {"allowed": list(EVENT_TYPES)})
    step = raw.get("step")
    if step is not None and not isinstance(step, str):
        raise EventError("invalid_field", "'step' must be a step id")
    return ValidatedEvent(
        id=raw["id"].lower(), type=raw["type"], step=step, value=raw.get("value"),
        note=_optional_text(raw, "note", NOTE_LIMIT), at=parse_time(raw.get("at")),
    )


def check_value(step: Step, value: Any) -> Any:
    """Validate an answer against the step's kind; return it in normal form."""
    kind = step.kind
    if kind == "check":
        if value is not True:
            raise EventError("invalid_value", f"step '{step.id}' is ticked with true")
    elif kind == "yesno":
        if value not in ("yes", "no"):
            raise EventError("invalid_value", f"step '{step.id}' takes 'yes' or 'no'")
    elif kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= COUNT_LIMIT:
            raise EventError("invalid_value",
                             f"step '{step.id}' takes a whole number from 0 to {COUNT_LIMIT:,}")
    elif kind == "time":
        if not isinstance(value, str) or not TIME_RE.match(value):
            raise EventError("invalid_value", f"step '{step.id}' takes a time as HH:MM (24-hour)")
    elif kind == "choice":
        if value not in step.option_ids():
            raise EventError("invalid_value", f"step '{step.id}' takes one of: "
                             f"{', '.join(step.option_ids())}", {"options": list(step.option_ids())})
    elif kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise EventError("invalid_value", f"step '{step.id}' takes some text")
        if len(value) > TEXT_LIMIT:
            raise EventError("too_long", f"the answer is {len(value)} characters; the limit is {TEXT_LIMIT}")
    # Values are stored exactly as sent, so a replayed event compares equal to the stored one.
    return value


def _step(protocol: Protocol, event: ValidatedEvent, required: bool) -> Step | None:
    if event.step is None:
        if required:
            raise EventError("missing_step", f"a {event.type} event names a step")
        return None
    step = protocol.step(event.step)
    if step is None:
        raise EventError("unknown_step", f"step {event.step!r} is not in {protocol.id} {protocol.version}")
    return step


def _attestation(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventError("invalid_attestation", "submission needs an attestation: your full name and confirmation")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LIMIT:
        raise EventError("invalid_attestation", "type your full name to attest the record")
    if value.get("confirmed") is not True:
        raise EventError("invalid_attestation", "confirm that the record is true and complete")
    signature = value.get("signature")
    if signature is not None and (not isinstance(signature, str) or len(signature) > SIGNATURE_LIMIT):
        raise EventError("invalid_attestation", "the drawn signature is not valid")
    unknown = set(value) - {"name", "confirmed", "signature"}
    if unknown:
        raise EventError("invalid_attestation", f"unknown attestation field(s): {', '.join(sorted(unknown))}")
    return value


def validate(event: ValidatedEvent, protocol: Protocol, state: RunState, actor: Actor) -> ValidatedEvent:
    """Check an event's meaning against the protocol, the run's state and the actor."""
    status = state.status
    if status == "approved":
        raise EventError("run_locked", "the run is approved and locked; nothing more can be added")
    if event.type.startswith("review."):
        return _validate_review(event, state, actor)
    if actor.username != state.created_by:
        raise EventError("forbidden", "only the person who started the run can change it")
    if status == "submitted":
        raise EventError("run_submitted", "the run was submitted; it can change again only "
                         "if a supervisor returns it for correction")
    if event.type == "step.set":
        step = _step(protocol, event, required=True)
        event.value = check_value(step, event.value)
    elif event.type in ("step.cleared", "step.na"):
        _step(protocol, event, required=True)
        if event.value is not None:
            raise EventError("invalid_value", f"a {event.type} event has no value")
        if event.type == "step.na" and not event.note:
            raise EventError("reason_required", "say why the step does not apply")
    elif event.type in ("note", "deviation"):
        _step(protocol, event, required=False)
        if event.value is not None:
            raise EventError("invalid_value", f"a {event.type} event has no value")
        if not event.note:
            raise EventError("note_required", "describe what happened" if event.type == "deviation"
                             else "a note needs some text")
    elif event.type == "run.submitted":
        if event.step is not None:
            raise EventError("invalid_field", "a submission names no step")
        missing = state.missing_critical()
        if missing:
            raise EventError("incomplete", "critical steps are still open: answer them, mark them "
                             "not applicable with a reason, or record a deviation",
                             {"missing_steps": missing})
        event.value = _attestation(event.value)
    return event


def _validate_review(event: ValidatedEvent, state: RunState, actor: Actor) -> ValidatedEvent:
    if actor.role not in REVIEWER_ROLES:
        raise EventError("forbidden", "only supervisors and administrators review runs")
    if actor.username == state.created_by:
        raise EventError("four_eyes", "you cannot review a run you started; ask another supervisor")
    if state.mode == "practice":
        raise EventError("practice_run", "practice runs are not reviewed")
    if state.status != "submitted":
        raise EventError("not_submitted", f"only a submitted run can be reviewed (this one is {state.status})")
    if event.step is not None:
        raise EventError("invalid_field", "a review names no step")
    if event.type == "review.returned":
        if event.value is not None:
            raise EventError("invalid_value", "a return has no value, only a comment")
        if not event.note:
            raise EventError("comment_required", "say what needs correcting")
    else:
        value = event.value if event.value is not None else {"acknowledged": []}
        acknowledged = value.get("acknowledged") if isinstance(value, dict) else None
        if not isinstance(acknowledged, list) or set(value) != {"acknowledged"}:
            raise EventError("invalid_value", "approval takes {\"acknowledged\": [deviation ids]}")
        deviation_ids = {d["id"] for d in state.deviations}
        strangers = sorted(set(acknowledged) - deviation_ids)
        if strangers:
            raise EventError("invalid_value", "approval acknowledges deviations this run does not have",
                             {"unknown": strangers})
        unacknowledged = [d["id"] for d in state.deviations if d["id"] not in acknowledged]
        if unacknowledged:
            raise EventError("deviations_unacknowledged", "acknowledge every deviation before approving",
                             {"deviations": unacknowledged})
    return event
