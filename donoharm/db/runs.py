"""Runs and their append-only event log."""
from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

RUN_COLUMNS = """r.id, r.protocol_id, r.protocol_version, r.protocol_sha256, r.label, r.mode, r.language,
    u.username AS created_by, r.created_by AS creator_id, r.created_at, r.received_at, r.genesis_hash,
    r.status, r.head_hash, r.event_count, r.submitted_at, r.updated_at, r.operation_id"""


def insert_run(db: Database, run: dict[str, Any], creator_id: int) -> None:
    db.execute(
        """INSERT INTO runs (id, protocol_id, protocol_version, protocol_sha256, label, mode, language,
               created_by, created_at, received_at, genesis_hash, head_hash, updated_at, operation_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [run["id"], run["protocol_id"], run["protocol_version"], run["protocol_sha256"], run["label"],
         run["mode"], run.get("language", "en"), creator_id, run["created_at"], run["received_at"],
         run["genesis_hash"], run["genesis_hash"], run["received_at"], run.get("operation_id")],
    )


def get_run(db: Database, run_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {RUN_COLUMNS} FROM runs r JOIN users u ON u.id = r.created_by WHERE r.id = ?",
                     [run_id]).fetchone()
    return dict(row) if row else None


def runs_of(db: Database, creator_id: int) -> list[dict[str, Any]]:
    """A user's runs, most recently changed first."""
    rows = db.execute(f"SELECT {RUN_COLUMNS} FROM runs r JOIN users u ON u.id = r.created_by "
                      "WHERE r.created_by = ? ORDER BY r.updated_at DESC", [creator_id])
    return [dict(r) for r in rows]


def _event(row: Any) -> dict[str, Any]:
    event = dict(row)
    event["run"] = event.pop("run_id")
    event["value"] = json.loads(event["value"]) if event["value"] is not None else None
    for flag in ("value_is_text", "text_confirmed"):  # stored as 0/1; sealed as false/true
        if event.get(flag) is not None:
            event[flag] = bool(event[flag])
    return event


def events_of(db: Database, run_id: str) -> list[dict[str, Any]]:
    """Every event of a run in sequence order."""
    rows = db.execute("SELECT * FROM events WHERE run_id = ? ORDER BY seq", [run_id])
    return [_event(r) for r in rows]


def run_with_events(db: Database, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A run's row and its events read in one transaction, so its cached head and count match the events read
    even while another request appends (two separate reads could see a half-way state that looks tampered)."""
    if db.conn.in_transaction:
        return get_run(db, run_id), events_of(db, run_id)
    db.execute("BEGIN")
    try:
        return get_run(db, run_id), events_of(db, run_id)
    finally:
        db.execute("COMMIT")


def append_position(db: Database, run_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None,
                                                        dict[str, Any] | None, bool]:
    """What an append starts from, read in one transaction: the run's row, its fold snapshot ({head_hash,
    event_count, state}) if one is kept, its last event, and whether a fault is recorded against it."""
    def read():
        run = get_run(db, run_id)
        fold = db.execute("SELECT head_hash, event_count, state FROM run_folds WHERE run_id = ?",
                          [run_id]).fetchone()
        last = db.execute("SELECT * FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", [run_id]).fetchone()
        faulty = db.execute("SELECT 1 FROM integrity_faults WHERE run_id = ?", [run_id]).fetchone() is not None
        snapshot = {**dict(fold), "state": json.loads(fold["state"])} if fold else None
        return run, snapshot, _event(last) if last else None, faulty

    if db.conn.in_transaction:
        return read()
    db.execute("BEGIN")
    try:
        return read()
    finally:
        db.execute("COMMIT")


def save_fold(db: Database, run_id: str, head_hash: str, event_count: int, state: dict[str, Any]) -> None:
    """Keep the run's fold snapshot as of its new head (in the append's transaction)."""
    db.execute("INSERT INTO run_folds (run_id, head_hash, event_count, state) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (run_id) DO UPDATE SET head_hash = excluded.head_hash, "
               "event_count = excluded.event_count, state = excluded.state",
               [run_id, head_hash, event_count, json.dumps(state, separators=(",", ":"))])


def find_events(db: Database, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored events among these ids, by id (one query for a batch)."""
    rows = db.execute("SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(event_ids)])
    return {row["id"]: _event(row) for row in rows}


def find_event(db: Database, event_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM events WHERE id = ?", [event_id]).fetchone()
    return _event(row) if row else None


def insert_events(db: Database, events: list[dict[str, Any]]) -> None:
    db.conn.executemany(
        """INSERT INTO events (id, run_id, seq, type, step, value, note, at, received_at, actor,
               prev_hash, hash, text_salt, text_commitment, value_is_text, text_confirmed, text_flagged)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [[e["id"], e["run"], e["seq"], e["type"], e["step"],
          json.dumps(e["value"]) if e["value"] is not None else None,
          e["note"], e["at"], e["received_at"], e["actor"], e["prev_hash"], e["hash"],
          e.get("text_salt"), e.get("text_commitment"), e.get("value_is_text"), e.get("text_confirmed"),
          1 if e.get("text_flagged") else 0] for e in events],
    )


def remove_text(db: Database, event_id: str) -> None:
    """Delete an event's free texts and their salt (a redaction): the commitment stays, so the chain verifies.
    The connection's secure_delete overwrites the freed bytes, so the text cannot be read from the file."""
    db.execute("UPDATE events SET note = NULL, value = CASE WHEN value_is_text THEN NULL ELSE value END, "
               "text_salt = NULL, text_flagged = 0 WHERE id = ?", [event_id])


def flagged_texts(db: Database, run_id: str) -> set[str]:
    """The ids of a run's events whose text the personal-data guard marked (and the person confirmed)."""
    return {row[0] for row in db.execute("SELECT id FROM events WHERE run_id = ? AND text_flagged = 1", [run_id])}


def update_run_summary(db: Database, run_id: str, status: str, head_hash: str, event_count: int,
                       submitted_at: str | None, updated_at: str) -> None:
    """Refresh the columns cached from the event fold (used by lists and queues)."""
    db.execute("UPDATE runs SET status = ?, head_hash = ?, event_count = ?, "
               "submitted_at = COALESCE(?, submitted_at), updated_at = ? WHERE id = ?",
               [status, head_hash, event_count, submitted_at, updated_at, run_id])


def chain_position(db: Database, run_id: str) -> tuple[str, int]:
    """The run's head hash and event count, to detect a concurrent append."""
    row = db.execute("SELECT head_hash, event_count FROM runs WHERE id = ?", [run_id]).fetchone()
    return (row["head_hash"], row["event_count"])


def position_of(db: Database, run_id: str, head_hash: str) -> tuple[int, str] | None:
    """Where a hash stands in a run's chain: (seq, received_at) of that event, or (0, the run's) for the genesis."""
    # Nearly always the run's current head (an append just answered with it): found by key, not by a scan.
    row = db.execute("SELECT e.seq, e.received_at FROM runs r "
                     "JOIN events e ON e.run_id = r.id AND e.seq = r.event_count "
                     "WHERE r.id = ? AND r.head_hash = ? AND e.hash = ?", [run_id, head_hash, head_hash]).fetchone()
    if row is None:
        row = db.execute("SELECT seq, received_at FROM events WHERE run_id = ? AND hash = ?",
                         [run_id, head_hash]).fetchone()
    if row is None:
        row = db.execute("SELECT 0 AS seq, received_at FROM runs WHERE id = ? AND genesis_hash = ?",
                         [run_id, head_hash]).fetchone()
    return (row["seq"], row["received_at"]) if row else None


def follow_ups_due_of(db: Database, creator_id: int) -> list[dict[str, Any]]:
    """A user's runs in follow_up (approved, follow-up steps still open), earliest due first, each with
    `follow_up_due_at` (the earliest due among its open follow-up phases, UTC) from the run's summary."""
    rows = db.execute(f"SELECT {RUN_COLUMNS}, f.follow_up_due_at, f.first_submitted_at "
                      "FROM runs r JOIN users u ON u.id = r.created_by "
                      "JOIN run_facts f ON f.run_id = r.id "
                      "WHERE r.created_by = ? AND r.status = 'follow_up' AND f.follow_up_due_at IS NOT NULL "
                      "ORDER BY f.follow_up_due_at, r.label", [creator_id])
    return [dict(r) for r in rows]
