"""Oversight figures from summary rows: totals, per version, per step and per outcome measure (pure)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .suppression import median_hours

OUTCOMES = ("started", "submitted", "returned", "approved")
FLAGS = ("flags", "flagged_runs")  # red flags raised in submitted runs; submitted runs with at least one
FOLLOW_UPS = ("follow_ups_due", "follow_ups_on_time", "follow_ups_late", "follow_ups_open")
VERSION_FIGURES = (*OUTCOMES, "deviations", "na", *FLAGS, *FOLLOW_UPS)
STEP_FIGURES = ("runs", "answered", "na", "deviated", "flagged")
MEASURE_FIGURES = ("runs", "total", "paired_runs", "paired_total", "paired_of_total")


@dataclass
class Figures:
    """What the oversight page and the CSV show, before suppression."""

    totals: dict[str, int]
    median_hours: float | None
    versions: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for key in (*OUTCOMES, *FLAGS, *FOLLOW_UPS):
            self.totals.setdefault(key, 0)


def measure_label(name: str) -> str:
    """An outcome measure's name as words: 'people-screened-in-private' -> 'People screened in private'."""
    words = name.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _open_follow_ups(entry: dict[str, Any]) -> None:
    entry["follow_ups_open"] = max(0, entry["follow_ups_due"] - entry["follow_ups_on_time"]
                                   - entry["follow_ups_late"])


def _versions(started: Iterable[dict], outcomes: Iterable[dict], medians: Callable, threshold: int) -> list[dict]:
    versions: dict[tuple[str, str], dict[str, Any]] = {}

    def version(protocol_id: str, number: str) -> dict[str, Any]:
        return versions.setdefault((protocol_id, number), {
            "protocol_id": protocol_id, "protocol_version": number, **dict.fromkeys(VERSION_FIGURES, 0)})

    for row in started:
        version(row["protocol_id"], row["protocol_version"])["started"] += row["started"]
    for row in outcomes:
        entry = version(row["protocol_id"], row["protocol_version"])
        for key in ("submitted", "returned", "approved", "deviations", "na", *FLAGS, *FOLLOW_UPS[:3]):
            entry[key] += row.get(key) or 0
    ordered = []
    for key in sorted(versions, key=lambda k: (k[0], tuple(int(p) for p in k[1].split(".")))):
        entry = versions[key]
        _open_follow_ups(entry)
        entry["median_hours"] = median_hours(medians(key), threshold)
        ordered.append(entry)
    return ordered


def _median(ordered: list[float]) -> float | None:
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def submission_medians(seconds: dict[tuple[str, str], list[float]]) -> Callable[[tuple[str, str] | None], tuple]:
    """`medians` for build_figures from each version's seconds to submission: (runs, median seconds) for a
    version, or over every version given when the key is None."""
    by_version = {key: sorted(values) for key, values in seconds.items()}
    everything = sorted(value for values in by_version.values() for value in values)

    def medians(key: tuple[str, str] | None) -> tuple[int, float | None]:
        values = everything if key is None else by_version.get(key, [])
        return len(values), _median(values)
    return medians


def _steps(step_rows: Iterable[dict], step_text: Callable[[str, str], str]) -> list[dict[str, Any]]:
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    for row in step_rows:  # step ids are stable across versions, so a step's figures add up over them
        key = (row["protocol_id"], row["step_id"])
        entry = steps.get(key)
        if entry is None:  # the text once per step, not once per version's row
            entry = steps[key] = {"protocol_id": key[0], "step_id": key[1], "text": step_text(*key),
                                  **dict.fromkeys(STEP_FIGURES, 0)}
        for key in STEP_FIGURES:
            entry[key] += row.get(key) or 0
    for entry in steps.values():
        entry["open"] = entry["runs"] - entry["answered"] - entry["na"]
    # Most problematic first: red flags (which include deviations on the step), then deviations, N/A, open.
    return sorted(steps.values(), key=lambda s: (-s["flagged"], -s["deviated"], -s["na"], -s["open"],
                                                 s["protocol_id"], s["step_id"]))


def _measures(measure_rows: Iterable[dict], measure_info: Callable[[str, str], dict]) -> list[dict[str, Any]]:
    measures: dict[tuple[str, str], dict[str, Any]] = {}
    for row in measure_rows:  # measure names, like step ids, are stable across versions
        key = (row["protocol_id"], row["measure"])
        if key not in measures:
            info = measure_info(*key)
            measures[key] = {"protocol_id": key[0], "measure": key[1],
                             "label": info.get("label") or measure_label(key[1]),
                             "step_id": info.get("step_id", ""), "text": info.get("text", ""),
                             "of_step_id": info.get("of_step_id"), "of_text": info.get("of_text", ""),
                             "of_label": info.get("of_label", ""), "position": info.get("position", 0),
                             **dict.fromkeys(MEASURE_FIGURES, 0)}
        for figure in MEASURE_FIGURES:
            measures[key][figure] += row.get(figure) or 0
    return sorted(measures.values(), key=lambda m: (m["protocol_id"], m["position"], m["measure"]))


def build_figures(started: Iterable[dict], outcomes: Iterable[dict], medians: Callable[[tuple[str, str] | None], tuple],
                  step_rows: Iterable[dict], step_text: Callable[[str, str], str], threshold: int,
                  measure_rows: Iterable[dict] = (),
                  measure_info: Callable[[str, str], dict] = lambda protocol_id, name: {}) -> Figures:
    """Combine the summary rows of a period into totals, a per-version comparison, per-step figures and the
    outcome measures.

    `medians(None)` gives (runs, median seconds to submission) over the period, `medians((id, version))` per
    version; `measure_info(protocol id, measure)` says which step reports a measure and what its denominator is.
    """
    versions = _versions(started, outcomes, medians, threshold)
    totals = {key: sum(v[key] for v in versions) for key in (*OUTCOMES, *FLAGS, *FOLLOW_UPS)}
    return Figures(totals, median_hours(medians(None), threshold), versions, _steps(step_rows, step_text),
                   _measures(measure_rows, measure_info))
