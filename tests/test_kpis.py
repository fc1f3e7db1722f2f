"""KPI values over windows, series, previous values and formulas: pure, on in-memory frames."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from sheetsync.core.kpis import (
    KPIDataError,
    KPIEvaluator,
    evaluate_kpi,
    kpi_status,
    prepare_kpi_rows,
    previous_period_value,
)
from sheetsync.core.model import KPIConfig, SourceConfig
from sheetsync.core.periods import parse_period
from sheetsync.core.sources import ROW_COLUMN

Q4 = parse_period("2026-Q4")
SRC = SourceConfig(name="s", type="csv", path="s.csv")


def frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["Date", "Value", "Kind"], dtype=object)
    df[ROW_COLUMN] = range(2, len(df) + 2)
    return df


def kpi(**kw) -> KPIConfig:
    base = {"id": "k", "title": "K", "source": "s", "column": "Value", "date_column": "Date"}
    base.update(kw)
    return KPIConfig(**base)


def evaluator(
    df: pd.DataFrame, *kpis: KPIConfig, source: SourceConfig = SRC
) -> tuple[KPIEvaluator, list[str]]:
    rows, warnings = {}, []
    for k in kpis:
        if k.formula is None:
            rows[k.id], w = prepare_kpi_rows(df, k, source)
            warnings += w
    return KPIEvaluator({k.id: k for k in kpis}, rows), warnings


DATA = frame(
    [
        ("2026-09-30", "100", "a"),  # Q3: outside the to-date window
        ("2026-10-01", "10", "a"),
        ("2026-11-16", "20", "b"),  # Monday of W47
        ("2026-11-22", "30", "a"),  # Sunday of W47
        ("2026-11-23", "40", "a"),  # Monday of W48 (incomplete week)
        ("2026-11-24", "50", "a"),  # the as-of date itself is included
        ("2026-11-25", "60", "a"),  # after as-of: never counted
    ]
)
AS_OF = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("agg", "value"),
    [
        ("sum", 150),
        ("mean", 30),
        ("median", 30),
        ("min", 10),
        ("max", 50),
        ("count", 5),
        ("first", 10),
        ("last", 50),
        ("count_distinct", 5),
    ],
)
def test_to_date_aggregations_include_as_of(agg, value):
    ev, _ = evaluator(DATA, kpi(agg=agg))
    assert evaluate_kpi(ev, "k", Q4, AS_OF).value == pytest.approx(value)


def test_latest_window_is_last_complete_week():
    ev, _ = evaluator(DATA, kpi(agg="sum", window="latest"))
    result = evaluate_kpi(ev, "k", Q4, AS_OF)
    assert result.value == 50  # 20 + 30, Monday 16th to Sunday 22nd
    assert (result.window_start, result.window_end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert result.previous == 0  # W46 had no rows: a sum of nothing is 0


def test_previous_is_one_grain_step_earlier():
    ev, _ = evaluator(DATA, kpi(agg="sum"))
    result = evaluate_kpi(ev, "k", Q4, AS_OF)
    assert result.previous == 30  # to date as of 17 Nov: 10 (1 Oct) + 20 (16 Nov)
    assert result.change == 150 - result.previous


MONTHS = frame(
    [
        ("2026-03-31", "5", "a"),
        ("2026-06-30", "7", "a"),
        ("2026-09-30", "1000", "a"),
        ("2026-10-30", "7", "a"),
        ("2026-10-31", "8", "a"),
        ("2026-11-15", "48", "a"),
    ]
)


@pytest.mark.parametrize(
    ("as_of", "value", "previous"),
    [
        (date(2026, 11, 30), 48, 15),  # November against October, not 30 Oct's last complete month (September)
        (date(2026, 12, 3), 48, 15),
        (date(2026, 11, 29), 15, 1000),  # November not complete yet: October against September
    ],
)
def test_a_latest_month_compares_with_the_month_before_it(as_of, value, previous):
    ev, _ = evaluator(MONTHS, kpi(agg="sum", window="latest", grain="month"))
    result = evaluate_kpi(ev, "k", Q4, as_of)
    assert (result.value, result.previous) == (value, previous)


def test_a_latest_month_on_the_day_before_a_short_month_ends_is_not_compared_with_itself():
    days = frame([("2027-01-15", "1", "a"), ("2027-02-10", "2", "a"), ("2027-03-30", "4", "a")])
    ev, _ = evaluator(days, kpi(agg="sum", window="latest", grain="month"))
    result = evaluate_kpi(ev, "k", parse_period("2027-Q1"), date(2027, 3, 30))
    assert (result.window_start, result.value, result.previous) == (date(2027, 2, 1), 2, 1)


def test_a_latest_quarter_at_a_quarter_end_compares_with_the_quarter_before():
    ev, _ = evaluator(MONTHS, kpi(agg="sum", window="latest", grain="quarter"))
    result = evaluate_kpi(ev, "k", parse_period("2026"), date(2026, 6, 30))
    assert (result.value, result.previous) == (7, 5)


def test_to_date_at_a_month_end_compares_with_the_whole_month_before():
    ev, _ = evaluator(MONTHS, kpi(agg="sum", grain="month"))
    result = evaluate_kpi(ev, "k", Q4, date(2026, 11, 30))
    assert (result.value, result.previous) == (63, 15)  # through 31 Oct, not 30 Oct (7)


def test_series_buckets_and_completeness():
    ev, _ = evaluator(DATA, kpi(agg="sum", grain="week"))
    series = evaluate_kpi(ev, "k", Q4, AS_OF).series
    assert series[0].label == "2026-W40" and series[0].value == 10
    w47 = next(p for p in series if p.label == "2026-W47")
    assert (w47.value, w47.complete) == (50, True)
    # The current week counts rows up to the as-of date only (not the 60 dated 25 Nov).
    assert (series[-1].label, series[-1].value, series[-1].complete) == ("2026-W48", 90, False)


def test_count_distinct_and_empty_windows():
    ev, _ = evaluator(DATA, kpi(column="Kind", agg="count_distinct"))
    assert evaluate_kpi(ev, "k", Q4, AS_OF).value == 2
    before_period = date(2026, 9, 30)
    assert evaluate_kpi(evaluator(DATA, kpi(agg="mean"))[0], "k", Q4, before_period).value is None
    assert evaluate_kpi(evaluator(DATA, kpi(agg="sum"))[0], "k", Q4, before_period).value == 0


def test_filter_and_number_warnings_name_source_column_row():
    df = frame(
        [
            ("2026-10-02", "12%", "a"),
            ("2026-10-03", "N/A", "a"),
            ("2026-10-04", "abc", "a"),
            ("2026-10-05", "(1,200)", "b"),
            ("not a date", "5", "a"),
        ]
    )
    ev, warnings = evaluator(df, kpi(agg="sum", filter="Kind == 'a'"))
    assert evaluate_kpi(ev, "k", Q4, AS_OF).value == pytest.approx(0.12)
    assert "source 's', column 'Value', row 4: 'abc' is not a number (skipped)" in warnings
    assert any("column 'Date', row 6: 'not a date' is not a date" in w for w in warnings)
    assert not any("N/A" in w for w in warnings)  # missing is not an error


def test_real_zero_is_a_value():
    df = frame([("2026-10-02", "0", "a")])
    ev, _ = evaluator(df, kpi(agg="mean"))
    result = evaluate_kpi(ev, "k", Q4, AS_OF)
    assert result.value == 0.0
    assert result.status == "no_target"


def test_all_missing_cells_are_no_data_not_zero():
    df = frame([("2026-10-02", "N/A", "a"), ("2026-10-03", "", "a")])
    ev, _ = evaluator(df, kpi(agg="sum"))
    assert evaluate_kpi(ev, "k", Q4, AS_OF).value is None


def test_missing_column_is_a_clear_error():
    with pytest.raises(
        KPIDataError, match=r"kpis.k.column: source 's' has no column 'Valeu' \(did you mean 'Value'\?\)"
    ):
        prepare_kpi_rows(DATA, kpi(column="Valeu"), SRC)


def test_a_header_below_a_title_is_named_by_its_own_row_not_a_totals_label_further_down():
    grid = pd.DataFrame({  # read with row 1 (a title) as the header: the real headers are row 3
        "Sales report": [None, "Date", "2026-10-01", "2026-10-02", None, None, None, "Total"],
        "B": [None, "Region", "EU", "US", None, None, None, None],
        "C": [None, "Total", "5", "7", None, None, None, "12"],
    }, dtype=object)
    grid[ROW_COLUMN] = range(2, len(grid) + 2)
    with pytest.raises(KPIDataError, match=r"'Total' is a cell of row 3: set header_row = 3 on sources.s"):
        prepare_kpi_rows(grid, kpi(column="Total", date_column=None), SRC)


def rate_evaluator(orders: list[tuple], sessions: list[tuple]) -> KPIEvaluator:
    orders_k = kpi(id="orders", agg="sum", grain="week")
    sessions_k = kpi(id="sessions", agg="sum", grain="week")
    rate = KPIConfig(id="rate", title="Rate", formula="orders / sessions", window="latest", grain="week")
    rows = {
        "orders": prepare_kpi_rows(frame(orders), orders_k, SRC)[0],
        "sessions": prepare_kpi_rows(frame(sessions), sessions_k, SRC)[0],
    }
    return KPIEvaluator({"orders": orders_k, "sessions": sessions_k, "rate": rate}, rows)


def test_formula_over_the_same_window():
    ev = rate_evaluator(
        [("2026-11-16", "5", "o"), ("2026-11-17", "5", "o")],
        [("2026-11-16", "400", "s"), ("2026-11-17", "600", "s"), ("2026-11-10", "0", "s")],
    )
    result = evaluate_kpi(ev, "rate", Q4, AS_OF)
    assert result.value == pytest.approx(10 / 1000)
    assert result.previous is None  # W46: 0 orders / 0 sessions
    assert ev.warnings == {}  # an empty earlier week is no reason to warn


def test_formula_division_by_zero_in_the_current_window_warns():
    ev = rate_evaluator([("2026-11-16", "5", "o")], [("2026-11-16", "0", "s")])
    result = evaluate_kpi(ev, "rate", Q4, AS_OF)
    assert result.value is None
    assert list(ev.warnings) == [
        "kpis.rate.formula: division by zero: sessions is 0 for 2026-11-16..2026-11-22; the value is left empty"
    ]


def test_previous_period_value():
    ev, _ = evaluator(DATA, kpi(agg="sum"))
    assert previous_period_value(ev, "k", Q4) == 100


def test_kpi_without_date_column_uses_all_rows():
    ev, _ = evaluator(DATA, kpi(agg="sum", date_column=None))
    result = evaluate_kpi(ev, "k", Q4, AS_OF)
    assert result.value == 310
    assert result.series == () and result.previous is None


def test_european_decimals():
    df = frame([("05/10/2026", "1.234,56", "a")])
    source = SourceConfig(name="s", type="csv", path="s.csv", decimal=",", dayfirst=True)
    ev, warnings = evaluator(df, kpi(agg="sum"), source=source)
    assert warnings == []
    assert evaluate_kpi(ev, "k", Q4, AS_OF).value == pytest.approx(1234.56)


@pytest.mark.parametrize(
    ("value", "target", "warn", "direction", "status"),
    [
        (0.91, 0.9, 0.85, "increase", "on_track"),
        (0.87, 0.9, 0.85, "increase", "at_risk"),
        (0.80, 0.9, 0.85, "increase", "off_track"),
        (2.5, 2, 3, "decrease", "at_risk"),
        (1.5, 2, 3, "decrease", "on_track"),
        (None, 2, 3, "decrease", "no_data"),
        (5, None, None, "increase", "no_target"),
        (0.8, 0.9, None, "increase", "off_track"),
    ],
)
def test_kpi_status(value, target, warn, direction, status):
    assert kpi_status(value, target, warn, direction) == status


def test_a_filter_is_evaluated_once_per_source_however_many_kpis_use_it(monkeypatch, tmp_path):
    """40 filtered KPIs on one source: one mask per distinct filter, each KPI still right."""
    from collections import Counter
    from datetime import UTC, datetime

    from sheetsync.config import parse_config
    from sheetsync.core import kpis as kpis_module
    from sheetsync.core.sources import SourceData
    from sheetsync.runtime.pipeline import compute

    evaluated: Counter[str] = Counter()
    real = kpis_module.apply_filter_mask

    def counting(frame, text, key, cells=None, notes=None):
        evaluated[text] += 1
        return real(frame, text, key, cells, notes)

    monkeypatch.setattr(kpis_module, "apply_filter_mask", counting)
    rows = [(f"2026-10-{1 + i % 28:02d}", float(i), ["paid", "refunded", " paid "][i % 3], f"C{i % 7}")
            for i in range(300)]
    df = pd.DataFrame(rows, columns=["Date", "Amount", "Status", "Customer"])
    df[ROW_COLUMN] = range(2, len(df) + 2)
    filters = ["Status == 'paid'", "Status  ==  'paid'", "Status != 'paid'"]  # two distinct, one spaced
    aggs = [("sum", "Amount"), ("count", "Customer"), ("count_distinct", "Customer"), ("median", "Amount")]
    kpis = {
        f"k{i}": {"title": f"K{i}", "source": "orders", "column": aggs[i % 4][1], "agg": aggs[i % 4][0],
                  "date_column": "Date", "filter": filters[i % 3]}
        for i in range(40)
    }
    config = parse_config(
        {"project": {"period": "2026-Q4"}, "sources": {"orders": {"type": "csv", "path": "orders.csv"}},
         "kpis": kpis},
        tmp_path / "config.toml",
    )
    data = {"orders": SourceData("orders", "csv", "orders.csv", None, datetime.now(UTC), df)}
    result = compute(config, data, AS_OF)

    assert evaluated == {"Status == 'paid'": 1, "Status != 'paid'": 1}
    for kpi_result in result.kpis:
        spec = kpis[kpi_result.id]
        chosen = df.query(spec["filter"])
        expected = {"sum": chosen["Amount"].sum(), "count": float(len(chosen)),
                    "count_distinct": float(chosen["Customer"].nunique()),
                    "median": chosen["Amount"].median()}[spec["agg"]]
        assert kpi_result.value == pytest.approx(expected), kpi_result.id


def _shared_rows(values: list[float], keep: list[bool], agg: str = "median", *, index: bool = True):
    """KPIRows over shared date-sorted arrays, as ColumnCache hands them out (one row per day)."""
    import numpy as np

    from sheetsync.core.kpis import KPIRows

    array = np.array(values, dtype=float)
    days = np.arange(20_362, 20_362 + len(values), dtype=np.int64)  # 2025-10-01 on
    chosen = np.flatnonzero(keep) if index else None
    return KPIRows(agg, array, days, chosen, complete=not np.isnan(array).any()), array


@pytest.mark.parametrize("index", [True, False])
def test_a_median_is_numpys_and_leaves_the_shared_column_as_it_was(index):
    """Medians partition their own copy: the same number np.median gives, and the next KPI sees the column unsorted."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.floats(-1e6, 1e6) | st.just(float("nan")), st.booleans()), min_size=1,
                    max_size=40), st.integers(0, 39), st.integers(0, 39))
    def check(cells, a, b):
        values = [v for v, _ in cells]
        keep = [k or not index for _, k in cells]
        rows, shared = _shared_rows(values, keep, index=index)
        before = shared.copy()
        lo, hi = sorted((min(a, len(values) - 1), min(b, len(values) - 1)))
        start, end = (date(2025, 10, 1) + pd.Timedelta(days=d) for d in (lo, hi))
        picked = np.array([v for i, (v, k) in enumerate(zip(values, keep, strict=True)) if k and lo <= i <= hi])
        picked = picked[~np.isnan(picked)]
        expected = float(np.median(picked)) if len(picked) else None
        assert rows.value(start, end) == expected
        assert np.array_equal(shared, before, equal_nan=True)

    rows, shared = _shared_rows([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 0.0, 7.0], [True] * 8, index=index)
    assert rows.complete and rows.value(None, None) == 3.5
    assert shared.tolist() == [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 0.0, 7.0]
    check()


