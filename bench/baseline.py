"""The same weekly job written by hand, the way a team would script it with pandas and gspread.

This is the comparison point for every figure, written as a competent user would: one
``pd.read_csv`` per CSV file, ``pd.read_excel(engine="calamine")`` per workbook, and one
``values:batchGet`` per spreadsheet for all its tabs (gspread's ``values_batch_get``,
unformatted values with dates as serial numbers).
KPIs are computed with ordinary pandas (``query``, boolean masks, ``groupby`` by week); the
tracker is ``DataFrame.to_excel`` and the digest an HTML table in an email.

It is written to be a fair, competent script, not a straw man: dates are parsed once per
source, KPI windows follow the same rules as sheetsync, and `bench` checks that both arrive
at the same KPI values. What it does not do is what sheetsync adds: cell-level warnings,
text numbers in every locale, stale-source handling, history, charts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

PERIOD_START, PERIOD_END = date(2026, 10, 1), date(2026, 12, 31)
Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)
ON_TRACK, AT_RISK = 0.10, 0.25


# --- read ------------------------------------------------------------------------------------


def read_sources(
    sources: list[dict[str, Any]], root: Path, open_client: Callable[[], Any]
) -> dict[str, pd.DataFrame]:
    """Every source as a raw DataFrame; `open_client` returns a gspread client when needed."""
    frames: dict[str, pd.DataFrame] = {}
    tabs: dict[str, list[dict[str, Any]]] = {}
    for s in sources:
        if s["type"] == "csv":
            frames[s["name"]] = pd.read_csv(root / s["path"])
        elif s["type"] == "xlsx":
            frames[s["name"]] = pd.read_excel(root / s["path"], sheet_name=s["sheet"], engine="calamine")
        else:
            tabs.setdefault(s["spreadsheet"], []).append(s)
    if tabs:
        client = open_client()
        for key, members in tabs.items():  # one request per spreadsheet, all its tabs at once
            ranges = ["'" + m["sheet"].replace("'", "''") + "'" for m in members]
            answer = client.http_client.values_batch_get(key, ranges, params=dict(SHEETS_PARAMS))
            for member, value_range in zip(members, answer["valueRanges"], strict=True):
                frames[member["name"]] = sheet_frame(value_range.get("values", []))
    return frames


SHEETS_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
SERIAL_EPOCH = pd.Timestamp("1899-12-30")


def sheet_frame(values: list[list[Any]]) -> pd.DataFrame:
    """A tab's rows as a frame: Google trims trailing blank cells, so pad each row to the header."""
    if not values:
        return pd.DataFrame()
    header, width = values[0], len(values[0])
    body = [[None if v == "" else v for v in row] + [None] * (width - len(row)) for row in values[1:]]
    return pd.DataFrame(body, columns=header)


# --- compute ---------------------------------------------------------------------------------


def clean(frame: pd.DataFrame, source_filter: str | None) -> pd.DataFrame:
    """Types fixed once per source: dates, money written as text, blank scores."""
    if source_filter:
        frame = frame.query(source_filter)
    frame = frame.copy()
    if pd.api.types.is_numeric_dtype(frame["Date"]):  # Google Sheets serial days
        frame["Date"] = SERIAL_EPOCH + pd.to_timedelta(frame["Date"], unit="D")
    else:
        frame["Date"] = pd.to_datetime(frame["Date"])
    if frame["Amount"].dtype != "float64":
        frame["Amount"] = pd.to_numeric(frame["Amount"].astype(str).str.replace(r"[$,]", "", regex=True))
    frame["Score"] = pd.to_numeric(frame["Score"], errors="coerce")
    frame["Customer"] = frame["Customer"].astype(str).str.strip()
    return frame.sort_values("Date", kind="stable").reset_index(drop=True)


def aggregate(rows: pd.DataFrame, agg: str, column: str) -> float | None:
    values = rows[column]
    if agg == "count":
        return float(values.notna().sum())
    if agg == "count_distinct":
        return float(values.nunique())
    values = values.dropna()
    if agg == "sum":
        return float(values.sum())
    if len(values) == 0:
        return None
    if agg == "last":
        return float(values.iloc[-1])
    if agg == "first":
        return float(values.iloc[0])
    return float(getattr(values, agg)())


