"""Oversight figures from summary rows: totals, per version, per step, outcome measures, small-count
suppression, an SVG chart and CSV (pure; the queries are in db/oversight.py, the page in web/oversight.py)."""
from __future__ import annotations

from .chart import CHART_STEPS, bar_chart
from .export import FORMULA_STARTERS, to_csv
from .figures import OUTCOMES, Figures, build_figures, measure_label, submission_medians
from .suppression import measure_cells, median_hours, percent, suppress

__all__ = ["CHART_STEPS", "FORMULA_STARTERS", "OUTCOMES", "Figures", "bar_chart", "build_figures", "measure_cells",
           "measure_label", "median_hours", "percent", "submission_medians", "suppress", "to_csv"]
