"""How read and compute hold and parse data: mechanisms, never timings (speed lives in `bench/`)."""

from __future__ import annotations

import weakref
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import sources as sources_module
from connectors.sources import read_sources
from sheetsync.config import load_config
from sheetsync.core import distinct as distinct_module
from sheetsync.core import numbers
from sheetsync.core.expressions import filters, parse_filter
from sheetsync.core.kpis import ColumnCache
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import ROW_COLUMN
from sheetsync.runtime.pipeline import compute, sync
from tests.helpers import copy_example, record_calls

AS_OF = date(2026, 11, 24)


def test_each_source_is_prepared_as_it_is_read_and_its_rows_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync holds at most one file's rows per reading thread: each frame is gone once its source is prepared."""
    config = load_config(copy_example(tmp_path))
    alive_at_next_read: list[int] = []
    frames: list[weakref.ref] = []
    real = sources_module.read_csv_source

    def reading(source):  # type: ignore[no-untyped-def]
        alive_at_next_read.append(sum(ref() is not None for ref in frames))
        got = real(source)
        frames.append(weakref.ref(got.frame))
        return got

    monkeypatch.setattr(sources_module, "read_csv_source", reading)
    streamed = sync(config, AS_OF, checkins=[])

    # Files are read (and prepared) on `default_threads()` threads: the others may hold theirs.
    assert len(frames) >= 3 and max(alive_at_next_read) < sources_module.default_threads()
    assert all(ref() is None for ref in frames)
    # The same numbers, warnings and source rows as computing from every frame held at once.
    monkeypatch.setattr(sources_module, "read_csv_source", real)
    held = compute(config, read_sources(config.sources.values(), config.google), AS_OF)
    assert streamed.kpis == held.kpis
    assert streamed.objectives == held.objectives
    assert (streamed.errors, streamed.warnings) == (held.errors, held.warnings)
    unstamped = [[replace(s, fetched_at=None) for s in r.sources] for r in (streamed, held)]
    assert unstamped[0] == unstamped[1]
    assert sum(s.rows for s in streamed.sources) > 0


def _orders(statuses: list[str], dtype: str = "str") -> pd.DataFrame:
    days = [f"2026-10-{1 + i % 28:02d}" for i in range(len(statuses))]
    frame = pd.DataFrame({"Date": pd.Series(days, dtype=dtype), "Status": pd.Series(statuses, dtype=dtype),
                          "Amount": [float(i) for i in range(len(statuses))]})
    frame[ROW_COLUMN] = range(2, len(frame) + 2)
    return frame


def test_a_column_is_read_once_for_every_filter_over_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three filters on Status (forty KPIs' worth) classify the Status column once, and still match as before."""
    read = record_calls(monkeypatch, filters, "_column_operand", lambda *args: args[1])
    frame = _orders(["paid", "refunded", " paid ", "Paid", "paid"] * 20)
    cache = ColumnCache(frame, SourceConfig(name="s", type="csv", path="s.csv"))
    statuses = frame["Status"].tolist()
    expected = {
        "Status == 'paid'": [v == "paid" for v in statuses],
        "Status != 'refunded'": [v != "refunded" for v in statuses],
        "Status in ['Paid', 'refunded'] or Status > 'q'": [v in ("Paid", "refunded") or v > "q" for v in statuses],
    }
    masks = {text: cache.mask(parse_filter(text), "k").tolist() for text in expected}
    assert read == ["'Status'"]
    assert masks == expected


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_distinct_text_is_compared_trimmed_whatever_the_space(dtype: str) -> None:
    """'a', ' a' and 'a' with any space str.strip() removes are one value; a cell of spaces is blank."""
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace()]
    values = ["a", "b", *(f"a{s}" for s in spaces), *(f"{s}b" for s in spaces), " ", "", "b"]
    frame = _orders(values, dtype)
    codes = ColumnCache(frame, SourceConfig(name="s", type="csv", path="s.csv")).text("Status")
    assert len(set(codes[codes >= 0].tolist())) == 2
    assert codes[values.index(" ")] == -1 and codes[values.index("")] == -1
    assert len({codes[0], *codes[2 : 2 + len(spaces)].tolist()}) == 1


