"""What a public report publishes of its figures (transparency/suppression.py), written for mutants
`make mutate` found alive (issue 14): how each figure is shown, which are withheld so that none can be worked
out by subtraction (also when withholding one figure exposes another in a second group), and the measures."""
from __future__ import annotations

import pytest

from donoharm.transparency.suppression import (
    exact,
    groups,
    parse_cell,
    percent,
    primary,
    publish_count,
    publish_measure,
    publish_table,
    render,
)

T = 5  # the threshold in these tests


@pytest.mark.parametrize(("cell", "figure"), [(7, (7, True)), (0, (0, True)), ("<5", (0, False)),
                                              ("<10", (0, False)), ("suppressed", (0, False)), (">=12", (12, False))])
def test_a_published_cell_reads_back_as_a_figure(cell, figure):
    assert parse_cell(cell) == figure


@pytest.mark.parametrize("cell", [True, False, None, -1, 1.5, "5", ">=", ">=x", "<5 ", "x<5", ">=12 people",
                                  "Suppressed", "withheld"])
def test_anything_else_is_not_a_published_figure(cell):
    with pytest.raises(ValueError, match="not a published figure"):
        parse_cell(cell)


def test_each_figure_is_shown_as_the_report_format_says():
    assert exact(7.0) == (7, True) and isinstance(exact(7.0)[0], int)
    assert [primary(f, T) for f in [(4, True), (5, True), (0, True), (9, False)]] == [True, False, True, True]
    assert render((9, True), False, T) == 9
    assert render((3, True), True, T) == "<5"
    assert render((0, True), True, T) == "<5"
    assert render((5, True), True, T) == "suppressed"  # withheld only to protect another figure
    assert render((9, False), True, T) == ">=9" and render((9, False), False, T) == ">=9"
    assert render((0, False), True, T) == "suppressed"
    assert render((1, False), True, T) == ">=1"  # a lower bound of one is still a bound
    assert [publish_count(f, T) for f in [(4, True), (5, True), (6, False), (0, False)]] == ["<5", 5, ">=6",
                                                                                           "suppressed"]


def test_percentages_are_whole_and_a_small_share_is_not_shown_as_nothing():
    assert [percent(1, 3), percent(2, 3), percent(0, 10), percent(1, 201), percent(1, 1000), percent(10, 10),
            percent(1, 100), percent(3, 200), percent(1, 200)] == ["33", "67", "0", "<1", "<1", "100", "1", "2", "<1"]


def table(rows, total=None, parts=None, columns=("women", "men", "people")):
    found = {"columns": list(columns), "rows": [{"protocol_id": f"p{i}", "cells": cells} for i, cells in
                                                enumerate(rows)], "total": total}
    if parts:
        found["parts"] = parts
    return found


def cells(*figures, columns=None):
    columns = columns or ("women", "men", "people")
    return {c: f if isinstance(f, tuple) else exact(f) for c, f in zip(columns, figures, strict=True)}


def test_the_groups_are_each_column_with_its_total_and_each_rows_parts_with_its_whole():
    with_total = table([cells(1, 2, 3), cells(4, 5, 9)], total=cells(5, 7, 12), parts=(["women", "men"], "people"))
    assert groups(with_total) == [
        [("0", "women"), ("1", "women"), ("total", "women")],
        [("0", "men"), ("1", "men"), ("total", "men")],
        [("0", "people"), ("1", "people"), ("total", "people")],
        [("0", "women"), ("0", "men"), ("0", "people")],
        [("1", "women"), ("1", "men"), ("1", "people")],
        [("total", "women"), ("total", "men"), ("total", "people")],
    ]
    # No total row: columns add up to nothing published, only the rows' parts form groups.
    assert groups(table([cells(1, 2, 3)], parts=(["women", "men"], "people"))) == [
        [("0", "women"), ("0", "men"), ("0", "people")]]
    assert groups(table([cells(1, 2, 3)])) == []


RF, R = ("runs", "flagged"), ("runs",)


def test_a_lone_withheld_figure_takes_the_smallest_other_of_its_column_with_it():
    rows = [cells(12, 3, columns=RF), cells(9, 7, columns=RF)]
    published = publish_table(table(rows, total=cells(21, 10, columns=RF), columns=RF), T)
    assert published == {"columns": ["runs", "flagged"],
                         "rows": [{"protocol_id": "p0", "cells": {"runs": 12, "flagged": "<5"}},
                                  {"protocol_id": "p1", "cells": {"runs": 9, "flagged": "suppressed"}}],
                         "total": {"runs": 21, "flagged": 10}}


