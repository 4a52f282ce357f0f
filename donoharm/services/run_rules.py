"""What every request about a run is held to, before the run itself: refusals (RunError, with their kind), the
server's time, the label rule and the device times a client may send. Used by run_service.py and run_start.py."""
from __future__ import annotations

import re
from typing import Any

from .. import labels, timefmt
from ..runs import DeviceClock, EventError
from ..runs.events import parse_time
from ..text import text_problem

LABEL_LIMIT = 80
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}$")


class RunError(EventError):
    """A run could not be created, found or changed; `kind` (runs.events.ERROR_KINDS) says what sort of refusal,
    and the API alone turns kinds into HTTP statuses (api/errors.py)."""

    def __init__(self, kind: str, code: str, message: str, details: Any = None):
        super().__init__(code, message, details, kind=kind)


def utc_now() -> str:
    """Now, as an event's received time is stored (to the millisecond: the answer made last wins)."""
    return timefmt.now_z("milliseconds")


def checked_label(label: Any, code: str = "invalid_label", what: str = "the label") -> str:
    """A run's or an operation's label, stripped, if the label rule allows it; else a 422 RunError.

    One line of printable text of at most LABEL_LIMIT characters, such as OP-2026-014, matching the organisation's
    label pattern (labels.py): never a person's name. Refused in the plain words of the rule, with the pattern."""
    if not isinstance(label, str) or not label.strip():
        raise RunError("invalid", code, "give the operation a label, e.g. OP-2026-014 (never a person's name)")
    if len(label.strip()) > LABEL_LIMIT:
        raise RunError("invalid", code, f"{what} is longer than {LABEL_LIMIT} characters")
    problem = text_problem(label)
    if problem:
        raise RunError("invalid", code, f"{what} cannot be stored: {problem}")
    rule = labels.current_rule()
    if not rule.allows(label.strip()):
        raise RunError("invalid", code, rule.hint(), {"pattern": rule.pattern})
    return label.strip()


def _optional_time(payload: dict[str, Any], key: str, clock: DeviceClock | None) -> str | None:
    """A device time the client may send; None when it did not."""
    value = payload.get(key)
    if value is None:
        return None
    try:
        return parse_time(value, clock, name=key)
    except EventError as error:
        raise RunError("invalid", "invalid_time", error.message, error.details) from None
