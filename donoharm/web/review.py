"""Supervisor review: the queue of submitted runs, and returning or approving one.

Decisions are events appended through `run_service.append_events`, the same path as the API; the
core (`runs.events`) enforces roles, four-eyes, status, comments and acknowledgements.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length

from .. import run_service
from ..auth import roles_required
from ..db import connect, get_db, transaction
from ..db import review as review_db
from ..db import summaries as summaries_db
from ..library import get_registry
from ..run_service import RunError
from ..runs import EventError
from ..text import whole_number
from .runs import page_context, readable_run

bp = Blueprint("review", __name__)


@bp.record_once
def summarise_pending(state) -> None:
    """Summarise runs stored before the summary tables existed (once, at the first start after the migration)."""
    app = state.app
    db = connect(app.config["DATABASE"])
    try:
        registry = app.extensions["donoharm.registry"]
        for run_id in summaries_db.pending_runs(db):
            with transaction(db):
                try:
                    run = run_service.load_run(db, run_id)
                    run_state, _events = run_service.run_state(db, registry, run)
                except RunError as error:  # e.g. its protocol version is not on this server
                    app.logger.warning("run %s not summarised for review: %s", run_id, error.message)
                else:
                    summaries_db.write_summary(db, run, run_state)
                summaries_db.clear_pending(db, run_id)
    finally:
        db.conn.close()
REVIEWERS = ("supervisor", "admin")
MAX_PAGE = 100_000
STATUS_FILTERS = {"submitted": _l("Waiting for review"), "returned": _l("Returned"),
                  "approved": _l("Approved"), "all": _l("All reviewed or waiting")}


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What needs correcting"), validators=[
        DataRequired(_l("Say what needs correcting.")), Length(max=2000, message=_l("Use at most 2,000 characters."))])


class ApproveForm(FlaskForm):
    acknowledged = SelectMultipleField(_l("Deviations"), choices=[], validate_choice=False,
                                       widget=widgets.ListWidget(prefix_label=False),
                                       option_widget=widgets.CheckboxInput())
    comment = TextAreaField(_l("Comment (optional)"), validators=[
        Length(max=2000, message=_l("Use at most 2,000 characters."))])


@bp.app_template_filter("review_time")
def review_time(iso: str | None) -> str:
    """A stored UTC time as a localised date and time."""
    if not iso:
        return ""
    try:
        return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")), "medium")
    except ValueError:
        return iso


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def queue_filters(args) -> tuple[dict[str, Any], dict[str, str]]:
    """The queue's filters from the query string, and a message per filter that was not understood."""
    problems = {}
    status = args.get("status") or "submitted"
    if status not in STATUS_FILTERS:
        problems["status"], status = _("Choose a status from the list."), "submitted"
    filters: dict[str, Any] = {"status": status, "protocol": args.get("protocol") or "",
                               "accompanier": (args.get("accompanier") or "").strip()}
    for key in ("since", "until"):
        filters[key] = _day(args.get(key))
        if args.get(key) and filters[key] is None:
            problems[key] = _("Give a date as YYYY-MM-DD.")
    return filters, problems


@bp.get("/review")
@roles_required(*REVIEWERS)
def queue():
    """Submitted live runs, longest waiting first, with filters."""
    filters, problems = queue_filters(request.args)
    db = get_db()
    if request.args.get("page") and whole_number(request.args["page"], MAX_PAGE) is None:
        problems["page"] = _("Give a page number from 1 to %(n)s.", n=MAX_PAGE)
    page = max(whole_number(request.args.get("page"), MAX_PAGE) or 1, 1)
    runs, total = review_db.queue(db, filters, offset=(page - 1) * review_db.QUEUE_LIMIT)
    return render_template("review/queue.html", runs=runs, total=total, filters=filters, problems=problems,
                           page=page, limit=review_db.QUEUE_LIMIT, statuses=STATUS_FILTERS,
                           protocols=get_registry().ids(), accompaniers=review_db.accompanier_names(db)), \
        400 if problems else 200


def _review_page(run: dict, return_form: ReturnForm, approve_form: ApproveForm, status: int = 200,
                 refusal: str | None = None):
    state, _events = run_service.run_state(get_db(), get_registry(), run)
    approve_form.acknowledged.choices = [(d["id"], d["note"]) for d in state.deviations]
    context = page_context(run, state)
    context["editable"] = False  # the review page never offers changes to the answers
    return render_template("review/show.html", return_form=return_form, approve_form=approve_form,
                           refusal=refusal, own_run=run["creator_id"] == current_user.id, **context), status


@bp.get("/review/<run_id>")
@roles_required(*REVIEWERS)
def show(run_id: str):
    """The run as submitted, deviations and N/A reasons highlighted, with the return and approve forms."""
    return _review_page(readable_run(run_id), ReturnForm(prefix="return"), ApproveForm(prefix="approve"))


def refusal_message(error: EventError) -> str:
    """A reviewer-facing message for the core's refusal codes."""
    messages = {
        "four_eyes": _("You started this run, so another supervisor must review it."),
        "forbidden": _("Only supervisors and administrators review runs."),
        "practice_run": _("Practice runs are not reviewed."),
        "not_submitted": _("Only a submitted run can be reviewed; this one is not waiting for review."),
        "run_locked": _("The run is approved and locked; nothing more can be added."),
        "comment_required": _("Say what needs correcting."),
        "deviations_unacknowledged": _("Acknowledge every deviation before approving."),
        "invalid_value": _("Acknowledge only deviations this run records."),
        "integrity_fault": _("This run's stored history was changed outside the app, so it cannot be returned "
                             "or approved until an administrator has looked into it."),
    }
    return messages.get(error.code, error.message)


def _decide(run: dict, event_type: str, value: Any, comment: str | None) -> EventError | None:
    event = {"id": str(uuid.uuid4()), "type": event_type, "step": None, "value": value, "note": comment,
             "at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        run_service.append_events(get_db(), get_registry(), run["id"], [event], current_user.actor)
    except EventError as error:
        return error
    return None


@bp.post("/review/<run_id>/return")
@roles_required(*REVIEWERS)
def return_run(run_id: str):
    """Return the run to its accompanier for correction, with a required comment."""
    run = readable_run(run_id)
    form = ReturnForm(prefix="return")
    if form.validate_on_submit():
        error = _decide(run, "review.returned", None, form.comment.data.strip())
        if error is None:
            flash(_("Returned to %(user)s for correction.", user=run["created_by"]), "success")
            return redirect(url_for("review.queue"))
        if error.code == "comment_required":
            form.comment.errors.append(refusal_message(error))
        else:
            return _review_page(run, form, ApproveForm(prefix="approve"), 409, refusal_message(error))
    return _review_page(run, form, ApproveForm(prefix="approve"), 422)


@bp.post("/review/<run_id>/approve")
@roles_required(*REVIEWERS)
def approve(run_id: str):
    """Approve the run, acknowledging each deviation; the run is locked from then on."""
    run = readable_run(run_id)
    form = ApproveForm(prefix="approve")
    if form.validate_on_submit():
        comment = (form.comment.data or "").strip() or None
        error = _decide(run, "review.approved", {"acknowledged": list(form.acknowledged.data or [])}, comment)
        if error is None:
            flash(_("Approved. The run is locked and a new signed record is issued."), "success")
            return redirect(url_for("review.queue"))
        if error.code in ("deviations_unacknowledged", "invalid_value"):
            form.acknowledged.errors = [refusal_message(error)]
        else:
            return _review_page(run, ReturnForm(prefix="return"), form, 409, refusal_message(error))
    return _review_page(run, ReturnForm(prefix="return"), form, 422)
