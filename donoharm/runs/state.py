"""Fold a run's events into its state, and the completion rule (pure)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ..protocols import Protocol
from ..timefmt import iso_z
from .flags import red_flags

# approved: reviewed and locked. A protocol with follow-up phases goes from approval to follow_up, where only
# its follow-up steps can still be answered, and to closed (locked) once every one of them is answered.
STATUSES = ("in_progress", "submitted", "returned", "approved", "follow_up", "closed")
LOCKED_STATUSES = ("approved", "closed")
STEP_ANSWERS = ("step.set", "step.cleared", "step.na")


def utc_iso(moment: datetime) -> str:
    return iso_z(moment)


def follow_up_due(phase, first_submitted_at: str) -> str:
    """When a follow-up phase is due (UTC): its hours after the run's first submission (device time)."""
    return utc_iso(datetime.fromisoformat(first_submitted_at) + timedelta(hours=phase.due_after_hours))


def _made_before(at: str, current_at: str | None) -> bool:
    """Whether a device time is earlier than the time the step's current answer was made."""
    if current_at is None:
        return False
    return datetime.fromisoformat(at) < datetime.fromisoformat(current_at)


class RunState:
    """What a run's events add up to: step answers, notes, deviations, status and reviews."""

    def __init__(self, protocol: Protocol, created_by: str, mode: str):
        self.protocol = protocol
        self.created_by = created_by
        self.mode = mode
        self.status = "in_progress"
        self.steps: dict[str, dict[str, Any]] = {
            step.id: {"status": "todo", "value": None, "note": None, "at": None, "event": None}
            for step in protocol.steps
        }
        self.notes: list[dict[str, Any]] = []
        self.deviations: list[dict[str, Any]] = []
        self.submissions: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.superseded: list[dict[str, Any]] = []  # answers that arrived after a later-made one
        self.last_event_at: str | None = None
        self.phase_span: dict[str, tuple[str, str]] = {}  # phase id -> device times of its first and last change
        self.integrity_fault = None  # a runs.integrity.ChainFault when the stored history was tampered with
        # Each event holding free text (or whose text was removed): {"committed", "redacted", "type", "step"}.
        self.texts: dict[str, dict[str, Any]] = {}
        self.redactions: list[dict[str, Any]] = []  # who removed which event's text, when and why
        self.removed_texts: dict[str, bool] = {}  # each removed text's event -> whether it was an answer's value
        # False for a state resumed from a persisted summary (resume): it holds what validating and summarising
        # the next events needs, not the run's notes or superseded answers, so it cannot describe the whole run.
        self.whole = True

    def _register_text(self, event: dict[str, Any]) -> None:
        committed = bool(event.get("text_commitment"))
        redacted = committed and event.get("text_salt") is None and "text_salt" in event
        has_text = event.get("note") is not None or (event.get("value_is_text") and event.get("value") is not None)
        if has_text or redacted:
            self.texts[event["id"]] = {"committed": committed, "redacted": redacted, "type": event["type"],
                                       "step": event.get("step"), "flagged": bool(event.get("text_flagged")),
                                       "value_is_text": bool(event.get("value_is_text"))}

    def know_text(self, event: dict[str, Any]) -> None:
        """Learn of an earlier event's text (a resumed state knows only its summary): a redaction naming it
        is then validated as in a whole fold."""
        self._register_text(event)

    def _redact(self, event: dict[str, Any], entry: dict[str, Any]) -> None:
        """Apply a redaction: the target's text is gone from the state as it is from storage."""
        target = event["value"]["event"]
        text = self.texts.setdefault(target, {"committed": True, "value_is_text": False})
        text["redacted"] = True
        self.removed_texts[target] = bool(text["value_is_text"])
        for item in [*self.steps.values(), *self.notes, *self.deviations, *self.reviews, *self.superseded]:
            if item.get("event") == target:
                for key in ("note", "comment"):
                    if item.get(key) is not None:
                        item[key] = None
                if text["value_is_text"]:
                    item["value"] = None
                item["redacted"] = True
        self.redactions.append({**entry, "target": target, "reason": event.get("note")})

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one stored, valid event."""
        kind, step = event["type"], event.get("step")
        entry = {"event": event["id"], "at": event["at"], "received_at": event.get("received_at"),
                 "actor": event.get("actor")}
        self._register_text(event)
        if kind == "redaction":
            self._redact(event, entry)
            self.last_event_at = event["at"]
            return
        if kind in STEP_ANSWERS and _made_before(event["at"], self.steps[step]["at"]):
            # Two phones answered the same step: the answer made last wins, whichever arrived last. The
            # earlier one stays in the chain (and the event log) and is listed, so the phone that sent it
            # can tell its person what the step says now.
            self.superseded.append({**entry, "step": step, "type": kind, "value": event.get("value"),
                                    "by": self.steps[step]["event"]})
            self.last_event_at = event["at"]
            return
        removed = {"redacted": True} if self.texts.get(event["id"], {}).get("redacted") else {}
        if kind == "step.set":
            self.steps[step] = {"status": "done", "value": event["value"], "note": event.get("note"),
                                "at": event["at"], "event": event["id"], **removed}
        elif kind == "step.cleared":
            self.steps[step] = {"status": "todo", "value": None, "note": None,
                                "at": event["at"], "event": event["id"]}
        elif kind == "step.na":
            self.steps[step] = {"status": "na", "value": None, "note": event.get("note"),
                                "at": event["at"], "event": event["id"], **removed}
        elif kind == "note":
            self.notes.append({**entry, "step": step, "note": event["note"], **removed})
        elif kind == "deviation":
            self.deviations.append({**entry, "id": event["id"], "step": step, "note": event["note"], **removed})
        elif kind == "run.submitted":
            self.status = "submitted"
            self.submissions.append({**entry, "attestation": event["value"]})
        elif kind == "review.returned":
            self.status = "returned"
            self.reviews.append({**entry, "decision": "returned", "comment": event.get("note"), **removed})
        elif kind == "review.approved":
            # With follow-up phases, approval opens the follow-up (closed at once below if all is answered).
            self.status = "follow_up" if self.protocol.follow_up_phases else "approved"
            self.reviews.append({**entry, "decision": "approved", "comment": event.get("note"),
                                 "acknowledged": event["value"]["acknowledged"], **removed})
        if self.status == "follow_up" and not self.open_follow_up_steps():
            self.status = "closed"
        if step is not None:
            self._note_phase_time(step, event["at"])
        self.last_event_at = event["at"]

    def deviated_steps(self) -> set[str]:
        return {d["step"] for d in self.deviations if d["step"]}

    def missing_critical(self) -> list[str]:
        """Critical steps neither answered, marked not applicable, nor covered by a deviation."""
        covered = self.deviated_steps()
        return [step.id for step in self.protocol.critical_steps
                if self.steps[step.id]["status"] == "todo" and step.id not in covered]

    def _note_phase_time(self, step_id: str, at: str) -> None:
        phase = self.protocol.step(step_id).phase_id
        first, last = self.phase_span.get(phase, (at, at))
        moment = datetime.fromisoformat(at)
        if moment < datetime.fromisoformat(first):
            first = at
        if moment > datetime.fromisoformat(last):
            last = at
        self.phase_span[phase] = (first, last)

    def minutes_in_phase(self, phase_id: str) -> int | None:
        """Minutes from the first to the last change recorded for a phase's steps (device times), if any."""
        if phase_id not in self.phase_span:
            return None
        first, last = (datetime.fromisoformat(at) for at in self.phase_span[phase_id])
        return round((last - first).total_seconds() / 60)

    def open_follow_up_steps(self) -> list[str]:
        return [step.id for phase in self.protocol.follow_up_phases for step in phase.steps
                if self.steps[step.id]["status"] == "todo"]

    def follow_ups(self) -> list[dict[str, Any]]:
        """Each follow-up phase: when it is due (counted from the first submission), what is still open,
        and when it was done (the device time of its last answer) and whether that was on time."""
        found = []
        for phase in self.protocol.follow_up_phases:
            due_at = follow_up_due(phase, self.submissions[0]["at"]) if self.submissions else None
            due = datetime.fromisoformat(due_at) if due_at else None
            open_steps = [step.id for step in phase.steps if self.steps[step.id]["status"] == "todo"]
            done = None
            if not open_steps:
                done = max(datetime.fromisoformat(self.steps[step.id]["at"]) for step in phase.steps)
            found.append({"phase": phase.id, "due_after_hours": phase.due_after_hours,
                          "due_at": due_at, "open": open_steps,
                          "done_at": utc_iso(done) if done else None,
                          "on_time": (done <= due) if done and due else None})
        return found

    def measures(self) -> dict[str, tuple[int, int | None]]:
        """Each answered outcome measure: (its count, the count of its denominator step or None)."""
        found = {}
        for step in self.protocol.steps:
            entry = self.steps[step.id]
            if step.measure and entry["status"] == "done":
                of = self.steps.get(step.of) if step.of else None
                found[step.measure] = (entry["value"], of["value"] if of and of["status"] == "done" else None)
        return found

    def red_flags(self) -> list[dict[str, Any]]:
        return red_flags(self.protocol, self.steps, self.deviations)

    def unexpected_answers(self) -> list[str]:
        """Yes/no steps answered otherwise than the protocol expects."""
        return [step.id for step in self.protocol.steps
                if step.expected and self.steps[step.id]["status"] == "done"
                and self.steps[step.id]["value"] != step.expected]

    def counts(self) -> dict[str, int]:
        counts = {"done": 0, "na": 0, "todo": 0}
        for entry in self.steps.values():
            counts[entry["status"]] += 1
        return counts

    def snapshot(self) -> dict[str, Any]:
        """What validating and summarising the next events needs, as JSON: kept with the run (run_service) so
        an append never re-reads or re-folds earlier events. Its size grows with the protocol's steps and the
        run's deviations, submissions, reviews and removed texts, never with its answers or notes."""
        return {"status": self.status, "steps": self.steps, "deviations": self.deviations,
                "submissions": self.submissions, "reviews": self.reviews, "last_event_at": self.last_event_at,
                "phase_span": self.phase_span, "removed_texts": self.removed_texts}

    @classmethod
    def resume(cls, protocol: Protocol, created_by: str, mode: str, snapshot: dict[str, Any]) -> RunState:
        """A state from its snapshot, ready to validate and apply the next events."""
        state = cls(protocol, created_by, mode)
        state.status = snapshot["status"]
        state.steps.update(snapshot["steps"])
        state.deviations = snapshot["deviations"]
        state.submissions = snapshot["submissions"]
        state.reviews = snapshot["reviews"]
        state.last_event_at = snapshot["last_event_at"]
        state.phase_span = {phase: tuple(span) for phase, span in snapshot["phase_span"].items()}
        state.removed_texts = snapshot["removed_texts"]
        state.whole = False
        return state

    def to_json(self) -> dict[str, Any]:
        if not self.whole:
            raise ValueError("a state resumed from its snapshot does not describe the whole run")
        counts = self.counts()
        missing = self.missing_critical()
        return {
            "status": self.status,
            "steps": self.steps,
            "counts": counts,
            "notes": self.notes,
            "deviations": self.deviations,
            "submissions": self.submissions,
            "reviews": self.reviews,
            "missing_critical": missing,
            "complete": not missing,
            "unexpected_answers": self.unexpected_answers(),
            "red_flags": self.red_flags(),
            "follow_ups": self.follow_ups(),
            "superseded": self.superseded,
            "redactions": self.redactions,
        }


def fold(protocol: Protocol, created_by: str, mode: str, events: Iterable[dict[str, Any]]) -> RunState:
    """Fold stored events, in sequence order, into a run's state."""
    state = RunState(protocol, created_by, mode)
    for event in events:
        state.apply(event)
    return state
