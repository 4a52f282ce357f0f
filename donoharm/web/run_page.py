"""What every page about one run shares: the run the current user may read, whether they may change it, the
run's task list and its context, and answers and times in words (also template globals, registered by web/runs.py)."""
from __future__ import annotations

from typing import Any

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from .. import timefmt
from ..db import get_db
from ..privacy import KINDS
from ..protocols import Step
from ..runs import RunState, policy
from ..services import run_service
from ..services.run_service import RunError


def readable_run(run_id: str) -> dict:
    """A run the current user may read, else 404 (others' runs look like missing ones)."""
    try:
        run = run_service.load_run(get_db(), run_id)
    except RunError:
        abort(404)
    if not policy.may_read_run(current_user.id, current_user.role, run):
        abort(404)
    return run


def can_edit(run: dict, state: RunState, step: Step | None = None, *, whole_run: bool = False) -> bool:
    """Whether the current user may change the run now (the one "editable" rule of the run pages).

    Its creator may change a run in progress or returned for correction. After approval a run with
    follow-up steps is in follow_up: then only those steps can still be answered, so with `step` this
    says whether that step may be answered, and with `whole_run` whether a deviation or note for the
    whole operation may be added (never in follow_up). The core (runs/events.py) enforces the same."""
    return policy.may_change_run(current_user.id, run, state.status, state.integrity_fault is not None,
                                 follow_up_step=None if step is None else step.follow_up, whole_run=whole_run)


def removed_text() -> str:
    """What a page shows in place of a free text a supervisor removed (issue 18): never "None" or nothing."""
    return _("Text removed (redaction)")


def removed_events(state: RunState) -> list[dict[str, Any]]:
    """The events whose text was removed, for the phone to drop its own copies (static/js/outbox.js)."""
    return [{"event": target, "value_is_text": bool(state.texts.get(target, {}).get("value_is_text"))}
            for target in dict.fromkeys(r["target"] for r in state.redactions)]


def personal_data_words() -> dict[str, str]:
    """The kinds of personal data the guard finds (privacy.KINDS), in plain words for the person who typed them."""
    words = {"age": _("an age"), "phone": _("a phone number"), "email": _("an e-mail address"),
             "id_number": _("an ID or passport number"), "date_of_birth": _("a date of birth"),
             "address": _("a street address")}
    return {kind: words.get(kind, kind.replace("_", " ")) for kind in KINDS}


def answer_text(step: Step, entry: dict[str, Any], steps: dict[str, dict[str, Any]] | None = None) -> str:
    """A step's recorded answer as words for people (option labels, Yes/No, Done).

    With the run's `steps`, a count of another answered count reads "x of N". A text answer a supervisor
    removed reads as removed."""
    value = entry.get("value")
    if entry.get("status") == "done" and entry.get("redacted") and step.kind == "text":
        return removed_text()
    if entry.get("status") != "done" or value is None:
        return ""
    of = steps.get(step.of) if steps and step.of else None
    if step.kind == "count" and of and of.get("status") == "done" and of.get("value") is not None:
        return _("%(count)s of %(total)s", count=value, total=of["value"])
    if step.kind == "check":
        return _("Done")
    if step.kind == "yesno":
        return _("Yes") if value == "yes" else _("No")
    if step.kind == "choice":
        return step.option_label(value)
    return str(value)


def clock(iso: str | None) -> str:
    """The wall-clock time of a device timestamp, as the device recorded it (HH:MM)."""
    return timefmt.clock(iso)


def run_step_answer(step: Step, entry: dict[str, Any], steps: dict[str, dict[str, Any]] | None = None) -> str:
    return answer_text(step, entry, steps)


def clock_filter(iso: str | None) -> str:
    return clock(iso)


def page_context(run: dict, state: RunState, **extra: Any) -> dict[str, Any]:
    """What the run, check and review pages need: the run, its protocol in the run's language, its state."""
    protocol = state.protocol.in_language(run["language"])
    deviations_by_step: dict[str, list] = {}
    notes_by_step: dict[str, list] = {}
    for deviation in state.deviations:
        deviations_by_step.setdefault(deviation["step"], []).append(deviation)
    for note in state.notes:
        notes_by_step.setdefault(note["step"], []).append(note)
    editable = can_edit(run, state)
    return {"run": run, "state": state, "protocol": protocol, "missing": set(state.missing_critical()),
            "deviations_by_step": deviations_by_step, "notes_by_step": notes_by_step,
            "editable": editable, "errors": {}, "typed": {}, "integrity_fault": state.integrity_fault,
            # Per form key, the parts of a refused text that look like personal data (see post_event).
            "suspected": {},
            # In follow_up only the follow-up steps have forms, there is no run-level form and no submission.
            "editable_steps": {step.id for step in protocol.steps if can_edit(run, state, step)},
            "whole_run_editable": can_edit(run, state, whole_run=True),
            "can_submit": editable and state.status in policy.EDITABLE_STATUSES,
            **extra}


def render_run_page(run: dict, state: RunState, status: int = 200, **extra: Any):
    """Render the run's task list (also used with a blank state for offline pages)."""
    return render_template("runs/show.html", **page_context(run, state, **extra)), status
