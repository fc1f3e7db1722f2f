"""The Google Sheets source connector, driven over HTTP against the fake Sheets server.

Unmodified gspread and google-auth talk to `tests.fake_google` through `[google] api_url`;
retry waits go through an injected clock, so storms cost no real time.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from connectors.base import SourceAccessDenied, SourceFormatError, SourceNotFound, SourceUnavailable
from connectors.google_client import RetryPolicy
from connectors.gsheet_source import (
    READ_PARAMS,
    quote_title,
    read_gsheet_sources,
)
from connectors.sources import read_sources
from sheetsync.core.dates import parse_dates
from sheetsync.core.model import GoogleConfig, SourceConfig, parse_spreadsheet
from sheetsync.core.numbers import parse_numbers
from sheetsync.core.sheet_range import range_start, split_range
from sheetsync.core.sources import ROW_COLUMN, SourceData
from sheetsync.errors import ConfigError
from tests.fake_google import FakeGoogle, Formatted, Percent, fixtures

ROOT_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"
fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file


FakeTime = fixtures.FakeTime


def policy(timer: FakeTime, **overrides: object) -> RetryPolicy:
    options: dict[str, object] = {"base_delay": 1.0, "max_delay": 8.0, "jitter": False, "total_timeout": 60.0}
    options.update(overrides)
    return RetryPolicy(**options, sleep=timer.sleep, clock=timer.clock)  # type: ignore[arg-type]


def read(
    fake: FakeGoogle, creds: Path, *sources: SourceConfig, timer: FakeTime | None = None, **retry: object
) -> dict[str, SourceData | Exception]:
    timer = timer or FakeTime(fake)
    parallel = int(retry.pop("parallel", GoogleConfig.parallel))  # type: ignore[call-overload]
    google = GoogleConfig(credentials=str(creds), api_url=fake.url, parallel=parallel)
    return dict(read_gsheet_sources(sources, google, retry=policy(timer, **retry)))


def src(name: str, spreadsheet: str, **options: object) -> SourceConfig:
    return SourceConfig(name=name, type="gsheet", spreadsheet=spreadsheet, **options)  # type: ignore[arg-type]


def data(result: SourceData | Exception) -> SourceData:
    assert isinstance(result, SourceData), result
    return result


def records(result: SourceData | Exception) -> list[dict[str, object]]:
    """The rows as dicts, a blank cell as None whatever its column's dtype (NaN in float and text columns)."""
    frame = data(result).frame.drop(columns=[ROW_COLUMN])
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


METRICS = {
    "Sales": [
        ["Date", "Region", "Amount", "Rate", "Paid"],
        [date(2026, 11, 16), "EU", Formatted(1200, "CURRENCY", "$#,##0"), Percent(0.12), True],
        [date(2026, 11, 17), "US", "$1,300.50", "12%", False],
        [datetime(2026, 11, 18, 12, 0), "EU", 999.5, 0.2, None],
        [],
        [],
    ],
    "Team 'A'": [["Week", "Signups"], ["2026-W47", 10]],
}


@pytest.fixture
def metrics(fake_google: FakeGoogle) -> str:
    return fake_google.add_spreadsheet("Metrics", METRICS)


# --- values ----------------------------------------------------------------------------------------


