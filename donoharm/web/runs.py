"""Run screens: start a run, the task list by phase, answering steps, checking and submitting."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from .. import run_service
from ..db import get_db
from ..library import get_registry
from ..run_service import RunError

bp = Blueprint("runs", __name__, url_prefix="/runs")


def readable_run(run_id: str) -> dict:
    """A run the current user may read, else 404."""
    try:
        run = run_service.load_run(get_db(), run_id)
    except RunError:
        abort(404)
    if run["creator_id"] != current_user.id and not current_user.can_read_all_runs():
        abort(404)
    return run


@bp.get("/new")
@login_required
def new():
    return render_template("runs/new.html")


@bp.get("/<run_id>")
@login_required
def show(run_id: str):
    run = readable_run(run_id)
    state, _events = run_service.run_state(get_db(), get_registry(), run)
    return render_template("runs/show.html", run=run, state=state)
