"""Event validation against the pinned protocol version and run state (pure): the meaning of each event. Its
shape and normal form are in runs/event_shape.py, the review, redaction and follow-up rules in
runs/review_rules.py; their names stay importable from here."""
from __future__ import annotations

from typing import Any

from ..privacy import find_personal_data
from ..protocols import Protocol, Step
from .event_shape import (  # noqa: F401  (importable from runs.events, as before)
    CLIENT_FIELDS,
    CONFLICT_CODES,
    COUNT_LIMIT,
    DEFAULT_TIME_FLOOR,
    ERROR_KINDS,
    EVENT_TYPES,
    FORBIDDEN_CODES,
    MAX_CLOCK_AHEAD,
    NAME_LIMIT,
    NOTE_LIMIT,
    SIGNATURE_LIMIT,
    TEXT_LIMIT,
    TIME_RE,
    Actor,
    DeviceClock,
    EventError,
    ValidatedEvent,
    checked_text,
    is_uuid,
    kind_of,
    normalise,
    parse_time,
)
from .review_rules import (  # noqa: F401
    REDACTOR_ROLES,
    REVIEWER_ROLES,
    _check_follow_up,
    _validate_redaction,
    _validate_review,
)
from .state import LOCKED_STATUSES, RunState


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
        checked_text(value, "value", multiline=True)
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
    checked_text(name, "name", multiline=False)
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
    """Check an event's meaning against the protocol, the run's state and the actor, then its texts."""
    event = _validate_meaning(event, protocol, state, actor)
    check_personal_data(event)
    return event


def check_personal_data(event: ValidatedEvent) -> None:
    """A free text that looks like it holds personal data is stored only once the person has confirmed that it
    identifies nobody (the phone asks before saving); the spans found are given back so they can be shown."""
    if event.text_confirmed:
        return
    spans = [{"field": name, **span.to_json()} for name, text in event.texts().items()
             for span in find_personal_data(text)]
    if spans:
        kinds = sorted({span["kind"].replace("_", " ") for span in spans})
        raise EventError("personal_data_suspected",
                         f"this text may identify someone ({', '.join(kinds)}): rephrase it without the "
                         "detail, or confirm that it does not identify anyone", {"spans": spans})


def _validate_meaning(event: ValidatedEvent, protocol: Protocol, state: RunState, actor: Actor) -> ValidatedEvent:
    if event.type == "redaction":
        return _validate_redaction(event, state, actor)
    status = state.status
    if status in LOCKED_STATUSES:
        raise EventError("run_locked", f"the run is {'closed' if status == 'closed' else 'approved'} and "
                         "locked; nothing more can be added")
    if event.type.startswith("review."):
        return _validate_review(event, state, actor)
    if actor.username != state.created_by:
        raise EventError("forbidden", "only the person who started the run can change it")
    if status == "submitted":
        raise EventError("run_submitted", "the run was submitted; it can change again only "
                         "if a supervisor returns it for correction")
    if status == "follow_up":
        _check_follow_up(event, protocol, state)
    if event.type == "step.set":
        step = _step(protocol, event, required=True)
        event.value = check_value(step, event.value)
        event.value_is_text = step.kind == "text"
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
