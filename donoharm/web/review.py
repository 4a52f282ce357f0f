"""Supervisor review: the queue of submitted runs, and returning or approving one.

Decisions are events appended through `run_service.append_events`, the same path as the API; the
core (`runs.events`) enforces roles, four-eyes, status, comments and acknowledgements.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length

from .. import timefmt
from ..accounts.auth import roles_required
from ..db import get_db
from ..db import review as review_db
from ..runs import EventError, policy
from ..runs.state import utc_iso
from ..services import run_service
from ..services.library import get_registry
from ..text import text_problem, whole_number
from . import operations
from .redactions import earlier_texts
from .review_page import (  # noqa: F401  (importable from web.review, as before)
    CHANGE_WORDS,
    _step_words,
    changes_since_return,
    flag_items,
    follow_up_items,
)
from .runs import page_context, readable_run

bp = Blueprint("review", __name__)


REVIEWERS = policy.REVIEWERS
MAX_PAGE = 100_000
LABEL_SEARCH_LIMIT = run_service.LABEL_LIMIT
STATUS_FILTERS = {"submitted": _l("Waiting for review"), "returned": _l("Returned"),
                  "approved": _l("Approved (with or without follow-up)"),
                  "follow_up": _l("Approved, follow-up due"), "closed": _l("Closed: follow-up done"),
                  "all": _l("All reviewed or waiting")}
SORTS = {"waiting": _l("Longest waiting first"), "flags": _l("Most red flags first")}


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What needs correcting"), validators=[
        DataRequired(_l("Say what needs correcting.")), Length(max=2000, message=_l("Use at most 2,000 characters."))])


class ApproveForm(FlaskForm):
    acknowledged = SelectMultipleField(_l("Red flags"), choices=[], validate_choice=False,
                                       widget=widgets.ListWidget(prefix_label=False),
                                       option_widget=widgets.CheckboxInput())
    comment = TextAreaField(_l("Comment (optional)"), validators=[
        Length(max=2000, message=_l("Use at most 2,000 characters."))])


@bp.app_template_filter("review_time")
def review_time(iso: str | None) -> str:
    """A stored UTC time as a localised date and time."""
    return timefmt.medium(iso)


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
    sort = args.get("sort") or "waiting"
    if sort not in SORTS:
        problems["sort"], sort = _("Choose an order from the list."), "waiting"
    label = (args.get("label") or "").strip()
    if len(label) > LABEL_SEARCH_LIMIT:
        problems["label"], label = _("Search with at most %(n)s characters.", n=LABEL_SEARCH_LIMIT), ""
    elif text_problem(label):
        problems["label"], label = _("Search with one line of printable characters."), ""
    filters: dict[str, Any] = {"status": status, "protocol": args.get("protocol") or "",
                               "accompanier": (args.get("accompanier") or "").strip(), "sort": sort,
                               "label": label}
    for key in ("since", "until"):
        filters[key] = _day(args.get(key))
        if args.get(key) and filters[key] is None:
            problems[key] = _("Give a date as YYYY-MM-DD.")
    return filters, problems


@bp.get("/review")
@roles_required(*REVIEWERS)
def queue():
    """Submitted live runs, longest waiting first or most red flags first, with filters and a label search."""
    filters, problems = queue_filters(request.args)
    operation, problems["operation"] = operations.queue_filter(request.args.get("operation"))
    filters["operation"] = operation["id"] if operation else ""
    problems = {key: problem for key, problem in problems.items() if problem}
    db = get_db()
    if request.args.get("page") and whole_number(request.args["page"], MAX_PAGE) is None:
        problems["page"] = _("Give a page number from 1 to %(n)s.", n=MAX_PAGE)
    page = max(whole_number(request.args.get("page"), MAX_PAGE) or 1, 1)
    runs, total = review_db.queue(db, filters, offset=(page - 1) * review_db.QUEUE_LIMIT)
    return render_template("review/queue.html", runs=runs, total=total, filters=filters, problems=problems,
                           page=page, limit=review_db.QUEUE_LIMIT, statuses=STATUS_FILTERS, sorts=SORTS,
                           operation=operation, protocols=get_registry().ids(),
                           accompaniers=review_db.accompanier_names(db)), \
        400 if problems else 200


def _review_page(run: dict, return_form: ReturnForm, approve_form: ApproveForm, status: int = 200,
                 refusal: str | None = None, unacknowledged: list[str] | None = None,
                 suspected: dict[str, list] | None = None):
    state, events = run_service.run_state(get_db(), get_registry(), run)
    context = page_context(run, state)
    context["editable"] = False  # the review page never offers changes to the answers
    # Per form ("return", "approve"): what in its comment looked like personal data (as on the run page).
    context["suspected"] = suspected or {}
    flags = flag_items(state, context["protocol"], events)
    approve_form.acknowledged.choices = [(item["flag"]["id"], item["flag"]["id"]) for item in flags]
    return render_template("review/show.html", return_form=return_form, approve_form=approve_form,
                           refusal=refusal, own_run=run["creator_id"] == current_user.id, flags=flags,
                           unacknowledged=[item for item in flags if item["flag"]["id"] in (unacknowledged or ())],
                           since_return=changes_since_return(run, state, events, context["protocol"]),
                           follow_ups=follow_up_items(state, context["protocol"]),
                           # Each free text has a "Remove text" link (reviewers only reach this page).
                           text_controls=True, earlier_texts=earlier_texts(state, events, context["protocol"]),
                           **context), status


@bp.get("/review/<run_id>")
@roles_required(*REVIEWERS)
def show(run_id: str):
    """The run as submitted: its red flags first, what changed since a return, the answers with deviations and
    N/A reasons highlighted, and the return and approve forms."""
    return _review_page(readable_run(run_id), ReturnForm(prefix="return"), ApproveForm(prefix="approve"))


def refusal_message(error: EventError) -> str:
    """A reviewer-facing message for the core's refusal codes."""
    messages = {
        "four_eyes": _("You started this run, so another supervisor must review it."),
        "forbidden": _("Only supervisors and administrators review runs."),
        "practice_run": _("Practice runs are not reviewed."),
        "not_submitted": _("Only a submitted run can be reviewed; this one is not waiting for review."),
        "run_locked": _("The run is approved and locked; nothing more can be added."),
        "follow_up_only": _("The run is approved; only its follow-up steps can still be answered."),
        "comment_required": _("Say what needs correcting."),
        "red_flags_unacknowledged": _("Acknowledge every red flag before approving: tick each one you have read."),
        "invalid_value": _("Acknowledge only red flags this run records."),
        "integrity_fault": _("This run's stored history was changed outside the app, so it cannot be returned "
                             "or approved until an administrator has looked into it."),
        "personal_data_suspected": _("This comment may identify someone. Rephrase it without the parts named "
                                     "below, or tick “This does not identify anyone” and send it again."),
    }
    return messages.get(error.code, error.message)


