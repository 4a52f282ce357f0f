"""What one run contributes to the review queue and to oversight, computed from its folded state (pure).

The database keeps these rows with each append (db/summaries.py) and adds each run's new contribution to
the day totals after subtracting its old one, so oversight never folds events.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..timefmt import parse
from .state import RunState

APPROVED_STATUSES = ("approved", "follow_up", "closed")
RUN_DAY_FIELDS = ("submitted", "returned", "approved", "deviations", "na", "flags", "flagged_runs",
                  "follow_ups_due", "follow_ups_on_time", "follow_ups_late")
STEP_DAY_FIELDS = ("runs", "answered", "na", "deviated", "flagged")
MEASURE_DAY_FIELDS = ("runs", "total", "paired_runs", "paired_total", "paired_of_total")

StepRow = tuple[str, bool, bool]  # (status, deviated, flagged)
MeasureRow = tuple[int, int | None]  # (value, value of its denominator step, if answered)


def utc(value: str) -> datetime:
    return parse(value).astimezone(UTC)


@dataclass
class RunSummary:
    facts: dict[str, Any]
    steps: dict[str, StepRow]
    measures: dict[str, MeasureRow]


def summarise(run: dict[str, Any], state: RunState) -> RunSummary:
    """A run's facts, per-step statuses and answered measures as its state has them."""
    deviated = state.deviated_steps()
    flags = state.red_flags()
    flagged = {flag["step"] for flag in flags if flag["step"]}
    steps = {step_id: (entry["status"], step_id in deviated, step_id in flagged)
             for step_id, entry in state.steps.items()}
    started = utc(run["created_at"])
    seconds = None
    if state.submissions:
        seconds = max(0.0, (utc(state.submissions[0]["at"]) - started).total_seconds())
    returns = [r for r in state.reviews if r["decision"] == "returned"]
    last_return = returns[-1] if returns else {}
    counts = {"done": 0, "na": 0, "todo": 0}
    for entry in state.steps.values():
        counts[entry["status"]] += 1
    follow_ups = [f for f in state.follow_ups() if f["due_at"]]
    open_due = [f["due_at"] for f in follow_ups if f["open"]]
    facts = {"run_id": run["id"], "live": int(run["mode"] == "live"), "protocol_id": run["protocol_id"],
             "protocol_version": run["protocol_version"], "start_day": started.date().isoformat(),
             "submitted": int(bool(state.submissions)), "returned": len(returns),
             "approved": int(state.status in APPROVED_STATUSES), "seconds_to_submit": seconds,
             "done_count": counts["done"], "na_count": counts["na"], "deviation_count": len(state.deviations),
             "returned_comment": last_return.get("comment"), "returned_by": last_return.get("actor"),
             "returned_at": last_return.get("received_at"), "flag_count": len(flags),
             "follow_up_flag_count": sum(1 for flag in flags if flag["follow_up"]),
             "follow_up_due_at": min(open_due) if open_due else None, "follow_ups_due": len(follow_ups),
             "first_submitted_at": state.submissions[0]["at"] if state.submissions else None,
             "follow_ups_on_time": sum(1 for f in follow_ups if f["on_time"] is True),
             "follow_ups_late": sum(1 for f in follow_ups if f["on_time"] is False)}
    return RunSummary(facts, steps, state.measures())


def contribution(summary: RunSummary | None) -> tuple[dict[str, int], dict[str, dict], dict[str, dict]]:
    """What one run adds to the day totals: (run figures, {step: figures}, {measure: figures}).

    Practice runs add nothing; step and measure figures describe submitted runs only."""
    if summary is None or not summary.facts["live"]:
        return {}, {}, {}
    facts = summary.facts
    submitted = bool(facts["submitted"])
    run = {"submitted": int(submitted), "returned": int(facts["returned"] > 0), "approved": facts["approved"],
           "deviations": facts["deviation_count"] if submitted else 0, "na": facts["na_count"] if submitted else 0,
           "flags": facts["flag_count"] if submitted else 0,
           "flagged_runs": int(submitted and facts["flag_count"] > 0),
           "follow_ups_due": facts["follow_ups_due"], "follow_ups_on_time": facts["follow_ups_on_time"],
           "follow_ups_late": facts["follow_ups_late"]}
    if not submitted:
        return run, {}, {}
    steps = {step_id: {"runs": 1, "answered": int(status == "done"), "na": int(status == "na"),
                       "deviated": int(deviated), "flagged": int(flagged)}
             for step_id, (status, deviated, flagged) in summary.steps.items()}
    measures = {name: {"runs": 1, "total": value, "paired_runs": int(of is not None),
                       "paired_total": value if of is not None else 0, "paired_of_total": of or 0}
                for name, (value, of) in summary.measures.items()}
    return run, steps, measures


def submit_time(summary: RunSummary | None) -> float | None:
    """The run's seconds from start to first submission as the medians count them: live, submitted runs only."""
    if summary is None or not summary.facts["live"] or not summary.facts["submitted"]:
        return None
    return summary.facts.get("seconds_to_submit")


def difference(new: dict[str, int], old: dict[str, int]) -> dict[str, int]:
    return {key: new.get(key, 0) - old.get(key, 0) for key in set(new) | set(old)}
