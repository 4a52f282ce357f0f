"""Small-count suppression of a report's tables, primary and complementary (pure).

A figure is a pair (known, exact): `known` is its value when `exact`, else a lower bound (a combined report
adding up members' figures, some of which they suppressed). A table's figures are published as:

- a whole number, when exact and not under the threshold;
- "<N" (N the threshold), when exact and under it (0 included);
- "suppressed", when withheld only so that another withheld figure cannot be worked out by subtraction;
- ">=N", when only a lower bound is known (N > 0), else "suppressed".

Complementary suppression: a table's figures fall into groups whose parts add up to a total (each column with
its total row, when the table has one; a row's parts with that row's whole). A group with exactly one withheld
figure would give it away by subtraction, so the smallest published figure of the group is withheld too, until
no group has exactly one.
"""
from __future__ import annotations

import re
from typing import Any

SUPPRESSED = "suppressed"
UNDER = re.compile(r"^<(\d+)$")
AT_LEAST = re.compile(r"^>=(\d+)$")
Figure = tuple[int, bool]  # (known value or lower bound, exact)
Cell = tuple[str, str]  # (row name: an index as text, or "total"; column)


def exact(value: int) -> Figure:
    return (int(value), True)


def parse_cell(value: Any) -> Figure:
    """A published cell back as a figure: a number is exact; '<N' and 'suppressed' are unknown (known 0, a
    lower bound); '>=N' is a lower bound of N. Anything else raises ValueError."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a published figure: {value!r}")
    if isinstance(value, int) and value >= 0:
        return (value, True)
    if isinstance(value, str):
        if value == SUPPRESSED or UNDER.match(value):
            return (0, False)
        match = AT_LEAST.match(value)
        if match:
            return (int(match.group(1)), False)
    raise ValueError(f"not a published figure: {value!r}")


def primary(figure: Figure, threshold: int) -> bool:
    """Whether a figure is withheld on its own: under the threshold, or not known exactly."""
    known, is_exact = figure
    return not is_exact or known < threshold


def render(figure: Figure, withheld: bool, threshold: int) -> int | str:
    """A figure as published (see the module's docstring)."""
    known, is_exact = figure
    if not is_exact:
        return f">={known}" if known > 0 else SUPPRESSED
    if not withheld:
        return known
    return f"<{threshold}" if known < threshold else SUPPRESSED


def groups(table: dict[str, Any]) -> list[list[Cell]]:
    """The groups of a table whose parts add up to a total: every column with its total, every row's parts."""
    names = [str(i) for i in range(len(table["rows"]))] + (["total"] if table.get("total") is not None else [])
    # Rows with no total add up to nothing published: only a row's parts form groups then.
    found = [[(name, column) for name in names] for column in table["columns"]] if "total" in names else []
    if table.get("parts"):
        parts, whole = table["parts"]
        found += [[(name, p) for p in parts] + [(name, whole)] for name in names]
    return found


def withhold(figures: dict[Cell, Figure], cell_groups: list[list[Cell]], threshold: int) -> set[Cell]:
    """The cells to withhold: every primary one, then complementary ones until no group has exactly one."""
    withheld = {cell for cell, figure in figures.items() if primary(figure, threshold)}
    changed = True
    while changed:
        changed = False
        for group in cell_groups:
            hidden = [cell for cell in group if cell in withheld]
            if len(hidden) != 1:
                continue
            shown = sorted((c for c in group if c not in withheld), key=lambda c: (figures[c][0], group.index(c)))
            if shown:
                withheld.add(shown[0])
                changed = True
    return withheld


def publish_table(table: dict[str, Any], threshold: int) -> dict[str, Any]:
    """A table of figures (rows' and total's cells as Figure) as published: the same shape, cells rendered."""
    figures: dict[Cell, Figure] = {}
    for index, row in enumerate(table["rows"]):
        figures.update({(str(index), column): row["cells"][column] for column in table["columns"]})
    if table.get("total") is not None:
        figures.update({("total", column): table["total"][column] for column in table["columns"]})
    withheld = withhold(figures, groups(table), threshold)

    def cells(name: str) -> dict[str, int | str]:
        return {c: render(figures[(name, c)], (name, c) in withheld, threshold) for c in table["columns"]}

    published = {"columns": list(table["columns"]),
                 "rows": [{**{k: v for k, v in row.items() if k != "cells"}, "cells": cells(str(i))}
                          for i, row in enumerate(table["rows"])],
                 "total": cells("total") if table.get("total") is not None else None}
    if table.get("parts"):
        published["parts"] = {"of": table["parts"][1], "parts": list(table["parts"][0])}
    return published


def publish_count(figure: Figure, threshold: int) -> int | str:
    """A figure on its own (no group): withheld when under the threshold or not exact."""
    return render(figure, primary(figure, threshold), threshold)


def percent(part: int, whole: int) -> str:
    """A share as a whole percentage; '<1' rather than a misleading '0' for a small non-zero share."""
    share = 100 * part / whole
    return "<1" if 0 < share <= 0.5 else f"{share:.0f}"  # 0.5 would round to "0" (half to even)


def publish_measure(measure: dict[str, Any], threshold: int) -> dict[str, Any]:
    """One outcome measure as published, by the oversight rules (oversight/suppression.measure_cells).

    `runs` is a count. `total` (people counted in those runs) is withheld (null) unless the runs are shown, since
    a total of so few runs describes one or two operations. The ratio's `part` and `whole` are withheld unless
    its `runs` are shown, and its `percent` unless both part and whole are shown: from a share and one published
    part the other could be worked out."""
    runs = measure["runs"]
    published = {"protocol_id": measure["protocol_id"], "measure": measure["measure"], "label": measure["label"],
                 "runs": publish_count(runs, threshold),
                 "total": None if primary(runs, threshold) else publish_count(measure["total"], threshold),
                 "ratio": None}
    if measure.get("of"):
        paired = measure["paired_runs"]
        ratio: dict[str, Any] = {"of": measure["of"], "runs": publish_count(paired, threshold), "part": None,
                                 "whole": None, "percent": None}
        if not primary(paired, threshold):
            part, whole = measure["part"], measure["whole"]
            ratio["part"], ratio["whole"] = publish_count(part, threshold), publish_count(whole, threshold)
            if not primary(part, threshold) and not primary(whole, threshold) and whole[0] > 0:
                ratio["percent"] = percent(part[0], whole[0])
        published["ratio"] = ratio
    return published
