"""A period of days as the whole months it covers and the days left at either end (pure).

The figures are kept per day and per month (db/summaries.py): a year read from the month totals is twelve
rows per version and step instead of 365, and only the days of the partial months at its ends are read day
by day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class SplitPeriod:
    """`days`: inclusive (first, last) ranges read from the day totals; `months`: the inclusive range of
    whole months ('YYYY-MM') read from the month totals, or None."""

    days: tuple[tuple[str, str], ...]
    months: tuple[str, str] | None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def split_period(since: date, until: date) -> SplitPeriod:
    """Split the inclusive period since..until; an empty period (until before since) is empty."""
    if until < since:
        return SplitPeriod((), None)
    first_whole = since if since.day == 1 else _next_month(since)  # the first month wholly inside
    after_last = _next_month(until)
    last_whole_end = until if after_last - timedelta(days=1) == until else _month_start(until) - timedelta(days=1)
    if first_whole > last_whole_end:  # no whole month inside: every day is read
        return SplitPeriod(((since.isoformat(), until.isoformat()),), None)
    days = []
    if since < first_whole:
        days.append((since.isoformat(), (first_whole - timedelta(days=1)).isoformat()))
    if last_whole_end < until:
        days.append(((last_whole_end + timedelta(days=1)).isoformat(), until.isoformat()))
    months = (first_whole.isoformat()[:7], _month_start(last_whole_end).isoformat()[:7])
    return SplitPeriod(tuple(days), months)
