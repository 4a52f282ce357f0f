"""A coalition's roll-up: several instances' signed reports added up into one (pure).

Each input must follow the schema and carry a signature one of the given roots vouches for; duplicates,
overlapping periods of one instance (also through the inputs of a combined report given as an input, so a
regional roll-up and one of its members cannot both count) and thresholds lower than the combining instance's
are refused.

The sum of a figure is exact when every member published it exactly. A member's withheld figure ('<5',
'suppressed') is unknown: the sum is then a lower bound (the members' published parts), published as '>=N', or
'suppressed' when nothing of it is known; such a figure is withheld in the combined table, and suppression
(primary and complementary) is applied again to the combined table at the combining instance's threshold.
"""
from __future__ import annotations

from itertools import product
from typing import Any

from cryptography import x509

from .document import Period, ReportError, data_sha256, document_sha256, parse, verify
from .figures import NO_TOTAL, TABLES
from .suppression import Figure, parse_cell, publish_count, publish_measure, publish_table

KEYS = {"runs_by_protocol": ("protocol_id", "protocol_version"), "red_flags": ("protocol_id", "protocol_version"),
        "follow_ups": ("protocol_id", "protocol_version"), "deviations_by_step": ("protocol_id", "step_id")}


def _add(a: Figure, b: Figure) -> Figure:
    return (a[0] + b[0], a[1] and b[1])


def _figure(value: Any) -> Figure:
    return (0, False) if value is None else parse_cell(value)


def _period(document: dict[str, Any]) -> Period:
    from datetime import date

    p = document["period"]
    return Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), p["label"])


def _covered(document: dict[str, Any]) -> list[tuple[dict[str, str], Period]]:
    """The (instance, period) pairs a report counts: its own, or for a combined report each of its inputs'."""
    if document["kind"] == "combined":
        return [(i["instance"], _period(i)) for i in document.get("inputs", [])]
    return [(document["instance"], _period(document))]


def accept(named: list[tuple[str, bytes]], roots: list[x509.Certificate], threshold: int) -> list[dict[str, Any]]:
    """The reports (name, file bytes) as documents, or ReportError naming the first file that is refused."""
    documents: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    if not named:
        raise ReportError("reports", "give at least one report to combine")
    for name, data in named:
        try:
            document = parse(data)
        except ReportError as error:
            raise ReportError("reports", f"{name}: {error}") from None
        problem = verify(document, roots)
        if problem == "it was not signed with a certificate of this organisation":
            problem = "it was not signed with a certificate issued by one of the trusted roots given"
        if problem:
            raise ReportError("reports", f"{name}: refused: {problem}")
        digest = document_sha256(document)
        if digest in seen:
            raise ReportError("reports", f"{name}: the same report as {seen[digest]}")
        if document["threshold"] < threshold:
            raise ReportError("reports", f"{name}: its threshold ({document['threshold']}) is lower than this "
                                         f"instance's ({threshold}): its figures would be published less protected")
        try:
            covered = _covered(document)
        except ValueError:
            raise ReportError("reports", f"{name}: its period is not a pair of days") from None
        for other_name, other in zip(seen.values(), documents, strict=True):
            for (instance, period), (other_instance, other_period) in product(covered, _covered(other)):
                if instance["id"] == other_instance["id"] and period.overlaps(other_period):
                    raise ReportError("reports", f"{name}: it counts {instance['name']} for {period.label}, which "
                                                 f"overlaps what {other_name} counts of the same instance for "
                                                 f"{other_period.label}: the same runs would count twice")
        seen[digest] = name
        documents.append(document)
    return documents


def _combine_table(name: str, tables: list[dict[str, Any]]) -> dict[str, Any]:
    columns, parts = TABLES[name]
    rows: dict[tuple, dict[str, Any]] = {}
    total = None if name in NO_TOTAL else {c: (0, True) for c in columns}
    for table in tables:
        for row in table["rows"]:
            key = tuple(row[k] for k in KEYS[name])
            entry = rows.setdefault(key, {**{k: row[k] for k in KEYS[name]}, "cells": {c: (0, True) for c in columns}})
            if "text" in row and "text" not in entry:
                entry["text"] = row["text"]
            for c in columns:
                entry["cells"][c] = _add(entry["cells"][c], _figure(row["cells"][c]))
        if total is not None:
            for c in columns:
                total[c] = _add(total[c], _figure(table["total"][c]))
    return {"columns": list(columns), "parts": parts, "rows": [rows[k] for k in sorted(rows)], "total": total}


def _combine_measures(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for measures in lists:
        for m in measures:
            key = (m["protocol_id"], m["measure"])
            entry = found.setdefault(key, {"protocol_id": key[0], "measure": key[1], "label": m["label"],
                                           "of": None, "runs": (0, True), "total": (0, True),
                                           "paired_runs": (0, True), "part": (0, True), "whole": (0, True)})
            entry["runs"] = _add(entry["runs"], _figure(m["runs"]))
            entry["total"] = _add(entry["total"], _figure(m["total"]))
            ratio = m.get("ratio")
            if ratio:
                entry["of"] = ratio["of"]
                entry["paired_runs"] = _add(entry["paired_runs"], _figure(ratio["runs"]))
                entry["part"] = _add(entry["part"], _figure(ratio["part"]))
                entry["whole"] = _add(entry["whole"], _figure(ratio["whole"]))
    return [found[k] for k in sorted(found)]


def combined_figures(documents: list[dict[str, Any]], threshold: int) -> dict[str, Any]:
    """The members' figures added up, suppressed again at `threshold`."""
    operations: Figure = (0, True)
    for document in documents:
        operations = _add(operations, _figure(document["figures"]["operations"]))
    tables = {name: _combine_table(name, [d["figures"]["tables"][name] for d in documents]) for name in TABLES}
    measures = _combine_measures([d["figures"]["measures"] for d in documents])
    return {"operations": publish_count(operations, threshold),
            "tables": {name: publish_table(tables[name], threshold) for name in TABLES},
            "measures": [publish_measure(m, threshold) for m in measures]}


def combined_period(documents: list[dict[str, Any]]) -> Period:
    """The span of the inputs' periods."""
    periods = [_period(d) for d in documents]
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    labels = sorted({p.label for p in periods})
    return Period(start, end, labels[0] if len(labels) == 1 else f"{start.isoformat()}/{end.isoformat()}")


def inputs_of(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each input by its sha256, instance, period and data hash (sorted, so the order given does not matter)."""
    return sorted(({"sha256": document_sha256(d), "instance": d["instance"], "period": d["period"],
                    "data_sha256": d["data_sha256"]} for d in documents), key=lambda i: i["sha256"])


def combined_protocols(documents: list[dict[str, Any]]) -> list[dict[str, str]]:
    unique = {(p["id"], p["version"], p["sha256"]): p for d in documents for p in d["protocols"]}
    return [unique[k] for k in sorted(unique)]


def combined_data_sha256(documents: list[dict[str, Any]]) -> str:
    return data_sha256([d["data_sha256"] for d in documents])
