"""The tracker's content (sheetsync.core.tracker): pure, so checked on hand-made results."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from sheetsync.core.key_results import KeyResultResult
from sheetsync.core.kpis import KPIResult, SeriesPoint
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import parse_period
from sheetsync.core.results import SourceResult, SyncResult
from sheetsync.core.snapshot import KPISnapshot, KRSnapshot, Snapshot
from sheetsync.core.tracker import (
    KR_HEADER,
    TAB_NAMES,
    Cell,
    build_tracker,
    format_value,
    measure,
    number_format,
    span,
    sparkline,
)

AS_OF = date(2026, 11, 24)
EXPECTED = 55 / 92


def kr(kr_id: str, objective: str, kpi: str, current: float | None, progress: float | None, status: str,
       **extra: object) -> KeyResultResult:
    fields = dict(
        id=kr_id, title=f"Title of {kr_id}", kpi=kpi, objective=objective, owner="", start=0.0, target=100.0,
        current=current, progress=progress, progress_raw=progress, expected=EXPECTED, status=status,
        weight=1.0, direction="increase",
    )
    fields.update(extra)
    return KeyResultResult(**fields)  # type: ignore[arg-type]


def result() -> SyncResult:
    series = tuple(
        SeriesPoint(f"2026-W{w}", date(2026, 1, 1), date(2026, 1, 7), v, w < 48)
        for w, v in ((45, 100.0), (46, 150.0), (47, None), (48, 20.0))
    )
    kpis = (
        KPIResult("revenue", "Revenue", "$", "increase", None, None, 338937.46, 296644.81, "no_target",
                  date(2026, 10, 1), AS_OF, series, source="sales"),
        KPIResult("csat", "CSAT", "%", "increase", 0.9, 0.85, 0.8657, 0.8533, "at_risk",
                  date(2026, 11, 16), date(2026, 11, 22), source="support"),
        KPIResult("launches", "Launches", "", "increase", None, None, None, None, "no_data", None, None,
                  source="products", stale="source 'products' failed: file not found"),
    )
    o1 = (
        kr("O1-KR1", "O1", "csat", 0.8657, 0.657, "on_track", start=0.8, target=0.9, owner="Ana"),
        kr("O1-KR2", "O1", "revenue", 338937.46, 1.0, "done", progress_raw=1.25),
    )
    o2 = (kr("O2-KR1", "O2", "launches", None, None, "no_data", stale="source 'products' failed: file not found"),)
    objectives = (
        ObjectiveResult("O1", "=HYPERLINK(\"x\")", "Head of Support", "Support", "", 0.8285, "done", o1, EXPECTED),
        ObjectiveResult("O2", "Launch", "Head of Product", "Product", "O1", None, "no_data", o2, EXPECTED),
    )
    sources = (
        SourceResult("sales", "xlsx", "/data/sales.xlsx", "Orders", 1328,
                     datetime(2026, 11, 24, 7, 0, 5, tzinfo=UTC), "ok"),
        SourceResult("products", "csv", "/data/products.csv", None, 0, None, "failed",
                     ("a warning", "another"), "file not found"),
    )
    return SyncResult("Acme", AS_OF, parse_period("2026-Q4"), EXPECTED, kpis, objectives, sources)


def previous() -> Snapshot:
    return Snapshot(
        "2026-W47", date(2026, 11, 17), "2026-Q4", 0.5,
        {"O1-KR1": KRSnapshot("O1-KR1", "O1", 0.85, 0.5, "on_track")},
        {"csat": KPISnapshot("csat", 0.85, "at_risk")},
        {"O1": (0.7, "on_track")},
    )


def history() -> tuple[list[dict], list[dict]]:
    krs, kpis = [], []
    for week, as_of in (("2026-W48", "2026-11-24"), ("2026-W47", "2026-11-17")):
        krs.append(dict(week=week, as_of=as_of, objective="O1", kr_id="O1-KR1", title="CSAT KR", kpi="csat",
                        current=0.86, progress=0.6, expected=0.5, status="on_track"))
        kpis.append(dict(week=week, as_of=as_of, kpi_id="csat", title="CSAT", value=0.86, unit="%", target=0.9,
                         status="at_risk"))
    return krs, kpis


@pytest.fixture
def content():
    krs, kpis = history()
    return build_tracker(
        result(), kr_history=krs, kpi_history=kpis, previous=previous(),
        generated_at=datetime(2026, 11, 24, 7, 30, tzinfo=UTC), timezone="Europe/Lisbon",
    )


def values(row: tuple[Cell, ...]) -> list[object]:
    return [c.value for c in row]


def test_tabs_and_headers(content):
    assert [t.name for t in content.tabs] == list(TAB_NAMES)
    assert content.tab("Key Results").header == KR_HEADER
    for tab in content.tabs:
        for table in tab.tables:
            assert all(len(row) == table.width for row in table.rows), (tab.name, table.key)


def test_key_result_rows(content):
    rows = content.tab("Key Results").rows
    assert [r[1].value for r in rows] == ["O1-KR1", "O1-KR2", "O2-KR1"]
    first = dict(zip(KR_HEADER, rows[0], strict=True))
    assert first["Objective"].value == "O1"
    assert first["Owner"].value == "Ana"
    assert (first["Start"].value, first["Start"].kind) == (0.8, "percent")  # csat is a % KPI
    assert first["Progress"] == Cell(0.657, "percent")
    assert first["Status"] == Cell("On track", "status", status="on_track")
    assert first["Change since last week"].value == pytest.approx((0.657 - 0.5) * 100)  # progress points
    assert first["Change since last week"].unit == "pts"
    assert first["Change since last week"].signed
    assert first["Updated"] == Cell(date(2026, 11, 22), "date")  # the last day the figure covers
    second = dict(zip(KR_HEADER, rows[1], strict=True))
    assert second["Owner"].value == "Head of Support"  # falls back to the objective's owner
    assert (second["Current"].kind, second["Current"].unit) == ("currency", "$")
    assert second["Change since last week"].value is None  # not in last week's snapshot
    assert second["Note"].value == "past its target: 125% of the way"
    third = dict(zip(KR_HEADER, rows[2], strict=True))
    assert third["Current"].value is None
    assert third["Status"].value == "No data"
    assert third["Note"].value.startswith("stale: source 'products' failed")


def test_kpi_rows(content):
    rows = {r[0].value: r for r in content.tab("KPIs").rows}
    header = content.tab("KPIs").header
    revenue = dict(zip(header, rows["revenue"], strict=True))
    assert revenue["Value"] == Cell(338937.46, "currency", unit="$")
    assert revenue["Change"].value == pytest.approx(338937.46 - 296644.81)
    assert revenue["Status"].value == "No target"
    assert revenue["Trend"].value == "▁█·"  # complete buckets only; W47 has no value
    assert revenue["Recent"].value == "W45 $100 · W46 $150 · W47 –"
    assert revenue["Window"].value == "1 Oct – 24 Nov 2026"
    csat = dict(zip(header, rows["csat"], strict=True))
    assert csat["Window"].value == "16–22 Nov 2026"
    assert (csat["Target"].value, csat["Target"].kind) == (0.9, "percent")
    launches = dict(zip(header, rows["launches"], strict=True))
    assert launches["Value"].value is None
    assert launches["Note"].value == "stale: source 'products' failed: file not found"
    assert launches["Window"].value == "all rows"


def test_history_rows_one_per_kr_and_kpi_per_week(content):
    rows = [values(r) for r in content.tab("History").rows]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("2026-W47", "Key result", "O1-KR1"),
        ("2026-W47", "KPI", "csat"),
        ("2026-W48", "Key result", "O1-KR1"),
        ("2026-W48", "KPI", "csat"),
    ]
    assert rows[0][1] == date(2026, 11, 17)
    kinds = [c.kind for c in content.tab("History").rows[0]]
    assert kinds[7:10] == ["percent", "percent", "percent"]  # csat value in %, progress, expected


def test_sources_in_project_time(content):
    rows = content.tab("Sources").rows
    sales = values(rows[0])
    assert sales[:5] == ["sales", "xlsx", "/data/sales.xlsx", "Orders", 1328]
    assert sales[5] == datetime(2026, 11, 24, 7, 0, 5)  # Lisbon is UTC in November; naive
    assert rows[0][6] == Cell("OK", "status", status="ok")
    products = values(rows[1])
    assert products[5] is None
    assert products[6:] == ["Failed", "a warning\nanother", "file not found"]


def test_dashboard(content):
    dash = content.tab("Dashboard")
    assert dash.main.key == "objectives"
    objectives = [values(r) for r in dash.rows]
    assert objectives[0][:4] == ["O1", '=HYPERLINK("x")', "Head of Support", "Support"]
    assert objectives[0][7] == pytest.approx((0.657 - 0.5) * 100)  # like with like: O1-KR1 alone was measured in W47
    assert objectives[0][8] == "2 of 2 measured"
    assert objectives[1][9] == "O1"  # aligns to
    facts = dict((r[0].value, r[1]) for r in dash.table("facts").rows)
    assert facts["Period elapsed"].value == pytest.approx(EXPECTED)
    assert facts["Overall progress"].value == pytest.approx(0.8285)  # O2 has no data, O3 none
    assert facts["Change since last week"].value == pytest.approx((0.657 - 0.5) * 100)
    assert facts["Updated"].value == datetime(2026, 11, 24, 7, 30)
    counts = {r[0].status: r[1].value for r in dash.table("status_counts").rows}
    assert counts == {"done": 1, "on_track": 1, "at_risk": 0, "off_track": 0, "no_data": 1}
    assert content.dashboard.status_counts == counts
    assert content.dashboard.previous_week == "2026-W47"
    assert "week 2026-W48" in dash.table("title").rows[1][0].value


def test_without_history_or_previous_week():
    content = build_tracker(result())
    assert content.tab("History").rows == ()
    assert all(r[11].value is None for r in content.tab("Key Results").rows)
    assert content.dashboard.overall_change is None


def test_number_formats():
    assert number_format(Cell(0.5, "percent")) == "0.0%"
    assert number_format(Cell(0.05, "percent", signed=True)) == "+0.0%;-0.0%;0.0%"
    assert number_format(Cell(338937.46, "currency", unit="$")) == '"$"#,##0'
    assert number_format(Cell(12.5, "currency", unit="€")) == '"€"#,##0.00'
    assert number_format(Cell(3.32, "number", unit="min")) == '#,##0.0#" min"'
    assert number_format(Cell(479.0, "number")) == "#,##0"
    assert number_format(Cell(date(2026, 1, 1), "date")) == "yyyy-mm-dd"
    assert number_format(Cell("x")) is None
    assert number_format(Cell("On track", "status", status="on_track")) is None


def test_measure_drops_what_spreadsheets_cannot_store():
    assert measure(math.nan, "%").value is None
    assert measure(math.inf, "").value is None
    assert measure(0.0, "").value == 0.0  # a real zero stays


def test_text_helpers():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None, None]) == ""
    assert format_value(0.8657, "%") == "86.6%"
    assert format_value(-1200, "$") == "-$1,200"
    assert format_value(3.3236, "min") == "3.32 min"
    assert format_value(3.0, "") == "3"
    assert format_value(None, "") == "–"
    assert span(date(2026, 10, 1), date(2026, 12, 31)) == "1 Oct – 31 Dec 2026"
    assert span(date(2025, 12, 29), date(2026, 1, 4)) == "29 Dec 2025 – 4 Jan 2026"


def test_cells_made_by_the_module_are_cells_as_their_constructor_makes_them() -> None:
    """`tracker._cell` sets a Cell's slots itself: it must set every field, as `Cell(...)` would."""
    import dataclasses

    from sheetsync.core import tracker

    assert [f.name for f in dataclasses.fields(tracker.Cell)] == ["value", "kind", "unit", "status", "signed"]
    for args in [("a",), (None, "date"), (0.5, "percent", "", None, True), ("On track", "status", "", "on_track")]:
        made, built = tracker._cell(*args), tracker.Cell(*args)
        assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.value = "changed"  # type: ignore[misc]
    assert tracker.text("") is tracker.BLANK == tracker.Cell(None)
    assert tracker.status_cell("on_track") == tracker.Cell("On track", "status", status="on_track")
    assert tracker.status_cell("odd_one") == tracker.Cell("Odd one", "status", status="odd_one")
    assert tracker.percent(None, signed=True) == tracker.Cell(None, "percent", signed=True)
    assert tracker.grade_cell("") == tracker.Cell("") and tracker.day(None) == tracker.Cell(None, "date")
