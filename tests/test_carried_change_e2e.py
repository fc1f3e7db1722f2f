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
from tests.test_carry_forward_e2e import kpi, kr
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
