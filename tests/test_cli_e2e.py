"""End to end: the CLI on the shipped example, checked against numbers computed by hand.

The expected figures are computed here straight from the data files with the csv module
and openpyxl, independently of sheetsync's own reading and arithmetic.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from tests.helpers import ROOT, copy_example, run_cli

AS_OF = "2026-11-24"
WEEK = (date(2026, 11, 16), date(2026, 11, 22))  # the last complete week before Tue 24 Nov
EXPECTED = 55 / 92  # Oct 1 .. Nov 24 inclusive, of Q4's 92 days


def in_range(day: date, span: tuple[date, date]) -> bool:
    return span[0] <= day <= span[1]


def support_rows() -> list[dict[str, str]]:
    with open(ROOT / "data" / "support.csv", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["Channel"] != "spam"]


def sales_rows() -> list[tuple[date, float, str]]:
    sheet = load_workbook(ROOT / "data" / "sales.xlsx", read_only=True)["Orders"]
    rows = []
    for when, _order, _region, amount, status in sheet.iter_rows(min_row=2, values_only=True):
        rows.append((when.date() if isinstance(when, datetime) else when, float(amount), status))
    return rows


def hand_status(progress: float, expected: float, raw: float) -> str:
    if raw >= 1:
        return "done"
    gap = expected - progress
    return "on_track" if gap <= 0.10 + 1e-9 else "at_risk" if gap <= 0.25 + 1e-9 else "off_track"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("e2e")
    copy_example(work)
    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF, "--json", "results.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads((work / "results.json").read_text())


def kr(results: dict, kr_id: str) -> dict:
    return next(k for o in results["objectives"] for k in o["key_results"] if k["id"] == kr_id)


def kpi(results: dict, kpi_id: str) -> dict:
    return next(k for k in results["kpis"] if k["id"] == kpi_id)


def test_period(results):
    assert results["as_of"] == AS_OF
    assert results["period"] == {
        "name": "2026-Q4",
        "start": "2026-10-01",
        "end": "2026-12-31",
        "expected": pytest.approx(EXPECTED),
        "closed": False,
    }


def test_csat_latest_week_mean_of_percent_text(results):
    values = [
        float(r["CSAT"].rstrip("%")) / 100
        for r in support_rows()
        if in_range(date.fromisoformat(r["Opened"]), WEEK) and r["CSAT"] not in ("", "N/A")
    ]
    current = sum(values) / len(values)
    assert kpi(results, "csat")["value"] == pytest.approx(current)
    row = kr(results, "O1-KR1")
    progress = (current - 0.8) / (0.9 - 0.8)
    assert row["progress_raw"] == pytest.approx(progress)
    assert row["status"] == hand_status(min(max(progress, 0), 1), EXPECTED, progress)


def test_first_response_decreasing(results):
    values = [
        float(r["First response (min)"])
        for r in support_rows()
        if in_range(date.fromisoformat(r["Opened"]), WEEK)
    ]
    current = sum(values) / len(values)
    row = kr(results, "O1-KR2")
    assert row["current"] == pytest.approx(current)
    assert row["direction"] == "decrease"
    assert row["progress_raw"] == pytest.approx((current - 5) / (2 - 5))


def test_revenue_against_previous_quarter(results):
    rows = sales_rows()
    q3 = sum(a for d, a, s in rows if s == "paid" and in_range(d, (date(2026, 7, 1), date(2026, 9, 30))))
    q4 = sum(a for d, a, s in rows if s == "paid" and in_range(d, (date(2026, 10, 1), date(2026, 11, 24))))
    row = kr(results, "O2-KR1")
    assert row["start"] == 0
    assert row["target"] == pytest.approx(q3 * 1.3)
    assert row["current"] == pytest.approx(q4)
    assert row["progress"] == pytest.approx(q4 / (q3 * 1.3))
    assert row["weight"] == 2


def test_conversion_rate_formula_over_the_same_week(results):
    orders = sum(1 for d, _a, s in sales_rows() if s == "paid" and in_range(d, WEEK))
    with open(ROOT / "data" / "web.csv", encoding="utf-8") as handle:
        sessions = sum(
            int(r["Sessions"].replace(",", ""))
            for r in csv.DictReader(handle)
            if in_range(date.fromisoformat(r["Date"]), WEEK)
        )
    assert kpi(results, "conversion_rate")["value"] == pytest.approx(orders / sessions)
    q4_to_date = (date(2026, 10, 1), date(2026, 11, 24))
    to_date = sum(1 for d, _a, s in sales_rows() if s == "paid" and in_range(d, q4_to_date))
    assert kpi(results, "orders")["value"] == to_date  # the orders KPI itself counts the period to date
    row = kr(results, "O2-KR2")
    assert row["progress_raw"] == pytest.approx((orders / sessions - 0.02) / 0.01)


def test_churn_last_complete_month(results):
    row = kr(results, "O2-KR3")
    assert row["current"] == pytest.approx(185 / 4203)  # October's row of customers.csv
    assert row["progress_raw"] == pytest.approx((185 / 4203 - 0.05) / (0.03 - 0.05))
    assert kpi(results, "churn_rate")["status"] == "at_risk"  # 4.4%: under warn 4.5%, over target 3%


def test_launches_count_distinct_in_period(results):
    row = kr(results, "O3-KR1")
    assert row["current"] == 1  # the August launch belongs to Q3
    assert row["progress"] == 0.5
    assert row["status"] == "on_track"  # gap 0.598 - 0.5 = 0.098 is within the 0.10 tolerance


def test_objective_roll_up(results):
    objectives = {o["id"]: o for o in results["objectives"]}
    krs = objectives["O2"]["key_results"]
    weighted = sum(k["progress"] * k["weight"] for k in krs) / sum(k["weight"] for k in krs)
    assert objectives["O2"]["progress"] == pytest.approx(weighted)
    assert objectives["O3"]["parent"] == "O2"


def test_sources_reported(results):
    sources = {s["name"]: s for s in results["sources"]}
    assert sources["sales"]["sheet"] == "Orders"
    assert sources["sales"]["type"] == "xlsx"
    assert all(s["status"] == "ok" for s in sources.values()), sources
    assert sources["support"]["rows"] > 1000


def test_kpi_series_and_previous(results):
    csat = kpi(results, "csat")
    labels = [p["label"] for p in csat["series"]]
    assert labels[0] == "2026-W40" and labels[-1] == "2026-W48"
    assert csat["series"][-1]["complete"] is False
    assert csat["series"][-2]["value"] == pytest.approx(csat["value"])  # W47 is the latest complete week
    assert csat["previous"] == pytest.approx(csat["series"][-3]["value"])
