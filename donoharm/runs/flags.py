"""Red flags: answers that the protocol marks as a sign of harm, and every deviation (pure).

A flag is named by the id of the event that raised it (the answer, or the deviation), so a supervisor
acknowledges exactly what they read: an answer changed after a return is a new event and a new flag.
"""
from __future__ import annotations

from typing import Any

from ..protocols import Step


def answer_reasons(step: Step, value: Any, denominator: Any = None) -> list[dict[str, Any]]:
    """Why an answer to `step` is a red flag (empty when it is not); `denominator` is the answer to `step.of`."""
    reasons: list[dict[str, Any]] = []
    if step.expected is not None and value != step.expected:
        reasons.append({"rule": "expected", "expected": step.expected})
    if step.flag_equals and value in step.flag_equals:
        reasons.append({"rule": "equals", "value": value})
    counted = isinstance(value, int) and not isinstance(value, bool)
    if step.flag_above is not None and counted and value > step.flag_above:
        reasons.append({"rule": "above", "limit": step.flag_above})
    if step.of and counted and isinstance(denominator, int) and value > denominator:
        reasons.append({"rule": "of", "of": step.of, "limit": denominator})
    return reasons


def red_flags(protocol, steps: dict[str, dict[str, Any]], deviations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every red flag of a run, answers in protocol order first, then deviations in the order recorded."""
    flags: list[dict[str, Any]] = []
    for step in protocol.steps:
        entry = steps[step.id]
        if entry["status"] != "done":
            continue
        denominator = None
        if step.of and steps.get(step.of, {}).get("status") == "done":
            denominator = steps[step.of]["value"]
        reasons = answer_reasons(step, entry["value"], denominator)
        if reasons:
            flags.append({"id": entry["event"], "kind": "answer", "step": step.id, "value": entry["value"],
                          "reasons": reasons, "at": entry["at"], "follow_up": step.follow_up})
    for deviation in deviations:
        step = protocol.step(deviation["step"]) if deviation["step"] else None
        flags.append({"id": deviation["id"], "kind": "deviation", "step": deviation["step"],
                      "note": deviation["note"], "at": deviation["at"],
                      "follow_up": bool(step and step.follow_up)})
    return flags
