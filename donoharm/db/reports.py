"""Transparency reports: the runs a period's report counts, the instance id, and the published reports."""
from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

# Live runs started in the period and submitted at least once: what every figure of a report counts.
COUNTED = "f.live = 1 AND f.submitted = 1 AND f.start_day BETWEEN ? AND ?"


def counted_heads(db: Database, since: str, until: str) -> list[dict[str, str]]:
    """The id and chain head of every run a report of the period counts, by id."""
    rows = db.execute(f"SELECT r.id, r.head_hash FROM run_facts f JOIN runs r ON r.id = f.run_id "
                      f"WHERE {COUNTED} ORDER BY r.id", [since, until])
    return [{"run_id": r[0], "head": r[1]} for r in rows]


def operations_accompanied(db: Database, since: str, until: str) -> int:
    """Operations with a counted run; a run that belongs to no operation is an operation of its own."""
    row = db.execute(f"SELECT count(DISTINCT coalesce(r.operation_id, r.id)) FROM run_facts f "
                     f"JOIN runs r ON r.id = f.run_id WHERE {COUNTED}", [since, until]).fetchone()
    return int(row[0])


def protocol_versions(db: Database, since: str, until: str) -> list[dict[str, str]]:
    """The protocol versions (id, version, sha256) of the counted runs."""
    rows = db.execute(f"SELECT DISTINCT r.protocol_id, r.protocol_version, r.protocol_sha256 FROM run_facts f "
                      f"JOIN runs r ON r.id = f.run_id WHERE {COUNTED} ORDER BY 1, 2, 3", [since, until])
    return [{"id": r[0], "version": r[1], "sha256": r[2]} for r in rows]


def instance_id(db: Database) -> str:
    """This instance's stable id (made by the migration that added reports)."""
    return db.execute("SELECT instance_id FROM instance_identity WHERE id = 1").fetchone()[0]


def add_report(db: Database, report: dict[str, Any], heads: list[dict[str, str]]) -> None:
    """Record a published report (its files are written already)."""
    db["reports"].insert({**report, "heads": json.dumps(heads, separators=(",", ":"))})


def published(db: Database) -> list[dict[str, Any]]:
    """Every published report, newest period first (without the counted heads)."""
    rows = db.execute("SELECT id, period_start, period_end, period_label, published_at, published_by, json_sha256, "
                      "pdf_sha256, data_sha256, json_path, pdf_path FROM reports ORDER BY period_start DESC")
    return [dict(r) for r in rows]


def get_report(db: Database, report_id: str) -> dict[str, Any] | None:
    """One published report, with the heads it counted as a list."""
    row = db.execute("SELECT * FROM reports WHERE id = ?", [report_id]).fetchone()
    if row is None:
        return None
    return {**dict(row), "heads": json.loads(row["heads"])}
