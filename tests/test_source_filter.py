"""A source's filter and its KPIs share what the filter read: mechanisms and equal results, never timings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.config import parse_config
from sheetsync.core import distinct as distinct_module
from sheetsync.core.distinct import distinct_values
from sheetsync.core.kpis import apply_filter
from sheetsync.core.model import Config
from sheetsync.core.sources import ROW_COLUMN, SourceData
from sheetsync.runtime.pipeline import compute
from tests.helpers import record_calls

AS_OF = date(2026, 11, 24)
_TEXTS = ["web", "Web", " web", "web ", "spam", "", "  ", "N/A", "1", "1.0", "é", None]


@given(st.lists(st.sampled_from(_TEXTS), max_size=40), st.data())
def test_a_subsets_codes_are_those_factorizing_its_cells_gives(cells: list[str | None], data: st.DataObject) -> None:
    """`Distinct.subset` is `distinct_values` of the kept cells: the same codes, the same uniques in the same order."""
    column = pd.Series(cells, dtype="str")
    kept = data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    rows = np.flatnonzero(np.array(kept, dtype=bool))
    got = distinct_values(column).subset(rows)
    expected = distinct_values(column.iloc[rows].reset_index(drop=True))
    assert got.codes.tolist() == expected.codes.tolist() and got.codes.dtype == expected.codes.dtype
    assert got.uniques.equals(expected.uniques) and got.uniques.dtype == expected.uniques.dtype
    assert got.values() == expected.values()


def _frame(dtype: str) -> pd.DataFrame:
    """Orders with what a source filter and its KPIs must read alike: blanks, near misses, bad cells in both halves."""
    size = 90
    channels = [["web", "spam", "email", "Web", " web", "", None, "spam", "web"][i % 9] for i in range(size)]
    statuses = [["paid", "Paid", "refunded", "paid ", "paid"][i % 5] for i in range(size)]
    days = [f"{1 + i % 28:02d}/{10 + i % 2}/2026" for i in range(size)]
    days[1] = "not a date"  # a spam row: no warning of it once the source leaves it out
    days[9] = "sometime"  # a kept row
    amounts = [f"${i},{i % 10}00.50" if i % 7 else "N/A" for i in range(size)]
    amounts[1], amounts[8] = "lots", "plenty"  # spam, then kept (web, not refunded)
    frame = pd.DataFrame({
        "Date": pd.Series(days, dtype=dtype), "Channel": pd.Series(channels, dtype=dtype),
        "Status": pd.Series(statuses, dtype=dtype), "Amount": pd.Series(amounts, dtype=dtype),
        "Customer": pd.Series([f"C{i % 11}" for i in range(size)], dtype=dtype),
        "Code": pd.Series([str(i % 4) if i % 6 else "NA" for i in range(size)], dtype=dtype),
    })
    frame[ROW_COLUMN] = range(2, size + 2)
    return frame


_KPIS: dict[str, dict[str, Any]] = {
    "web": {"agg": "sum", "column": "Amount", "filter": "Channel == 'web' and Status == 'paid'"},
    "not_web": {"agg": "count", "column": "Customer", "filter": "not (Channel == 'web')"},
    "buyers": {"agg": "count_distinct", "column": "Customer", "filter": "Channel in ['email', 'web']"},
    "codes": {"agg": "count", "column": "Code", "filter": "Code != 'NA' and Code >= 1"},
    "median": {"agg": "median", "column": "Amount", "filter": "Status != 'refunded'"},
    "typo": {"agg": "sum", "column": "Amont"},
    "bad_filter": {"agg": "sum", "column": "Amount", "filter": "Chanel == 'web'"},
}


def _config(source_filter: str | None) -> Config:
    kpis = {k: {"title": k, "source": "orders", "date_column": "Date", **spec} for k, spec in _KPIS.items()}
    source: dict[str, Any] = {"type": "csv", "path": "orders.csv", "dayfirst": True}
    if source_filter is not None:
        source["filter"] = source_filter
    return parse_config({"project": {"period": "2026-Q4"}, "sources": {"orders": source}, "kpis": kpis},
                        Path("config.toml"))


def _data(frame: pd.DataFrame) -> dict[str, SourceData | Any]:
    return {"orders": SourceData("orders", "csv", "orders.csv", None, datetime.now(UTC), frame)}


@pytest.mark.parametrize("dtype", ["str", "object"])
@pytest.mark.parametrize("source_filter", ["Channel != 'spam'", "Channel == 'web' or Channel == 'Web'",
                                           "Status != 'nothing'", "Amount > 500"])
def test_a_source_filters_kpis_are_those_of_its_filtered_rows(dtype: str, source_filter: str) -> None:
    """Values, cell warnings (their sheet rows), notes and errors: as if the source's rows were filtered first."""
    frame = _frame(dtype)
    got = compute(_config(source_filter), _data(frame), AS_OF)
    config = _config(None)
    notes: list[str] = []
    kept = apply_filter(frame, config.sources["orders"].filter or _config(source_filter).sources["orders"].filter,
                        "sources.orders.filter", config.sources["orders"], config.timezone, notes)
    expected = compute(config, _data(kept), AS_OF)
    assert [(k.id, k.value, k.note, k.series) for k in got.kpis] == [(k.id, k.value, k.note, k.series)
                                                                      for k in expected.kpis]
    assert got.errors == expected.errors and got.warnings == expected.warnings
    said = [f"source 'orders', {note}" for note in notes]
    assert list(got.sources[0].warnings) == list(dict.fromkeys([*said, *expected.sources[0].warnings]))
    said = " ".join(got.sources[0].warnings)
    assert "row 11: 'sometime' is not a date" in said
    assert ("'plenty' is not a number" in said) is ("Amount" not in source_filter)  # a filter on it drops it
    assert "but for spaces or capitals" in said  # the KPI filters' near misses
    assert "no column 'Amont'" in got.errors[0] and "unknown column 'Chanel'" in got.errors[1]
    if source_filter == "Channel != 'spam'":  # the spam row's bad date is left out with it
        assert "row 3" not in " ".join(w for w in got.sources[0].warnings if "not a date" in w)


