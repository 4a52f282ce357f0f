"""The home page: my runs, by status."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..db import get_db
from ..db import integrity as integrity_db
from ..db import review as review_db
from ..db import runs as runs_db

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """Show the signed-in user's runs grouped by status."""
    runs = runs_db.runs_of(get_db(), current_user.id)
    groups = {status: [r for r in runs if r["status"] == status]
              for status in ("returned", "in_progress", "submitted", "approved")}
    faults = integrity_db.faults(get_db(), 50) if current_user.role == "admin" else []
    return render_template("home.html", groups=groups, integrity_faults=faults, **review_notices())


def review_notices() -> dict:
    """Supervisors: how many runs wait for review; everyone: their runs returned, with the comment."""
    db = get_db()
    waiting = review_db.waiting_count(db, current_user.id) if current_user.can_read_all_runs() else None
    return {"review_waiting": waiting, "returned_runs": review_db.returned_runs_of(db, current_user.id)}
