"""End to end: the real CLI with a Google Sheets source and a Google Sheet tracker.

The shipped example's `sales.xlsx` is loaded into the fake Google server as a spreadsheet
(dates become serial-number date cells), the example config reads it as a `gsheet` source
and writes its tracker to another spreadsheet. `sheetsync sync` runs in a subprocess and
talks to the fake over HTTP through `[google] api_url`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.fake_google import FakeGoogle, fixtures
from tests.helpers import ROOT, copy_example, run_cli

fake_google = fixtures.fake_google

AS_OF = "2026-11-24"
SALES_BLOCK = re.compile(r'\[sources\.sales\]\ntype = "xlsx"\npath = "data/sales\.xlsx"\nsheet = "Orders"\n')
TRACKER_BLOCK = re.compile(r'\[tracker\]\ntype = "xlsx"\npath = "output/okr_tracker\.xlsx"\n')


def sales_rows() -> list[list[Any]]:
    sheet = load_workbook(ROOT / "data" / "sales.xlsx", read_only=True)["Orders"]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def gsheet_project(work: Path, fake: FakeGoogle, sales_id: str, tracker_id: str) -> None:
    config = copy_example(work)
    creds = fixtures.write_service_account(work / "service-account.json", fake)
    text = config.read_text()
    assert SALES_BLOCK.search(text) and TRACKER_BLOCK.search(text)
    text = SALES_BLOCK.sub(
        "[sources.sales]\ntype = \"gsheet\"\n"
        f'spreadsheet = "https://docs.google.com/spreadsheets/d/{sales_id}/edit#gid=0"\nworksheet = "Orders"\n',
        text,
    )
    text = TRACKER_BLOCK.sub(f'[tracker]\ntype = "gsheet"\nspreadsheet = "{tracker_id}"\n', text)
    text += f'\n[google]\ncredentials = "{creds.name}"\napi_url = "{fake.url}"\nretry_seconds = 2\n'
    config.write_text(text)


def sync(work: Path) -> tuple[int, dict[str, Any], str]:
    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF, "--json", "results.json", cwd=work)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads((work / "results.json").read_text()), proc.stderr + proc.stdout


def krs(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {kr["id"]: kr for o in results["objectives"] for kr in o["key_results"]}


def kpis(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in results["kpis"]}


@pytest.fixture(scope="module")
def xlsx_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same example read from the .xlsx file: the figures the Google Sheet must reproduce."""
    work = tmp_path_factory.mktemp("xlsx")
    copy_example(work)
    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF, "--json", "results.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return json.loads((work / "results.json").read_text())


def test_sync_from_and_to_google_sheets(
    fake_google: FakeGoogle, tmp_path: Path, xlsx_results: dict[str, Any]
) -> None:
    sales_id = fake_google.add_spreadsheet("Sales", {"Orders": sales_rows()})
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    gsheet_project(tmp_path, fake_google, sales_id, tracker_id)

    code, results, output = sync(tmp_path)
    assert code == 0, output
    # Exactly: one token (the source reads and the tracker write share the process's
    # credentials), one batchGet for the source spreadsheet (its tab is named: no metadata
    # read), and one metadata read + one batchUpdate + one values write for the tracker.
    assert fake_google.call_counts() == {
        "oauth.token": 1, "spreadsheets.get": 1, "values.batchGet": 1,
        "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1,
    }  # fmt: skip
    (batch_get,) = fake_google.calls_of("values.batchGet")
    assert batch_get.query["ranges"] == ["'Orders'"]

    # The numbers match the run that read the .xlsx file.
    for kpi_id in ("revenue", "orders", "conversion_rate"):
        assert kpis(results)[kpi_id]["value"] == pytest.approx(kpis(xlsx_results)[kpi_id]["value"]), kpi_id
        assert kpis(results)[kpi_id]["series"] == kpis(xlsx_results)[kpi_id]["series"], kpi_id
    for kr_id, kr in krs(xlsx_results).items():
        assert krs(results)[kr_id]["current"] == pytest.approx(kr["current"]), kr_id
        assert krs(results)[kr_id]["status"] == kr["status"], kr_id
    sales = next(s for s in results["sources"] if s["name"] == "sales")
    assert sales["type"] == "gsheet" and sales["status"] == "ok" and sales["rows"] == len(sales_rows()) - 1
    assert sales["location"] == f"https://docs.google.com/spreadsheets/d/{sales_id}"

    # The tracker sheet shows them.
    ss = fake_google.spreadsheet(tracker_id)
    assert ss.sheet_titles[:6] == ["Dashboard", "Key Results", "Check-ins", "KPIs", "History", "Sources"]
    rows = {row[1]: row for row in ss.values("Key Results")[1:]}
    assert rows["O2-KR1"][7] == pytest.approx(krs(results)["O2-KR1"]["current"])
    assert ss.formatted("Key Results")[list(rows).index("O2-KR1") + 1][10] == "On track"
    history = ss.values("History")
    assert len(history) == 1 + len(krs(results)) + len(results["kpis"])
    sources = {row[0]: row for row in ss.values("Sources")[1:]}
    assert sources["sales"][1] == "gsheet" and sources["sales"][6] == "OK"
    assert f"wrote https://docs.google.com/spreadsheets/d/{tracker_id}/edit" in output