def _decide(run: dict, event_type: str, value: Any, comment: str | None) -> tuple[EventError | None, str | None]:
    """Append the decision; (the refusal, None) or (None, the run's status after it)."""
    # Ticked only after the personal-data guard questioned the comment (runs/_text.html personal_data_check).
    event = {"id": str(uuid.uuid4()), "type": event_type, "step": None, "value": value, "note": comment,
             "at": datetime.now(UTC).isoformat(timespec="seconds"),
             "text_confirmed": bool(request.form.get("text_confirmed"))}
    try:
        result = run_service.append_events(get_db(), get_registry(), run["id"], [event], current_user.actor)
    except EventError as error:
        return error, None
    return None, result.state.status


def _suspected(form: str, error: EventError) -> dict[str, list]:
    """The spans the personal-data guard found in a decision's comment, for the form that sent it."""
    if error.code != "personal_data_suspected":
        return {}
    return {form: (error.details or {}).get("spans", [])}


@bp.post("/review/<run_id>/return")
@roles_required(*REVIEWERS)
def return_run(run_id: str):
    """Return the run to its accompanier for correction, with a required comment."""
    run = readable_run(run_id)
    form = ReturnForm(prefix="return")
    if form.validate_on_submit():
        error, _status = _decide(run, "review.returned", None, form.comment.data.strip())
        if error is None:
            flash(_("Returned to %(user)s for correction.", user=run["created_by"]), "success")
            return redirect(url_for("review.queue"))
        if error.code in ("comment_required", "personal_data_suspected"):
            form.comment.errors.append(refusal_message(error))
            return _review_page(run, form, ApproveForm(prefix="approve"), 422, suspected=_suspected("return", error))
        return _review_page(run, form, ApproveForm(prefix="approve"), 409, refusal_message(error))
    return _review_page(run, form, ApproveForm(prefix="approve"), 422)


@bp.post("/review/<run_id>/approve")
@roles_required(*REVIEWERS)
def approve(run_id: str):
    """Approve the run, acknowledging each red flag; the run is locked from then on (but for its follow-up
    steps, when its protocol has any)."""
    run = readable_run(run_id)
    form = ApproveForm(prefix="approve")
    unacknowledged = None
    if form.validate_on_submit():
        comment = (form.comment.data or "").strip() or None
        error, status = _decide(run, "review.approved", {"acknowledged": list(form.acknowledged.data or [])},
                                comment)
        if error is None:
            if status == "follow_up":
                flash(_("Approved. Only the follow-up steps can still be answered; a new signed record is "
                        "issued."), "success")
            else:
                flash(_("Approved. The run is locked and a new signed record is issued."), "success")
            return redirect(url_for("review.queue"))
        if error.code == "personal_data_suspected":
            form.comment.errors.append(refusal_message(error))
            return _review_page(run, ReturnForm(prefix="return"), form, 422, suspected=_suspected("approve", error))
        if error.code in ("red_flags_unacknowledged", "invalid_value"):
            form.acknowledged.errors = [refusal_message(error)]
            if error.code == "red_flags_unacknowledged":
                unacknowledged = [flag["id"] for flag in (error.details or {}).get("flags", [])]
        else:
            return _review_page(run, ReturnForm(prefix="return"), form, 409, refusal_message(error))
    return _review_page(run, ReturnForm(prefix="return"), form, 422, unacknowledged=unacknowledged)


@bp.app_template_global()
def review_home_signals() -> dict[str, Any] | None:
    """For a reviewer's home screen: overdue follow-ups, and approved runs whose follow-up raised red flags."""
    if not current_user.is_authenticated or not current_user.can_read_all_runs():
        return None
    db = get_db()
    overdue, overdue_total = review_db.overdue_follow_ups(db, utc_iso(datetime.now(UTC)))
    flagged, flagged_total = review_db.follow_up_flagged_runs(db)
    return {"overdue": overdue, "overdue_total": overdue_total, "flagged": flagged, "flagged_total": flagged_total}