def latest_window(as_of: date, grain: str) -> tuple[date, date]:
    """The last whole week (Monday-Sunday) or month ending on or before `as_of`."""
    if grain == "week":
        end = as_of - timedelta(days=(as_of.weekday() + 1) % 7)
        return end - timedelta(days=6), end
    month_end = (as_of.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    end = as_of if as_of == month_end else as_of.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def window(kpi: Mapping[str, Any], as_of: date) -> tuple[date, date]:
    if kpi.get("window") == "latest":
        return latest_window(as_of, kpi.get("grain", "week"))
    return PERIOD_START, min(as_of, PERIOD_END)


def step_back(as_of: date, grain: str) -> date:
    if grain == "week":
        return as_of - timedelta(days=7)
    first = as_of.replace(day=1) - timedelta(days=1)
    return first.replace(day=min(as_of.day, first.day))


class KPIs:
    """KPI values over any window, formulas included, from cleaned source frames."""

    def __init__(self, kpis: list[dict[str, Any]], frames: dict[str, pd.DataFrame]) -> None:
        self.kpis = {k["id"]: k for k in kpis}
        self.rows: dict[str, pd.DataFrame] = {}
        for kpi in kpis:
            if "formula" in kpi:
                continue
            rows = frames[kpi["source"]]
            self.rows[kpi["id"]] = rows.query(kpi["filter"]) if kpi.get("filter") else rows

    def value(self, kpi_id: str, start: date, end: date) -> float | None:
        kpi = self.kpis[kpi_id]
        if "formula" in kpi:
            top, bottom = (name.strip() for name in kpi["formula"].split("/"))
            a, b = self.value(top, start, end), self.value(bottom, start, end)
            return None if a is None or not b else a / b
        rows = self.rows[kpi_id]
        dates = rows["Date"]
        chosen = rows[(dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))]
        return aggregate(chosen, kpi["agg"], kpi["column"])

    def series(self, kpi_id: str, as_of: date) -> dict[str, float | None]:
        """One value per week (or month) of the period to date, by groupby."""
        kpi = self.kpis[kpi_id]
        grain = kpi.get("grain", "week")
        if "formula" in kpi:
            top, bottom = (name.strip() for name in kpi["formula"].split("/"))
            a, b = self.series(top, as_of), self.series(bottom, as_of)
            return {k: (a[k] / b[k] if a.get(k) is not None and b.get(k) else None) for k in a}
        rows = self.rows[kpi_id]
        dates = rows["Date"]
        rows = rows[(dates >= pd.Timestamp(PERIOD_START)) & (dates <= pd.Timestamp(as_of))]
        buckets = rows["Date"].dt.to_period("W" if grain == "week" else "M").astype(str)
        column = rows[kpi["column"]]
        how = {"count": "count", "count_distinct": "nunique"}.get(kpi["agg"], kpi["agg"])
        grouped = column.groupby(buckets).agg(how)
        return {str(k): (None if pd.isna(v) else float(v)) for k, v in grouped.items()}


def key_result(kr: Mapping[str, Any], kpis: KPIs, current: float | None, expected: float) -> dict[str, Any]:
    start = float(kr.get("start", 0))
    target = kr.get("target")
    if kr.get("baseline") == "previous_period":
        base = kpis.value(kr["kpi"], Q3_START, Q3_END)
        match = re.match(r"([+-])(\d+(?:\.\d+)?)(%?)", kr["change"])
        assert match and base is not None
        amount = float(match[2]) * (-1 if match[1] == "-" else 1)
        target = base * (1 + amount / 100) if match[3] else base + amount
    out = {"id": kr["id"], "title": kr["title"], "kpi": kr["kpi"], "start": start, "target": target,
           "current": current, "progress": None, "status": "no_data", "weight": kr.get("weight", 1)}
    if current is None or target is None:
        return out
    raw = 1.0 if target == start else (current - start) / (float(target) - start)
    progress = min(max(raw, 0.0), 1.0)
    gap = round(expected - progress, 9)
    out["progress"] = progress
    out["status"] = ("done" if raw >= 1 else "on_track" if gap <= ON_TRACK
                     else "at_risk" if gap <= AT_RISK else "off_track")
    return out


