"""The oversight figures as CSV: one figure per row, small counts suppressed as on the page (pure)."""
from __future__ import annotations

import csv
import io
from typing import Any

from .figures import FLAGS, FOLLOW_UPS, OUTCOMES, STEP_FIGURES, VERSION_FIGURES, Figures
from .suppression import measure_cells, suppress

# Spreadsheets run a cell starting with one of these as a formula (OWASP's list: = + - @, tab and carriage
# return, which some import as leading whitespace before the formula; and their full-width forms).
FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
HEADER = ["period_from", "period_to", "scope", "protocol_id", "protocol_version", "step_id", "step_text", "measure",
          "value"]


def _safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading quote before anything that could start a formula."""
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_STARTERS:
        return "'" + value
    return value


def _hours(value: float | None, threshold: int) -> str:
    return f"{value:.1f}" if value is not None else f"<{threshold} runs"


def to_csv(figures: Figures, since: str, until: str, protocol: str | None, threshold: int) -> str:
    """The figures as CSV, one figure per row, with small counts suppressed as on the page.

    Outcome measures are rows of scope `measure`: the measure's name gives its total, `<name>.runs` the runs
    that reported it, and where it has a denominator `<name>.ratio_runs`, `<name>.numerator`,
    `<name>.denominator` (on the denominator's step) and `<name>.percent`, over the runs that answered both.
    A figure withheld because too few runs report it reads `<N runs`; a percentage withheld because its
    numerator or denominator is suppressed reads `withheld`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)

    def row(scope, protocol_id, number, step_id, text, measure, value):
        writer.writerow([_safe_cell(cell) for cell in (since, until, scope, protocol_id, number, step_id, text,
                                                        measure, value)])

    for key in OUTCOMES:
        row("all", protocol or "", "", "", "", key, suppress(figures.totals[key], threshold))
    row("all", protocol or "", "", "", "", "median_hours_to_submit", _hours(figures.median_hours, threshold))
    for key in (*FLAGS, *FOLLOW_UPS):
        row("all", protocol or "", "", "", "", key, suppress(figures.totals[key], threshold))
    for v in figures.versions:
        for key in VERSION_FIGURES:
            row("version", v["protocol_id"], v["protocol_version"], "", "", key, suppress(v.get(key, 0), threshold))
        row("version", v["protocol_id"], v["protocol_version"], "", "", "median_hours_to_submit",
            _hours(v["median_hours"], threshold))
    for s in figures.steps:
        for key in STEP_FIGURES:
            row("step", s["protocol_id"], "", s["step_id"], s["text"], key, suppress(s.get(key, 0), threshold))
    few = f"<{threshold} runs"
    for m in figures.measures:
        cells, name = measure_cells(m, threshold), m["measure"]
        own = ("measure", m["protocol_id"], "", m["step_id"], m["text"])
        row(*own, name, cells["total"] or few)
        row(*own, f"{name}.runs", cells["runs"])
        ratio = cells["ratio"]
        if ratio is not None:
            row(*own, f"{name}.ratio_runs", ratio["runs"])
            row(*own, f"{name}.numerator", ratio["part"] or few)
            row("measure", m["protocol_id"], "", m["of_step_id"], m["of_text"], f"{name}.denominator",
                ratio["whole"] or few)
            row(*own, f"{name}.percent", ratio["percent"] or "withheld")
    return out.getvalue()
