"""The rules of events that act on a run as a whole (pure): a supervisor's review, a redaction of a text, and what
is still allowed after approval (follow-up steps only). Called by runs/events.py."""
from __future__ import annotations

from ..protocols import Protocol
from . import policy
from .event_shape import Actor, EventError, ValidatedEvent, is_uuid
from .state import RunState

# Who may review and who may remove a text (reviewers, and the retention job acting as "system"): runs/policy.py.
REVIEWER_ROLES = policy.REVIEWERS
REDACTOR_ROLES = policy.REDACTORS


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
