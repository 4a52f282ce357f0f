"""Words for run statuses and red flags, shared by the run, check, review and record pages (template globals)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from ..protocols import Protocol

bp = Blueprint("signals", __name__)


@bp.app_template_global()
def run_status_word(status: str, mode: str = "live") -> str:
    """A run's status as a person reads it."""
    if status == "submitted" and mode == "practice":
        return _("Submitted (practice runs are not reviewed)")
    return {"in_progress": _("In progress"), "submitted": _("Submitted, waiting for review"),
            "returned": _("Returned for correction"), "approved": _("Approved"),
            "follow_up": _("Approved, follow-up due"), "closed": _("Closed: follow-up done")}.get(status, status)


@bp.app_template_global()
def flag_reasons(flag: dict[str, Any], protocol: Protocol) -> list[str]:
    """Why a red flag was raised, one sentence per reason, in the page's language."""
    if flag["kind"] == "deviation":
        return [_("A deviation from the protocol was recorded.")]
    words = []
    for reason in flag["reasons"]:
        rule = reason["rule"]
        if rule == "expected":
            words.append(_("The protocol expects the answer “%(answer)s”.",
                           answer=_("Yes") if reason["expected"] == "yes" else _("No")))
        elif rule == "equals":
            words.append(_("The protocol marks this answer as a red flag."))
        elif rule == "above":
            words.append(_("The protocol marks any number above %(limit)s as a red flag.", limit=reason["limit"]))
        elif rule == "of":
            step = protocol.step(reason["of"])
            words.append(_("More than the %(limit)s counted for “%(step)s”.", limit=reason["limit"],
                           step=step.text if step else reason["of"]))
    return words


@bp.app_template_global()
def flagged_steps(state) -> dict[str | None, list[dict[str, Any]]]:
    """A run's red flags grouped by step id (None: deviations for the whole operation)."""
    grouped: dict[str | None, list[dict[str, Any]]] = {}
    for flag in state.red_flags():
        grouped.setdefault(flag["step"], []).append(flag)
    return grouped
