"""An SVG bar chart of a published report's steps with deviations and red flags (pure, no script or style).

Drawn from the published cells only: a withheld figure ('<5', 'suppressed', '>=N') draws no bar, only its text,
so the chart can never show more than the tables."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

SERIES = (("deviated", "#a4161a"), ("flagged", "#b54700"))
MAX_STEPS = 10


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_chart(report: dict[str, Any], labels: dict[str, str] | None = None) -> Markup:
    """Deviations and red flags per step (the first ten rows of deviations_by_step, largest first)."""
    labels = labels or {"title": "Runs with a deviation or a red flag, per step", "deviated": "Deviated",
                        "flagged": "Red flag", "empty": "No step deviated or raised a red flag."}
    rows = report["figures"]["tables"]["deviations_by_step"]["rows"]

    def size(row: dict[str, Any]) -> int:
        return max((v for v in row["cells"].values() if isinstance(v, int)), default=0)

    shown = sorted(rows, key=lambda r: (-size(r), r["protocol_id"], r["step_id"]))[:MAX_STEPS]
    width, left, bar, row_height = 480, 8, 11, 48
    largest = max([size(r) for r in shown] + [1])
    height = 36 + row_height * max(len(shown), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-labelledby="report-chart-title"><title id="report-chart-title">{escape(labels["title"])}</title>']
    for index, (key, colour) in enumerate(SERIES):
        x = left + index * 130
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="15" font-size="12">{escape(labels[key])}</text>')
    for index, row in enumerate(shown):
        top = 30 + index * row_height
        parts.append(f'<text x="{left}" y="{top + 12}" font-size="11">'
                     f'{escape(_shorten(row.get("text") or row["step_id"]))}</text>')
        for series, (key, colour) in enumerate(SERIES):
            value = row["cells"][key]
            y = top + 16 + series * (bar + 2)
            length = round((width - left - 80) * value / largest) if isinstance(value, int) and value > 0 else 0
            if length:
                parts.append(f'<rect x="{left}" y="{y}" width="{length}" height="{bar}" fill="{colour}"/>')
            parts.append(f'<text x="{left + length + 4}" y="{y + 10}" font-size="10">{escape(str(value))}</text>')
    if not shown:
        parts.append(f'<text x="{left}" y="50" font-size="12">{escape(labels["empty"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
