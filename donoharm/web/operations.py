"""Operations on the pages: opening or joining one when a run starts, and the operation page with its runs."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from .. import timefmt
from ..db import get_db
from ..services import operations
from ..services.run_service import RunError
from .forms import StartRunForm

bp = Blueprint("operations", __name__, url_prefix="/operations")

# The start form's field that each refusal about an operation belongs to.
ERROR_FIELDS = {"unknown_operation": "operation_id", "operation_other_day": "operation_id",
                "invalid_operation": "operation_id", "practice_operation": "operation",
                "invalid_operation_label": "label", "operation_exists": "operation"}


def _choice_text(operation: dict[str, Any]) -> str:
    started = timefmt.clock(operation["created_at"], in_utc=True)  # the server's time of opening; the text says UTC
    return ngettext("%(label)s — started %(time)s UTC by %(user)s, %(num)s run",
                    "%(label)s — started %(time)s UTC by %(user)s, %(num)s runs", operation["run_count"],
                    label=operation["label"], time=started, user=operation["created_by"])


def offer_operations(form: StartRunForm) -> list[dict[str, Any]]:
    """Fill the start form's list of operations to join (today's, by anyone); return them."""
    today = operations.joinable_today(get_db())
    form.operation_id.choices = [SelectChoice("", _("Choose an operation"))] + [
        SelectChoice(o["id"], _choice_text(o), render_kw={"data-label": o["label"], "data-day": o["day"]})
        for o in today]
    return today


def add_operation(form: StartRunForm, payload: dict[str, Any]) -> None:
    """Add the operation the form chose to a run's payload: a live run joins one or opens a new one, named by
    the run's label; a practice run has none. Joining with no label of its own, the run takes the operation's
    (a RunError when there is no such operation)."""
    if form.mode.data != "live":
        return
    if not form.joining():
        payload["operation"] = {"id": str(uuid.uuid4()), "label": payload["label"]}
        return
    payload["operation_id"] = form.operation_id.data
    if not (payload["label"] or "").strip():
        chosen = operations.find(get_db(), form.operation_id.data)
        if chosen is None:  # said of the operation, not of the blank label
            raise RunError("invalid", "unknown_operation", "no operation has this id")
        payload["label"] = chosen["label"]


def show_error(form: StartRunForm, error: RunError) -> bool:
    """Put a refusal about the run's operation on its field, in words; False when it is not about one."""
    name = ERROR_FIELDS.get(error.code)
    if name is None:
        return False
    messages = {"unknown_operation": _("That operation is not one started today. Choose one from the list, or "
                                       "open a new operation."),
                "operation_other_day": _("That operation was started on another day. Choose one started today, "
                                         "or open a new operation."),
                "invalid_operation": _("Choose the operation to join from the list."),
                "practice_operation": _("Practice runs are not part of an operation: choose New operation, or a "
                                        "live run.")}
    getattr(form, name).errors.append(messages.get(error.code, error.message))
    return True


def may_see(operation: dict[str, Any]) -> bool:
    """Supervisors and administrators see every operation; others those they have a run in."""
    return current_user.can_read_all_runs() or any(r["creator_id"] == current_user.id for r in operation["runs"])


def queue_filter(value: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The review queue's `operation` filter: (the operation, None), (None, why not) or (None, None) for none."""
    if not value:
        return None, None
    found = operations.find(get_db(), value)
    return (found, None) if found else (None, _("No operation has this id. Choose All operations."))


@bp.app_template_global()
def operation_of(run: dict[str, Any]) -> dict[str, Any] | None:
    """The operation a run belongs to (id, label, day), for a link on its pages; None for none."""
    operation_id = run.get("operation_id") if isinstance(run, dict) else None
    return operations.find(get_db(), operation_id) if operation_id else None


@bp.get("/<operation_id>")
@login_required
def show(operation_id: str):
    """An operation's label and day, and each of its runs: protocol, label, accompanier, status, red flags."""
    operation = operations.with_runs(get_db(), operation_id)
    if operation is None or not may_see(operation):
        abort(404)  # an operation the reader has no part in looks like a missing one
    return render_template("operations/show.html", operation=operation,
                           reviewer=current_user.can_read_all_runs())
