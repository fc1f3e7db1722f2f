"""Four weekly runs through the CLI; the sales workbook vanishes in week 3 and is back in week 4.

What users must see: in week 3 the tracker, the JSON and the digest show the last good numbers
with the date they are from (never blanks), and the History tab has no blank week.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.helpers import copy_example, run_cli
from tests.test_tracker_xlsx import by, table

WEEKS = ("2026-11-03", "2026-11-10", "2026-11-17", "2026-11-24")  # W45 .. W48
SALES_KPIS = ("revenue", "orders", "conversion_rate")


def kpi(results: dict, kpi_id: str) -> dict:
    return next(k for k in results["kpis"] if k["id"] == kpi_id)


def kr(results: dict, kr_id: str) -> dict:
    return next(k for o in results["objectives"] for k in o["key_results"] if k["id"] == kr_id)


def digest_text(project: Path, week: str) -> tuple[str, str]:
    message = email.message_from_bytes((project / "outbox" / f"{week}-all.eml").read_bytes(),
                                       policy=email.policy.default)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.fixture(scope="module")
def weeks(tmp_path_factory) -> tuple[Path, list[dict], list[dict]]:
    """(project, each week's JSON, each week's Key Results rows by id and History rows)."""
    project = tmp_path_factory.mktemp("carry")
    copy_example(project)
    sales = project / "data" / "sales.xlsx"
    results, trackers = [], []
    for index, as_of in enumerate(WEEKS):
        if index == 2:
            shutil.move(sales, project / "sales.xlsx.away")
        if index == 3:
            shutil.move(project / "sales.xlsx.away", sales)
        proc = run_cli("run", "--as-of", as_of, "--json", f"w{index}.json", cwd=project)
        assert proc.returncode == (3 if index == 2 else 0), proc.stderr
        results.append(json.loads((project / f"w{index}.json").read_text()))
        wb = load_workbook(project / "output" / "okr_tracker.xlsx")
        krs = by(*table(wb, "key_results"), "Key result")
        kpis = by(*table(wb, "kpis"), "KPI")
        history = table(wb, "history")
        trackers.append({"krs": krs, "kpis": kpis, "history": history})
    return project, results, trackers


def test_week_3_shows_the_last_good_values_with_their_date_in_the_json(weeks):
    _, results, _ = weeks
    good, failed, back = results[1], results[2], results[3]
    sales = next(s for s in failed["sources"] if s["name"] == "sales")
    assert sales["status"] == "failed" and "file not found" in sales["error"]
    for kpi_id in SALES_KPIS:
        carried = kpi(failed, kpi_id)
        assert carried["value"] == kpi(good, kpi_id)["value"] is not None
        assert carried["value_as_of"] == "2026-11-10"
        assert carried["stale"] and "file not found" in carried["stale"]
    o2kr1 = kr(failed, "O2-KR1")
    assert o2kr1["current"] == kr(good, "O2-KR1")["current"] and o2kr1["status"] != "no_data"
    assert o2kr1["value_as_of"] == "2026-11-10" and o2kr1["target"] == kr(good, "O2-KR1")["target"]
    for kpi_id in SALES_KPIS:  # week 4: the real numbers again
        fresh = kpi(back, kpi_id)
        assert fresh["stale"] is None and fresh["value_as_of"] == "2026-11-24"
    assert kpi(back, "revenue")["value"] > kpi(good, "revenue")["value"]
    # Numbers from other sources are fresh all along.
    assert kpi(failed, "csat")["stale"] is None and kpi(failed, "csat")["value_as_of"] == "2026-11-17"


def test_week_3_tracker_shows_the_carried_numbers_and_their_date(weeks):
    _, results, trackers = weeks
    row = trackers[2]["krs"]["O2-KR1"]
    assert row["Current"] == pytest.approx(kr(results[1], "O2-KR1")["current"])
    assert row["Updated"] == datetime(2026, 11, 10)  # the day the figure is from, not the run date
    assert "showing the value from 10 Nov 2026" in row["Note"]
    assert trackers[2]["kpis"]["revenue"]["Value"] == pytest.approx(kpi(results[1], "revenue")["value"])
    assert "showing the value from 10 Nov 2026" in trackers[2]["kpis"]["revenue"]["Note"]
    back = trackers[3]["krs"]["O2-KR1"]
    assert back["Current"] == pytest.approx(kr(results[3], "O2-KR1")["current"])
    assert back["Updated"] == datetime(2026, 11, 23) and not (back["Note"] or "").startswith("stale")


def test_week_3_keeps_the_trend_measured_before_the_failure_in_the_json_and_the_tracker(weeks):
    _, results, trackers = weeks
    for kpi_id in SALES_KPIS:
        measured = {p["label"]: p["value"] for p in kpi(results[1], kpi_id)["series"] if p["complete"]}
        assert measured and all(v is not None for v in measured.values())
        for point in kpi(results[2], kpi_id)["series"]:
            expected = measured.get(point["label"])  # W46 was measured by no run: blank
            assert point["value"] == expected, (kpi_id, point)
        recent = trackers[2]["kpis"][kpi_id]["Recent"]
        assert trackers[1]["kpis"][kpi_id]["Recent"].split(" · ")[-2:] == recent.split(" · ")[-3:-1], recent
        assert recent.endswith("W46 –"), recent


def test_the_history_tab_has_no_blank_week(weeks):
    _, results, trackers = weeks
    header, rows = trackers[3]["history"]
    lines = [dict(zip(header, r, strict=True)) for r in rows]
    assert sorted({line["Week"] for line in lines}) == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    for line in lines:
        if line["ID"] in (*SALES_KPIS, "O2-KR1", "O2-KR2"):
            assert line["Value"] is not None, line
    w47 = next(line for line in lines if line["Week"] == "2026-W47" and line["ID"] == "revenue")
    assert w47["Value"] == pytest.approx(kpi(results[1], "revenue")["value"])


def test_week_3_digest_says_plainly_which_numbers_are_old_and_since_when(weeks):
    project, _, _ = weeks
    text, html = digest_text(project, "2026-W47")
    banner = "Revenue, Orders and Conversion rate: could not be refreshed; showing the values from 10 Nov 2026."
    assert banner in text and banner in html
    assert "sales.xlsx" not in text and "sales.xlsx" not in html  # paths and errors are for ops
    text4, _ = digest_text(project, "2026-W48")
    assert "could not be refreshed" not in text4


def test_the_tracker_shows_every_krs_score_and_each_objectives(weeks):
    _, results, trackers = weeks
    for kr_id, row in trackers[3]["krs"].items():
        assert row["Score"] == pytest.approx(kr(results[3], kr_id)["score"]), kr_id
        assert row["Grade"] is None  # committed KRs have no grade
