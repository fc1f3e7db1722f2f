"""Tests for sheetsync.core.dates: every documented date form, serials, time zones and fast paths."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.core.dates import (
    EXCEL_EPOCH,
    MAX_SERIAL,
    DateFormatError,
    excel_serial_to_timestamp,
    parse_date,
    parse_dates,
)

OCT5 = pd.Timestamp("2026-10-05")


def one(value: object, **kwargs: object) -> pd.Timestamp:
    """Parse a single cell through the column API (the one the app uses)."""
    out, bad = parse_dates(pd.Series([value], dtype=object), **kwargs)  # type: ignore[arg-type]
    assert out.dtype == "datetime64[ns]"
    assert bad == [], bad
    return out.iloc[0]


# ---------------------------------------------------------------------------------------------
# excel_serial_to_timestamp


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, "1899-12-31"),
        (2, "1900-01-01"),
        (61, "1900-03-01"),
        (45000, "2023-03-15"),
        (46300, "2026-10-05"),
        (46300.5, "2026-10-05 12:00"),
        (46300.75, "2026-10-05 18:00"),
        (45000.416666666664, "2023-03-15 10:00"),
        (np.int64(46300), "2026-10-05"),
        (np.float32(46300.0), "2026-10-05"),
    ],
)
def test_excel_serial_to_timestamp(serial: float, expected: str) -> None:
    assert excel_serial_to_timestamp(serial) == pd.Timestamp(expected)


def test_excel_serial_extremes() -> None:
    assert excel_serial_to_timestamp(MAX_SERIAL) == pd.Timestamp(dt.datetime(9999, 12, 31))
    assert excel_serial_to_timestamp(MAX_SERIAL + 0.5) == pd.Timestamp(dt.datetime(9999, 12, 31, 12))
    assert dt.date(1899, 12, 30) == EXCEL_EPOCH


@pytest.mark.parametrize("serial", [0, 0.99, -1, MAX_SERIAL + 1, float("nan"), float("inf"), True, "46300"])
def test_excel_serial_out_of_range(serial: object) -> None:
    with pytest.raises(DateFormatError, match="serial"):
        excel_serial_to_timestamp(serial)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# single formats


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-05",
        "2026-10-05T10:00:00Z",
        "2026-10-05T10:00:00",
        "2026-10-05T10:00:00.123456+02:00",
        "2026-10-05 10:00",
        "2026-10-05 10:00:59",
        "2026/10/05",
        "2026.10.05",
        "2026-10-5",
        "Oct 5, 2026",
        "October 5, 2026",
        "Oct. 5, 2026",
        "October 5 2026",
        "Monday, October 5, 2026",
        "Oct 5, 2026 10:00 PM",
        "5 October 2026",
        "5 Oct 2026",
        "5th October 2026",
        "05-Oct-2026",
        "05-Oct-26",
        "Mon, 05 Oct 2026 10:00:00 +0000",
        "2026-Oct-05",
        "20261005",
        "2026-W41-1",
        "46300",
        "46300.75",
        "  2026-10-05\xa0",
    ],
)
def test_text_formats(text: str) -> None:
    assert one(text) == OCT5
    assert parse_date(text) == OCT5.date()


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("05/10/2026", True, "2026-10-05"),
        ("05/10/2026", False, "2026-05-10"),
        ("5/10/2026", False, "2026-05-10"),
        ("05.10.2026", True, "2026-10-05"),
        ("05-10-2026", True, "2026-10-05"),
        ("05/10/26", True, "2026-10-05"),
        ("05/10/69", True, "1969-10-05"),
        ("12/31/2026", False, "2026-12-31"),
        ("31/12/2026", True, "2026-12-31"),
        ("10/5/2026 10:00 AM", False, "2026-10-05"),
        ("2026-10-05", True, "2026-10-05"),  # ISO is year-month-day whatever dayfirst says
        ("2026/10/05", True, "2026-10-05"),
    ],
)
def test_dayfirst_decides_numeric_dates(text: str, dayfirst: bool, expected: str) -> None:
    assert one(text, dayfirst=dayfirst) == pd.Timestamp(expected)


def test_impossible_order_is_reported_not_swapped() -> None:
    out, bad = parse_dates(pd.Series(["31/12/2026"]), dayfirst=False)
    assert out.isna().all() and bad == [(0, "31/12/2026")]
    with pytest.raises(DateFormatError, match="dayfirst"):
        parse_date("31/12/2026")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "5",
        "2026",
        "19999",
        "80001",
        "-46300",
        "2026-02-30",
        "2026-13-01",
        "13/13/2026",
        "Foo 5, 2026",
        "Funday, Oct 5, 2026",
        "2026-10-05 25:00",
        "2026-10-05 13:00 PM",
        "2026-10-05 10:61",
        "Oct 2026",
        "1.2.3",
        "5 min",
        True,
        np.bool_(False),
        0,
        -5.0,
        MAX_SERIAL + 1,
        float("inf"),
        object(),
        [2026, 10, 5],
    ],
)
def test_unreadable(value: object) -> None:
    out, bad = parse_dates(pd.Series([value], dtype=object))
    assert out.isna().all()
    assert len(bad) == 1 and bad[0][0] == 0 and bad[0][1] is value
    with pytest.raises(DateFormatError, match="expected a"):
        parse_date(value)


def test_error_message_names_the_text_and_the_expected_forms() -> None:
    with pytest.raises(DateFormatError) as info:
        parse_date("soon")
    assert "expected a date like 2026-10-05" in str(info.value)
    assert "'soon'" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "value", [None, np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), "", " ", "N/A", "#N/A", "-", "—", "null", "NaT"]
)
def test_missing_values(value: object) -> None:
    out, bad = parse_dates(pd.Series([value], dtype=object))
    assert out.isna().all() and bad == []
    assert parse_date(value) is None


def test_numeric_text_serial_range_is_inclusive() -> None:
    assert one("20000") == pd.Timestamp("1954-10-03")
    assert one("80000") == pd.Timestamp("2119-01-11")


# ---------------------------------------------------------------------------------------------
# objects and time zones


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2026, 10, 5),
        dt.datetime(2026, 10, 5),
        dt.datetime(2026, 10, 5, 23, 59, 59),
        pd.Timestamp("2026-10-05 13:45"),
        np.datetime64("2026-10-05T10:00"),
        np.datetime64("2026-10-05"),
        46300,
        46300.99,
        np.int64(46300),
        np.float64(46300.25),
    ],
)
def test_objects(value: object) -> None:
    assert one(value) == OCT5


def test_aware_values_keep_their_wall_clock_date_without_tz() -> None:
    late_utc = dt.datetime(2026, 10, 5, 23, 30, tzinfo=dt.UTC)
    assert one(late_utc) == OCT5
    assert one(pd.Timestamp("2026-10-05 23:30", tz="America/New_York")) == OCT5
    assert one("2026-10-05T23:30:00Z") == OCT5
    assert one("2026-10-05T23:30:00-05:00") == OCT5


def test_aware_values_are_converted_to_tz() -> None:
    late_utc = dt.datetime(2026, 10, 5, 23, 30, tzinfo=dt.UTC)
    assert one(late_utc, tz="Asia/Tokyo") == pd.Timestamp("2026-10-06")
    assert one(pd.Timestamp("2026-10-05 02:00", tz="Europe/Berlin"), tz="America/Los_Angeles") == pd.Timestamp(
        "2026-10-04"
    )
    assert one("2026-10-05T23:30:00Z", tz="Asia/Tokyo") == pd.Timestamp("2026-10-06")
    assert one("2026-10-05T10:00:00Z", tz="Asia/Tokyo") == OCT5
    assert one("Mon, 05 Oct 2026 23:30:00 +0000", tz="Europe/Berlin") == pd.Timestamp("2026-10-06")
    assert one("2026-10-05T23:30:00.5+00:00", tz="Europe/Berlin") == pd.Timestamp("2026-10-06")
    # naive values are taken as already local
    assert one("2026-10-05 23:30", tz="Asia/Tokyo") == OCT5
    assert one(dt.datetime(2026, 10, 5, 23, 30), tz="Asia/Tokyo") == OCT5


def test_unknown_tz() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_dates(pd.Series(["2026-10-05"]), tz="Mars/Olympus")


# ---------------------------------------------------------------------------------------------
# columns


def test_mixed_formats_in_one_column() -> None:
    values = ["2026-10-05", "06/10/2026", "Oct 7, 2026", 46303, dt.date(2026, 10, 9), None, "N/A", "garbage"]
    s = pd.Series(values, index=list("abcdefgh"), name="when")
    out, bad = parse_dates(s, dayfirst=True)
    assert out.dtype == "datetime64[ns]"
    assert out.name == "when" and out.index.equals(s.index)
    expected = pd.to_datetime(["2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08", "2026-10-09"])
    assert out.iloc[:5].tolist() == expected.tolist()
    assert out.iloc[5:].isna().all()
    assert bad == [("h", "garbage")]


@pytest.mark.parametrize("dtype", [None, object, "string"])
def test_text_column(dtype: object) -> None:
    s = pd.Series(["2026-10-05", None, "bad", "2026-10-05 10:00", "5 October 2026"], dtype=dtype)
    out, bad = parse_dates(s)
    assert out.dtype == "datetime64[ns]"
    assert out.iloc[[0, 3, 4]].tolist() == [OCT5] * 3
    assert out.iloc[[1, 2]].isna().all()
    assert bad == [(2, "bad")]


def test_datetime64_column_is_normalised() -> None:
    s = pd.Series(pd.to_datetime(["2026-10-05 13:45:00", None, "2026-10-06 00:00:01"]))
    out, bad = parse_dates(s)
    assert out.dtype == "datetime64[ns]"
    assert out.iloc[0] == OCT5 and pd.isna(out.iloc[1]) and out.iloc[2] == pd.Timestamp("2026-10-06")
    assert bad == []


def test_datetime64_other_units() -> None:
    s = pd.Series(np.array(["2026-10-05T13:45", "NaT"], dtype="datetime64[s]"))
    out, bad = parse_dates(s)
    assert out.dtype == "datetime64[ns]" and out.iloc[0] == OCT5 and bad == []
    far = pd.Series(np.array(["9999-12-31"], dtype="datetime64[s]"))
    out, bad = parse_dates(far)
    assert out.isna().all() and len(bad) == 1  # can't be held as datetime64[ns]


def test_tz_aware_column() -> None:
    s = pd.Series(pd.to_datetime(["2026-10-05 23:30", None], utc=True))
    assert parse_dates(s)[0].iloc[0] == OCT5
    out, bad = parse_dates(s, tz="Asia/Tokyo")
    assert out.dtype == "datetime64[ns]" and out.iloc[0] == pd.Timestamp("2026-10-06") and bad == []


def test_numeric_serial_column() -> None:
    s = pd.Series([46300, 46300.9, np.nan, 0, -3, 1, MAX_SERIAL, 1e12], index=list("abcdefgh"))
    out, bad = parse_dates(s)
    assert out.dtype == "datetime64[ns]"
    assert out["a"] == OCT5 and out["b"] == OCT5 and out["f"] == pd.Timestamp("1899-12-31")
    assert pd.isna(out["c"])
    assert [label for label, _ in bad] == ["d", "e", "g", "h"]  # 9999-12-31 doesn't fit datetime64[ns]


@pytest.mark.parametrize("dtype", ["int64", "Int64", "float32"])
def test_numeric_dtypes(dtype: str) -> None:
    out, bad = parse_dates(pd.Series([46300, 46301], dtype=dtype))
    assert out.tolist() == [OCT5, pd.Timestamp("2026-10-06")] and bad == []


def test_boolean_column_is_unreadable() -> None:
    out, bad = parse_dates(pd.Series([True, None], dtype="boolean"))
    assert out.isna().all() and [label for label, _ in bad] == [0]


def test_categorical_column() -> None:
    out, bad = parse_dates(pd.Series(["2026-10-05", "x", "2026-10-05"], dtype="category"))
    assert out.iloc[0] == OCT5 and out.iloc[2] == OCT5 and bad == [(1, "x")]


def test_empty_column() -> None:
    out, bad = parse_dates(pd.Series([], dtype=object))
    assert len(out) == 0 and out.dtype == "datetime64[ns]" and bad == []


def test_requires_series() -> None:
    with pytest.raises(TypeError):
        parse_dates(["2026-10-05"])  # type: ignore[arg-type]


def test_fast_paths_on_a_million_rows() -> None:
    rng = np.random.default_rng(0)
    serials = pd.Series(rng.uniform(40000, 50000, 1_000_000))
    stamps = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**9, 1_000_000), unit="s"))
    start = time.perf_counter()
    out1, bad1 = parse_dates(serials)
    out2, bad2 = parse_dates(stamps)
    assert time.perf_counter() - start < 2.0
    assert bad1 == [] and bad2 == [] and out1.notna().all() and out2.notna().all()
    assert (out2 == stamps.dt.normalize()).all()


def test_repeated_text_dates_are_parsed_once_each() -> None:
    days = pd.date_range("2026-01-01", periods=365).strftime("%d/%m/%Y").tolist()
    s = pd.Series(days * 500)
    start = time.perf_counter()
    out, bad = parse_dates(s, dayfirst=True)
    assert time.perf_counter() - start < 2.0
    assert bad == [] and out.iloc[364] == pd.Timestamp("2026-12-31")


# ---------------------------------------------------------------------------------------------
# properties

dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2262, 4, 10))


def _write(date: dt.date, style: str) -> tuple[object, bool]:
    """Write a date the way a sheet might hold it; returns (cell, dayfirst)."""
    serial = (date - EXCEL_EPOCH).days
    forms: dict[str, tuple[object, bool]] = {
        "iso": (date.isoformat(), False),
        "iso-time": (f"{date.isoformat()}T{date.day % 24:02d}:30:00", False),
        "iso-slash": (date.strftime("%Y/%m/%d"), False),
        "dayfirst": (date.strftime("%d/%m/%Y"), True),
        "monthfirst": (date.strftime("%m/%d/%Y"), False),
        "dayfirst-dots": (date.strftime("%d.%m.%Y"), True),
        "month-name": (f"{date:%b} {date.day}, {date.year}", False),
        "day-month-name": (f"{date.day} {date:%B} {date.year}", True),
        "serial": (serial, False),
        "serial-time": (serial + 0.75, False),
        "date": (date, False),
        "datetime": (dt.datetime.combine(date, dt.time(23, 59)), False),
    }
    if 20000 <= serial <= 80000:
        forms["serial-text"] = (str(serial), False)
    return forms.get(style, forms["iso"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            dates,
            st.sampled_from(
                [
                    "iso",
                    "iso-time",
                    "iso-slash",
                    "dayfirst",
                    "monthfirst",
                    "dayfirst-dots",
                    "month-name",
                    "day-month-name",
                    "serial",
                    "serial-time",
                    "serial-text",
                    "date",
                    "datetime",
                ]
            ),
        ),
        min_size=1,
        max_size=10,
    ),
    st.booleans(),
)
def test_written_dates_round_trip(cases: list[tuple[dt.date, str]], dayfirst: bool) -> None:
    cells: list[object] = []
    expected: list[pd.Timestamp] = []
    for date, style in cases:
        cell, needs_dayfirst = _write(date, style)
        is_ambiguous = isinstance(cell, str) and style in ("dayfirst", "monthfirst", "dayfirst-dots")
        if is_ambiguous and needs_dayfirst != dayfirst:
            continue  # written for the other reading
        cells.append(cell)
        expected.append(pd.Timestamp(date))
    out, bad = parse_dates(pd.Series(cells, dtype=object), dayfirst=dayfirst)
    assert bad == []
    assert out.tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_serial_fast_path_agrees_with_per_cell(values: list[float]) -> None:
    fast, fast_bad = parse_dates(pd.Series(values, dtype="float64"))
    slow, slow_bad = parse_dates(pd.Series(values, dtype=object))
    assert fast.equals(slow)
    assert [label for label, _ in fast_bad] == [label for label, _ in slow_bad]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=25), st.none(), st.integers(), st.floats()), max_size=15), st.booleans())
def test_parse_dates_never_raises(values: list[object], dayfirst: bool) -> None:
    out, bad = parse_dates(pd.Series(values, dtype=object), dayfirst=dayfirst, tz="UTC")
    assert len(out) == len(values) and out.dtype == "datetime64[ns]"
    assert (out.dropna() == out.dropna().dt.normalize()).all()
    assert len(bad) <= len(values)
