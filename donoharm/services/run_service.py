"""Starting runs and appending events: the one path by which any run changes.

Reading a run, its state and appending to it are here; the refusals, the label rule and device times are in
run_rules.py, starting a run in run_start.py; their names stay importable from here."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from ..db import integrity as integrity_db
from ..db import records as records_db
from ..db import runs as runs_db
from ..db import summaries as summaries_db
from ..db import transaction
from ..privacy import find_personal_data
from ..protocols import Protocol, Registry
from ..runs import Actor, DeviceClock, EventError, RunState, fold, is_uuid, normalise, seal, validate
from ..runs.chain import commit_texts
from ..runs.integrity import ChainFault, ChainGuard, tail_fault
from .run_rules import (  # noqa: F401  (importable from run_service, as before)
    LABEL_LIMIT,
    LANGUAGE_TAG,
    RunError,
    _optional_time,
    checked_label,
    utc_now,
)
from .run_start import _chosen_before_retirement, _run_fields, start_run  # noqa: F401

MAX_EVENTS_PER_BATCH = 500
# A run entering one of these statuses gets a signed record: queued with the append, issued off the request.
RECORD_STATUSES = ("submitted", "returned", "approved", "follow_up", "closed")
# After approval every accepted change is a follow-up answer, and re-issues the record.
FOLLOW_UP_STATUSES = ("follow_up", "closed")
# One per process: remembers which rows it has verified, so a touch re-hashes only what changed.
chain_guard = ChainGuard()


@dataclass
class AppendResult:
    accepted: list[str]
    duplicates: list[str]
    head: str
    event_count: int
    state: RunState  # what the run's next events are validated against: not always the whole run (RunState.whole)
    events: list[dict[str, Any]]  # the events stored by this append, sealed

    def changes(self) -> dict[str, Any]:
        """What an append answers (POST .../events): where the run now stands and what this batch changed,
        in a size that does not grow with the run's history (GET /api/v1/runs/<id> has the whole state)."""
        state = self.state
        named = {event.get("step") for event in self.events if event.get("step")}
        missing = state.missing_critical()
        return {"status": state.status, "event_count": self.event_count, "counts": state.counts(),
                "missing_critical": missing, "complete": not missing,
                "steps": {step: state.steps[step] for step in sorted(named) if step in state.steps},
                "removed_texts": [{"event": event, "value_is_text": is_text}
                                  for event, is_text in state.removed_texts.items()]}


def protocol_of(registry: Registry, run: dict[str, Any]) -> Protocol:
    """The exact protocol version a run pinned, checked against its hash."""
    protocol = registry.get(run["protocol_id"], run["protocol_version"])
    if protocol is None or protocol.sha256 != run["protocol_sha256"]:
        raise RunError("conflict", "protocol_unavailable",
                       f"protocol {run['protocol_id']} {run['protocol_version']} with the pinned hash "
                       "is not available on this server")
    return protocol


def load_run(db: Database, run_id: str) -> dict[str, Any]:
    """A run by id, or a 404 RunError."""
    run = runs_db.get_run(db, run_id) if is_uuid(run_id) else None
    if run is None:
        raise RunError("not_found", "not_found", "no such run")
    return run


def run_state(db: Database, registry: Registry, run: dict[str, Any]) -> tuple[RunState, list[dict]]:
    """Verify and fold a run's stored events; return the state and the events.

    A run whose stored history no longer matches its seals is folded only up to the first bad event,
    and its state carries the fault (pages and the API say so; appends and records are refused)."""
    snapshot, events = runs_db.run_with_events(db, run["id"])
    if snapshot is None:  # deleted since it was loaded (practice-run retention)
        raise RunError("not_found", "not_found", "no such run")
    protocol = protocol_of(registry, run)
    fault = chain_guard.check(snapshot, events)
    trusted = events if fault is None else events[:max(fault.seq - 1, 0)]
    try:
        state = fold(protocol, run["created_by"], run["mode"], trusted)
    except Exception as error:  # sealed consistently but not a valid event: rewritten with the sealing function
        state = fold(protocol, run["created_by"], run["mode"], [])
        fault = ChainFault(_unreadable_seq(protocol, run, trusted),
                           f"an event cannot be read as a valid event ({type(error).__name__})")
    if fault is not None:
        integrity_db.record_fault(db, run["id"], fault.seq, fault.problem, utc_now())
        state.integrity_fault = fault
    return state, events


def _unreadable_seq(protocol: Protocol, run: dict[str, Any], events: list[dict]) -> int:
    """The sequence number of the first event the fold cannot apply."""
    state = RunState(protocol, run["created_by"], run["mode"])
    for event in events:
        try:
            state.apply(event)
        except Exception:
            return event.get("seq") or 0
    return 0


def refuse_if_faulty(run_id: str, state: RunState) -> None:
    """Nothing is added to, or signed for, a run whose stored history was changed outside the app."""
    fault = state.integrity_fault
    if fault is not None:
        raise RunError("conflict", "integrity_fault",
                       f"the stored history of this run was changed outside the app (first bad event: "
                       f"{fault.seq}; {fault.problem}); nothing can be added or signed until an "
                       "administrator has dealt with it", {"run": run_id, **fault.to_json()})


class _StaleRun(Exception):
    """Another request appended to the run between our read and our write."""


