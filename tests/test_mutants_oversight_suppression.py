"""What oversight publishes of a median (oversight/suppression.py), written for mutants `make mutate` found
alive (issue 14): the median hours to submission are shown to one decimal, as the page and export say."""
from __future__ import annotations

import pytest

from donoharm.oversight.suppression import measure_cells, median_hours, percent, suppress


@pytest.mark.parametrize(("seconds", "hours"), [(5400.0, 1.5), (4500.0, 1.2), (4501.0, 1.3), (3600.0, 1.0),
                                                (86400.0, 24.0)])
def test_the_median_is_published_in_hours_to_one_decimal(seconds, hours):
    assert median_hours((5, seconds), 5) == hours


def test_a_median_with_no_runs_behind_it_is_withheld():
    assert median_hours((9, None), 5) is None


def test_a_count_and_a_share_as_published():
    assert [suppress(c, 5) for c in (None, 0, 4, 5, 17)] == ["", "<5", "<5", "5", "17"]
    assert [percent(1, 3), percent(0, 10), percent(1, 1000), percent(1, 201), percent(7, 7), percent(3, 0),
            percent(1, 100), percent(3, 200), percent(1, 200)] == ["33", "0", "<1", "<1", "100", "", "1", "2", "<1"]


def measure(runs=12, total=40, paired=8, part=6, whole=30, of="people-present"):
    return {"runs": runs, "total": total, "of_step_id": of, "paired_runs": paired, "paired_total": part,
            "paired_of_total": whole}


def test_a_measure_of_enough_runs_shows_its_total_and_ratio():
    assert measure_cells(measure(), 5) == {"runs": "12", "total": "40",
                                           "ratio": {"runs": "8", "part": "6", "whole": "30", "percent": "20"}}
    assert measure_cells(measure(runs=5, paired=5, part=5, whole=5), 5) == {
        "runs": "5", "total": "40", "ratio": {"runs": "5", "part": "5", "whole": "5", "percent": "100"}}


def test_a_measure_of_too_few_runs_withholds_its_total_and_ratio_figures():
    assert measure_cells(measure(runs=4, paired=4), 5) == {
        "runs": "<5", "total": None, "ratio": {"runs": "<5", "part": None, "whole": None, "percent": None}}
    assert measure_cells(measure(total=3), 5)["total"] == "<5"
    assert measure_cells(measure(of=None), 5)["ratio"] is None


@pytest.mark.parametrize(("part", "whole", "shown"), [(4, 30, ("<5", "30")), (6, 4, ("6", "<5")),
                                                      (0, 30, ("<5", "30"))])
def test_no_percent_when_the_part_or_the_whole_is_withheld(part, whole, shown):
    ratio = measure_cells(measure(part=part, whole=whole), 5)["ratio"]
    assert (ratio["part"], ratio["whole"]) == shown and ratio["percent"] is None


def test_the_smallest_thresholds_publish_a_percent_only_of_a_whole_above_zero():
    assert measure_cells(measure(runs=1, paired=1, part=1, whole=1), 1)["ratio"]["percent"] == "100"
    assert measure_cells(measure(runs=1, paired=1, part=0, whole=0), 0)["ratio"] == {
        "runs": "1", "part": "0", "whole": "0", "percent": None}
