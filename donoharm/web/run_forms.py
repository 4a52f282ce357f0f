"""From a run page's forms to events: a posted step form as an event, its id fixed when the form was drawn, the
append through the one path (a double tap is one change), and the core's refusals in the reader's words."""
from __future__ import annotations

import uuid
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from ..db import get_db
from ..db import runs as runs_db
from ..protocols import Protocol
from ..runs import EventError, is_uuid
from ..runs.events import COUNT_LIMIT
from ..services import run_service
from ..services.library import get_registry
from ..text import time_of_day, whole_number

# Event types a page form may send; review decisions have their own screens.
FORM_EVENT_TYPES = ("step.set", "step.cleared", "step.na", "note", "deviation")


def device_now() -> str:
    """A server form's event time: the server is the device (to the millisecond: the answer made last wins)."""
    return run_service.utc_now()


def event_from_form(protocol: Protocol, data: dict[str, str]) -> dict[str, Any]:
    """Turn a posted step form into an event; raise EventError for what the core cannot judge."""
    event_type = data.get("type", "")
    if event_type not in FORM_EVENT_TYPES:
        raise EventError("unknown_type", _("This form cannot do that."))
    step_id = data.get("step") or None
    value: Any = None
    if event_type == "step.set":
        step = protocol.step(step_id or "")
        if step is None:
            raise EventError("unknown_step", _("There is no such step in this protocol."))
        raw = (data.get("value") or "").strip()
        if step.kind == "check":
            value = True
        elif step.kind == "count":
            value = whole_number(raw, COUNT_LIMIT)
            if value is None:
                raise EventError("invalid_value", _("Enter a whole number, 0 or more."))
        elif step.kind == "time" and raw:
            value = time_of_day(raw)
            if value is None:
                raise EventError("invalid_value", _("Enter the time on the 24-hour clock, for example 21:30."))
        elif not raw:
            raise EventError("invalid_value", _("Choose or enter an answer first."))
        else:
            value = raw
    note = (data.get("note") or "").strip() or None
    # Ticked only after the server named what looked like personal data: the person says it identifies nobody.
    confirmed = bool(data.get("text_confirmed"))
    return {"id": form_event_id(data), "type": event_type, "step": step_id, "value": value, "note": note,
            "at": device_now(), "text_confirmed": confirmed}


def new_event_id() -> str:
    """The id of the event a form will make, fixed when the form is drawn: two taps on it are one change."""
    return str(uuid.uuid4())


def form_event_id(data) -> str:
    """The event id a posted form carries (see new_event_id), or a new one from a form without it."""
    posted = data.get("event_id") or ""
    return posted.lower() if is_uuid(posted) else str(uuid.uuid4())


def append_from_form(run_id: str, event: dict[str, Any]) -> None:
    """Append the event of a server form through the one append path; a double tap is one change.

    The second tap posts the same event id with the same content but a later time, which the core
    calls a conflict: here it is the change already made. A form used again for another change (the
    back button, say) gets a new id instead.
    """
    registry = get_registry()
    try:
        run_service.append_events(get_db(), registry, run_id, [event], current_user.actor)
    except EventError as error:
        if error.code != "id_conflict":
            raise
        stored = runs_db.find_event(get_db(), event["id"])
        same = all(stored[k] == event[k] for k in ("type", "step", "value", "note")) if stored else False
        if same and stored["run"] == run_id and bool(stored["text_confirmed"]) == event["text_confirmed"]:
            return
        run_service.append_events(get_db(), registry, run_id, [{**event, "id": str(uuid.uuid4())}],
                                  current_user.actor)


def friendly(error: EventError) -> str:
    """A user-facing message for the core's error codes (the core speaks English only)."""
    messages = {
        "reason_required": _("Say why the step does not apply."),
        "note_required": _("Describe what happened first."),
        "invalid_value": error.message,
        "too_long": _("That text is too long: use at most 2,000 characters."),
        "run_submitted": _("The run was submitted; it can change again only if a supervisor returns it."),
        "run_locked": _("The run is approved and locked; nothing more can be added."),
        "follow_up_only": _("The run is approved: only its follow-up steps can still be answered."),
        "forbidden": _("Only the person who started the run can change it."),
        "incomplete": _("Some critical steps are still open."),
        "invalid_attestation": error.message,
        "integrity_fault": _("This run's stored history was changed outside the app. Nothing can be added "
                             "until an administrator has looked into it."),
        "personal_data_suspected": _("This text may identify someone. Rephrase it without the parts named below, "
                                     "or tick “This does not identify anyone” and save again."),
    }
    return messages.get(error.code, error.message)
