"""Practice runs for trainers: who practised which version, which critical steps were missed or N/A."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from .. import timefmt
from ..accounts.auth import roles_required
from ..db import get_db
from ..db import practice as practice_db
from ..protocols import Protocol
from ..runs import fold, policy
from ..services.library import get_registry

bp = Blueprint("practice", __name__)
STATUS_LABELS = {"in_progress": _l("in progress"), "submitted": _l("submitted")}  # practice runs are never reviewed
# A practice run still in progress is being worked on, not missing anything, until it has been left this long.
LEFT_OPEN_AFTER = timedelta(days=1)


def left_open(run: dict, now: datetime) -> bool:
    """Whether a run's open steps count as missed: it was submitted, or left in progress for over a day."""
    if run["status"] != "in_progress":
        return True
    try:
        started = timefmt.parse(run["created_at"])
    except (AttributeError, ValueError):
        return True
    return now - started > LEFT_OPEN_AFTER


@bp.app_template_filter("practice_time")
def practice_time(value: str) -> str:
    """Format a stored ISO time for the reader's language."""
    return timefmt.medium(value)


@dataclass
class PracticeRun:
    run: dict
    protocol: Protocol | None
    missed: list[str] = field(default_factory=list)  # critical steps left open or covered only by a deviation
    under_way: bool = False  # in progress and started within LEFT_OPEN_AFTER: open steps are not missed yet
    na: list[str] = field(default_factory=list)  # critical steps marked not applicable
    unexpected: list[str] = field(default_factory=list)


@dataclass
class VersionSummary:
    protocol: Protocol
    runs: int = 0
    people: set[str] = field(default_factory=set)
    missed: Counter = field(default_factory=Counter)
    na: Counter = field(default_factory=Counter)


def assess(run: dict, protocol: Protocol | None, events: list[dict], now: datetime | None = None) -> PracticeRun:
    """Fold a practice run and note its critical steps missed (once submitted or left open) or marked N/A."""
    found = PracticeRun(run, protocol, under_way=not left_open(run, now or datetime.now(UTC)))
    if protocol is None or protocol.sha256 != run["protocol_sha256"]:
        found.protocol = None
        return found
    state = fold(protocol, run["created_by"], run["mode"], events)
    for step in protocol.critical_steps:
        status = state.steps[step.id]["status"]
        if status == "todo" and not found.under_way:
            found.missed.append(step.id)
        elif status == "na":
            found.na.append(step.id)
    found.unexpected = [flag["step"] for flag in state.red_flags() if flag["kind"] == "answer"]  # red-flag answers
    return found


def _now() -> datetime:
    return datetime.now(UTC)


@bp.get("/practice")
@roles_required(*policy.TRAINERS)
def index():
    """List practice runs and, per version, the critical steps trainees miss or mark N/A most."""
    db, registry = get_db(), get_registry()
    runs = practice_db.practice_runs(db)
    events = practice_db.practice_events(db, [r["id"] for r in runs])
    now = _now()
    assessed = [assess(r, registry.get(r["protocol_id"], r["protocol_version"]), events[r["id"]], now) for r in runs]
    summaries: dict[tuple[str, str], VersionSummary] = {}
    for item in assessed:
        if item.protocol is None:
            continue
        summary = summaries.setdefault(item.protocol.key, VersionSummary(item.protocol))
        summary.runs += 1
        summary.people.add(item.run["created_by"])
        summary.missed.update(item.missed)
        summary.na.update(item.na)
    ordered = sorted(summaries.values(), key=lambda s: (s.protocol.id, s.protocol.version))
    return render_template("practice/index.html", runs=assessed, summaries=ordered, status_labels=STATUS_LABELS)