def test_money_text_is_parsed_once_per_distinct_value_and_plain_money_without_the_general_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """'$1,234.50' in nearly every row (one value per row) skips the general rules; the rest, once per distinct text."""
    calls = record_calls(monkeypatch, numbers, "_parse_text")
    plain = [f"${i * 7.25:,.2f}" for i in range(3000)] + [f"{i}.5" for i in range(50)] + ["€1,000", "007"]
    odd = ["(1,200)", " $5 ", "12%", "-$3.10", "1,2345", "N/A"]
    cells = pd.Series(plain + odd * 40, dtype="str")
    values, bad = numbers.parse_numbers(cells)

    assert sorted(calls) == sorted(odd)  # each irregular text once, however often it repeats
    monkeypatch.undo()
    expected = [numbers.parse_number(c) if c not in ("1,2345",) else None for c in cells]
    assert [None if v != v else v for v in values.tolist()] == expected
    assert {cells[label] for label, _ in bad} == {"1,2345"}


@given(st.from_regex(r"\A[$€£¥₹]?(?:[1-9][0-9]{0,2}(?:,[0-9]{3}){1,4}|[0-9]{1,18})(?:\.[0-9]{1,6})?\Z")
       | st.text(alphabet="0123456789$€,.-+()% eE", max_size=14))
def test_plain_money_reads_as_the_general_parser_reads_it(text: str) -> None:
    seps = numbers._separators(".", None)
    plain = numbers._plain_number(text, ".", seps)
    if plain is not None:
        assert plain == numbers.parse_number(text)
        assert numbers._plain_currency(text) == numbers.currency_marker(text)


@given(st.lists(st.from_regex(r"\A[$€£¥₹]?(?:[1-9][0-9]{0,2}(?:,[0-9]{3}){1,4}|[0-9]{1,25})(?:\.[0-9]{1,25})?\Z")
                | st.text(alphabet="0123456789$€£,.-+()% eE", max_size=14), min_size=1, max_size=30),
       st.sampled_from([(".", None), (".", " "), (",", None)]))
def test_a_string_columns_plain_money_is_read_at_once_as_each_cell_reads(texts: list[str], style: tuple) -> None:
    """A CSV column's distinct texts: plain money read in Arrow, the rest one by one, the same floats,
    unreadable cells and currencies as reading each cell (an object column's path)."""
    from sheetsync.core.distinct import distinct_values

    decimal, thousands = style
    column = pd.Series([*texts, None], dtype="str")
    got, bad = numbers.parse_number_array(column, decimal=decimal, thousands=thousands,
                                          distinct=distinct_values(column))  # fmt: skip
    each, each_bad = numbers.parse_number_array(column.astype(object), decimal=decimal, thousands=thousands)
    assert np.array_equal(got, each, equal_nan=True) and bad == each_bad
    assert numbers.mixed_currencies(column, distinct=distinct_values(column)) == numbers.mixed_currencies(
        column.astype(object))


def test_plain_money_in_a_string_column_skips_the_per_text_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Of 3,000 distinct amounts and a few odd texts, only the odd ones are parsed one by one."""
    from sheetsync.core.distinct import distinct_values

    calls = record_calls(monkeypatch, numbers, "_plain_number", lambda text, *args: text)
    odd = ["(1,200)", " $5 ", "N/A", "1e3"]
    column = pd.Series([f"${i * 7.25:,.2f}" for i in range(3000)] + odd, dtype="str")
    values, bad = numbers.parse_number_array(column, distinct=distinct_values(column))
    assert sorted(calls) == sorted(t for t in odd if t != "1e3")  # "1e3" is a plain numeral to pandas first
    assert values[:3000].tolist() == [i * 7.25 for i in range(3000)] and np.isnan(values[3002]) and not bad


def test_a_date_text_is_parsed_once_however_many_sources_hold_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thousand sources dated over the same days parse each day's text once, and read it as before."""
    from sheetsync.core import dates

    calls = record_calls(monkeypatch, dates, "_parse_text")
    dates._text_day.cache_clear()
    texts = ["2026-10-01", "05/10/2026", "31/10/2026", "not a date", "2026-10-01T23:30:00-05:00"]
    firsts = [dates.parse_dates(pd.Series(texts * (1 + n), dtype=dtype), dayfirst=True, tz="Europe/Lisbon")
              for n, dtype in enumerate(["str", "object", "str"])]
    assert sorted(calls) == sorted(texts)
    dates._text_day.cache_clear()
    for (got, bad), n in zip(firsts, range(3), strict=True):
        assert got.tolist()[: len(texts)] == [pd.Timestamp(d) if d else pd.NaT for d in
                                               ("2026-10-01", "2026-10-05", "2026-10-31", None, "2026-10-02")]
        assert [value for _, value in bad] == ["not a date"] * (1 + n)


