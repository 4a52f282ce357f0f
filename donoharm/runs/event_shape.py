"""An event's shape (pure): the event types and field limits, the device clock, the actor, refusals and their
kinds, and the normal form an event is checked into before its meaning (runs/events.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..text import text_problem
from .drawn_signature import clean_drawn_signature

EVENT_TYPES = ("step.set", "step.cleared", "step.na", "note", "deviation",
               "run.submitted", "review.returned", "review.approved", "redaction")
CLIENT_FIELDS = ("id", "type", "step", "value", "note", "at", "text_confirmed")
NOTE_LIMIT = 2000
TEXT_LIMIT = 2000
COUNT_LIMIT = 1_000_000
NAME_LIMIT = 200
SIGNATURE_LIMIT = 100_000
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


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(value: Any) -> bool:
    """True for a canonical UUID string (8-4-4-4-12 hexadecimal digits, either case)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


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


_SENT_FIELDS = frozenset(CLIENT_FIELDS) | {"run"}  # what a phone may send: its fields, and the run it names


def normalise(raw: Any, run_id: str, clock: DeviceClock | None = None) -> ValidatedEvent:
    """Check an event's shape (not yet its meaning) and return it in normal form."""
    if not isinstance(raw, dict):
        raise EventError("invalid_event", "each event must be a JSON object")
    unknown = raw.keys() - _SENT_FIELDS
    if unknown:
        raise EventError("invalid_event", f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
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