@pytest.mark.parametrize("size", [20_000, 77_777, 250_001])
@pytest.mark.parametrize("shape", ["spread", "sorted", "reversed", "few values", "one value", "spikes on the sample"])
def test_a_large_median_narrowed_by_a_sample_is_numpys(size, shape):
    """Past 20,000 values a sample bounds the middle ranks; whatever the values (even ones that fool the
    sample), the median is np.median's and the shared column is left as it was."""
    import numpy as np

    rng = np.random.default_rng(size)
    values = np.round(rng.gamma(2.0, 30.0, size), 2)
    if shape == "sorted":
        values.sort()
    elif shape == "reversed":
        values = np.sort(values)[::-1].copy()
    elif shape == "few values":
        values = rng.integers(0, 4, size).astype(float)
    elif shape == "one value":
        values = np.full(size, 2.5)
    elif shape == "spikes on the sample":  # every value the sample takes is huge: its bounds miss the middle
        values = np.ones(size)
        values[:: size // min(4096, 8 * math.isqrt(size))] = 1e9
    rows, shared = _shared_rows(values.tolist(), [True] * size, index=False)
    before = shared.copy()
    assert rows.value(None, None) == float(np.median(values))
    keep = rng.random(size) < 0.7
    picked, _ = _shared_rows(values.tolist(), keep.tolist(), index=True)
    assert picked.value(None, None) == float(np.median(values[keep]))
    assert np.array_equal(shared, before)


@pytest.mark.parametrize("agg", ["sum", "mean", "median", "count", "min", "last"])
@pytest.mark.parametrize("index", [True, False])
def test_a_series_windows_found_at_once_are_each_windows_value(agg, index):
    """`series_values` (every bucket's bounds in one search) answers as `value` does window by window."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.floats(-1e3, 1e3) | st.just(float("nan")), st.booleans()), min_size=1, max_size=30),
           st.lists(st.tuples(st.integers(-3, 33), st.integers(-3, 33)), max_size=8))
    def check(cells, spans):
        rows, _ = _shared_rows([v for v, _ in cells], [k or not index for _, k in cells], agg, index=index)
        windows = [(date(2025, 10, 1) + pd.Timedelta(days=a), date(2025, 10, 1) + pd.Timedelta(days=b))
                   for a, b in spans]
        each = [rows.value(start, end) for start, end in windows]
        assert np.array_equal(np.array(rows.series_values(windows), dtype=float), np.array(each, dtype=float),
                              equal_nan=True)

    check()


def test_identical_windows_of_one_source_are_aggregated_once(monkeypatch):
    """Two KPIs over the same rows (say one per key result) share each window's aggregate; others do not."""
    from sheetsync.core.kpis import ColumnCache, KPIRows

    calls: list[tuple[str, int, int]] = []
    real = KPIRows._aggregate

    def counted(self, a, b):
        calls.append((self.agg, a, b))
        return real(self, a, b)

    monkeypatch.setattr(KPIRows, "_aggregate", counted)
    df = frame([(f"2026-10-{1 + i % 28:02d}", str(i), "ab"[i % 2]) for i in range(60)])
    cache = ColumnCache(df.reset_index(drop=True), SRC)
    specs = [kpi(id="a", filter="Kind == 'a'"), kpi(id="a2", filter="Kind  ==  'a'"), kpi(id="b", filter="Kind == 'b'"),
             kpi(id="m", filter="Kind == 'a'", agg="median")]
    rows = {k.id: prepare_kpi_rows(cache.frame, k, SRC, cache=cache)[0] for k in specs}
    evaluator = KPIEvaluator({k.id: k for k in specs}, rows)
    results = {k.id: evaluate_kpi(evaluator, k.id, Q4, AS_OF) for k in specs}
    assert (results["a"].value, results["a"].previous, results["a"].series) == (
        results["a2"].value, results["a2"].previous, results["a2"].series)
    per_kpi = len(calls) // 3  # a2 computed nothing of its own: a, b and m each did
    assert len(calls) == 3 * per_kpi and per_kpi > 1
    assert results["a"].value == sum(float(i) for i in range(0, 60, 2))
    assert results["m"].value != results["a"].value


def test_counts_of_a_column_without_blanks_are_its_row_counts_and_with_one_are_not():
    """A complete column counts rows; one blank cell makes it incomplete and is left out of the count."""
    full = frame([("2026-10-01", "1", "a"), ("2026-10-02", "2", "a"), ("2026-10-03", "3", "b")])
    holed = frame([("2026-10-01", "1", "a"), ("2026-10-02", None, "a"), ("2026-10-03", "  ", "b")])
    for df, count, complete in ((full, 3.0, True), (holed, 1.0, False)):
        rows, _ = prepare_kpi_rows(df, kpi(agg="count"), SRC)
        assert rows.complete is complete
        assert rows.value(date(2026, 10, 1), date(2026, 10, 31)) == count
        distinct, _ = prepare_kpi_rows(df, kpi(agg="count_distinct"), SRC)
        assert distinct.value(date(2026, 10, 1), date(2026, 10, 31)) == count


@pytest.mark.parametrize("codes", [[], [-1, -1], [0], [5, -1, 5, 2, 0, 7, 7, -1], list(range(-1, 300, 3)) * 2])
def test_a_distinct_count_counts_each_code_once_and_no_blank(codes: list[int]) -> None:
    """Codes flag their slots: each counted once, a blank (-1) never, a high code as any other."""
    import numpy as np

    from sheetsync.core.kpis import KPIRows

    rows = KPIRows("count_distinct", np.array(codes, dtype=np.int64), None)
    assert rows.value(None, None) == float(len({c for c in codes if c >= 0}))


def test_a_column_is_bounded_only_when_neither_its_largest_nor_its_most_negative_cell_can_overflow_a_sum():
    """The guard looks past blank cells at both ends: a huge negative cell needs the guard as a huge positive one."""
    import numpy as np

    from sheetsync.core.kpis import ColumnCache

    df = pd.DataFrame({"Up": [5e299, 2.0, np.nan, 1.0], "Down": [-5e299, 2.0, np.nan, 1.0],
                       "Small": [-3.5, np.nan, 2.0, 1.0], "Blank": [np.nan] * 4, "Huge": [-1e308, -1e308, np.nan, 1.0]})
    cache = ColumnCache(df, SRC)
    assert not cache.bounded("Up") and not cache.bounded("Down") and not cache.bounded("Huge")
    assert cache.bounded("Small") and cache.bounded("Blank")
    spec = KPIConfig(id="k", title="K", source="s", column="Huge", agg="sum")
    evaluator = KPIEvaluator({"k": spec}, {"k": prepare_kpi_rows(df, spec, SRC, cache=cache)[0]})
    assert evaluator.value("k", None, None) is None  # guarded: the negative overflow is said, not a -inf
    assert [w for w in evaluator.warnings if "beyond" in w]


@pytest.mark.parametrize(("cells", "dtype", "count"), [
    ([1, 2, 3], "int64", 3.0), ([True, False], "bool", 2.0), ([1, None, 3], "Int64", 2.0),
    ([1.0, float("nan"), 3.0], "float64", 2.0),
])
def test_a_count_of_a_numeric_column_leaves_out_only_its_missing_cells(cells: list, dtype: str, count: float) -> None:
    """A numpy integer or boolean column has no blank cell; a nullable one's missing cells still are blank."""
    df = pd.DataFrame({"Date": ["2026-10-01"] * len(cells), "Value": pd.array(cells, dtype=dtype)})
    rows, _ = prepare_kpi_rows(df, kpi(agg="count"), SRC)
    assert rows.value(date(2026, 10, 1), date(2026, 10, 31)) == count


def test_one_cell_written_with_the_other_decimal_separator_is_named_in_the_singular():
    from sheetsync.core.kpis import ColumnCache

    grid = pd.DataFrame({"V": pd.Series(["1,5", "2", "3"], dtype=object), ROW_COLUMN: [2, 3, 4]})
    cache = ColumnCache(grid, SRC)
    assert cache.numbers("V")[1] == [(0, "1,5")]
    assert cache.notes[("number", "V")] == [
        "source 's', column 'V': 1 cell, row 2 ('1,5'), is a number written with ',' as the decimal separator:"
        ' set decimal = "," on sources.s']
