"""Is a run's stored chain still what was sealed? Checked before anything trusts it (pure).

The server's own database is not trusted: a row edited with a SQLite shell, with no change to its hash,
must be caught before the run is shown as genuine, appended to or signed. Re-hashing every event on
every touch costs ~10 µs an event; the guard remembers a cheap fingerprint of each row it has verified,
so a row is re-hashed only when its stored content differs from what was verified (edits are caught on
the next touch, whatever process made them).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .chain import RUN_HEADER_FIELDS, event_hash, genesis_hash, text_problem

_ROW_FIELDS = ("id", "run", "seq", "type", "step", "note", "at", "received_at", "actor", "prev_hash", "hash",
               "text_salt", "text_commitment", "value_is_text", "text_confirmed")


@dataclass(frozen=True)
class ChainFault:
    """The first place a run's stored history stops matching its seals; seq 0 is the run's header."""

    seq: int
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "problem": self.problem}


def _row_fingerprint(event: dict[str, Any]) -> int:
    return hash((*(event.get(name) for name in _ROW_FIELDS), repr(event.get("value"))))


def _header_fingerprint(run: dict[str, Any]) -> int:
    return hash((*(run.get(name) for name in RUN_HEADER_FIELDS), run.get("genesis_hash")))


def _event_fault(run_id: str, expected_seq: int, prev: str, event: dict[str, Any]) -> ChainFault | None:
    if event.get("seq") != expected_seq:
        return ChainFault(expected_seq, f"event {expected_seq} is missing or out of order "
                                        f"(found sequence number {event.get('seq')})")
    if event.get("run") != run_id:
        return ChainFault(expected_seq, f"event {expected_seq} belongs to another run")
    if event.get("prev_hash") != prev:
        return ChainFault(expected_seq, f"event {expected_seq} does not link to the event before it")
    if event.get("hash") != event_hash(prev, event):
        return ChainFault(expected_seq, f"event {expected_seq} was changed after it was recorded "
                                        "(its content does not match its hash)")
    problem = text_problem(event)
    if problem:
        return ChainFault(expected_seq, f"event {expected_seq} was changed after it was recorded "
                                        f"(its content does not match its hash: it {problem})")
    return None


def _unexplained_removal(events: Sequence[dict[str, Any]]) -> ChainFault | None:
    """A committed event whose text and salt are gone must be named by a later redaction event of the run:
    a text deleted with a SQLite shell, with no redaction recorded, is a change outside the app."""
    redacted = {event["value"].get("event") for event in events
                if event.get("type") == "redaction" and isinstance(event.get("value"), dict)}
    for event in events:
        if event.get("text_commitment") and event.get("text_salt") is None and event.get("id") not in redacted:
            return ChainFault(event.get("seq") or 0, f"the text of event {event.get('seq')} was removed "
                                                     "without a redaction being recorded")
    return None


def first_fault(run: dict[str, Any], events: Sequence[dict[str, Any]], start: int = 0) -> ChainFault | None:
    """The first problem in the run's header, events (from index `start`) and cached head, or None."""
    genesis = genesis_hash(run)
    if start == 0 and run.get("genesis_hash", genesis) != genesis:  # a stored run carries its genesis hash
        return ChainFault(0, "the run's header (label, protocol, author or start time) was changed "
                             "after the run was started")
    prev = events[start - 1]["hash"] if start else genesis
    for index in range(start, len(events)):
        fault = _event_fault(run["id"], index + 1, prev, events[index])
        if fault:
            return fault
        prev = events[index]["hash"]
    fault = _unexplained_removal(events)
    if fault:
        return fault
    if "event_count" in run and run["event_count"] != len(events):
        return ChainFault(min(run["event_count"], len(events)) + 1,
                          f"{len(events)} events are stored but the run counts {run['event_count']}: "
                          "events were added or removed outside the app")
    if "head_hash" in run and run["head_hash"] != prev:
        return ChainFault(len(events), "the run's recorded head does not match its last event")
    return None


def tail_fault(run: dict[str, Any], last: dict[str, Any] | None) -> ChainFault | None:
    """The checks an append can make without reading the whole chain: the run's header, and its last event
    against the run's cached head and count (the event the new ones will link to). The rest of the chain is
    verified whenever the run is read, signed or checked by `db verify`, and by the next append after any
    stored event was changed (the database drops the run's fold snapshot then: db/schema.py)."""
    if run.get("genesis_hash") != genesis_hash(run):
        return ChainFault(0, "the run's header (label, protocol, author or start time) was changed "
                             "after the run was started")
    count = run["event_count"]
    if last is None:
        return None if count == 0 else ChainFault(1, f"the run counts {count} events but none is stored")
    return _event_fault(run["id"], count, last.get("prev_hash"), last) or (
        None if last.get("hash") == run["head_hash"] else
        ChainFault(count, "the run's recorded head does not match its last event"))


def verify_chain(run: dict[str, Any], events: Sequence[dict[str, Any]]) -> list[str]:
    """The problems in a run's stored chain as words: empty when every link holds, else its first fault."""
    fault = first_fault(run, events)
    return [] if fault is None else [fault.problem]


class ChainGuard:
    """Verifies runs' chains, re-hashing only rows whose content changed since they were last verified."""

    def __init__(self, max_runs: int = 2000):
        self._verified: OrderedDict[str, tuple[int, list[int]]] = OrderedDict()
        self._max_runs = max_runs
        self._lock = threading.Lock()

    def check(self, run: dict[str, Any], events: Sequence[dict[str, Any]]) -> ChainFault | None:
        """The run's first fault, or None when header, every event and the cached head verify."""
        with self._lock:
            header, known = self._verified.get(run["id"], (None, []))
        fingerprints = [_row_fingerprint(event) for event in events]
        start = 0
        if header == _header_fingerprint(run):
            while start < min(len(known), len(fingerprints)) and known[start] == fingerprints[start]:
                start += 1
        fault = first_fault(run, events, start)
        with self._lock:
            if fault is None:
                self._verified[run["id"]] = (_header_fingerprint(run), fingerprints)
                self._verified.move_to_end(run["id"])
                while len(self._verified) > self._max_runs:
                    self._verified.popitem(last=False)
            else:
                self._verified.pop(run["id"], None)
        return fault
