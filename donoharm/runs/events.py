"""Event shape and validation against the pinned protocol version and run state (pure)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..drawn_signature import clean_drawn_signature
from ..privacy import find_personal_data
from ..protocols import Protocol, Step
from ..text import text_problem
from . import policy
from .state import LOCKED_STATUSES, RunState

EVENT_TYPES = ("step.set", "step.cleared", "step.na", "note", "deviation",
               "run.submitted", "review.returned", "review.approved", "redaction")
CLIENT_FIELDS = ("id", "type", "step", "value", "note", "at", "text_confirmed")
NOTE_LIMIT = 2000
TEXT_LIMIT = 2000
COUNT_LIMIT = 1_000_000
NAME_LIMIT = 200
SIGNATURE_LIMIT = 100_000
# Who may review and who may remove a text (reviewers, and the retention job acting as "system"): runs/policy.py.
REVIEWER_ROLES = policy.REVIEWERS
REDACTOR_ROLES = policy.REDACTORS
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
DEFAULT_TIME_FLOOR = datetime(2020, 1, 1, tzinfo=UTC)
MAX_CLOCK_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class DeviceClock:
    """The span a device's time may fall in: from the floor to a day ahead of the server's clock.

    A phone's clock can be wrong (reset to 1970 after a flat battery, set a year ahead); a record
    that says a child was handed over in year 9999 is a false statement, so such times are refused.
    """

    floor: datetime = DEFAULT_TIME_FLOOR
    now: datetime | None = None  # None: the server's clock when checked

    def problem(self, moment: datetime) -> str | None:
        now = self.now or datetime.now(UTC)
        if moment > now + MAX_CLOCK_AHEAD:
            return (f"is more than a day ahead of the server's clock ({now:%Y-%m-%d %H:%M} UTC): "
                    "check the date and time set on the phone")
        if moment < self.floor:
            return f"is before {self.floor:%Y-%m-%d}: check the date and time set on the phone"
        return None


@dataclass(frozen=True)
class Actor:
    """Who is appending: a username and a role."""

    username: str
    role: str


# What kind of refusal each code is (the API maps kinds to HTTP statuses in one table, api/errors.py): the
# actor may not do this; the run's state refuses it now; anything else is an event that is not valid.
FORBIDDEN_CODES = ("forbidden", "four_eyes")
CONFLICT_CODES = ("run_locked", "run_submitted", "id_conflict", "id_in_use", "not_submitted", "follow_up_only",
                  "already_redacted", "not_redactable")
ERROR_KINDS = ("malformed", "forbidden", "not_found", "conflict", "invalid")


def kind_of(code: str) -> str:
    """The kind of refusal an event error code is."""
    return "forbidden" if code in FORBIDDEN_CODES else "conflict" if code in CONFLICT_CODES else "invalid"


class EventError(Exception):
    """An event was refused; code is machine-readable, message is for the user, kind says what sort of refusal
    (one of ERROR_KINDS; from the code unless given)."""

    def __init__(self, code: str, message: str, details: Any = None, index: int | None = None,
                 kind: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.index = index
        self.kind = kind or kind_of(code)
        assert self.kind in ERROR_KINDS, self.kind


@dataclass
class ValidatedEvent:
    id: str
    type: str
    step: str | None
    value: Any
    note: str | None
    at: str
    text_confirmed: bool = False  # the person confirmed that the text identifies nobody
    value_is_text: bool = False  # the value is a free-text answer (set by validate)
    extra: dict[str, Any] = field(default_factory=dict)

    def client_fields(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "step": self.step, "value": self.value,
                "note": self.note, "at": self.at, "text_confirmed": self.text_confirmed}

    def texts(self) -> dict[str, str]:
        """The free texts of the event by field: what the personal-data guard reads and a redaction removes."""
        found = {"note": self.note} if self.note else {}
        if self.value_is_text and isinstance(self.value, str):
            found["value"] = self.value
        return found


def is_uuid(value: Any) -> bool:
    """True for a canonical UUID string."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def parse_time(value: Any, clock: DeviceClock | None = None, name: str = "at") -> str:
    """Accept an ISO 8601 timestamp with a time zone, within the clock's span; return it unchanged."""
    if not isinstance(value, str) or len(value) > 40:
        raise EventError("invalid_time", f"'{name}' must be an ISO 8601 time with a time zone")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError("invalid_time", f"'{name}' is not a valid time: {value!r}") from None
    if parsed.tzinfo is None:
        raise EventError("invalid_time", f"'{name}' must include a time zone, e.g. 2026-01-01T10:00:00Z")
    problem = (clock or DeviceClock()).problem(parsed)
    if problem:
        raise EventError("invalid_time", f"'{name}' ({value}) {problem}", {"field": name, "value": value})
    return value


