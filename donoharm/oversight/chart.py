"""An SVG bar chart of the most problematic steps, drawn on the server (no script, no inline style; pure)."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from .suppression import suppress

CHART_STEPS = 10
# (figure, colour, fill): the three series differ by pattern as well as by hue.
SERIES = (("flagged", "#b54700", "url(#chart-dots)"), ("deviated", "#a4161a", "#a4161a"),
          ("na", "#3d2375", "url(#chart-hatch)"))
PATTERNS = (
    '<defs><pattern id="chart-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#3d2375"/>'
    '<rect width="3" height="6" fill="#ffffff"/></pattern>'
    '<pattern id="chart-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<rect width="5" height="5" fill="#b54700"/><circle cx="2.5" cy="2.5" r="1.1" fill="#ffffff"/></pattern></defs>')


def _shorten(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(steps: list[dict[str, Any]], threshold: int, labels: dict[str, str]) -> Markup:
    """Red flags, deviations and N/A per step (most problematic first); a suppressed count draws no bar.

    `labels` gives the title, the name of each series ('flagged', 'deviated', 'na') and the text when empty."""
    shown = steps[:CHART_STEPS]
    bar, gap, label_height, width, left = 11, 2, 18, 360, 8
    row_height = label_height + len(SERIES) * (bar + gap) + 12
    bar_area = width - left - 60
    height = 36 + row_height * max(len(shown), 1)
    largest = max([s.get(key, 0) for s in shown for key, _c, _f in SERIES] + [1])
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-labelledby="chart-title">',
             f'<title id="chart-title">{escape(labels["title"])}</title>', PATTERNS]
    for index, (key, colour, fill) in enumerate(SERIES):
        x = left + index * 116
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{fill}" stroke="{colour}" '
                     f'class="chart-{key}"/>')
        parts.append(f'<text x="{x + 16}" y="15" font-size="12">{escape(labels[key])}</text>')
    for index, step in enumerate(shown):
        top = 30 + index * row_height
        parts.append(f'<text x="{left}" y="{top + 12}" font-size="12" class="chart-label">'
                     f'{escape(_shorten(step["text"]))}</text>')
        for series, (key, colour, fill) in enumerate(SERIES):
            value = step.get(key, 0)
            y = top + label_height - 4 + series * (bar + gap)
            length = 0 if value < threshold or value <= 0 else max(2, round(bar_area * value / largest))
            if length:
                parts.append(f'<rect x="{left}" y="{y}" width="{length}" height="{bar}" fill="{fill}" '
                             f'stroke="{colour}" class="chart-{key}"/>')
            parts.append(f'<text x="{left + length + 4}" y="{y + 10}" font-size="11">'
                         f'{escape(suppress(value, threshold))}</text>')
    if not shown:
        parts.append(f'<text x="{left}" y="50" font-size="12">{escape(labels["empty"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
