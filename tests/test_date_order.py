"""The day/month order of a date column, decided from its own values (issue 13, family 2).

The rule: any first part above 12 means day-first, any second part above 12 month-first;
both is a contradiction (an error naming the rows); neither, with a value that reads two
ways, is a warning saying to set `dayfirst`. The property: no column is read with a
different date than it holds without a word.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.core.dates import infer_date_order, parse_dates
from sheetsync.core.kpis import ColumnCache, KPIDataError
from sheetsync.core.model import SourceConfig

FORMATS = {True: ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%y"], False: ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y"]}
days = st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2068, 12, 31))


def cache_for(texts: list[str | None], dayfirst: bool | None = None) -> ColumnCache:
    frame = pd.DataFrame({"Date": pd.Series(texts, dtype=object), "__row__": np.arange(2, len(texts) + 2)})
    return ColumnCache(frame, SourceConfig(name="s", type="csv", path="s.csv", dayfirst=dayfirst))


def read(cache: ColumnCache) -> list[dt.date | None]:
    values, _ = cache.dates("Date")
    return [None if v == np.iinfo("int64").min else dt.date(1970, 1, 1) + dt.timedelta(days=int(v)) for v in values]


def test_evidence_decides_the_order_of_the_whole_column():
    cache = cache_for(["05/10/2026", "12/10/2026", "19/10/2026"])
    assert read(cache) == [dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19)]
    assert cache.date_notes("Date") == []
    cache = cache_for(["10/05/2026", "10/12/2026", "10/19/2026"])
    assert read(cache) == [dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19)]


def test_a_column_that_cannot_tell_says_to_set_dayfirst():
    cache = cache_for(["05/10/2026", "06/10/2026", None])
    read(cache)
    (note,) = cache.date_notes("Date")
    assert "column 'Date': dates such as row 2 ('05/10/2026') read two ways" in note
    assert "set dayfirst = true or false on sources.s" in note
    assert read(cache_for(["05/10/2026"], dayfirst=True)) == [dt.date(2026, 10, 5)]
    assert cache_for(["05/10/2026"], dayfirst=True).date_notes("Date") == []
    assert cache_for(["05/05/2026", "2026-10-06"]).date_notes("Date") == []  # same either way


def test_dates_written_with_dots_are_day_first_though_every_day_is_twelve_or_less():
    cache = cache_for(["01.10.2026", "02.10.2026", "05.11.2026", None])
    assert read(cache) == [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 11, 5), None]
    assert cache.date_notes("Date") == []
    mixed = cache_for(["01.10.2026", "02/10/2026"])  # slashes still read two ways: still a word
    read(mixed)
    assert "read two ways" in mixed.date_notes("Date")[0]
    proven = cache_for(["10.13.2026", "10.05.2026"])  # a second part above 12 proves month-first, dots or not
    assert read(proven) == [dt.date(2026, 10, 13), dt.date(2026, 10, 5)]


def test_a_contradiction_is_an_error_naming_the_rows():
    cache = cache_for(["19/10/2026", "2026-10-20", "10/21/2026"])
    with pytest.raises(KPIDataError, match=r"row 2 \('19/10/2026'\) can only be day-first, row 4 \('10/21/2026'\)"):
        cache.dates("Date")


def test_real_dates_serials_and_iso_text_are_no_evidence():
    order = infer_date_order(pd.Series([dt.datetime(2026, 10, 5), 46300.0, "2026-10-19", "Oct 5, 2026"], dtype=object))
    assert order.dayfirst is None and not order.ambiguous_at and not order.contradicts
    assert infer_date_order(pd.Series([1.0, 2.0])).dayfirst is None


@settings(max_examples=200, deadline=None)
@given(st.lists(days, min_size=1, max_size=30), st.booleans(), st.data())
def test_no_column_is_read_as_other_dates_without_a_word(dates, dayfirst, data):
    """Written in one order, a column is read exactly, or a warning says to set dayfirst."""
    style = data.draw(st.sampled_from(FORMATS[dayfirst]))
    texts = [d.strftime(style) for d in dates]
    order = infer_date_order(pd.Series(texts, dtype=object))
    assert not order.contradicts
    assert order.dayfirst in (None, dayfirst)  # the evidence never proves the wrong order
    cache = cache_for(texts)
    got = read(cache)
    if got != dates:
        assert order.dayfirst is None and cache.date_notes("Date"), (texts, got)
    if order.dayfirst is None and not cache.date_notes("Date"):
        assert all(d.day == d.month for d in dates)  # silent only where both orders give one date
    parsed, bad = parse_dates(pd.Series(texts, dtype=object), dayfirst=dayfirst)
    assert not bad and [t.date() for t in parsed] == dates  # told the order, every cell reads back


@settings(max_examples=100, deadline=None)
@given(st.lists(days, min_size=1, max_size=20), st.lists(days, min_size=1, max_size=20))
def test_mixing_proven_orders_is_always_caught(day_first, month_first):
    """A column holding both a day-first-only and a month-first-only cell is refused, never half read."""
    texts = [d.strftime("%d/%m/%Y") for d in day_first] + [d.strftime("%m/%d/%Y") for d in month_first]
    order = infer_date_order(pd.Series(texts, dtype=object))
    proves_day = any(d.day > 12 for d in day_first)
    proves_month = any(d.day > 12 for d in month_first)
    assert order.contradicts == (proves_day and proves_month)
    if order.contradicts:
        with pytest.raises(KPIDataError, match="disagree on day/month order"):
            cache_for(texts).dates("Date")