def test_a_source_filters_text_column_is_factorized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Channel != 'spam'` factorizes Channel; the KPIs' `Channel == 'web'` reuses it for the kept rows."""
    frame = _frame("str")
    seen = record_calls(monkeypatch, distinct_module, "arrow_distinct", lambda values: (values.name, len(values)))
    got = compute(_config("Channel != 'spam'"), _data(frame), AS_OF)
    assert [length for name, length in seen if name == "Channel"] == [len(frame)]  # the whole column, once
    assert next(k for k in got.kpis if k.id == "web").value is not None


def test_a_source_filter_that_keeps_every_row_reads_the_rows_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing left out: the KPIs read through the filter's own cache (each column factorized once, no copy)."""
    frame = _frame("str")
    seen = record_calls(monkeypatch, distinct_module, "arrow_distinct", lambda values: (values.name, len(values)))
    compute(_config("Status != 'nothing'"), _data(frame), AS_OF)
    whole = [name for name, size in seen if size == len(frame)]
    assert sorted(whole) == sorted(set(whole)) and "Status" in whole


def test_a_checkins_source_keeps_its_filtered_rows() -> None:
    """The `[checkins] source` keeps the rows its filter kept, re-indexed, as its check-ins are read from them."""
    from sheetsync.runtime.pipeline import prepare_source

    config = _config("Channel != 'spam'")
    config = replace(config, checkins=replace(config.checkins, enabled=True, source="orders"))
    frame = _frame("str")
    prepared = prepare_source(config, _data(frame)["orders"], [])
    source = config.sources["orders"]
    expected = apply_filter(frame, source.filter, "sources.orders.filter", source, config.timezone)
    assert len(expected) == 50  # not the 20 spam, blank or missing channels
    pd.testing.assert_frame_equal(prepared.frame, expected)
