"""The period split behind the month totals: every day of a period is counted once, from a day total or from
the total of a month that lies wholly inside the period."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from donoharm.oversight.periods import SplitPeriod, split_period


def days_covered(split: SplitPeriod) -> list[date]:
    covered = []
    for first, last in split.days:
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            covered.append(day)
            day += timedelta(days=1)
    if split.months:
        day = date.fromisoformat(split.months[0] + "-01")
        while day.isoformat()[:7] <= split.months[1]:
            covered.append(day)
            day += timedelta(days=1)
    return covered


def test_a_year_from_the_middle_of_a_month_reads_eleven_whole_months_and_two_stretches_of_days():
    split = split_period(date(2025, 11, 27), date(2026, 11, 26))
    assert split.months == ("2025-12", "2026-10")
    assert split.days == (("2025-11-27", "2025-11-30"), ("2026-11-01", "2026-11-26"))


def test_whole_months_need_no_day_totals_and_a_part_of_one_month_needs_no_month_totals():
    assert split_period(date(2026, 1, 1), date(2026, 3, 31)) == SplitPeriod((), ("2026-01", "2026-03"))
    assert split_period(date(2024, 2, 1), date(2024, 2, 29)) == SplitPeriod((), ("2024-02", "2024-02"))  # leap
    assert split_period(date(2026, 2, 1), date(2026, 2, 27)) == SplitPeriod((("2026-02-01", "2026-02-27"),), None)
    assert split_period(date(2026, 1, 15), date(2026, 2, 14)) == SplitPeriod((("2026-01-15", "2026-02-14"),), None)
    assert split_period(date(2026, 5, 5), date(2026, 5, 5)) == SplitPeriod((("2026-05-05", "2026-05-05"),), None)
    assert split_period(date(2026, 5, 6), date(2026, 5, 5)) == SplitPeriod((), None)


@given(st.dates(date(2019, 1, 1), date(2030, 12, 31)), st.integers(0, 800))
def test_every_day_of_any_period_is_counted_exactly_once(since, length):
    until = since + timedelta(days=length)
    covered = days_covered(split_period(since, until))
    assert sorted(covered) == [since + timedelta(days=n) for n in range(length + 1)]
