"""Deliberate breakages an earlier mutation run found no test for (issue 14): each test here fails if its one
breakage comes back. A person would notice each: a forged record called genuine, a count under the threshold
drawn on a published chart, a median that describes a handful of operations, a protocol changed in its
guidance under the same hash."""
from __future__ import annotations

import dataclasses
import re

import pytest

from donoharm.oversight.chart import bar_chart
from donoharm.oversight.suppression import median_hours, suppress

from .protocol_factory import as_yaml, document
from .test_records import submitted_run, verify_api

LABELS = {"title": "Steps", "flagged": "Red flags", "deviated": "Deviations", "na": "Not applicable",
          "empty": "Nothing yet"}


def test_a_record_is_not_valid_when_pyhankos_overall_judgement_is_no(signed_app, api, monkeypatch):
    """Every single check passing is not enough: pyHanko's bottom line (which also weighs modifications that
    DocMDP forbids) must say yes. Breakage caught: verification ignoring `status.bottom_line`."""
    import pyhanko.sign.validation

    acc, run_id, _ = submitted_run(signed_app, api)
    data = acc.get(f"/runs/{run_id}/record.pdf").data
    assert verify_api(signed_app, data).get_json()["valid"] is True

    real = pyhanko.sign.validation.validate_pdf_signature

    def refusing(*args, **kwargs):
        status = real(*args, **kwargs)
        refused = dataclasses.replace(status, docmdp_ok=False)  # intact, trusted and covering the whole file
        assert refused.intact and refused.trusted and not refused.bottom_line
        return refused

    monkeypatch.setattr(pyhanko.sign.validation, "validate_pdf_signature", refusing)
    verdict = verify_api(signed_app, data).get_json()
    assert verdict["valid"] is False
    assert any("does not accept" in problem for problem in verdict["problems"]), verdict


def _bars(svg: str, series: str) -> list[int]:
    """Widths of the bars of one series (the legend's 12-px swatch at y=4 left out)."""
    return [int(width) for y, width in re.findall(
        rf'<rect x="\d+" y="(\d+)" width="(\d+)" height="11"[^>]*class="chart-{series}"', svg) if y != "4"]


def test_the_chart_draws_no_bar_and_no_figure_for_a_count_under_the_threshold():
    steps = [{"text": "Step A", "flagged": 9, "deviated": 4, "na": 5},
             {"text": "Step B", "flagged": 1, "deviated": 0, "na": 0}]
    svg = str(bar_chart(steps, 5, LABELS))
    assert len(_bars(svg, "flagged")) == 1  # 9 drawn; 1 not
    assert _bars(svg, "deviated") == []  # 4 and 0: under 5, no bar
    assert len(_bars(svg, "na")) == 1  # 5: at the threshold, drawn
    figures = re.findall(r'font-size="11">([^<]*)</text>', svg)
    assert figures == ["9", "&lt;5", "5", "&lt;5", "&lt;5", "&lt;5"]


@pytest.mark.parametrize(("runs", "published"), [(4, None), (5, 2.0), (6, 2.0)])
def test_a_median_of_fewer_runs_than_the_threshold_is_withheld(runs, published):
    assert median_hours((runs, 7200.0), 5) == published


@pytest.mark.parametrize(("count", "shown"), [(0, "<5"), (4, "<5"), (5, "5"), (None, "")])
def test_a_count_is_suppressed_exactly_under_the_threshold(count, shown):
    assert suppress(count, 5) == shown


@pytest.mark.parametrize("change", [
    lambda step: step.update(guidance="Roles only, never names."),
    lambda step: step.update(sources=["S2"]),
])
def test_the_protocol_hash_covers_guidance_and_sources(change):
    """A trainer's changed guidance is a changed protocol: the same hash would let a run pin words it never saw."""
    from donoharm.protocols import load_text

    doc = document()
    before = load_text(as_yaml(doc)).sha256
    change(doc["phases"][0]["steps"][0])
    assert load_text(as_yaml(doc)).sha256 != before
