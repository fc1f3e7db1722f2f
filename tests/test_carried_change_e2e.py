"""Four weekly runs through the CLI; the sales workbook is gone in weeks 2 and 3 and back in week 4.

What users must see: a carried value says so in every output with the day it is from, and a
change since last week is only ever between two measured figures. Carried against carried
(week 3), carried against measured (week 2) or measured against carried (week 4) is shown as
unknown, never as "±0 pts this week", and an objective's change compares like with like.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.helpers import copy_example, run_cli
from tests.test_carry_forward_e2e import digest_text, kpi, kr
from tests.test_tracker_xlsx import by, table

WEEKS = ("2026-11-10", "2026-11-17", "2026-11-24", "2026-12-01")  # W46 .. W49
CARRIED = "showing the value from 10 Nov 2026"


def objective(results: dict, objective_id: str) -> dict:
    return next(o for o in results["objectives"] if o["id"] == objective_id)


def kr_line(text: str, kr_id: str) -> str:
    """The digest text's two lines about one key result (its title, then its numbers)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"- {kr_id} "))
    return "\n".join(lines[at:at + 2])


@pytest.fixture(scope="module")
def weeks(tmp_path_factory) -> tuple[Path, list[dict], list[dict]]:
    """(project, each week's JSON, each week's tracker Key Results / KPIs / Dashboard rows by id)."""
    project = tmp_path_factory.mktemp("carried")
    copy_example(project)
    sales, away = project / "data" / "sales.xlsx", project / "sales.xlsx.away"
    results, trackers = [], []
    for index, as_of in enumerate(WEEKS):
        if index == 1:
            shutil.move(sales, away)
        if index == 3:
            shutil.move(away, sales)
        proc = run_cli("run", "--as-of", as_of, "--json", f"w{index}.json", cwd=project)
        assert proc.returncode == (0 if index == 0 else 3), proc.stderr  # December: churn has no rows yet
        results.append(json.loads((project / f"w{index}.json").read_text()))
        wb = load_workbook(project / "output" / "okr_tracker.xlsx")
        trackers.append({
            "krs": by(*table(wb, "key_results"), "Key result"),
            "kpis": by(*table(wb, "kpis"), "KPI"),
            "objectives": by(*table(wb, "objectives"), "Objective"),
        })
    return project, results, trackers


@pytest.mark.parametrize("week", [1, 2])
def test_the_json_notes_a_carried_value_as_the_tracker_does(weeks, week):
    _, results, trackers = weeks
    carried = kr(results[week], "O2-KR1")
    assert carried["value_as_of"] == "2026-11-10"
    assert CARRIED in carried["note"]
    assert carried["note"] == trackers[week]["krs"]["O2-KR1"]["Note"]
    revenue = kpi(results[week], "revenue")
    assert CARRIED in revenue["note"] and revenue["note"] == trackers[week]["kpis"]["revenue"]["Note"]
    assert kr(results[week], "O1-KR1")["note"] is None  # a fresh figure has nothing to say


def test_carried_against_carried_is_no_change(weeks):
    project, results, trackers = weeks
    for kr_id in ("O2-KR1", "O2-KR2"):
        assert kr(results[2], kr_id)["change"] is None
        assert trackers[2]["krs"][kr_id]["Change since last week"] is None
    text, html = digest_text(project, "2026-W48")
    line = kr_line(text, "O2-KR1")
    assert "no new data this week" in line and "pts this week" not in line
    assert "no new data this week" in html
    # O2 compares like with like: O2-KR3 alone was measured in both weeks.
    assert objective(results[2], "O2")["change"] == pytest.approx(kr(results[2], "O2-KR3")["change"])


def test_carried_against_measured_is_no_change(weeks):
    project, results, trackers = weeks
    assert kr(results[1], "O2-KR1")["change"] is None
    assert trackers[1]["krs"]["O2-KR1"]["Change since last week"] is None
    assert "no new data this week" in kr_line(digest_text(project, "2026-W47")[0], "O2-KR1")


def test_measured_against_carried_is_no_change(weeks):
    project, results, trackers = weeks
    back = kr(results[3], "O2-KR1")
    assert back["value_as_of"] == "2026-12-01" and back["note"] is None
    assert back["change"] is None  # last week showed 10 Nov's value: nobody measured the change
    assert trackers[3]["krs"]["O2-KR1"]["Change since last week"] is None
    text, html = digest_text(project, "2026-W49")
    line = kr_line(text, "O2-KR1")
    assert "not measured last week" in line and "pts this week" not in line
    assert "not measured last week" in html
    # Sales is measured again but was carried last week, and churn has no rows in December:
    # no O2 key result was measured in both weeks, so O2 has no change, and says why.
    assert objective(results[3], "O2")["change"] is None
    assert trackers[3]["objectives"]["O2"]["Change since last week"] is None
    assert "O2 Grow revenue: 53%, at risk (no key result measured both weeks)" in text
    # Key results measured both weeks still show their change.
    assert kr(results[3], "O1-KR2")["change"] == pytest.approx(
        kr(results[3], "O1-KR2")["progress"] - kr(results[2], "O1-KR2")["progress"])
    assert "+6 pts this week" in kr_line(text, "O1-KR2")
