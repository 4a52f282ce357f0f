"""Each day's and month's times to first submission, per protocol version, as sorted arrays (for the medians).

A median cannot be added up from totals: it needs the values. Kept beside the day and month totals by the same
append (db/summaries.py), a period's values are read as a few hundred packed arrays (little-endian doubles, the
exact values of run_facts.seconds_to_submit) instead of one row per run.
"""
from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, insort

from sqlite_utils import Database

TABLES = (("submit_days", "start_day"), ("submit_months", "month"))


def pack(values: array) -> bytes:
    if sys.byteorder == "big":  # stored little-endian, so a database moved between machines reads the same
        values = array("d", values)
        values.byteswap()
    return values.tobytes()


def unpack(blob: bytes) -> array:
    values = array("d")
    values.frombytes(blob)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def move(db: Database, version: tuple[str, str], day: str, old: float | None, new: float | None) -> None:
    """Replace a run's time to submission `old` by `new` (either may be None) in its day's and month's arrays."""
    if old == new:
        return
    for table, column, when in ((*TABLES[0], day), (*TABLES[1], day[:7])):
        key = [*version, when]
        row = db.execute(f"SELECT seconds FROM {table} WHERE protocol_id = ? AND protocol_version = ? "
                         f"AND {column} = ?", key).fetchone()
        values = unpack(row[0]) if row else array("d")
        if old is not None:
            at = bisect_left(values, old)
            if at < len(values) and values[at] == old:
                del values[at]
        if new is not None:
            insort(values, new)
        if values:
            db.execute(f"INSERT OR REPLACE INTO {table} (protocol_id, protocol_version, {column}, seconds) "
                       f"VALUES (?, ?, ?, ?)", [*key, pack(values)])
        elif row:
            db.execute(f"DELETE FROM {table} WHERE protocol_id = ? AND protocol_version = ? AND {column} = ?", key)


def read(db: Database, table: str, first: str, last: str, protocol: str | None) -> list[tuple[str, str, array]]:
    """(protocol id, version, values) of every day (or month) from first to last."""
    column = dict(TABLES)[table]
    where, params = f"{column} BETWEEN ? AND ?", [first, last]
    if protocol:
        where, params = f"protocol_id = ? AND {where}", [protocol, *params]
    rows = db.execute(f"SELECT protocol_id, protocol_version, seconds FROM {table} WHERE {where}", params)
    return [(r[0], r[1], unpack(r[2])) for r in rows]


def rebuild(db: Database) -> None:
    """Recompute both tables from the per-run summaries."""
    groups: dict[tuple[str, str, str, str], list[float]] = {}
    rows = db.execute("SELECT protocol_id, protocol_version, start_day, seconds_to_submit FROM run_facts "
                      "WHERE live = 1 AND submitted = 1 AND seconds_to_submit IS NOT NULL")
    for protocol_id, version, day, seconds in rows:
        groups.setdefault(("submit_days", protocol_id, version, day), []).append(seconds)
        groups.setdefault(("submit_months", protocol_id, version, day[:7]), []).append(seconds)
    for table, _column in TABLES:
        db.execute(f"DELETE FROM {table}")
    for (table, *key), values in groups.items():
        column = dict(TABLES)[table]
        db.execute(f"INSERT INTO {table} (protocol_id, protocol_version, {column}, seconds) VALUES (?, ?, ?, ?)",
                   [*key, pack(array("d", sorted(values)))])
