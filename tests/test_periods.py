from datetime import date

import pytest

from sheetsync.core.periods import (
    PeriodError,
    bucket_end,
    bucket_label,
    bucket_start,
    buckets_between,
    custom_period,
    last_complete_bucket,
    parse_period,
    shift,
)


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "2026-Q3"),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "2025-Q4"),
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), "2025-H2"),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31), "2026-H1"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2025"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-01"),
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31), "2025-12"),
    ],
)
def test_parse_period_and_previous(text, start, end, previous):
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert period.previous().name == previous


@pytest.mark.parametrize("text", ["2026-Q5", "Q4 2026", "2026-13", "26-Q1", "", "2026-H3"])
def test_bad_periods(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_expected_is_inclusive_share_of_days():
    q4 = parse_period("2026-Q4")  # 92 days
    assert q4.expected(date(2026, 10, 1)) == pytest.approx(1 / 92)
    assert q4.expected(date(2026, 11, 24)) == pytest.approx(55 / 92)
    assert q4.expected(date(2026, 12, 31)) == 1.0
    assert q4.expected(date(2026, 9, 1)) == 0.0
    assert q4.expected(date(2027, 3, 1)) == 1.0


def test_custom_period_previous_has_same_length():
    period = custom_period(date(2026, 10, 5), date(2026, 10, 18))
    prev = period.previous()
    assert (prev.start, prev.end) == (date(2026, 9, 21), date(2026, 10, 4))
    with pytest.raises(PeriodError):
        custom_period(date(2026, 10, 5), date(2026, 10, 1))


@pytest.mark.parametrize(("start", "end", "previous"), [
    (date(2026, 2, 1), date(2026, 4, 30), (date(2025, 11, 1), date(2026, 1, 31))),  # a fiscal quarter
    (date(2027, 7, 1), date(2028, 6, 30), (date(2026, 7, 1), date(2027, 6, 30))),  # a fiscal year holding 29 Feb
    (date(2026, 3, 1), date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2026, 10, 5), date(2026, 10, 31), (date(2026, 9, 8), date(2026, 10, 4))),  # not from a 1st: days
])
def test_a_custom_period_of_whole_months_follows_as_many_whole_months(start, end, previous):
    prev = custom_period(start, end).previous()
    assert (prev.start, prev.end) == previous


def test_buckets():
    tuesday = date(2026, 11, 24)
    assert bucket_start(tuesday, "week") == date(2026, 11, 23)
    assert bucket_end(tuesday, "week") == date(2026, 11, 29)
    assert bucket_end(tuesday, "month") == date(2026, 11, 30)
    assert bucket_start(tuesday, "quarter") == date(2026, 10, 1)
    assert bucket_end(tuesday, "quarter") == date(2026, 12, 31)
    assert bucket_label(date(2026, 11, 16), "week") == "2026-W47"
    assert bucket_label(date(2026, 10, 1), "quarter") == "2026-Q4"


def test_last_complete_bucket_is_inclusive_of_as_of():
    assert last_complete_bucket(date(2026, 11, 24), "week") == (date(2026, 11, 16), date(2026, 11, 22))
    # A Sunday completes its own week.
    assert last_complete_bucket(date(2026, 11, 22), "week") == (date(2026, 11, 16), date(2026, 11, 22))
    assert last_complete_bucket(date(2026, 11, 24), "month") == (date(2026, 10, 1), date(2026, 10, 31))
    assert last_complete_bucket(date(2026, 11, 30), "month") == (date(2026, 11, 1), date(2026, 11, 30))
    assert last_complete_bucket(date(2026, 11, 24), "day") == (date(2026, 11, 24), date(2026, 11, 24))


def test_shift_clamps_month_ends():
    assert shift(date(2026, 3, 31), "month", -1) == date(2026, 2, 28)
    assert shift(date(2026, 1, 15), "quarter", -1) == date(2025, 10, 15)
    assert shift(date(2026, 11, 24), "week", -1) == date(2026, 11, 17)


def test_buckets_between_covers_partial_edges():
    weeks = buckets_between(date(2026, 10, 1), date(2026, 10, 14), "week")
    assert weeks[0] == (date(2026, 9, 28), date(2026, 10, 4))
    assert weeks[-1] == (date(2026, 10, 12), date(2026, 10, 18))
    assert len(weeks) == 3


def test_a_series_counts_only_the_days_inside_it_and_is_worked_out_once():
    from sheetsync.core.periods import series_buckets

    series_buckets.cache_clear()
    weeks = series_buckets(date(2026, 10, 1), date(2026, 10, 14), "week")
    assert weeks[0] == ("2026-W40", date(2026, 9, 28), date(2026, 10, 4), date(2026, 10, 1), date(2026, 10, 4))
    assert weeks[-1] == ("2026-W42", date(2026, 10, 12), date(2026, 10, 18), date(2026, 10, 12), date(2026, 10, 14))
    assert [w[1:3] for w in weeks] == buckets_between(date(2026, 10, 1), date(2026, 10, 14), "week")
    for _ in range(3):  # every KPI of a grain asks for the same series
        assert series_buckets(date(2026, 10, 1), date(2026, 10, 14), "week") is weeks
    assert series_buckets.cache_info().misses == 1