def append_events(db: Database, registry: Registry, run_id: str, raw_events: Any,
                  actor: Actor, clock: DeviceClock | None = None) -> AppendResult:
    """Validate and append a batch of events to a run, all or nothing; replays are acknowledged."""
    if not isinstance(raw_events, list):
        raise RunError("malformed", "invalid_body", "'events' must be a list")
    if len(raw_events) > MAX_EVENTS_PER_BATCH:
        raise RunError("invalid", "too_many_events", f"send at most {MAX_EVENTS_PER_BATCH} events per batch")
    for _attempt in range(20):
        try:
            return _append_once(db, registry, run_id, raw_events, actor, clock)
        except _StaleRun:
            continue
    raise RunError("conflict", "busy", "the run is changing too fast; send the events again")


def state_for_append(db: Database, registry: Registry, run_id: str) -> tuple[dict[str, Any], RunState]:
    """The run and the state its next events are validated against.

    Constant time when the run's fold snapshot matches its head (run_folds, kept by every append): only the
    header and the last event are verified. Otherwise (no snapshot yet, a stored event changed since, a fault
    recorded) the whole chain is read, verified and folded, as when the run is shown."""
    run, fold, last, faulty = runs_db.append_position(db, run_id) if is_uuid(run_id) else (None, None, None, False)
    if run is None:
        raise RunError("not_found", "not_found", "no such run")
    if fold is not None and not faulty and (fold["head_hash"], fold["event_count"]) == \
            (run["head_hash"], run["event_count"]) and tail_fault(run, last) is None:
        return run, RunState.resume(protocol_of(registry, run), run["created_by"], run["mode"], fold["state"])
    state, _events = run_state(db, registry, run)
    refuse_if_faulty(run_id, state)
    return run, state


def _append_once(db: Database, registry: Registry, run_id: str, raw_events: list, actor: Actor,
                 clock: DeviceClock | None) -> AppendResult:
    # Read and validate without the write lock, so writers to other runs are not kept waiting;
    # the write transaction below only checks that nothing was appended meanwhile.
    run, state = state_for_append(db, registry, run_id)
    previous_status = state.status
    count = run["event_count"]
    # Events stored before with this batch's ids (replays, or ids in use), then this batch's own, by id.
    batch = runs_db.find_events(db, [str(raw.get("id")).lower() for raw in raw_events if isinstance(raw, dict)])
    accepted: list[dict[str, Any]] = []
    duplicates: list[str] = []
    head = run["head_hash"]
    received_at = utc_now()
    for index, raw in enumerate(raw_events):
        try:
            event = normalise(raw, run_id, clock)
            earlier = batch.get(event.id)
            if earlier is not None and earlier["run"] == run_id:
                _check_replay(earlier, event)
                duplicates.append(event.id)
                continue
            if earlier is not None:
                raise EventError("id_in_use", "this event id is already used by another run")
            if event.type == "redaction" and isinstance(event.value, dict) and is_uuid(event.value.get("event")):
                target = runs_db.find_event(db, event.value["event"].lower())
                if target is not None and target["run"] == run_id:
                    state.know_text(target)  # a resumed state holds no earlier texts of its own
            validate(event, state.protocol, state, actor)
        except EventError as error:
            error.index = index
            error.details = {**(error.details or {}), "index": index,
                             "event_id": raw.get("id") if isinstance(raw, dict) else None}
            raise
        # Every event is sealed over a salted commitment to its texts, so a text can be removed later.
        committed = commit_texts({**event.client_fields(), "run": run_id, "received_at": received_at,
                                  "actor": actor.username, "seq": count + len(accepted) + 1},
                                 event.value_is_text)
        committed["text_flagged"] = event.text_confirmed and any(
            find_personal_data(text) for text in event.texts().values())
        stored_event = seal(committed, head)
        head = stored_event["hash"]
        state.apply(stored_event)
        batch[event.id] = stored_event
        accepted.append(stored_event)
    if accepted:
        try:
            with transaction(db):
                if runs_db.chain_position(db, run_id) != (run["head_hash"], run["event_count"]):
                    raise _StaleRun()
                runs_db.insert_events(db, accepted)
                became_submitted = state.status == "submitted" and previous_status != "submitted"
                runs_db.update_run_summary(db, run_id, state.status, head, count + len(accepted),
                                           received_at if became_submitted else None, received_at)
                summaries_db.write_summary(db, run, state)  # queue and oversight figures, same transaction
                redactions = [e for e in accepted if e["type"] == "redaction"]
                for redaction in redactions:
                    runs_db.remove_text(db, redaction["value"]["event"])
                    records_db.mark_redacted(db, run_id, redaction["value"]["event"], redaction["id"], received_at)
                if (state.status != previous_status and state.status in RECORD_STATUSES) or \
                        previous_status in FOLLOW_UP_STATUSES or (redactions and state.status in RECORD_STATUSES):
                    records_db.enqueue_due(db, run_id, state.status, head, accepted[-1]["type"], received_at)
                # Last: removing a text above drops the run's snapshot (a trigger), and this writes the new one.
                runs_db.save_fold(db, run_id, head, count + len(accepted), state.snapshot())
        except sqlite3.IntegrityError:
            raise _StaleRun() from None  # a concurrent request stored one of these ids first
    return AppendResult([e["id"] for e in accepted], duplicates, head, count + len(accepted), state, accepted)


def _check_replay(stored: dict[str, Any], event) -> None:
    """A replayed id must carry the same content; otherwise it is a conflict, not a replay."""
    mine = {**event.client_fields(), "text_confirmed": bool(event.text_confirmed)}
    theirs = {field: stored.get(field) for field in mine}
    theirs["text_confirmed"] = bool(theirs["text_confirmed"])
    if stored.get("text_commitment") and stored.get("text_salt") is None:  # its text was removed since
        mine.update(note=None, value=None if stored.get("value_is_text") else mine["value"])
    if mine != theirs:
        raise EventError("id_conflict", "an event with this id was stored with different content")
