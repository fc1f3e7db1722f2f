"""The same read + compute written with polars: the fastest a hand-written script gets.

A peer in the benchmark table, not a dependency of sheetsync: ``pl.read_csv``,
``pl.read_excel(engine="calamine")`` (fastexcel), the same one ``values:batchGet`` per
spreadsheet as the pandas script, KPI rows filtered once per KPI with ``pl.sql_expr``, windows
and aggregations as polars expressions. Key results and objectives are the pandas script's
(`bench.baseline.assemble`), so both scripts answer the same way and `bench` checks they agree.
Install with ``pip install ".[bench]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from bench.baseline import PERIOD_START, SHEETS_PARAMS, assemble

SERIAL_EPOCH = datetime(1899, 12, 30)


def read_sources(
    sources: list[dict[str, Any]], root: Path, open_client: Callable[[], Any]
) -> dict[str, pl.DataFrame]:
    frames: dict[str, pl.DataFrame] = {}
    tabs: dict[str, list[dict[str, Any]]] = {}
    for s in sources:
        if s["type"] == "csv":
            frames[s["name"]] = pl.read_csv(root / s["path"], infer_schema_length=10_000)
        elif s["type"] == "xlsx":
            frames[s["name"]] = pl.read_excel(root / s["path"], sheet_name=s["sheet"], engine="calamine")
        else:
            tabs.setdefault(s["spreadsheet"], []).append(s)
    if tabs:
        client = open_client()
        for key, members in tabs.items():
            ranges = ["'" + m["sheet"].replace("'", "''") + "'" for m in members]
            answer = client.http_client.values_batch_get(key, ranges, params=dict(SHEETS_PARAMS))
            for member, value_range in zip(members, answer["valueRanges"], strict=True):
                values = value_range.get("values", [])
                header, width = values[0], len(values[0])
                body = [[None if v == "" else v for v in row] + [None] * (width - len(row)) for row in values[1:]]
                frames[member["name"]] = pl.DataFrame(body, schema=header, orient="row", infer_schema_length=None)
    return frames


def _sql(text: str) -> pl.Expr:
    return pl.sql_expr(text.replace("==", "="))


def clean(frame: pl.DataFrame, source_filter: str | None) -> pl.DataFrame:
    """Types fixed once per source: dates, money written as text, blank scores, trimmed customers."""
    if source_filter:
        frame = frame.filter(_sql(source_filter))
    date_col = frame["Date"]
    if date_col.dtype.is_numeric():  # Google Sheets serial days
        dates = pl.lit(SERIAL_EPOCH) + pl.duration(days=pl.col("Date"))
    elif date_col.dtype == pl.String:
        dates = pl.col("Date").str.to_datetime("%Y-%m-%d")
    else:
        dates = pl.col("Date").cast(pl.Datetime)
    amount = pl.col("Amount")
    if frame["Amount"].dtype == pl.String:
        amount = amount.str.replace_all(r"[$,]", "").cast(pl.Float64)
    return frame.with_columns(
        dates.cast(pl.Date).alias("Date"),
        amount.cast(pl.Float64).alias("Amount"),
        pl.col("Score").cast(pl.Float64, strict=False),
        pl.col("Customer").cast(pl.String).str.strip_chars(),
    ).sort("Date", maintain_order=True)


class KPIs:
    """KPI values over any window, formulas included, from cleaned polars frames."""

    def __init__(self, kpis: list[dict[str, Any]], frames: dict[str, pl.DataFrame]) -> None:
        self.kpis = {k["id"]: k for k in kpis}
        self.rows: dict[str, pl.DataFrame] = {}
        for kpi in kpis:
            if "formula" in kpi:
                continue
            rows = frames[kpi["source"]]
            self.rows[kpi["id"]] = rows.filter(_sql(kpi["filter"])) if kpi.get("filter") else rows

    @staticmethod
    def _agg(agg: str, column: str) -> pl.Expr:
        col = pl.col(column)
        return {
            "count": col.is_not_null().sum(),
            "count_distinct": col.drop_nulls().n_unique(),
            "sum": col.sum(),
            "mean": col.mean(),
            "median": col.median(),
            "min": col.min(),
            "max": col.max(),
            "first": col.drop_nulls().first(),
            "last": col.drop_nulls().last(),
        }[agg]

    def value(self, kpi_id: str, start: date, end: date) -> float | None:
        kpi = self.kpis[kpi_id]
        if "formula" in kpi:
            top, bottom = (name.strip() for name in kpi["formula"].split("/"))
            a, b = self.value(top, start, end), self.value(bottom, start, end)
            return None if a is None or not b else a / b
        chosen = self.rows[kpi_id].filter(pl.col("Date").is_between(start, end))
        if chosen.height == 0 and kpi["agg"] not in ("count", "count_distinct", "sum"):
            return None
        result = chosen.select(self._agg(kpi["agg"], kpi["column"])).item()
        return None if result is None else float(result)

    def series(self, kpi_id: str, as_of: date) -> dict[str, float | None]:
        kpi = self.kpis[kpi_id]
        grain = kpi.get("grain", "week")
        if "formula" in kpi:
            top, bottom = (name.strip() for name in kpi["formula"].split("/"))
            a, b = self.series(top, as_of), self.series(bottom, as_of)
            return {k: (a[k] / b[k] if a.get(k) is not None and b.get(k) else None) for k in a}
        rows = self.rows[kpi_id].filter(pl.col("Date").is_between(PERIOD_START, as_of))
        grouped = (rows.group_by(pl.col("Date").dt.truncate("1w" if grain == "week" else "1mo").alias("bucket"))
                   .agg(self._agg(kpi["agg"], kpi["column"]).alias("v")).sort("bucket"))
        return {str(b): (None if v is None else float(v)) for b, v in grouped.iter_rows()}


def compute(org: dict[str, Any], frames: dict[str, pl.DataFrame], as_of: date) -> dict[str, Any]:
    filters = {s["name"]: s.get("filter") for s in org["sources"]}
    cleaned = {name: clean(frame, filters[name]) for name, frame in frames.items()}
    return assemble(org, KPIs(org["kpis"], cleaned), as_of, {name: frame.height for name, frame in frames.items()})
