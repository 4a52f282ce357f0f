"""Oversight figures from summary rows: totals, per version, per step, small-count suppression, SVG and CSV (pure)."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

OUTCOMES = ("started", "submitted", "returned", "approved")
CHART_STEPS = 10


@dataclass
class Figures:
    """What the oversight page and the CSV show, before suppression."""

    totals: dict[str, int]
    median_hours: float | None
    versions: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)


def suppress(count: int | None, threshold: int) -> str:
    """A count as published: any count under the threshold shows as '<threshold'."""
    if count is None:
        return ""
    return f"<{threshold}" if count < threshold else str(count)


def _median_hours(median: tuple[int, float | None], threshold: int) -> float | None:
    # A median of fewer runs than the threshold could single out one operation, so it is withheld.
    count, seconds = median
    if seconds is None or count < threshold:
        return None
    return round(seconds / 3600, 1)


def build_figures(started: Iterable[dict], outcomes: Iterable[dict], medians: Callable[[tuple[str, str] | None], tuple],
                  step_rows: Iterable[dict], step_text: Callable[[str, str], str], threshold: int) -> Figures:
    """Combine the summary rows of a period into totals, a per-version comparison and per-step figures.

    `medians(None)` gives (runs, median seconds to submission) over the period, `medians((id, version))` per version.
    """
    versions: dict[tuple[str, str], dict[str, Any]] = {}

    def version(protocol_id: str, number: str) -> dict[str, Any]:
        return versions.setdefault((protocol_id, number), {
            "protocol_id": protocol_id, "protocol_version": number, "started": 0, "submitted": 0,
            "returned": 0, "approved": 0, "deviations": 0, "na": 0})

    for row in started:
        version(row["protocol_id"], row["protocol_version"])["started"] += row["started"]
    for row in outcomes:
        entry = version(row["protocol_id"], row["protocol_version"])
        for key in ("submitted", "returned", "approved", "deviations", "na"):
            entry[key] += row[key] or 0
    totals = {key: sum(v[key] for v in versions.values()) for key in OUTCOMES}
    ordered = []
    for key in sorted(versions, key=lambda k: (k[0], tuple(int(p) for p in k[1].split(".")))):
        entry = versions[key]
        entry["median_hours"] = _median_hours(medians(key), threshold)
        ordered.append(entry)
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    for row in step_rows:  # step ids are stable across versions, so a step's figures add up over them
        entry = steps.setdefault((row["protocol_id"], row["step_id"]), {
            "protocol_id": row["protocol_id"], "step_id": row["step_id"],
            "text": step_text(row["protocol_id"], row["step_id"]), "runs": 0, "answered": 0, "na": 0, "deviated": 0})
        for key in ("runs", "answered", "na", "deviated"):
            entry[key] += row[key] or 0
    for entry in steps.values():
        entry["open"] = entry["runs"] - entry["answered"] - entry["na"]
    ranked = sorted(steps.values(), key=lambda s: (-s["deviated"], -s["na"], -s["open"], s["protocol_id"],
                                                   s["step_id"]))
    return Figures(totals, _median_hours(medians(None), threshold), ordered, ranked)


def _shorten(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(steps: list[dict[str, Any]], threshold: int, labels: dict[str, str]) -> Markup:
    """An SVG bar chart of deviations and N/A per step (most problematic first); small counts draw no bar."""
    shown = steps[:CHART_STEPS]
    row_height, label_height, width, left = 46, 18, 360, 8
    bar_area = width - left - 60
    height = 36 + row_height * max(len(shown), 1)
    largest = max([s["deviated"] for s in shown] + [s["na"] for s in shown] + [1])
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-labelledby="chart-title">',
             f'<title id="chart-title">{escape(labels["title"])}</title>',
             # Not-applicable bars are hatched as well as a different hue: the two series differ by pattern.
             '<defs><pattern id="chart-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#3d2375"/>'
             '<rect width="3" height="6" fill="#ffffff"/></pattern></defs>',
             f'<rect x="{left}" y="4" width="12" height="12" fill="#a4161a" class="chart-deviated"/>',
             f'<text x="{left + 16}" y="15" font-size="12">{escape(labels["deviated"])}</text>',
             f'<rect x="{left + 150}" y="4" width="12" height="12" fill="url(#chart-hatch)" stroke="#3d2375" '
             'class="chart-na"/>',
             f'<text x="{left + 166}" y="15" font-size="12">{escape(labels["na"])}</text>']
    for index, step in enumerate(shown):
        top = 30 + index * row_height
        parts.append(f'<text x="{left}" y="{top + 12}" font-size="12" class="chart-label">'
                     f'{escape(_shorten(step["text"]))}</text>')
        for offset, key, colour in ((label_height - 4, "deviated", "#a4161a"), (label_height + 9, "na", "#3d2375")):
            value = step[key]
            y = top + offset
            length = 0 if value < threshold else max(2, round(bar_area * value / largest))
            if length:
                fill = "url(#chart-hatch)" if key == "na" else colour
                parts.append(f'<rect x="{left}" y="{y}" width="{length}" height="11" fill="{fill}" stroke="{colour}" '
                             f'class="chart-{key}"/>')
            parts.append(f'<text x="{left + length + 4}" y="{y + 10}" font-size="11">'
                         f'{escape(suppress(value, threshold))}</text>')
    if not shown:
        parts.append(f'<text x="{left}" y="50" font-size="12">{escape(labels["empty"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# Spreadsheets run a cell starting with one of these as a formula (OWASP's list: = + - @, tab and carriage
# return, which some import as leading whitespace before the formula; and their full-width forms).
FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading quote before anything that could start a formula."""
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_STARTERS:
        return "'" + value
    return value


def to_csv(figures: Figures, since: str, until: str, protocol: str | None, threshold: int) -> str:
    """The figures as CSV, one measure per row, with small counts suppressed as on the page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period_from", "period_to", "scope", "protocol_id", "protocol_version", "step_id", "step_text",
                     "measure", "value"])

    def row(scope, protocol_id, number, step_id, text, measure, value):
        writer.writerow([_safe_cell(cell) for cell in (since, until, scope, protocol_id, number, step_id, text,
                                                        measure, value)])

    for key in OUTCOMES:
        row("all", protocol or "", "", "", "", key, suppress(figures.totals[key], threshold))
    row("all", protocol or "", "", "", "", "median_hours_to_submit", _hours(figures.median_hours, threshold))
    for v in figures.versions:
        for key in (*OUTCOMES, "deviations", "na"):
            row("version", v["protocol_id"], v["protocol_version"], "", "", key, suppress(v[key], threshold))
        row("version", v["protocol_id"], v["protocol_version"], "", "", "median_hours_to_submit",
            _hours(v["median_hours"], threshold))
    for s in figures.steps:
        for key in ("runs", "answered", "na", "deviated"):
            row("step", s["protocol_id"], "", s["step_id"], s["text"], key, suppress(s[key], threshold))
    return out.getvalue()


def _hours(value: float | None, threshold: int) -> str:
    return f"{value:.1f}" if value is not None else f"<{threshold} runs"