def compute(org: Mapping[str, Any], frames: dict[str, pd.DataFrame], as_of: date) -> dict[str, Any]:
    """KPI values, previous values and weekly series; key result progress; objective roll-up."""
    filters = {s["name"]: s.get("filter") for s in org["sources"]}
    cleaned = {name: clean(frame, filters[name]) for name, frame in frames.items()}
    return assemble(org, KPIs(org["kpis"], cleaned), as_of, {name: len(frame) for name, frame in frames.items()})


def assemble(org: Mapping[str, Any], kpis: Any, as_of: date, rows: dict[str, int]) -> dict[str, Any]:
    """From KPI values (any object with `value` and `series`) to key results and objectives."""
    expected = ((as_of - PERIOD_START).days + 1) / ((PERIOD_END - PERIOD_START).days + 1)
    kpi_out: dict[str, dict[str, Any]] = {}
    for kpi in org["kpis"]:
        start, end = window(kpi, as_of)
        p_start, p_end = window(kpi, step_back(as_of, kpi.get("grain", "week")))
        kpi_out[kpi["id"]] = {
            "id": kpi["id"], "title": kpi["title"], "value": kpis.value(kpi["id"], start, end),
            "previous": kpis.value(kpi["id"], p_start, p_end), "series": kpis.series(kpi["id"], as_of),
        }
    objectives = []
    for obj in org["objectives"]:
        krs = [key_result(kr, kpis, kpi_out[kr["kpi"]]["value"], expected) for kr in obj["key_results"]]
        scored = [kr for kr in krs if kr["progress"] is not None]
        weight = sum(kr["weight"] for kr in scored)
        progress = sum(kr["progress"] * kr["weight"] for kr in scored) / weight if weight else None
        objectives.append({"id": obj["id"], "title": obj["title"], "team": obj["team"], "progress": progress,
                           "key_results": krs})
    return {"as_of": as_of, "expected": expected, "kpis": kpi_out, "objectives": objectives, "rows": rows}


# --- write the tracker and the digest --------------------------------------------------------


def write_tracker(result: Mapping[str, Any], path: Path) -> None:
    krs = pd.DataFrame([{"objective": o["id"], **{k: v for k, v in kr.items()}}
                        for o in result["objectives"] for kr in o["key_results"]])
    kpis = pd.DataFrame([{"id": k["id"], "title": k["title"], "value": k["value"], "previous": k["previous"],
                          **k["series"]} for k in result["kpis"].values()])
    objectives = pd.DataFrame([{k: v for k, v in o.items() if k != "key_results"} for o in result["objectives"]])
    sources = pd.DataFrame({"source": list(result["rows"]), "rows": list(result["rows"].values())})
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        objectives.to_excel(writer, sheet_name="Dashboard", index=False)
        krs.to_excel(writer, sheet_name="Key Results", index=False)
        kpis.to_excel(writer, sheet_name="KPIs", index=False)
        sources.to_excel(writer, sheet_name="Sources", index=False)


def write_digest(result: Mapping[str, Any], path: Path) -> None:
    krs = pd.DataFrame([{"objective": o["title"], "key result": kr["title"], "current": kr["current"],
                         "target": kr["target"], "progress": kr["progress"], "status": kr["status"]}
                        for o in result["objectives"] for kr in o["key_results"]])
    attention = krs[krs["status"].isin(["off_track", "at_risk"])]
    message = EmailMessage()
    message["Subject"] = f"OKRs, week of {result['as_of']}"
    message["From"] = "okrs@bench.example"
    message["To"] = "leadership@bench.example"
    message.set_content(krs.to_string())
    html = (f"<h1>OKRs as of {result['as_of']}</h1><h2>Needs attention ({len(attention)})</h2>"
            + attention.to_html(index=False) + "<h2>All key results</h2>" + krs.to_html(index=False))
    message.add_alternative(html, subtype="html")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(message))
