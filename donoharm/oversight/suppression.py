"""Small-count suppression: what may be published of a count, a median and an outcome measure (pure)."""
from __future__ import annotations

from typing import Any


def suppress(count: int | None, threshold: int) -> str:
    """A count as published: any count under the threshold shows as '<threshold'."""
    if count is None:
        return ""
    return f"<{threshold}" if count < threshold else str(count)


def median_hours(median: tuple[int, float | None], threshold: int) -> float | None:
    """The median hours to submission, withheld when it describes fewer runs than the threshold."""
    # A median of fewer runs than the threshold could single out one operation, so it is withheld.
    count, seconds = median
    if seconds is None or count < threshold:
        return None
    return round(seconds / 3600, 1)


def percent(part: int, whole: int) -> str:
    """A share as a whole percentage ('33'); '<1' rather than a misleading '0' for a small non-zero share."""
    if not whole:
        return ""
    share = 100 * part / whole
    if 0 < share <= 0.5:  # 0.5 would round to "0" (Python rounds half to even)
        return "<1"
    return f"{share:.0f}"


def measure_cells(measure: dict[str, Any], threshold: int) -> dict[str, Any]:
    """What may be published of one outcome measure, as text; None where a figure is withheld.

    `runs` (runs that reported it) is a count like any other. The `total` adds up the people counted in those
    runs: it is withheld when fewer runs than the threshold reported it, as a median of so few runs is, since it
    would describe one or two operations; otherwise it is shown like a count. The `ratio` (None when the measure
    has no denominator) covers the runs that answered both the measure and its denominator: its `part` and
    `whole` are withheld when those runs are fewer than the threshold and otherwise shown like counts, and its
    `percent` is withheld whenever the part or the whole is suppressed, since from a share and either
    published part the other could be worked out.
    """
    cells: dict[str, Any] = {"runs": suppress(measure["runs"], threshold), "total": None, "ratio": None}
    if measure["runs"] >= threshold:
        cells["total"] = suppress(measure["total"], threshold)
    if measure.get("of_step_id"):
        ratio: dict[str, Any] = {"runs": suppress(measure["paired_runs"], threshold), "part": None, "whole": None,
                                 "percent": None}
        if measure["paired_runs"] >= threshold:
            part, whole = measure["paired_total"], measure["paired_of_total"]
            ratio["part"], ratio["whole"] = suppress(part, threshold), suppress(whole, threshold)
            if part >= threshold and whole >= threshold and whole > 0:
                ratio["percent"] = percent(part, whole)
        cells["ratio"] = ratio
    return cells
