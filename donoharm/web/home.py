"""The home page: my runs, by status, and the follow-ups I owe."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from .. import timefmt
from ..db import get_db
from ..db import integrity as integrity_db
from ..db import review as review_db
from ..db import runs as runs_db
from ..db import summaries as summaries_db
from ..runs.state import follow_up_due
from ..services.library import get_registry

bp = Blueprint("home", __name__)

# The order of the groups on the page: what needs the person's work first. Submitted practice runs have a
# group of their own: they never wait for review.
STATUS_GROUPS = ("returned", "follow_up", "in_progress", "submitted", "submitted_practice", "approved", "closed")


def group_of(run: dict) -> str:
    """The group a run is listed under on the home page."""
    if run["status"] == "submitted" and run["mode"] == "practice":
        return "submitted_practice"
    return run["status"]


@bp.get("/")
@login_required
def index():
    """Show the signed-in user's runs grouped by status."""
    runs = runs_db.runs_of(get_db(), current_user.id)
    groups = {group: [r for r in runs if group_of(r) == group] for group in STATUS_GROUPS}
    faults = integrity_db.faults(get_db(), 50) if current_user.role == "admin" else []
    return render_template("home.html", groups=groups, integrity_faults=faults, follow_ups=follow_ups_due(),
                           **review_notices())


def review_notices() -> dict:
    """Supervisors: how many runs wait for review; everyone: their runs returned, with the comment."""
    db = get_db()
    waiting = review_db.waiting_count(db, current_user.id) if current_user.can_read_all_runs() else None
    return {"review_waiting": waiting, "returned_runs": review_db.returned_runs_of(db, current_user.id)}


def _utc(iso: str) -> datetime:
    return timefmt.parse(iso)


def follow_ups_due(now: datetime | None = None) -> list[dict[str, Any]]:
    """The user's approved runs with follow-up steps still open, earliest due first: each with its open
    follow-up phases (title, due time, overdue or not) and whether anything is overdue.

    Due times come from the run's summary (its first submission) by the core's rule (runs.state.follow_up_due),
    without folding the run."""
    db = get_db()
    registry = get_registry()
    now = now or datetime.now(UTC)
    found = []
    for run in runs_db.follow_ups_due_of(db, current_user.id):
        earliest = _utc(run["follow_up_due_at"])
        phases = []
        protocol = registry.get(run["protocol_id"], run["protocol_version"])
        if protocol is not None:
            protocol = protocol.in_language(run["language"])
            steps = summaries_db.run_steps_of(db, run["id"])
            open_phases = [phase for phase in protocol.follow_up_phases
                           if any(steps.get(step.id, ("todo",))[0] == "todo" for step in phase.steps)]
            for phase in open_phases:
                due_at = follow_up_due(phase, run["first_submitted_at"])
                phases.append({"id": phase.id, "title": phase.title, "due_at": due_at, "overdue": _utc(due_at) < now})
        found.append({**run, "protocol_title": protocol.title if protocol else run["protocol_id"],
                      "phases": phases, "overdue": earliest < now})
    return found