def checked_text(value: str, name: str, multiline: bool) -> str:
    """The text if the text rule allows it; else an EventError naming the field."""
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise EventError("invalid_text", f"'{name}' cannot be stored: {problem}", {"field": name})
    return value


def _optional_text(raw: dict[str, Any], key: str, limit: int) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError("invalid_field", f"'{key}' must be text")
    if len(value) > limit:
        raise EventError("too_long", f"'{key}' is {len(value)} characters; the limit is {limit}")
    return checked_text(value, key, multiline=True).strip() or None


def _normal_value(event_type: str, value: Any) -> Any:
    """The value in the one form that is validated, stored and folded (a replay normalises the same way)."""
    if event_type == "review.approved" and value is None:
        return {"acknowledged": []}  # approving a run with no deviations needs no value
    if event_type == "run.submitted" and isinstance(value, dict) and isinstance(value.get("signature"), str):
        # Only a re-encoded, bounded PNG is kept: the bytes as sent never reach storage or the PDF renderer.
        try:
            return {**value, "signature": clean_drawn_signature(value["signature"])}
        except ValueError as error:
            raise EventError("invalid_attestation", f"the drawn signature is not valid: {error}") from None
    return value


def normalise(raw: Any, run_id: str, clock: DeviceClock | None = None) -> ValidatedEvent:
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
    confirmed = raw.get("text_confirmed", False)
    if not isinstance(confirmed, bool):
        raise EventError("invalid_field", "'text_confirmed' is true or false")
    return ValidatedEvent(
        id=raw["id"].lower(), type=raw["type"], step=step, value=_normal_value(raw["type"], raw.get("value")),
        note=_optional_text(raw, "note", NOTE_LIMIT), at=parse_time(raw.get("at"), clock), text_confirmed=confirmed,
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


def _validate_redaction(event: ValidatedEvent, state: RunState, actor: Actor) -> ValidatedEvent:
    """A redaction removes another event's free text for good; it records who, when and why, never the text.
    Allowed whatever the run's status (an approved run is locked against changes, not against removing a
    name that should never have been written)."""
    if actor.role not in REDACTOR_ROLES:
        raise EventError("forbidden", "only supervisors and administrators can remove a text")
    if event.step is not None:
        raise EventError("invalid_field", "a redaction names no step, only the event whose text it removes")
    value = event.value
    if not isinstance(value, dict) or set(value) != {"event"} or not is_uuid(value.get("event")):
        raise EventError("invalid_value", "a redaction takes {\"event\": the id of the event whose text it removes}")
    if not event.note:
        raise EventError("reason_required", "say why the text is removed")
    target = state.texts.get(value["event"].lower())
    if target is None:
        raise EventError("no_text", "that event is not in this run or has no text to remove",
                         {"event": value["event"]})
    if target["redacted"]:
        raise EventError("already_redacted", "that text was already removed", {"event": value["event"]})
    if not target["committed"]:
        raise EventError("not_redactable", "that text was stored before texts could be removed without breaking "
                         "the run's seal; it can only be removed with the whole run", {"event": value["event"]})
    event.value = {"event": value["event"].lower()}
    return event


def _check_follow_up(event: ValidatedEvent, protocol: Protocol, state: RunState) -> None:
    """After approval only the follow-up steps can still be answered, or noted, or deviated from."""
    step = protocol.step(event.step) if event.step else None
    if event.type in ("step.set", "step.na", "note", "deviation") and step is not None and step.follow_up:
        return
    raise EventError("follow_up_only", "the run is approved; only its follow-up steps can still be answered "
                     "(an answer can be changed by answering again)", {"steps": state.open_follow_up_steps()})


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
        value = event.value
        acknowledged = value.get("acknowledged") if isinstance(value, dict) else None
        if not isinstance(acknowledged, list) or set(value) != {"acknowledged"}:
            raise EventError("invalid_value", "approval takes {\"acknowledged\": [ids of red flags]}")
        flags = state.red_flags()
        strangers = sorted(set(acknowledged) - {flag["id"] for flag in flags})
        if strangers:
            raise EventError("invalid_value", "approval acknowledges red flags this run does not have",
                             {"unknown": strangers})
        unacknowledged = [flag for flag in flags if flag["id"] not in acknowledged]
        if unacknowledged:
            raise EventError("red_flags_unacknowledged", "acknowledge every red flag (flagged answers and "
                             "deviations) before approving", {"flags": unacknowledged,
                                                             "deviations": [f["id"] for f in unacknowledged
                                                                            if f["kind"] == "deviation"]})
    return event
