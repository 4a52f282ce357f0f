"""Fast bulk inserts for building large databases (benchmarks); never used while serving."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database


@contextmanager
def bulk_mode(db: Database) -> Iterator[Database]:
    """Trade durability for speed on this connection while a throwaway database is filled."""
    db.execute("PRAGMA synchronous=OFF")
    try:
        yield db
    finally:
        db.execute("PRAGMA synchronous=FULL")


def insert_users(db: Database, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Insert (username, password_hash, role, created_at) rows."""
    db.conn.executemany("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)", rows)


def user_ids(db: Database) -> dict[str, int]:
    return {r["username"]: r["id"] for r in db.execute("SELECT id, username FROM users")}


def insert_runs(db: Database, runs: Iterable[dict[str, Any]]) -> None:
    """Insert runs with their cached summary columns already computed."""
    db.conn.executemany(
        """INSERT INTO runs (id, protocol_id, protocol_version, protocol_sha256, label, mode, language, created_by,
               created_at, received_at, genesis_hash, status, head_hash, event_count, submitted_at, updated_at)
           VALUES (:id, :protocol_id, :protocol_version, :protocol_sha256, :label, :mode, :language, :creator_id,
               :created_at, :received_at, :genesis_hash, :status, :head_hash, :event_count, :submitted_at,
               :updated_at)""", runs)


def insert_events(db: Database, events: Iterable[dict[str, Any]]) -> None:
    """Insert sealed events (as the chain made them) in one statement."""
    db.conn.executemany(
        """INSERT INTO events (id, run_id, seq, type, step, value, note, at, received_at, actor, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        ([e["id"], e["run"], e["seq"], e["type"], e["step"],
          json.dumps(e["value"]) if e["value"] is not None else None, e["note"], e["at"], e["received_at"],
          e["actor"], e["prev_hash"], e["hash"]] for e in events))


def counts(db: Database) -> tuple[int, int]:
    """(runs, events) in the database."""
    return (db.execute("SELECT count(*) FROM runs").fetchone()[0],
            db.execute("SELECT count(*) FROM events").fetchone()[0])


def forget_planner_statistics(db: Database) -> None:
    """Plan queries as a server's database does: the app never runs ANALYZE, so its queries and indexes are
    made for SQLite's default estimates. (Statistics gathered once and then left behind by a new index misled
    the planner: the review queue took 22 ms instead of 0.05 ms on the benchmark database.)"""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        db.execute("DELETE FROM sqlite_stat1")