def test_typed_values_unformatted(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    got = read(fake_google, service_account_file, src("sales", metrics, worksheet="Sales"))["sales"]
    rows = records(got)
    assert rows[0] == {"Date": 46342, "Region": "EU", "Amount": 1200, "Rate": 0.12, "Paid": True}
    # Text cells stay the text people typed, for the core number parser.
    assert rows[1] == {"Date": 46343, "Region": "US", "Amount": "$1,300.50", "Rate": "12%", "Paid": False}
    assert rows[2]["Date"] == 46344.5 and rows[2]["Amount"] == 999.5 and rows[2]["Paid"] is None
    numbers, bad = parse_numbers(data(got).frame["Amount"])
    assert numbers.tolist() == [1200.0, 1300.5, 999.5] and not bad
    rates, _ = parse_numbers(data(got).frame["Rate"])
    assert rates.tolist() == pytest.approx([0.12, 0.12, 0.2])
    assert data(got).frame[ROW_COLUMN].tolist() == [2, 3, 4]  # trailing empty rows dropped; sheet rows kept
    assert data(got).type == "gsheet" and data(got).sheet == "Sales"
    assert data(got).location == f"https://docs.google.com/spreadsheets/d/{metrics}"
    assert data(got).warnings == []


def test_serial_dates_become_days(fake_google: FakeGoogle, service_account_file: Path) -> None:
    sid = fake_google.add_spreadsheet(
        "Dates",
        {"D": [["When"], [date(1899, 12, 31)], [date(1900, 3, 1)], [date(2026, 11, 24)], [datetime(2026, 1, 2, 18)]]},
    )
    got = data(read(fake_google, service_account_file, src("d", sid))["d"])
    assert got.frame["When"].tolist() == [1, 61, 46350, 46024.75]  # days since 1899-12-30
    days, bad = parse_dates(got.frame["When"])
    assert not bad
    assert [d.date() for d in days] == [date(1899, 12, 31), date(1900, 3, 1), date(2026, 11, 24), date(2026, 1, 2)]


def test_request_shape(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    read(fake_google, service_account_file, src("sales", metrics, worksheet="Sales"), src("first", metrics))
    (meta,) = fake_google.calls_of("spreadsheets.get")  # for the source that names no tab
    assert meta.query["fields"] == [
        "spreadsheetId,properties.title,sheets.properties(sheetId,title,index,sheetType,hidden)"
    ]
    (batch,) = fake_google.calls_of("values.batchGet")
    assert batch.query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert batch.query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    assert batch.query["prettyPrint"] == ["false"]  # the values come compact, not a line per cell
    assert batch.query["majorDimension"] == ["COLUMNS"]  # a column per list: no transposing in Python
    assert batch.query["ranges"] == ["'Sales'"]  # the first tab is 'Sales' too: read once
    assert READ_PARAMS["valueRenderOption"] == "UNFORMATTED_VALUE"


TYPED = {
    "T": [
        ["Day", "Amount", "Gap", "Mixed", "Paid", "Name", "Note"],
        [46342, 10, None, 3, True, "Ann", None],
        [46343, None, None, "n/a", False, None, None],
        [None, 2.5, None, None, None, "Bo", "late"],
        [46345, 4],  # a ragged last row: Google trims its trailing blanks
    ]
}


def test_columns_typed_where_every_cell_agrees(fake_google: FakeGoogle, service_account_file: Path) -> None:
    sid = fake_google.add_spreadsheet("Typed", TYPED)
    got = data(read(fake_google, service_account_file, src("t", sid))["t"])
    frame = got.frame
    assert frame["Day"].dtype == "float64" and frame["Amount"].dtype == "float64"  # numbers, blanks between
    assert frame["Day"].tolist()[:2] == [46342, 46343] and pd.isna(frame["Day"][2])
    assert frame["Amount"].tolist()[0::2] == [10, 2.5] and pd.isna(frame["Amount"][1])
    assert frame["Mixed"].dtype == object and frame["Mixed"].tolist() == [3, "n/a", None, None]  # for the parsers
    assert frame["Paid"].dtype == object and frame["Paid"].tolist() == [True, False, None, None]
    assert pd.api.types.is_string_dtype(frame["Name"]) and frame["Name"].tolist()[0::2] == ["Ann", "Bo"]
    assert frame["Gap"].isna().all() and frame["Note"].tolist()[2] == "late"  # a named empty column is kept
    assert frame[ROW_COLUMN].tolist() == [2, 3, 4, 5] and got.warnings == []


@pytest.mark.parametrize(
    ("tabs", "options"),
    [
        (TYPED, {}),
        ({"H": [["Amount", "", "Amount", "Amount", None, "Note"], [1, 2, 3, 4, None, "x"], [5, 6, 7, 8]]}, {}),
        ({"Data": [["Title"], [], ["", "Day", "", "Visits"], ["x", 46342, 3], ["x", None, 4, 11]]}, {"header_row": 3}),
        ({"Data": [["Title"], [], ["", "Day", "", "Visits"], ["x", 46342, 3], ["x", None, 4, 11]]},
         {"range": "B3:D"}),
        ({"Data": [[None, "Title", None, None, "far"], [], [None, None, "a", "b"], [], [None, None, 1]]},
         {"range": "C2:F", "header_row": 3}),
        ({"E": [["Date", "Value"], [], [None, ""]]}, {}),
        ({"E": [["Only title"]]}, {"header_row": 2}),
        ({"E": []}, {}),
    ],
)
def test_rows_and_columns_answers_give_one_frame(
    fake_google: FakeGoogle, service_account_file: Path, monkeypatch: pytest.MonkeyPatch,
    tabs: dict[str, list[list[object]]], options: dict[str, object],
) -> None:
    """Values kept from a read row by row (older versions) read as the same frame as column by column."""
    sid = fake_google.add_spreadsheet("Both", tabs)
    config = src("s", sid, worksheet=next(iter(tabs)), **options)
    by_columns = data(read(fake_google, service_account_file, config)["s"])
    monkeypatch.setitem(READ_PARAMS, "majorDimension", "ROWS")
    by_rows = data(read(fake_google, service_account_file, config)["s"])
    assert [c.query["majorDimension"] for c in fake_google.calls_of("values.batchGet")] == [["COLUMNS"], ["ROWS"]]
    pd.testing.assert_frame_equal(by_columns.frame, by_rows.frame)
    assert by_columns.warnings == by_rows.warnings


# --- headers -----------------------------------------------------------------------------------------


def test_duplicate_and_blank_headers(fake_google: FakeGoogle, service_account_file: Path) -> None:
    sid = fake_google.add_spreadsheet(
        "Heads",
        {"H": [["Amount", "", "Amount", "Amount", None, "Note"], [1, 2, 3, 4, None, "x"], [5, 6, 7, 8]]},
    )
    got = data(read(fake_google, service_account_file, src("h", sid))["h"])
    assert got.columns == ["Amount", "B", "Amount_2", "Amount_3", "Note"]  # empty unnamed column E dropped
    assert records(got) == [
        {"Amount": 1, "B": 2, "Amount_2": 3, "Amount_3": 4, "Note": "x"},
        {"Amount": 5, "B": 6, "Amount_2": 7, "Amount_3": 8, "Note": None},
    ]
    assert got.warnings == [
        "duplicate header 'Amount' in column C renamed to 'Amount_2'",
        "duplicate header 'Amount' in column D renamed to 'Amount_3'",
    ]


def test_columns_are_matched_by_name_not_position(fake_google: FakeGoogle, service_account_file: Path) -> None:
    a = fake_google.add_spreadsheet("A", {"S": [["Region", "Amount"], ["EU", 5]]})
    b = fake_google.add_spreadsheet("B", {"S": [["Amount", "Region"], [5, "EU"]]})
    got = read(fake_google, service_account_file, src("a", a), src("b", b))
    assert records(got["a"]) == records(got["b"]) == [{"Region": "EU", "Amount": 5}]


def test_empty_and_header_only_sheets_warn(fake_google: FakeGoogle, service_account_file: Path) -> None:
    sid = fake_google.add_spreadsheet("E", {"Empty": [], "Header": [["Date", "Value"], [], [None, ""]]})
    got = read(fake_google, service_account_file, src("e", sid, worksheet="Empty"), src("h", sid, worksheet="Header"))
    assert data(got["e"]).rows == 0 and data(got["e"]).warnings == ["the sheet is empty: no header row"]
    assert data(got["h"]).rows == 0 and data(got["h"]).columns == ["Date", "Value"]
    assert data(got["h"]).warnings == ["the sheet has a header but no data rows"]


def test_range_header_row_and_rename(fake_google: FakeGoogle, service_account_file: Path) -> None:
    sid = fake_google.add_spreadsheet(
        "R",
        {"Data": [["Report title"], [], ["", "Day", "", "Visits"], ["x", 46342, 3, 10], ["x", 46343, 4, 11]]},
    )
    got = read(
        fake_google,
        service_account_file,
        src("whole", sid, header_row=3, rename={"Visits": "visits"}),
        src("part", sid, range="'Data'!B3:D"),
    )
    assert records(got["whole"]) == [
        {"A": "x", "Day": 46342, "C": 3, "visits": 10},
        {"A": "x", "Day": 46343, "C": 4, "visits": 11},
    ]
    part = data(got["part"])
    assert part.columns == ["Day", "C", "Visits"]  # the blank header keeps the sheet's own letter
    assert part.frame[ROW_COLUMN].tolist() == [4, 5]
    assert fake_google.calls_of("values.batchGet")[0].query["ranges"] == ["'Data'", "'Data'!B3:D"]


def test_titles_with_quotes_and_default_tab_from_gid(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str
) -> None:
    second = fake_google.spreadsheet(metrics).sheet("Team 'A'").sheet_id
    url = f"https://docs.google.com/spreadsheets/d/{metrics}/edit#gid={second}"
    got = read(
        fake_google,
        service_account_file,
        src("quoted", metrics, worksheet="Team 'A'"),
        src("by_gid", url),
        src("first", metrics),
    )
    assert records(got["quoted"]) == records(got["by_gid"]) == [{"Week": "2026-W47", "Signups": 10}]
    assert data(got["first"]).sheet == "Sales"
    assert fake_google.calls_of("values.batchGet")[0].query["ranges"] == ["'Team ''A'''", "'Sales'"]


# --- errors ------------------------------------------------------------------------------------------


def test_missing_tab_lists_the_tabs_and_spares_the_others(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str
) -> None:
    got = read(
        fake_google, service_account_file, src("bad", metrics, worksheet="sales"), src("ok", metrics, worksheet="Sales")
    )
    error = got["bad"]
    assert isinstance(error, SourceNotFound)
    assert "no tab named 'sales' (did you mean 'Sales'?); the spreadsheet has 'Sales', \"Team 'A'\"" in str(error)
    assert error.sheet == "sales" and metrics in error.location
    assert data(got["ok"]).rows == 3
    # Google refuses the batch with the missing tab; one metadata read says which, and the
    # good tab is read again on its own.
    first, second = fake_google.calls_of("values.batchGet")
    assert first.query["ranges"] == ["'sales'", "'Sales'"]
    assert second.query["ranges"] == ["'Sales'"]
    assert fake_google.call_counts()["spreadsheets.get"] == 1


def test_403_names_the_account_to_share_with(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    fake_google.deny(metrics)
    timer = FakeTime(fake_google)
    error = read(fake_google, service_account_file, src("s", metrics), timer=timer)["s"]
    assert isinstance(error, SourceAccessDenied)
    message = str(error)
    assert f"share the spreadsheet with {fixtures.SERVICE_ACCOUNT_EMAIL} as Viewer" in message
    assert metrics in message
    assert timer.waits == []  # a 403 is not retried
    assert fake_google.call_counts().get("values.batchGet") is None


def test_404(fake_google: FakeGoogle, service_account_file: Path) -> None:
    error = read(fake_google, service_account_file, src("s", "doesNotExist123"))["s"]
    assert isinstance(error, SourceNotFound)
    assert "spreadsheet not found (HTTP 404)" in str(error)
    assert fixtures.SERVICE_ACCOUNT_EMAIL in str(error)


def test_429_storm_that_recovers(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    timer = FakeTime(fake_google)
    fake_google.fail_next(3, status=429, retry_after=5, kind="values.batchGet")
    got = read(fake_google, service_account_file, src("s", metrics, worksheet="Sales"), timer=timer)
    assert data(got["s"]).rows == 3
    assert timer.waits == [5.0, 5.0, 5.0]  # Retry-After honoured
    assert fake_google.call_counts()["values.batchGet"] == 4


def test_429_storm_that_does_not_recover_fails_only_that_spreadsheet(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = fake_google.add_spreadsheet("Other", {"S": [["v"], [1]]})
    timer = FakeTime(fake_google)
    fake_google.fail_next(4, status=429, kind="values.batchGet")  # exactly the first spreadsheet's tries
    with caplog.at_level(logging.WARNING):
        got = read(
            fake_google,
            service_account_file,
            src("a", metrics, worksheet="Sales"),
            src("b", metrics, worksheet="Team 'A'"),
            src("c", other),
            timer=timer,
            max_attempts=4,
            parallel=1,  # one at a time: the faults go to the first spreadsheet read
        )
    for name in ("a", "b"):
        error = got[name]
        assert isinstance(error, SourceUnavailable)
        assert "HTTP 429 RESOURCE_EXHAUSTED" in str(error) and "gave up after 4 attempts" in str(error)
    assert records(got["c"]) == [{"v": 1}]
    assert timer.waits == [1.0, 2.0, 4.0]  # exponential backoff, bounded
    assert list(got) == ["a", "b", "c"]  # config order kept
    assert "PRIVATE KEY" not in caplog.text and "ya29" not in caplog.text


def test_budget_bounds_total_retry_time(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    timer = FakeTime(fake_google)
    fake_google.fail_next(50, status=503, body="html")
    error = read(
        fake_google, service_account_file, src("s", metrics), timer=timer, total_timeout=10.0, max_attempts=20
    )["s"]
    assert isinstance(error, SourceUnavailable) and "10 s retry budget" in str(error)
    assert sum(timer.waits) <= 10.0


def test_bad_credentials_fail_every_gsheet_source_clearly(
    fake_google: FakeGoogle, tmp_path: Path, metrics: str
) -> None:
    missing = tmp_path / "nope.json"
    got = read(fake_google, missing, src("a", metrics), src("b", metrics))
    for name in ("a", "b"):
        assert isinstance(got[name], SourceAccessDenied)
        assert f"Google credentials file {missing} does not exist" in str(got[name])
    assert fake_google.calls == []

    creds = fixtures.write_service_account(tmp_path / "sa.json", fake_google, email="gone@x.iam.gserviceaccount.com")
    fake_google.unregister_service_account("gone@x.iam.gserviceaccount.com")
    error = read(fake_google, creds, src("a", metrics))["a"]
    assert isinstance(error, SourceAccessDenied) and "invalid_grant" in str(error)
    private_key = json.loads(creds.read_text())["private_key"]
    assert private_key.splitlines()[1] not in str(error)


def test_bad_spreadsheet_values(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    # A URL that names no spreadsheet fails when the config is read, before any call (see test_config).
    with pytest.raises(ConfigError, match=r"^sources\.url\.spreadsheet: .* is not a Google Sheets URL"):
        src("url", "https://docs.google.com/document/d/abc/edit")
    with pytest.raises(ConfigError, match="Publish to the web"):
        src("pub", "https://docs.google.com/spreadsheets/d/e/2PACX-1vQ/pubhtml")
    with pytest.raises(ConfigError, match=r"^sources\.range\.range: .* is not an A1 range"):  # so is a bad range
        src("range", metrics, range="A1:B2:C3")
    got = read(
        fake_google,
        service_account_file,
        src("both", metrics, worksheet="Sales", range="'Team ''A'''!A1:B"),
        src("ok", metrics),
    )
    assert isinstance(got["both"], SourceFormatError) and "name different tabs" in str(got["both"])
    assert data(got["ok"]).rows == 3


# --- calls -------------------------------------------------------------------------------------------


def test_one_batch_get_per_spreadsheet_and_metadata_only_when_a_source_names_no_tab(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str
) -> None:
    other = fake_google.add_spreadsheet("Other", {"S": [["v"], [1]]})
    sources = [src(f"s{i}", metrics, worksheet="Sales") for i in range(5)]
    sources += [src("team", f"https://docs.google.com/spreadsheets/d/{metrics}/edit", worksheet="Team 'A'")]
    sources += [src(f"o{i}", other) for i in range(3)]
    got = read(fake_google, service_account_file, *sources)
    assert all(isinstance(v, SourceData) for v in got.values())
    # metrics: every source names its tab, so no metadata; other: the first tab, so one read.
    assert fake_google.call_counts() == {"oauth.token": 1, "spreadsheets.get": 1, "values.batchGet": 2}
    (meta,) = fake_google.calls_of("spreadsheets.get")
    assert other in meta.path
    # Spreadsheets are read in parallel: find the metrics one by its path, not by its place in the log.
    (first,) = [c for c in fake_google.calls_of("values.batchGet") if metrics in c.path]
    assert first.query["ranges"] == ["'Sales'", "'Team ''A'''"]  # identical ranges read once


def test_read_sources_mixes_local_and_google(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str, tmp_path: Path
) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("a,b\n1,2\n")
    google = GoogleConfig(credentials=str(service_account_file), api_url=fake_google.url)
    got = read_sources([SourceConfig("local", "csv", path=str(csv_path)), src("g", metrics)], google)
    assert isinstance(got["local"], SourceData) and isinstance(got["g"], SourceData)


# --- parsing helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "gid"),
    [
        ("1AbC-_x", "1AbC-_x", None),
        ("https://docs.google.com/spreadsheets/d/1AbC-_x/edit#gid=123", "1AbC-_x", 123),
        ("https://docs.google.com/spreadsheets/u/1/d/1AbC/edit?usp=sharing", "1AbC", None),
        ("https://docs.google.com/spreadsheets/d/1AbC/edit?gid=7#gid=7", "1AbC", 7),
        ("  https://docs.google.com/spreadsheets/d/1AbC  ", "1AbC", None),
    ],
)
def test_parse_spreadsheet(text: str, key: str, gid: int | None) -> None:
    ref = parse_spreadsheet(text)
    assert (ref.key, ref.gid) == (key, gid)


@pytest.mark.parametrize("text", ["", "not a key", "ftp://x/spreadsheets/d/abc", "https://example.com/x"])
def test_parse_spreadsheet_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_spreadsheet(text)


def test_ranges_and_titles() -> None:
    assert quote_title("Tab 'x'") == "'Tab ''x'''"
    assert split_range("'Tab ''x'''!A1:F") == ("Tab 'x'", "A1:F")
    assert split_range("Data!B2:C") == ("Data", "B2:C")
    assert split_range("B2:C") == (None, "B2:C")
    assert range_start("C5:F") == (4, 2)
    assert range_start("AA1") == (0, 26)
    assert range_start("3:9") == (2, 0)
    with pytest.raises(ValueError):
        range_start("A0")
    with pytest.raises(ValueError):
        range_start("hello")


def test_frame_keeps_object_values_for_the_parsers(
    fake_google: FakeGoogle, service_account_file: Path, metrics: str
) -> None:
    frame = data(read(fake_google, service_account_file, src("s", metrics))["s"]).frame
    assert frame["Amount"].dtype == object  # numbers and "$1,300.50" text: each cell as it came
    assert frame["Amount"].tolist()[1] == "$1,300.50"
    assert isinstance(frame, pd.DataFrame)


def test_sheets_api_not_enabled(fake_google: FakeGoogle, service_account_file: Path, metrics: str) -> None:
    fake_google.fail_next(1, status=403, kind="spreadsheets.get", message=(
        "Google Sheets API has not been used in project 123 before or it is disabled. Enable it by visiting "
        "https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=123"))
    error = read(fake_google, service_account_file, src("s", metrics))["s"]
    assert isinstance(error, SourceAccessDenied)
    assert "the Google Sheets API is not enabled" in str(error) and "project=123" in str(error)


def test_retry_seconds_config(tmp_path: Path) -> None:
    from sheetsync.config import load_config
    from sheetsync.errors import ConfigError

    text = (ROOT_CONFIG.read_text() + '\n[google]\ncredentials = "sa.json"\nretry_seconds = 5\n')
    (tmp_path / "config.toml").write_text(text)
    config = load_config(tmp_path / "config.toml")
    assert config.google.retry_seconds == 5.0 and config.google.credentials == tmp_path / "sa.json"
    assert GoogleConfig().retry_seconds == 120.0
    (tmp_path / "config.toml").write_text(text.replace("retry_seconds = 5", "retry_seconds = -1"))
    with pytest.raises(ConfigError, match=r"google\.retry_seconds: expected seconds 0 or more"):
        load_config(tmp_path / "config.toml")
