"""What the review page shows of a run besides its answers: each red flag with why and who acknowledged it, what
changed since it was returned, and its follow-ups (the page itself is web/review.py)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..runs import RunState
from ..runs.state import fold, utc_iso
from .run_page import answer_text
from .signals import flag_reasons

# What each kind of event appended after a return did, for "What changed since it was returned".
CHANGE_WORDS = {"step.set": _l("Answered"), "step.cleared": _l("Answer removed"),
                "step.na": _l("Marked not applicable"), "note": _l("Note added"),
                "deviation": _l("Deviation recorded"), "run.submitted": _l("Submitted again")}


def flag_items(state: RunState, protocol, events: list[dict]) -> list[dict[str, Any]]:
    """Each red flag of a run as the review page shows it: the step, the answer in words, why it is a flag,
    who acknowledged it (None while no approval has), and whether it was raised after the run was approved."""
    acknowledged_by = {}
    approvals = [review for review in state.reviews if review["decision"] == "approved"]
    for review in approvals:
        for flag_id in review["acknowledged"]:
            acknowledged_by.setdefault(flag_id, review)
    seq = {event["id"]: event.get("seq") or 0 for event in events}
    approved_seq = seq.get(approvals[0]["event"]) if approvals else None
    items = []
    for flag in state.red_flags():
        step = protocol.step(flag["step"]) if flag["step"] else None
        answer = answer_text(step, state.steps[step.id]) if step and flag["kind"] == "answer" else ""
        items.append({"flag": flag, "step": step, "answer": answer, "reasons": flag_reasons(flag, protocol),
                      "acknowledged_by": acknowledged_by.get(flag["id"]),
                      "after_approval": approved_seq is not None and seq.get(flag["id"], 0) > approved_seq})
    return items


def _step_words(step, entry: dict[str, Any]) -> str:
    if entry["status"] == "done":
        return answer_text(step, entry)
    if entry["status"] == "na":
        return _("Not applicable")
    return _("Not answered")


def changes_since_return(run: dict, state: RunState, events: list[dict], protocol) -> dict[str, Any] | None:
    """After a return (while the run waits for review again, or is still with its accompanier): the return and
    each event appended since, in words, with the step's answer as it stood at the return."""
    if not state.reviews or state.reviews[-1]["decision"] != "returned":
        return None
    fault = state.integrity_fault
    trusted = events if fault is None else events[:max(fault.seq - 1, 0)]
    returns = [i for i, e in enumerate(trusted) if e["type"] == "review.returned"]
    if not returns:
        return None
    cut = returns[-1] + 1
    before = fold(state.protocol, run["created_by"], run["mode"], trusted[:cut])
    flagged = {flag["id"] for flag in state.red_flags()}
    changes = []
    for event in trusted[cut:]:
        step = protocol.step(event["step"]) if event.get("step") else None
        answer = ""
        if event["type"] == "step.set" and step is not None:
            answer = answer_text(step, {"status": "done", "value": event["value"]})
        changes.append({"event": event, "what": str(CHANGE_WORDS.get(event["type"], event["type"])), "step": step,
                        "answer": answer, "before": _step_words(step, before.steps[step.id]) if step else "",
                        "flagged": event["id"] in flagged})
    return {"review": state.reviews[-1], "changes": changes}


def follow_up_items(state: RunState, protocol) -> list[dict[str, Any]]:
    """Each follow-up phase with its title, due time, open steps and whether it is overdue now."""
    now = utc_iso(datetime.now(UTC))
    titles = {phase.id: phase.title for phase in protocol.follow_up_phases}
    return [{**f, "title": titles.get(f["phase"], f["phase"]),
             "overdue": bool(f["open"] and f["due_at"] and f["due_at"] < now)} for f in state.follow_ups()]
