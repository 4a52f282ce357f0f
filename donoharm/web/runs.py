"""Run screens: start a run, the task list by phase, answering steps, checking and submitting.

Every form here becomes one event appended through `run_service.append_events`, the same path
as the JSON API and the offline outbox; the pages only translate between forms and events.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from .. import run_service
from ..db import get_db
from ..db import runs as runs_db
from ..forms import StartRunForm, SubmitForm
from ..i18n import LANGUAGES
from ..library import get_registry
from ..privacy import KINDS
from ..protocols import Protocol, Step
from ..run_service import RunError
from ..runs import EventError, RunState, is_uuid, policy
from ..runs.events import COUNT_LIMIT
from ..text import time_of_day, whole_number
from . import operations

bp = Blueprint("runs", __name__, url_prefix="/runs")

# Event types a page form may send; review decisions have their own screens.
FORM_EVENT_TYPES = ("step.set", "step.cleared", "step.na", "note", "deviation")


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


def device_now() -> str:
    """A server form's event time: the server is the device (to the millisecond: the answer made last wins)."""
    return run_service.utc_now()


@bp.app_template_global()
def removed_text() -> str:
    """What a page shows in place of a free text a supervisor removed (issue 18): never "None" or nothing."""
    return _("Text removed (redaction)")


@bp.app_template_global()
def removed_events(state: RunState) -> list[dict[str, Any]]:
    """The events whose text was removed, for the phone to drop its own copies (static/js/outbox.js)."""
    return [{"event": target, "value_is_text": bool(state.texts.get(target, {}).get("value_is_text"))}
            for target in dict.fromkeys(r["target"] for r in state.redactions)]


@bp.app_template_global()
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
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%H:%M")
    except ValueError:
        return ""


@bp.app_template_global()
def run_step_answer(step: Step, entry: dict[str, Any], steps: dict[str, dict[str, Any]] | None = None) -> str:
    return answer_text(step, entry, steps)


@bp.app_template_filter("clock")
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


def version_choices() -> list[SelectChoice]:
    """Choices 'id@version', grouped by protocol, for every version a run may start on (not retired).

    Each label names the protocol too: a closed menu shows only the chosen option, not its group. The first
    choice is an empty placeholder, as HTML asks of a required menu whose options are grouped."""
    registry = get_registry()
    choices = [SelectChoice("", _("Choose a protocol"))]
    for protocol_id in registry.ids():
        current = registry.current(protocol_id)
        if current is None:
            continue
        for p in registry.versions(protocol_id):
            if not registry.is_retired(p):
                version = _("%(version)s (current)", version=p.version) if p.key == current.key else p.version
                label = _("%(protocol)s — %(version)s", protocol=current.title, version=version)
                choices.append(SelectChoice(f"{p.id}@{p.version}", label, optgroup=current.title))
    return choices


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Start a run: protocol version (current preselected), operation label, a new operation or one started
    today to join, live or practice."""
    form = StartRunForm()
    joinable = operations.offer_operations(form)
    form.protocol.choices = version_choices()
    form.language.choices = [SelectChoice(tag, name) for tag, name in LANGUAGES.items()]
    wanted = request.args.get("protocol")
    if request.method == "GET":
        registry = get_registry()
        current = registry.current(wanted) if wanted else None
        first = current or next((registry.current(pid) for pid in registry.ids() if registry.current(pid)), None)
        if first is not None:
            form.protocol.data = f"{first.id}@{first.version}"
        form.language.data = str(get_locale())  # the profile's choice, else the browser's, else English
    if form.validate_on_submit():
        protocol_id, _sep, version = form.protocol.data.partition("@")
        payload = {"protocol_id": protocol_id, "protocol_version": version, "label": form.label.data,
                   "mode": form.mode.data, "language": _run_language(protocol_id, version, form.language.data)}
        try:
            operations.add_operation(form, payload)
            run, _created = run_service.start_run(get_db(), get_registry(), str(uuid.uuid4()), payload,
                                                  current_user.actor, current_user.id)
        except RunError as error:
            if not operations.show_error(form, error):
                field = form.label if error.code == "invalid_label" else form.protocol
                field.errors.append(error.message)
        else:
            return redirect(url_for("runs.show", run_id=run["id"]))
    status = 422 if request.method == "POST" else 200
    # A copy of this form saved on a phone keeps offering these versions with no signal; the time they
    # were listed goes with each run started from it (see run_service._chosen_before_retirement).
    return render_template("runs/new.html", form=form, listed_at=run_service.utc_now(), joinable=joinable), status


def _run_language(protocol_id: str, version: str, wanted: str | None) -> str:
    """The language a run is carried out in: the one chosen if the version has it, else its original."""
    protocol = get_registry().get(protocol_id, version)
    if protocol is None:
        return "en"
    return protocol.in_language(wanted).language


@bp.get("/<run_id>")
@login_required
def show(run_id: str):
    """The run as a task list by phase, each step answerable in place."""
    run = readable_run(run_id)
    state, events = run_service.run_state(get_db(), get_registry(), run)
    return render_run_page(run, state, event_ids=[e["id"] for e in events])


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


@bp.app_template_global()
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


@bp.post("/<run_id>/events")
@login_required
def post_event(run_id: str):
    """Append the event a step form describes, then go back to the step; errors stay on the page."""
    run = readable_run(run_id)
    registry = get_registry()
    data = request.form.to_dict()
    step_id = data.get("step") or ""
    try:
        event = event_from_form(run_service.protocol_of(registry, run), data)
        append_from_form(run_id, event)
    except EventError as error:
        state, _events = run_service.run_state(get_db(), registry, run)
        key = f"{step_id}:{data.get('type', '')}"
        # What looked like personal data is named next to the field, the text kept as typed (nothing is lost).
        spans = (error.details or {}).get("spans", []) if error.code == "personal_data_suspected" else []
        return render_run_page(run, state, 422, errors={key: friendly(error)}, typed={key: data},
                               focus=key, suspected={key: spans} if spans else {})
    anchor = f"step-{step_id}" if step_id else "run-notes"
    return redirect(url_for("runs.show", run_id=run_id, _anchor=anchor))


@bp.get("/<run_id>/check")
@login_required
def check(run_id: str):
    """Check your answers: everything recorded, what is missing, and the attestation to submit."""
    run = readable_run(run_id)
    state, _events = run_service.run_state(get_db(), get_registry(), run)
    # After a return, the name attested last time is filled in: nobody types it again (WCAG 3.3.7).
    last = state.submissions[-1]["attestation"].get("name") if state.submissions else None
    return render_template("runs/check.html", form=SubmitForm(name=last), **page_context(run, state))


@bp.post("/<run_id>/submit")
@login_required
def submit(run_id: str):
    """Submit the run with the accompanier's attestation; refused while critical steps are open."""
    run = readable_run(run_id)
    registry = get_registry()
    form = SubmitForm()
    if form.validate_on_submit():
        event = {"id": form_event_id(request.form), "type": "run.submitted", "step": None, "note": None,
                 "value": {"name": form.name.data.strip(), "confirmed": True}, "at": device_now()}
        try:
            append_from_form(run_id, event)
        except EventError as error:
            form.name.errors.append(friendly(error))
        else:
            flash(_("Submitted. Your supervisor will review the run.") if run["mode"] == "live"
                  else _("Submitted. Practice runs are not reviewed."), "success")
            return redirect(url_for("runs.show", run_id=run_id))
    state, _events = run_service.run_state(get_db(), registry, run)
    return render_template("runs/check.html", form=form, **page_context(run, state)), 422