def test_between_equal_figures_the_first_in_the_group_is_withheld():
    published = publish_table(table([cells(n, columns=R) for n in (3, 8, 8)], total=cells(19, columns=R), columns=R), T)
    assert [row["cells"]["runs"] for row in published["rows"]] == ["<5", "suppressed", 8]
    assert published["total"] == {"runs": 19}


def test_a_row_whose_part_is_withheld_withholds_another_part_and_says_what_adds_up():
    published = publish_table(table([cells(2, 6, 8), cells(9, 12, 21)], parts=(["women", "men"], "people")), T)
    assert [row["cells"] for row in published["rows"]] == [
        {"women": "<5", "men": "suppressed", "people": 8}, {"women": 9, "men": 12, "people": 21}]
    assert published["total"] is None
    assert published["parts"] == {"of": "people", "parts": ["women", "men"]}


def test_a_figure_withheld_for_one_group_is_protected_in_its_other_groups_too():
    """A member's suppressed figure (a lower bound) in a combined report: withholding it in its row exposes a
    column, which a second pass protects, and so on until no group has exactly one figure withheld."""
    rows = [cells(10, 12, 22), cells(30, 20, (0, False))]
    published = publish_table(table(rows, total=cells(40, 32, 52), parts=(["women", "men"], "people")), T)
    assert [row["cells"] for row in published["rows"]] == [
        {"women": "suppressed", "men": "suppressed", "people": "suppressed"},
        {"women": "suppressed", "men": "suppressed", "people": "suppressed"}]
    assert published["total"] == {"women": 40, "men": 32, "people": 52}


def measure(runs, total=(40, True), **ratio):
    found = {"protocol_id": "p", "measure": "screened", "label": "Screened in private", "runs": runs,
             "total": total}
    if ratio:
        found.update({"of": "people-present", **ratio})
    return found


def test_a_measure_of_enough_runs_is_published_with_its_ratio():
    published = publish_measure(measure((12, True), paired_runs=(8, True), part=(6, True), whole=(30, True)), T)
    assert published == {"protocol_id": "p", "measure": "screened", "label": "Screened in private", "runs": 12,
                         "total": 40, "ratio": {"of": "people-present", "runs": 8, "part": 6, "whole": 30,
                                                "percent": "20"}}


def test_a_ratio_with_a_withheld_part_has_no_percent():
    ratio = publish_measure(measure((12, True), paired_runs=(8, True), part=(3, True), whole=(30, True)), T)["ratio"]
    assert ratio == {"of": "people-present", "runs": 8, "part": "<5", "whole": 30, "percent": None}
    ratio = publish_measure(measure((12, True), paired_runs=(8, True), part=(6, True), whole=(30, False)), T)["ratio"]
    assert ratio == {"of": "people-present", "runs": 8, "part": 6, "whole": ">=30", "percent": None}


def test_a_measure_of_too_few_runs_publishes_no_total_and_no_ratio_figures():
    published = publish_measure(measure((4, True), paired_runs=(4, True), part=(6, True), whole=(30, True)), T)
    assert published["runs"] == "<5" and published["total"] is None
    assert published["ratio"] == {"of": "people-present", "runs": "<5", "part": None, "whole": None,
                                  "percent": None}
    assert publish_measure(measure((6, False)), T)["total"] is None  # a lower bound of runs is withheld too
    assert publish_measure(measure((12, True)), T)["ratio"] is None  # no denominator


def test_a_percentage_needs_a_whole_above_zero_even_with_the_smallest_threshold():
    ratio = publish_measure(measure((3, True), paired_runs=(2, True), part=(1, True), whole=(1, True)), 1)["ratio"]
    assert ratio["percent"] == "100"


def test_with_no_threshold_a_ratio_of_a_zero_whole_has_no_percent():
    """DONOHARM_OVERSIGHT_MIN_COUNT=0 publishes every figure; a share of nothing is not a figure."""
    ratio = publish_measure(measure((3, True), paired_runs=(2, True), part=(0, True), whole=(0, True)), 0)["ratio"]
    assert ratio == {"of": "people-present", "runs": 2, "part": 0, "whole": 0, "percent": None}
