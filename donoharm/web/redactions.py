"""Removing a free text for good, from the review page: a confirmation form, then the redaction service.

Supervisors and administrators, on any run they can read (in any status, approved and closed runs too). The
service (donoharm/services/redaction.py) appends a `redaction` event through the one append path and deletes
the server's files of the records that held the text; the core decides what can be removed. This module only
shows the text, asks why, and says plainly what removing it does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.auth import roles_required
from ..db import get_db
from ..db import records as records_db
from ..runs import EventError, RunState, policy
from ..services import redaction, run_service
from ..services.library import get_registry
from .runs import readable_run

bp = Blueprint("redactions", __name__)

REDACTORS = policy.REVIEWERS  # people; the retention job redacts as "system" (policy.REDACTORS)
# What each kind of text is, for the confirmation page.
TEXT_WORDS = {"note": _l("Note"), "deviation": _l("Deviation"), "step.na": _l("Why the step does not apply"),
              "step.set": _l("Note on the answer"), "review.returned": _l("Review comment"),
              "review.approved": _l("Review comment")}


class RedactionForm(FlaskForm):
    reason = TextAreaField(_l("Why is the text removed?"), validators=[
        DataRequired(_l("Say why the text is removed.")),
        Length(max=2000, message=_l("Use at most 2,000 characters."))])
    # Offered once the personal-data guard questioned the reason (runs/_text.html personal_data_check).
    text_confirmed = BooleanField(_l("This does not identify anyone"))


@bp.app_template_global()
def text_removal(state: RunState, event_id: str | None) -> dict[str, Any] | None:
    """The redaction that removed an event's text (who, when, why), or None."""
    if not event_id:
        return None
    return next((r for r in state.redactions if r["target"] == event_id), None)


@bp.app_template_global()
def text_flagged(state: RunState, event_id: str | None) -> bool:
    """Whether the personal-data guard questioned the event's text and the person confirmed it (still there)."""
    text = state.texts.get(event_id or "")
    return bool(text and text.get("flagged") and not text.get("redacted"))


def event_texts(event: dict[str, Any]) -> list[tuple[str, str]]:
    """The free texts an event holds, each with what it is: all are removed together."""
    texts = []
    if event.get("value_is_text") and event.get("value") is not None:
        texts.append((_("Answer"), str(event["value"])))
    if event.get("note") is not None:
        texts.append((str(TEXT_WORDS.get(event["type"], _("Note"))), event["note"]))
    return texts


def records_holding(run_id: str, event: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's records issued once the event was in its chain: their files hold the text (as mark_redacted)."""
    seq_of = {e["hash"]: e["seq"] for e in events}
    return [record for record in records_db.records_of(get_db(), run_id)
            if seq_of.get(record["head_hash"], 0) >= event["seq"]]


def earlier_texts(state: RunState, events: list[dict[str, Any]], protocol) -> list[dict[str, Any]]:
    """Texts the answers no longer show (an answer or reason replaced since, a late answer not used): still
    stored, in the API and the records, so still removable. The review page lists them under the answers;
    `protocol` is the run's, in the run's language."""
    shown = {entry["event"] for entry in state.steps.values() if entry["status"] in ("done", "na")}
    shown |= {item["event"] for item in (*state.notes, *state.deviations, *state.reviews)}
    found = []
    for event in events:
        if event["id"] in state.texts and event["id"] not in shown and event["type"] != "redaction":
            texts = event_texts(event)
            found.append({"event": event, "what": " · ".join(label for label, _text in texts) or _("Text"),
                          "text": " · ".join(text for _label, text in texts),
                          "step": protocol.step(event["step"]) if event.get("step") else None})
    return found


@bp.route("/review/<run_id>/texts/<event_id>/remove", methods=["GET", "POST"])
@roles_required(*REDACTORS)
def remove(run_id: str, event_id: str):
    """Show the text, ask why it is removed and say what removing it does; then remove it."""
    run = readable_run(run_id)
    event_id = event_id.lower()
    state, events = run_service.run_state(get_db(), get_registry(), run)
    event = next((e for e in events if e["id"] == event_id and e["type"] != "redaction"), None)
    if event is None or event_id not in state.texts:
        abort(404)
    back = url_for("review.show", run_id=run_id, _anchor=f"free-text-{event_id}")
    if state.texts[event_id]["redacted"]:
        flash(_("That text was already removed."), "success")
        return redirect(back)
    form = RedactionForm()
    context = {"run": run, "event": event, "form": form, "back": back, "spans": None,
               "step": state.protocol.in_language(run["language"]).step(event["step"]) if event.get("step") else None,
               "texts": event_texts(event), "flagged": text_flagged(state, event_id),
               "records": records_holding(run_id, event, events)}
    if not state.texts[event_id]["committed"]:
        return render_template("redactions/confirm.html", refusal=_(
            "This text was stored before texts could be removed without breaking the run's seal, so it cannot be "
            "removed on its own."), **context), 409
    if not form.validate_on_submit():
        return render_template("redactions/confirm.html", **context), 422 if form.is_submitted() else 200
    try:
        redaction.redact(get_db(), get_registry(), run_id, event_id, form.reason.data.strip(), current_user.actor,
                         Path(current_app.instance_path), confirmed=bool(form.text_confirmed.data))
    except EventError as error:
        if error.code == "already_redacted":
            flash(_("That text was already removed."), "success")
            return redirect(back)
        if error.code == "personal_data_suspected":
            context["spans"] = error.details["spans"]
            form.reason.errors.append(_("The reason may identify someone: rephrase it without the parts named "
                                        "below, or tick “This does not identify anyone”."))
            return render_template("redactions/confirm.html", **context), 422
        if error.code in ("reason_required", "too_long", "invalid_text"):
            form.reason.errors.append(_("Say why the text is removed.") if error.code == "reason_required"
                                      else error.message)
            return render_template("redactions/confirm.html", **context), 422
        return render_template("redactions/confirm.html", refusal=refusal_message(error), **context), 409
    flash(_("The text was removed. It is gone from the app, the API, exports and new records; earlier records "
            "that held it are listed for the administrator to destroy."), "success")
    return redirect(back)


def refusal_message(error: EventError) -> str:
    messages = {
        "forbidden": _("Only supervisors and administrators can remove a text."),
        "integrity_fault": _("This run's stored history was changed outside the app, so nothing can be added to "
                             "it, a removal neither, until an administrator has looked into it."),
    }
    return messages.get(error.code, error.message)
