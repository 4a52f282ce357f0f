"""Run screens: start a run, the task list by phase, answering steps, checking and submitting.

Every form here becomes one event appended through `run_service.append_events`, the same path
as the JSON API and the offline outbox; the pages only translate between forms and events.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..db import get_db
from ..i18n import LANGUAGES
from ..runs import EventError
from ..services import run_service
from ..services.library import get_registry
from ..services.run_service import RunError
from . import operations
from .forms import StartRunForm, SubmitForm
from .run_forms import (  # noqa: F401  (importable from web.runs, as before)
    FORM_EVENT_TYPES,
    append_from_form,
    device_now,
    event_from_form,
    form_event_id,
    friendly,
    new_event_id,
)
from .run_page import (  # noqa: F401  (importable from web.runs, as before)
    answer_text,
    can_edit,
    clock,
    clock_filter,
    page_context,
    personal_data_words,
    readable_run,
    removed_events,
    removed_text,
    render_run_page,
    run_step_answer,
)

bp = Blueprint("runs", __name__, url_prefix="/runs")
# The helpers templates call (defined in web/run_page.py and web/run_forms.py), under their own names.
for _helper in (removed_text, removed_events, personal_data_words, run_step_answer, new_event_id):
    bp.add_app_template_global(_helper)
bp.add_app_template_filter(clock_filter, "clock")


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
