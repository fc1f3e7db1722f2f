"""One reading of each cell serves filters, every aggregation and KPIs alike (issue 13, family 9).

A messy CSV in a decimal-comma locale with day-first dates is read through the connector, then
every filter operator is run two ways: as the KPI's `filter`, and as a plain Python predicate
over the cells as the KPI reads them (`ColumnCache`). Every aggregation of the rows the filter
keeps must agree: a filter that reads '1.234,5' or 'NA' differently from the KPI fails here.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from connectors.csv_source import read_csv_source
from sheetsync.core.expressions import parse_filter
from sheetsync.core.kpis import ColumnCache, KPIRows, prepare_kpi_rows
from sheetsync.core.model import KPIConfig, SourceConfig
from sheetsync.core.numbers import MISSING_TOKENS

ROWS = [  # Region, Amount, Date (day-first: 19/10 proves it)
    ("NA", "1.234,5", "05/10/2026"),
    ("EU", "2.500", "19/10/2026"),
    ("N/A", "N/A", "12/10/2026"),
    ("", "", "01/11/2026"),
    ("na", "€3", ""),
    ("APAC", "(7,5)", "03/10/2026"),
    ("NA", "abc", "20/10/2026"),
    ("EU", "12%", "07/10/2026"),
    ("-", "0", "11/10/2026"),
    ("NA", "2.500", "not a date"),
]
AGGS = ("sum", "mean", "median", "min", "max", "count", "count_distinct", "first", "last")
_NO_DAY = np.iinfo(np.int64).min


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[SourceConfig, ColumnCache]:
    path = tmp_path_factory.mktemp("messy") / "sales.csv"
    lines = ["Region;Amount;Date"] + [";".join(row) for row in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = SourceConfig(name="sales", type="csv", path=str(path), decimal=",", thousands=".")
    frame = read_csv_source(config).frame
    return config, ColumnCache(frame, config)


def day(text: str) -> int:
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def predicates(cache: ColumnCache):
    """The filters, each with what it means over the cells as KPIs read them."""
    amount = cache.numbers("Amount")[0]
    days = cache.dates("Date")[0]
    texts = ["" if not isinstance(v, str) else v for v in cache.frame["Amount"]]
    region = [None if not isinstance(v, str) or not v.strip() else v for v in cache.frame["Region"]]
    num = [None if math.isnan(v) else v for v in amount]
    when = [None if d == _NO_DAY else int(d) for d in days]

    def on(values, test):
        return [v is not None and test(v) for v in values]

    return {
        "Amount > 100": on(num, lambda v: v > 100),
        "Amount >= 0": on(num, lambda v: v >= 0),
        "Amount < 10": on(num, lambda v: v < 10),
        "Amount <= 2500": on(num, lambda v: v <= 2500),
        "Amount == 2500": on(num, lambda v: v == 2500),
        "Amount != 0": on(num, lambda v: v != 0),
        "Amount in [2500, 0]": on(num, lambda v: v in (2500, 0)),
        "Amount not in [0]": on(num, lambda v: v != 0),
        "Amount * 2 > 5000": on(num, lambda v: v * 2 > 5000),
        # a column of numbers: blanks and placeholders are missing; 'abc' is there but no number
        "isna(Amount)": [not str(t).strip() or str(t).strip().casefold() in MISSING_TOKENS for t in texts],
        "notna(Amount)": [bool(str(t).strip()) and str(t).strip().casefold() not in MISSING_TOKENS for t in texts],
        "Region == 'NA'": on(region, lambda v: v == "NA"),
        "Region != 'EU'": on(region, lambda v: v != "EU"),
        "Region in ['NA', 'N/A']": on(region, lambda v: v in ("NA", "N/A")),
        "Region not in ['EU']": on(region, lambda v: v != "EU"),
        "contains(Region, 'a')": on(region, lambda v: "a" in v.casefold()),
        "startswith(Region, 'N')": on(region, lambda v: v.startswith("N")),
        "lower(Region) == 'na'": on(region, lambda v: v.lower() == "na"),
        "isna(Region)": [v is None for v in region],
        "Region < 'F'": on(region, lambda v: v < "F"),
        "Date >= '2026-10-10'": on(when, lambda d: d >= day("2026-10-10")),
        "Date < '2026-10-19'": on(when, lambda d: d < day("2026-10-19")),
        "Date == '2026-10-19'": on(when, lambda d: d == day("2026-10-19")),
        "Region == 'NA' and Amount > 1000": [a and b for a, b in zip(on(region, lambda v: v == "NA"),
                                                                    on(num, lambda v: v > 1000), strict=True)],
        "not Amount > 1000": [v is not None and not v > 1000 for v in num],
    }


def expected(agg: str, keep: list[bool], cache: ColumnCache) -> float | None:
    if agg == "count_distinct":
        texts = {v.strip() for v, k in zip(cache.frame["Region"], keep, strict=True)
                 if k and isinstance(v, str) and v.strip()}
        return float(len(texts))
    if agg == "count":
        return float(sum(1 for v, k in zip(cache.frame["Amount"], keep, strict=True)
                         if k and isinstance(v, str) and v.strip()))
    values = [v for v, k in zip(cache.numbers("Amount")[0], keep, strict=True) if k and not math.isnan(v)]
    if not values:
        return 0.0 if agg == "sum" and not any(keep) else None
    return {"sum": sum, "mean": np.mean, "median": np.median, "min": min, "max": max,
            "first": lambda a: a[0], "last": lambda a: a[-1]}[agg](values)


def test_the_cells_are_read_as_the_source_says(source):
    _, cache = source
    assert cache.numbers("Amount")[0][:2].tolist() == [1234.5, 2500.0]  # never 1.2345 or 2.5
    first_day = date(1970, 1, 1) + timedelta(days=int(cache.dates("Date")[0][0]))
    assert first_day == date(2026, 10, 5)  # 05/10 is 5 October: 19/10 proves day-first


@pytest.mark.parametrize("agg", AGGS)
def test_every_filter_and_aggregation_reads_each_cell_one_way(source, agg):
    config, cache = source
    for text, keep in predicates(cache).items():
        column = "Region" if agg == "count_distinct" else "Amount"
        kpi = KPIConfig(id="k", title="K", source="sales", column=column, agg=agg, filter=parse_filter(text))
        rows, _ = prepare_kpi_rows(cache.frame, kpi, config, cache=cache)
        got = rows.value(None, None)
        want = expected(agg, keep, cache)
        assert (got is None and want is None) or got == pytest.approx(want), (text, agg, got, want)


def test_a_source_filter_reads_cells_as_its_kpis_do(source):
    from sheetsync.core.kpis import apply_filter

    config, cache = source
    kept = apply_filter(cache.frame, parse_filter("Amount > 1000 and Region == 'NA'"), "sources.sales.filter", config)
    assert kept["Amount"].tolist() == ["1.234,5", "2.500"]
    assert isinstance(KPIRows, type)