def test_quota_storm_on_one_source_shows_its_last_good_values_and_the_tracker_is_written(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    sales_id = fake_google.add_spreadsheet("Sales", {"Orders": sales_rows()})
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    gsheet_project(tmp_path, fake_google, sales_id, tracker_id)
    code, good, _ = sync(tmp_path)
    assert code == 0

    fake_google.reset_calls()
    # Every read of the sales data fails, for longer than retry_seconds; the tracker's own calls work.
    fake_google.fail_next(1000, status=429, retry_after=1, kind="values.batchGet")
    code, results, output = sync(tmp_path)
    assert code == 3, output

    sales = next(s for s in results["sources"] if s["name"] == "sales")
    assert sales["status"] == "failed"
    assert "HTTP 429 RESOURCE_EXHAUSTED" in sales["error"] and "2 s retry budget" in sales["error"]
    assert all(s["status"] == "ok" for s in results["sources"] if s["name"] != "sales")
    kr = krs(results)
    # The same rule as for a missing file: the last good number, marked stale with its date.
    assert kr["O2-KR1"]["stale"] and kr["O2-KR1"]["current"] == krs(good)["O2-KR1"]["current"]
    assert kr["O2-KR1"]["value_as_of"] == AS_OF
    assert kr["O2-KR2"]["stale"]  # conversion rate = orders / sessions: orders come from sales
    for kr_id in ("O1-KR1", "O1-KR2", "O2-KR3", "O3-KR1"):
        assert kr[kr_id]["stale"] is None and kr[kr_id]["current"] == krs(good)[kr_id]["current"]

    # Bounded: a few tries of the batchGet (1 s waits within the 2 s budget), then nothing more of it.
    tries = fake_google.call_counts()["values.batchGet"]
    assert tries in (2, 3) and f"gave up after {tries} attempts" in sales["error"]
    # The tracker is written all the same, with the carried numbers.
    assert fake_google.call_counts()["values.batchUpdate"] == 1
    rows = {row[1]: row for row in fake_google.spreadsheet(tracker_id).values("Key Results")[1:]}
    assert rows["O2-KR1"][7] == pytest.approx(krs(good)["O2-KR1"]["current"])


def test_a_google_outage_that_stops_the_tracker_too_keeps_the_last_good_tracker_and_history(
    fake_google: FakeGoogle, tmp_path: Path
) -> None:
    sales_id = fake_google.add_spreadsheet("Sales", {"Orders": sales_rows()})
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    gsheet_project(tmp_path, fake_google, sales_id, tracker_id)
    code, _, _ = sync(tmp_path)
    assert code == 0
    ss = fake_google.spreadsheet(tracker_id)
    before = {title: ss.values(title) for title in ss.sheet_titles}
    history = tmp_path / ".sheetsync" / "history.sqlite"
    rows_before = sqlite3.connect(history).execute("SELECT * FROM kpi_history ORDER BY kpi_id").fetchall()

    fake_google.fail_next(1000, status=429, retry_after=1)  # every call, for longer than retry_seconds
    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Google Sheet tracker" in proc.stderr and "failed before changing anything" in proc.stderr
    ss = fake_google.spreadsheet(tracker_id)
    assert {title: ss.values(title) for title in ss.sheet_titles} == before
    assert sqlite3.connect(history).execute("SELECT * FROM kpi_history ORDER BY kpi_id").fetchall() == rows_before


def test_share_the_spreadsheet_message(fake_google: FakeGoogle, tmp_path: Path) -> None:
    sales_id = fake_google.add_spreadsheet("Sales", {"Orders": sales_rows()})
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    gsheet_project(tmp_path, fake_google, sales_id, tracker_id)
    fake_google.deny(sales_id)
    code, results, _ = sync(tmp_path)
    assert code == 3
    sales = next(s for s in results["sources"] if s["name"] == "sales")
    assert f"share the spreadsheet with {fixtures.SERVICE_ACCOUNT_EMAIL} as Viewer" in sales["error"]
    assert sales_id in sales["error"]
    # A source that is denied (not a passing outage) still lets the tracker show what is stale.
    assert fake_google.call_counts()["values.batchUpdate"] == 1