def test_a_warehouse_described_without_its_engine_is_computed_as_rows_were(tmp_path: Path) -> None:
    """`sheetsync check` hands compute a warehouse's size and columns only: its KPIs are stale, not a crash."""
    from datetime import UTC, datetime

    from sheetsync.config import parse_config
    from sheetsync.core.sources import SourceData

    config = parse_config(
        {"project": {"period": "2026-Q4"}, "sources": {"events": {"type": "sql", "url": "duckdb:///m.duckdb",
                                                                    "table": "t"}},
         "kpis": {"revenue": {"source": "events", "column": "amount", "date_column": "day"}}},
        tmp_path / "config.toml",
    )
    described = SourceData("events", "sql", "duckdb:///m.duckdb", None, datetime.now(UTC), pd.DataFrame(),
                           row_count=50, table_columns=("day", "amount"))
    result = compute(config, {"events": described}, AS_OF)
    (kpi,) = result.kpis
    assert kpi.value is None and kpi.failed
    assert "source 'events' has no columns" in (kpi.note or "")
    assert result.sources[0].rows == 50


def whole_columns_factorized(monkeypatch: pytest.MonkeyPatch, rows: int) -> list[str]:
    """Record the name of every column of `rows` cells factorized (not the distinct values of one).

    Through pd.factorize, or for a string column through Arrow's dictionary encoding (`arrow_distinct`).
    """
    seen: list[str] = []
    for owner, name in ((pd, "factorize"), (distinct_module, "arrow_distinct")):
        real = getattr(owner, name)

        def counted(values: Any, *args: Any, real: Any = real, **kwargs: Any) -> Any:
            if len(values) == rows:
                seen.append(getattr(values, "name", None) or "?")
            return real(values, *args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    return seen


def _kpis_over(frame: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The specs' KPIs computed over `frame` as a sync computes them (one source, its ColumnCache)."""
    from datetime import UTC, datetime

    from sheetsync.config import parse_config
    from sheetsync.core.sources import SourceData

    kpis = {kpi_id: {"title": kpi_id, "source": "orders", "date_column": "Date", **spec}
            for kpi_id, spec in specs.items()}
    config = parse_config({"project": {"period": "2026-Q4"}, "sources": {"orders": {"type": "csv",
                           "path": "orders.csv"}}, "kpis": kpis}, Path("config.toml"))  # fmt: skip
    data = {"orders": SourceData("orders", "csv", "orders.csv", None, datetime.now(UTC), frame)}
    return {k.id: k.value for k in compute(config, data, AS_OF).kpis}


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_a_text_column_is_factorized_once_for_its_dates_filters_and_distinct_counts(
    monkeypatch: pytest.MonkeyPatch, dtype: str
) -> None:
    """Date order, date parsing, filters and distinct counts over a column share one factorization of it."""
    size = 120
    frame = _orders(["paid", "refunded", " paid "] * (size // 3), dtype)
    frame["Date"] = pd.Series([f"{1 + i % 28:02d}/10/2026" for i in range(size)], dtype=dtype)  # day-first
    frame["Customer"] = pd.Series([f"C{i % 9}" for i in range(size)], dtype=dtype)
    factorized = whole_columns_factorized(monkeypatch, size)
    got = _kpis_over(frame, {
        "buyers": {"column": "Customer", "agg": "count_distinct", "filter": "Status == 'paid'"},
        "vip": {"column": "Customer", "agg": "count_distinct", "filter": "Customer != 'C1'"},
        "orders": {"column": "Customer", "agg": "count", "filter": "Status != 'refunded'"},
    })
    assert sorted(factorized) == ["Customer", "Date", "Status"]
    paid = frame[frame["Status"] == "paid"]
    assert got["buyers"] == paid["Customer"].nunique()
    assert got["vip"] == frame.loc[frame["Customer"] != "C1", "Customer"].nunique()
    assert got["orders"] == (frame["Status"] != "refunded").sum()


def test_rows_already_in_date_order_are_shared_uncopied_and_read_as_shuffled_rows_are() -> None:
    """A sheet appended day by day needs no sort: its columns are the KPIs' arrays; shuffled, the same numbers."""
    size = 400
    statuses = ["paid", "refunded", "paid", "pending"] * (size // 4)
    ordered = _orders(statuses)
    ordered["Date"] = pd.Series([f"2026-{10 + i * 2 // size}-{1 + i * 28 // size % 28:02d}" for i in range(size)],
                                dtype="str")
    ordered["Customer"] = pd.Series([f"C{i % 13}" for i in range(size)], dtype="str")
    ordered.loc[7, "Amount"] = float("nan")
    cache = ColumnCache(ordered, SourceConfig(name="s", type="csv", path="s.csv"))
    assert cache.date_order("Date") is None
    assert cache.sorted_column("number", "Amount", "Date") is cache.numbers("Amount")[0]
    shuffled = ordered.sample(frac=1, random_state=3).reset_index(drop=True)
    assert ColumnCache(shuffled, SourceConfig(name="s", type="csv", path="s.csv")).date_order("Date") is not None
    specs: dict[str, dict[str, Any]] = {
        f"{agg}_{i}": {"column": column, "agg": agg, "filter": text, "grain": grain}
        for i, (text, grain) in enumerate([("Status == 'paid'", "week"), ("Status != 'pending'", "month")])
        for agg, column in [("sum", "Amount"), ("median", "Amount"), ("count", "Amount"),
                            ("count_distinct", "Customer"), ("mean", "Amount")]
    }
    assert _kpis_over(ordered, specs) == _kpis_over(shuffled, specs)


def test_a_text_column_compared_with_literals_is_never_spread_into_per_row_texts() -> None:
    """`Status == 'paid'` compares each distinct text once; per-row texts are made only for what needs them."""
    frame = _orders(["paid", "refunded", None, "paid "] * 25)  # type: ignore[list-item]
    frame["Other"] = pd.Series(["paid", "x", "y", "paid "] * 25, dtype="str")
    cache = ColumnCache(frame, SourceConfig(name="s", type="csv", path="s.csv"))
    for text in ("Status == 'paid'", "Status != 'paid'", "Status > 'p'", "Status in ['refunded', 'x']"):
        cache.mask(parse_filter(text), "k")
    status = cache.operands(frame)[("Status", "raw")]
    assert status._values is None
    same = cache.mask(parse_filter("Status == Other"), "k")
    assert same.tolist() == [True, False, False, True] * 25
    assert status._values is not None


@given(st.lists(st.sampled_from(["$1,234.50", "1234.5", "€12", "12%", "(3)", "N/A", "", " 7 ", "abc", "1,5",
                                 "1e3", "inf", "-0", "$ 5", "1.234,5"]) | st.just(None), max_size=30))
def test_a_string_column_parsed_per_distinct_value_reads_as_parsed_per_cell(cells: list[str | None]) -> None:
    """Numbers and their bad cells are the same whether a string column is parsed by cell or by distinct value."""
    from sheetsync.core.distinct import distinct_values

    column = pd.Series(cells, dtype="str")
    by_cell, bad_by_cell = numbers.parse_numbers(column)
    by_value, bad_by_value = numbers.parse_numbers(column, distinct=distinct_values(column))
    assert by_cell.equals(by_value) and bad_by_cell == bad_by_value
    assert numbers.mixed_currencies(column) == numbers.mixed_currencies(column, distinct=distinct_values(column))


def test_a_money_column_is_factorized_once_for_its_numbers_and_currencies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV's money text is read once per distinct value for its numbers and its currency check."""
    size = 90
    frame = _orders(["paid", "refunded", "paid"] * (size // 3))
    frame["Amount"] = pd.Series([f"${i % 30 * 3.5:,.2f}" for i in range(size - 1)] + ["€4"], dtype="str")
    factorized = whole_columns_factorized(monkeypatch, size)
    cache = ColumnCache(frame, SourceConfig(name="s", type="csv", path="s.csv"))
    values, bad = cache.numbers("Amount")
    assert factorized == ["Amount"] and bad == []
    assert values[:3].tolist() == [0.0, 3.5, 7.0] and pd.isna(values[-1])  # the one '€' cell is skipped
    assert "mixes currencies" in cache.number_notes("Amount")[0]


@pytest.mark.parametrize(("cells", "found"), [
    ([1.5, 2.0, None, 3], {}),  # an .xlsx column of numbers: no text, nothing to look at
    ([1.5, "$2", "€3", "$4"], {"$": [1, 3], "€": [2]}),  # numbers and money text mixed
    ([7, "€3", "$4"], {"€": [1], "$": [2]}),
])
def test_an_object_column_is_searched_for_currencies_only_when_it_holds_text(
    cells: list[object], found: dict[str, list[int]]
) -> None:
    assert numbers.mixed_currencies(pd.Series(cells, dtype=object)) == found


@given(st.lists(st.integers(-(2**70), 2**70) | st.floats() | st.none(), max_size=25))
def test_an_object_column_of_numbers_is_cast_not_parsed_and_reads_as_each_cells_float(cells: list[object]) -> None:
    """An .xlsx/Google column of numbers converts by C casts (no pandas.to_numeric): each cell's own float."""
    column = pd.Series(cells, dtype=object)
    real, parse_cell = pd.to_numeric, numbers._safe_parse

    def unused(*args: object) -> None:
        raise AssertionError("a cell of a number column went through the text parser")

    try:
        pd.to_numeric = numbers._safe_parse = unused  # type: ignore[assignment]  # the casts need neither
        values, bad = numbers.parse_numbers(column)
    finally:
        pd.to_numeric, numbers._safe_parse = real, parse_cell
    expected = [float("nan") if v is None else float(v) for v in cells]  # type: ignore[arg-type]
    assert bad == [] and np.array_equal(values.to_numpy(), np.array(expected, dtype="float64"), equal_nan=True)


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_distinct_count_factorizes_only_the_rows_its_windows_reach(
    monkeypatch: pytest.MonkeyPatch, shuffled: bool
) -> None:
    """A quarter's distinct customers factorize the quarter's rows, not the file's; an earlier window widens that.

    The counts equal pandas' `nunique` over each window, blanks and spaces trimmed as ever.
    """
    from sheetsync.config import parse_config
    from sheetsync.core.kpis import prepare_kpi_rows

    days = pd.date_range("2026-07-01", "2026-11-24").strftime("%Y-%m-%d").tolist()
    rows = [(day, f" C{(i * 7) % 53} " if i % 11 == 0 else f"C{(i * 7) % 53}", "paid" if i % 3 else "refunded")
            for i, day in enumerate(day for day in days for _ in range(6))]
    rows += [("2026-10-05", "", "paid"), ("2026-10-06", "   ", "paid"), ("2026-10-07", None, "paid")]
    frame = pd.DataFrame(rows, columns=["Date", "Customer", "Status"]).astype("str")
    frame.loc[frame["Customer"] == "None", "Customer"] = None
    if shuffled:
        frame = frame.sample(frac=1, random_state=5).reset_index(drop=True)
    config = parse_config({"project": {"period": "2026-Q4"}, "sources": {"orders": {"type": "csv", "path": "o.csv"}},
                           "kpis": {"buyers": {"title": "Buyers", "source": "orders", "column": "Customer",
                                               "agg": "count_distinct", "date_column": "Date",
                                               "filter": "Status == 'paid'"}}}, Path("config.toml"))  # fmt: skip
    factorized = whole_columns_factorized(monkeypatch, len(frame))
    sizes = record_calls(monkeypatch, pd, "factorize", lambda values, *args, **kwargs: len(values))
    arrow_sizes = record_calls(monkeypatch, distinct_module, "arrow_distinct", len)  # a string column's way
    cache = ColumnCache(frame, config.sources["orders"])
    kpi_rows, _ = prepare_kpi_rows(frame, config.kpis["buyers"], config.sources["orders"], cache=cache)
    assert sorted(factorized) == ["Date", "Status"]  # preparing factorized no customer

    def expected(start: str, end: str) -> int:
        chosen = frame[(frame["Date"] >= start) & (frame["Date"] <= end) & (frame["Status"] == "paid")]
        trimmed = chosen["Customer"].str.strip()
        return trimmed[trimmed.ne("") & trimmed.notna()].nunique()

    sizes.clear()
    arrow_sizes.clear()
    quarter = sum(1 for day in frame["Date"] if day >= "2026-10-01")
    for start, end in [("2026-10-01", "2026-11-24"), ("2026-10-01", "2026-11-17"), ("2026-11-16", "2026-11-22")]:
        assert kpi_rows.value(date.fromisoformat(start), date.fromisoformat(end)) == expected(start, end)
    big = [size for size in sizes + arrow_sizes if size > 100]  # not the distinct values of one
    assert len(big) == 1 and quarter - 6 <= big[0] <= quarter  # the quarter's rows, once, for all three windows
    assert kpi_rows.value(date(2026, 7, 1), date(2026, 9, 30)) == expected("2026-07-01", "2026-09-30")
    assert max(sizes + arrow_sizes) >= len(frame) - 6  # the previous quarter asked for: the covered rows take it in
    assert kpi_rows.value(date(2026, 10, 1), date(2026, 11, 24)) == expected("2026-10-01", "2026-11-24")
