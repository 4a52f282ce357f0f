"""Words for run statuses and red flags, shared by the run, check, review and record pages (template globals)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _

from .. import timefmt
from ..protocols import Protocol
from ..runs import RunState

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


@bp.app_template_global()
def step_flag_reasons(flags: list[dict[str, Any]], protocol: Protocol) -> list[str]:
    """Why a step is flagged: the sentences of all its red flags (answer and deviations), each once."""
    reasons: list[str] = []
    for flag in flags:
        reasons.extend(reason for reason in flag_reasons(flag, protocol) if reason not in reasons)
    return reasons


@bp.app_template_global()
def first_flag_anchor(state: RunState) -> str:
    """Where the run page shows its first red flag: the first flagged step, else the whole operation's notes."""
    flagged = {flag["step"] for flag in state.red_flags()}
    return next((f"step-{step.id}" for step in state.protocol.steps if step.id in flagged), "run-notes")


@bp.app_template_global()
def follow_up_notices(state: RunState, protocol: Protocol) -> list[dict[str, Any]]:
    """A run's follow-up phases still open: the phase (in the run's language), when it is due, whether that has
    passed, and its open steps. Empty before the run is first submitted (nothing is due yet)."""
    now = datetime.now(UTC)
    phases = {phase.id: phase for phase in protocol.phases}
    notices = []
    for follow_up in state.follow_ups():
        if follow_up["open"] and follow_up["due_at"]:
            due = timefmt.parse(follow_up["due_at"])
            notices.append({"phase": phases[follow_up["phase"]], "due_at": follow_up["due_at"],
                            "overdue": due < now, "open": follow_up["open"]})
    return notices
