"""A report's figures before suppression, from the oversight summary rows of a period (pure).

Every figure counts live runs started in the period and submitted at least once (the oversight summaries only
hold live runs; practice runs never count). The tables, each a list of rows with a total row:

- runs_by_protocol: per protocol version, runs submitted, returned at least once, approved, with a red flag;
- red_flags: per protocol version, red flags by kind (a flagged answer, a deviation) and all of them;
- follow_ups: per protocol version with follow-ups, due, done on time, done late, still open;
- deviations_by_step: per protocol and step (step ids are stable across versions), runs with a deviation on the
  step and runs in which it raised a red flag (no total row: see NO_TOTAL).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .suppression import Figure, exact, publish_count, publish_measure, publish_table

TABLES = {
    "runs_by_protocol": (("submitted", "returned", "approved", "flagged_runs"), None),
    "red_flags": (("answer", "deviation", "all"), (("answer", "deviation"), "all")),
    "follow_ups": (("due", "on_time", "late", "open"), (("on_time", "late", "open"), "due")),
    "deviations_by_step": (("deviated", "flagged"), None),
}
# A step table's column sums count run-step pairs, which are not a figure of their own, and would let a
# withheld deviation count elsewhere (red_flags) be worked out: that table has no total row.
NO_TOTAL = ("deviations_by_step",)


def _version_key(row: dict[str, Any]) -> tuple:
    return row["protocol_id"], tuple(int(p) if p.isdigit() else p for p in row["protocol_version"].split("."))


def _table(name: str, rows: list[tuple[dict[str, Any], dict[str, int]]]) -> dict[str, Any]:
    columns, parts = TABLES[name]
    return {"columns": list(columns), "parts": parts,
            "rows": [{**key, "cells": {c: exact(cells[c]) for c in columns}} for key, cells in rows],
            "total": None if name in NO_TOTAL else {c: exact(sum(cells[c] for _key, cells in rows))
                                                    for c in columns}}


def version_tables(outcomes: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """runs_by_protocol, red_flags and follow_ups from oversight_db.outcomes_by_version rows."""
    runs, flags, follow_ups = [], [], []
    for row in sorted(outcomes, key=_version_key):
        value = {k: int(v or 0) for k, v in row.items() if k not in ("protocol_id", "protocol_version")}
        key = {"protocol_id": row["protocol_id"], "protocol_version": row["protocol_version"]}
        if value.get("submitted"):
            runs.append((key, value))
        # Every deviation is a red flag; the other flags are answers the protocol marks as a sign of harm.
        deviation = min(value.get("deviations", 0), value.get("flags", 0))
        if value.get("flags"):
            flags.append((key, {"answer": value["flags"] - deviation, "deviation": deviation,
                                "all": value["flags"]}))
        if value.get("follow_ups_due"):
            due, on_time, late = value["follow_ups_due"], value.get("follow_ups_on_time", 0), \
                value.get("follow_ups_late", 0)
            follow_ups.append((key, {"due": due, "on_time": on_time, "late": late,
                                     "open": max(0, due - on_time - late)}))
    return {"runs_by_protocol": _table("runs_by_protocol", runs), "red_flags": _table("red_flags", flags),
            "follow_ups": _table("follow_ups", follow_ups)}


def step_table(step_rows: Iterable[dict[str, Any]], step_text: Callable[[str, str], str]) -> dict[str, Any]:
    """deviations_by_step from oversight_db.step_figures rows: only steps that deviated or raised a flag."""
    steps: dict[tuple[str, str], dict[str, int]] = {}
    for row in step_rows:
        entry = steps.setdefault((row["protocol_id"], row["step_id"]), {"deviated": 0, "flagged": 0})
        entry["deviated"] += int(row.get("deviated") or 0)
        entry["flagged"] += int(row.get("flagged") or 0)
    rows = [({"protocol_id": p, "step_id": s, "text": step_text(p, s)}, cells)
            for (p, s), cells in sorted(steps.items()) if cells["deviated"] or cells["flagged"]]
    return _table("deviations_by_step", rows)


def measure_figures(measure_rows: Iterable[dict[str, Any]], measure_info: Callable[[str, str], dict]
                    ) -> list[dict[str, Any]]:
    """The outcome measures, as figures, from oversight_db.measure_figures rows (summed over versions)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in measure_rows:
        key = (row["protocol_id"], row["measure"])
        entry = found.setdefault(key, {"runs": 0, "total": 0, "paired_runs": 0, "part": 0, "whole": 0})
        for mine, theirs in (("runs", "runs"), ("total", "total"), ("paired_runs", "paired_runs"),
                             ("part", "paired_total"), ("whole", "paired_of_total")):
            entry[mine] += int(row.get(theirs) or 0)
    measures = []
    for (protocol_id, name), values in sorted(found.items()):
        info = measure_info(protocol_id, name)
        measures.append({"protocol_id": protocol_id, "measure": name, "label": info.get("label") or name,
                         "of": info.get("of_step_id") or None,
                         **{k: exact(v) for k, v in values.items()}})
    return measures


def publish(operations: Figure, tables: dict[str, dict[str, Any]], measures: list[dict[str, Any]],
            threshold: int) -> dict[str, Any]:
    """The figures as a report publishes them, every table suppressed on its own (see suppression.py)."""
    return {"operations": publish_count(operations, threshold),
            "tables": {name: publish_table(tables[name], threshold) for name in TABLES},
            "measures": [publish_measure(m, threshold) for m in measures]}
