"""The fake Google backend answers unmodified gspread the way the real Sheets/Drive APIs do.

Expected shapes come from gspread's recorded cassettes of real Google responses
(``test_values_batch_get``, ``test_get_all_values_date_time_render_options``, ``test_create``,
``test_access_non_existing_spreadsheet``), so a pass here means the connector tests that sit on
top of the fake exercise realistic wire data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import gspread
import pytest
import requests

from connectors.google_client import GoogleAPIError, RetryPolicy, make_gspread_client
from tests.fake_google import FakeGoogle, Formula, Percent, a1, fixtures

# Re-exported fixtures (an assignment, so test parameters may shadow it without lint noise).
fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file

UNFORMATTED = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}

# The rows gspread's own test types in with USER_ENTERED, stored as a user would have them.
CASSETTE_ROWS: list[list[object]] = [
    [2, dt.date(2020, 1, 1), "string", 53],
    [1.5, Percent(0.12), dt.date(1999, 1, 2), ""],
]


@pytest.fixture
def gc(fake_google: FakeGoogle, service_account_file: Path) -> gspread.Client:
    """A real gspread client on the fake, with retries that never sleep."""
    return make_gspread_client(
        credentials_path=str(service_account_file),
        api_url=fake_google.url,
        retry=RetryPolicy(max_attempts=1, sleep=lambda _s: None),
    )


@pytest.fixture
def token(fake_google: FakeGoogle) -> str:
    """A bearer token for raw HTTP checks of wire details gspread hides."""
    return fake_google.issue_token()


def _raw(fake: FakeGoogle, token: str) -> Callable[..., requests.Response]:
    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, fake.url + path, headers=headers, timeout=5, **kwargs)  # type: ignore[arg-type]

    return call


# --- reading ----------------------------------------------------------------------------------


def test_values_batch_get_unformatted_serial_matches_real_shapes(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("Metrics", {"Sheet1": CASSETTE_ROWS, "My Tab": [["x", "y"], [1]]})
    sh = gc.open_by_key(sid)

    got = sh.values_batch_get(["Sheet1", "'My Tab'!A:B", "Sheet1!A1:B2"], params=dict(UNFORMATTED))

    assert got["spreadsheetId"] == sid
    first, second, third = got["valueRanges"]
    assert first == {
        "range": "Sheet1!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [[2, 43831, "string", 53], [1.5, 0.12, 36162]],
    }
    assert second == {"range": "'My Tab'!A1:B1000", "majorDimension": "ROWS", "values": [["x", "y"], [1]]}
    assert third["range"] == "Sheet1!A1:B2"
    assert fake_google.call_counts()["values.batchGet"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"},
            [[2, "2020-01-01", "string", 53], [1.5, 0.12, "1999-01-02"]],
        ),
        (
            {"valueRenderOption": "FORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"},
            [["2", "2020-01-01", "string", "53"], ["1.5", "12%", "1999-01-02"]],
        ),
        ({}, [["2", "2020-01-01", "string", "53"], ["1.5", "12%", "1999-01-02"]]),
    ],
)
def test_render_options(
    fake_google: FakeGoogle,
    gc: gspread.Client,
    params: dict[str, str],
    expected: list[list[object]],
) -> None:
    sid = fake_google.add_spreadsheet("Metrics", {"Sheet1": CASSETTE_ROWS})
    got = gc.open_by_key(sid).values_get("Sheet1", params=params)
    assert got["values"] == expected


def test_columns_major_dimension_and_trimming(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["a", "", "c", ""], [], ["d"], [], []]})
    sh = gc.open_by_key(sid)
    assert sh.values_get("Sheet1")["values"] == [["a", "", "c"], [], ["d"]]
    cols = sh.values_get("Sheet1!A1:C3", params={"majorDimension": "COLUMNS"})
    assert cols == {
        "range": "Sheet1!A1:C3",
        "majorDimension": "COLUMNS",
        "values": [["a", "", "d"], [], ["c"]],
    }


def test_empty_range_answers_without_values_key(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["a"]]})
    got = gc.open_by_key(sid).values_get("Sheet1!C3:D4")
    assert got == {"range": "Sheet1!C3:D4", "majorDimension": "ROWS"}


@pytest.mark.parametrize(
    ("range_name", "echo", "values"),
    [
        ("'Sheet 1'!A1:B2", "'Sheet 1'!A1:B2", [["s1", 1]]),
        ("'It''s'!A:C", "'It''s'!A1:C1000", [["q", 2, 3]]),
        ("Data!2:3", "Data!A2:Z3", [["r2"], ["r3"]]),
        ("Data!A2:B", "Data!A2:B1000", [["r2"], ["r3"]]),
        ("Data!B1", "Data!B1", [["top-b"]]),
        ("A1:A2", "'Sheet 1'!A1:A2", [["s1"]]),  # no sheet name: the first tab
        ("Data!B1:A3", "Data!A1:B3", [["top-a", "top-b"], ["r2"], ["r3"]]),
    ],
)
def test_a1_notation_like_google(
    fake_google: FakeGoogle,
    gc: gspread.Client,
    range_name: str,
    echo: str,
    values: list[list[object]],
) -> None:
    sid = fake_google.add_spreadsheet(
        "A1",
        {
            "Sheet 1": [["s1", 1]],
            "It's": [["q", 2, 3]],
            "Data": [["top-a", "top-b"], ["r2"], ["r3"]],
        },
    )
    got = gc.open_by_key(sid).values_get(range_name, params=dict(UNFORMATTED))
    assert got["range"] == echo
    assert got["values"] == values


def test_worksheet_methods_percent_encode_titles(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Q1 'KRs' & more": [["k", 1]]})
    ws = gc.open_by_key(sid).sheet1
    assert ws.get_all_values() == [["k", "1"]]
    raw_path = fake_google.calls_of("values.get")[-1].path
    assert raw_path.endswith("/values/'Q1 ''KRs'' & more'")


def test_spreadsheets_get_number_formats_with_fields_and_ranges(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet(
        "T",
        {"Data": [["when", "rate", "n"], [dt.date(2024, 1, 1), Percent(0.5), 3]], "Other": [["x"]]},
        formats={"Data!C2:C3": {"type": "NUMBER", "pattern": "#,##0.00"}},
    )
    sh = gc.open_by_key(sid)
    meta = sh.fetch_sheet_metadata(
        params={
            "ranges": "Data!A2:C2",
            "fields": "sheets(properties(title,sheetId),data(startRow,rowData.values.effectiveFormat.numberFormat))",
        }
    )
    assert meta == {
        "sheets": [
            {
                "properties": {"sheetId": 0, "title": "Data"},
                "data": [
                    {
                        "startRow": 1,
                        "rowData": [
                            {
                                "values": [
                                    {"effectiveFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}},
                                    {"effectiveFormat": {"numberFormat": {"type": "PERCENT", "pattern": "0%"}}},
                                    {"effectiveFormat": {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}}},
                                ]
                            }
                        ],
                    }
                ],
            }
        ]
    }
    grid = sh.fetch_sheet_metadata(params={"includeGridData": "true", "ranges": "Data!A2:C2"})
    cell = grid["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert cell["userEnteredValue"] == {"numberValue": 45292}
    assert cell["formattedValue"] == "2024-01-01"
    plain = sh.fetch_sheet_metadata()
    assert "data" not in plain["sheets"][0]
    assert plain["sheets"][0]["properties"]["gridProperties"] == {"rowCount": 1000, "columnCount": 26}


# --- writing ----------------------------------------------------------------------------------


def test_raw_keeps_text_user_entered_parses_it(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": []})
    ws = gc.open_by_key(sid).sheet1
    ws.update([["=1+1", "12%", "2020-01-01", "007"]], "A1", raw=True)
    ws.update([["=4/2", "12%", "2020-01-01", "007", "'=x", "TRUE", "$1,200"]], "A2", raw=False)

    store = fake_google.spreadsheet(sid)
    assert store.values() == [
        ["=1+1", "12%", "2020-01-01", "007"],
        [2, 0.12, 43831, 7, "=x", True, 1200],
    ]
    assert store.formatted()[1] == ["2", "12%", "2020-01-01", "7", "=x", "TRUE", "$1,200"]
    assert ws.get_values("A2:B2", value_render_option="FORMULA") == [["=4/2", 0.12]]
    assert store.cell("B2").number_format == {"type": "PERCENT", "pattern": "0%"}
    assert store.cell("A1").formula is None


def test_formulas_evaluate_simple_arithmetic_and_sums(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet(
        "T", {"Sheet1": [[1, 2, Formula("=SUM(A1:B1)*2"), Formula("=A1/0"), Formula("=VLOOKUP(1,A:B,2)")]]}
    )
    got = gc.open_by_key(sid).values_get("Sheet1!A1:E1", params=dict(UNFORMATTED))
    assert got["values"] == [[1, 2, 6, "#DIV/0!", "=VLOOKUP(1,A:B,2)"]]


def test_update_append_and_batch_update_values(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["kr", "value"], ["a", 1]]})
    ws = gc.open_by_key(sid).sheet1

    res = ws.update([["b", 2], ["c", 3]], "A3")
    assert res == {
        "spreadsheetId": sid,
        "updatedRange": "Sheet1!A3:B4",
        "updatedRows": 2,
        "updatedColumns": 2,
        "updatedCells": 4,
    }

    res = ws.append_rows([["d", 4]])
    assert res["tableRange"] == "Sheet1!A1:B4"
    assert res["updates"]["updatedRange"] == "Sheet1!A5:B5"

    res = ws.batch_update([{"range": "B2", "values": [[10]]}, {"range": "D1:D2", "values": [["x"], [None]]}])
    assert res["totalUpdatedCells"] == 2
    assert fake_google.spreadsheet(sid).values() == [
        ["kr", "value", "", "x"],
        ["a", 10],
        ["b", 2],
        ["c", 3],
        ["d", 4],
    ]

    ws.batch_clear(["A5:B5"])
    gc.open_by_key(sid).values_clear("Sheet1!D1")
    assert fake_google.spreadsheet(sid).values() == [["kr", "value"], ["a", 10], ["b", 2], ["c", 3]]


def test_append_finds_the_table_like_google(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["kr", "value"], ["a", 1], [], ["note"]]})
    ws = gc.open_by_key(sid).sheet1
    res = ws.append_rows([["b", 2]])  # the table ends at the blank row, which receives the data
    assert res["tableRange"] == "Sheet1!A1:B2"
    assert res["updates"]["updatedRange"] == "Sheet1!A3:B3"
    ws.insert_rows([["first"]], row=2)  # insertDimension, then an append into the empty new row
    assert fake_google.spreadsheet(sid).values() == [["kr", "value"], ["first"], ["a", 1], ["b", 2], ["note"]]


def test_append_insert_rows_grows_the_grid(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["h"]]})
    sh = gc.open_by_key(sid)
    shrink = {
        "properties": {"sheetId": 0, "gridProperties": {"rowCount": 2, "columnCount": 2}},
        "fields": "gridProperties(rowCount,columnCount)",
    }
    sh.batch_update({"requests": [{"updateSheetProperties": shrink}]})
    sh.sheet1.append_rows([[1, 2, 3], [4, 5, 6]], insert_data_option="INSERT_ROWS")
    store = fake_google.spreadsheet(sid)
    assert store.values() == [["h"], [1, 2, 3], [4, 5, 6]]
    assert store.sheet().row_count == 4 and store.sheet().col_count == 3


def test_write_errors_match_google(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": []})
    sh = gc.open_by_key(sid)
    with pytest.raises(GoogleAPIError) as missing:
        sh.values_update("Sheet1!A1", params={}, body={"values": [[1]]})
    assert missing.value.code == 400
    assert "'valueInputOption' is required but not specified" in str(missing.value)

    with pytest.raises(GoogleAPIError) as too_big:
        sh.values_update("Sheet1!A1:B1", params={"valueInputOption": "RAW"}, body={"values": [[1, 2, 3]]})
    assert "tried writing to column [C]" in str(too_big.value)

    with pytest.raises(GoogleAPIError) as outside:
        sh.values_update("Sheet1!A1000", params={"valueInputOption": "RAW"}, body={"values": [[1], [2]]})
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in str(outside.value)
    assert fake_google.spreadsheet(sid).values() == []


# --- batchUpdate ------------------------------------------------------------------------------


def test_batch_update_requests_are_applied_and_recorded(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["a", "b"], [1, 2], [3, 4]]})
    sh = gc.open_by_key(sid)
    ws = sh.sheet1
    ws.format("A1:B1", {"textFormat": {"bold": True}, "numberFormat": {"type": "TEXT"}})
    rule = {
        "ranges": [{"sheetId": 0, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "3"}]},
            "format": {"backgroundColor": {"red": 1}},
        },
    }
    replies = sh.batch_update(
        {
            "requests": [
                {"addConditionalFormatRule": {"rule": rule, "index": 0}},
                {
                    "updateDimensionProperties": {
                        "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
                        "properties": {"pixelSize": 240},
                        "fields": "pixelSize",
                    }
                },
                {
                    "mergeCells": {
                        "range": {
                            "sheetId": 0,
                            "startRowIndex": 0,
                            "endRowIndex": 1,
                            "startColumnIndex": 0,
                            "endColumnIndex": 2,
                        },
                        "mergeType": "MERGE_ALL",
                    }
                },
                {"setBasicFilter": {"filter": {"range": {"sheetId": 0}}}},
                {
                    "addChart": {
                        "chart": {
                            "spec": {"title": "KRs"},
                            "position": {
                                "overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 5, "columnIndex": 0}}
                            },
                        }
                    }
                },
                {"addSheet": {"properties": {"title": "Tracker"}}},
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                        "fields": "gridProperties.frozenRowCount",
                    }
                },
                {"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS"}}},
            ]
        }
    )["replies"]
    assert replies[0] == {} and "chartId" in replies[4]["addChart"]["chart"]
    assert replies[5]["addSheet"]["properties"]["title"] == "Tracker"

    store = fake_google.spreadsheet(sid)
    assert store.requests_of("repeatCell")[0]["fields"] == "userEnteredFormat(textFormat,numberFormat)"
    assert store.cell("A1").fmt == {"textFormat": {"bold": True}, "numberFormat": {"type": "TEXT"}}
    assert store.conditional_formats("Sheet1") == [rule]
    assert store.sheet().merges[0]["endColumnIndex"] == 2
    assert store.values() == [["a"], [1, 2], [3, 4]]  # merging keeps only the top-left value
    assert store.sheet().col_meta[0] == {"pixelSize": 240}
    assert store.sheet_titles == ["Sheet1", "Tracker"]

    meta = sh.fetch_sheet_metadata()
    first = meta["sheets"][0]
    assert first["conditionalFormats"] == [rule]
    assert first["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert first["basicFilter"] == {"range": {"sheetId": 0}}
    assert sh.worksheet("Sheet1").frozen_row_count == 1

    deleted = sh.batch_update({"requests": [{"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}}]})
    assert deleted["replies"][0]["deleteConditionalFormatRule"]["rule"] == rule


def test_batch_update_is_atomic_and_rejects_unknown_kinds(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["a"]]})
    sh = gc.open_by_key(sid)
    with pytest.raises(GoogleAPIError) as bad_grid:
        sh.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "New"}}},
                    {"repeatCell": {"range": {"sheetId": 999}, "cell": {}, "fields": "userEnteredFormat"}},
                ]
            }
        )
    assert bad_grid.value.code == 400
    assert "No grid with id: 999" in str(bad_grid.value)
    assert fake_google.spreadsheet(sid).sheet_titles == ["Sheet1"]
    assert fake_google.spreadsheet(sid).requests == []

    with pytest.raises(GoogleAPIError) as unknown:
        sh.batch_update({"requests": [{"makeItPretty": {}}]})
    assert unknown.value.status == "INVALID_ARGUMENT"
    assert 'Unknown name "makeItPretty"' in str(unknown.value)


def test_add_and_delete_worksheets(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": []})
    sh = gc.open_by_key(sid)
    ws = sh.add_worksheet("KRs", rows=10, cols=5)
    assert (ws.title, ws.row_count, ws.col_count, ws.index) == ("KRs", 10, 5, 1)
    with pytest.raises(GoogleAPIError, match="already exists"):
        sh.add_worksheet("KRs", rows=1, cols=1)
    sh.del_worksheet(ws)
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]


# --- drive ------------------------------------------------------------------------------------


def test_create_share_list_and_copy(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    new = gc.create("OKR tracker")
    assert new.sheet1.title == "Sheet1"
    new.share("lead@example.com", perm_type="user", role="writer", notify=False)

    store = fake_google.spreadsheet(new.id)
    assert store.owner_email == "sheetsync-test@fake-project.iam.gserviceaccount.com"
    shared = [p for p in store.permissions if p.get("emailAddress") == "lead@example.com"]
    assert shared and shared[0]["role"] == "writer"
    assert {p["role"] for p in new.list_permissions()} == {"owner", "writer"}

    assert gc.open("OKR tracker").id == new.id
    assert [s["name"] for s in gc.list_spreadsheet_files(title="OKR tracker")] == ["OKR tracker"]
    copied = gc.copy(new.id, title="OKR tracker (copy)", copy_comments=False)
    assert fake_google.spreadsheet(copied.id).title == "OKR tracker (copy)"
    assert "modifiedTime" in gc.get_file_drive_metadata(new.id)
    counts = fake_google.call_counts()
    assert counts["drive.files.create"] == 1
    assert counts["drive.permissions.create"] == 1
    assert counts["drive.files.copy"] == 1


def test_create_via_sheets_api(fake_google: FakeGoogle, token: str) -> None:
    call = _raw(fake_google, token)
    body = {"properties": {"title": "Made"}, "sheets": [{"properties": {"title": "KRs"}}]}
    made = call("POST", "/v4/spreadsheets", json=body).json()
    assert made["properties"]["title"] == "Made"
    assert made["sheets"][0]["properties"]["title"] == "KRs"
    assert fake_google.spreadsheet(made["spreadsheetId"]).sheet_titles == ["KRs"]


# --- errors, auth, call log -------------------------------------------------------------------


def test_unknown_denied_and_bad_range_errors(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open_by_key("does-not-exist")

    sid = fake_google.add_spreadsheet("Secret", {"Sheet1": [["x"]]})
    fake_google.deny(sid)
    with pytest.raises(PermissionError) as denied:
        gc.open_by_key(sid)
    cause = denied.value.__cause__
    assert isinstance(cause, GoogleAPIError)
    assert cause.code == 403 and cause.status == "PERMISSION_DENIED"
    assert "The caller does not have permission" in str(cause)
    assert cause.response.json() == {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }

    fake_google.allow(sid)
    with pytest.raises(GoogleAPIError) as bad:
        gc.open_by_key(sid).values_batch_get(["Sheet1!A1", "Nope!A1:B2"])
    assert bad.value.code == 400
    assert "Unable to parse range: Nope!A1:B2" in str(bad.value)


def test_not_found_body_is_googles(fake_google: FakeGoogle, token: str) -> None:
    got = _raw(fake_google, token)("GET", "/v4/spreadsheets/nope?includeGridData=false")
    assert got.status_code == 404
    assert got.json() == {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
    drive = _raw(fake_google, token)("GET", "/drive/v3/files/nope")
    assert drive.json()["error"]["errors"][0]["reason"] == "notFound"


def test_api_calls_require_a_bearer_token(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": []})
    anonymous = _raw(fake_google, "")("GET", f"/v4/spreadsheets/{sid}")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    assert _raw(fake_google, "made-up")("GET", f"/v4/spreadsheets/{sid}").status_code == 401


def test_expired_tokens_are_refreshed_by_google_auth(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["x"]]})
    sh = gc.open_by_key(sid)
    fake_google.revoke_tokens()
    assert sh.values_get("Sheet1")["values"] == [["x"]]
    assert fake_google.call_counts()["oauth.token"] == 2


def test_tokens_expire_after_their_lifetime_on_the_fakes_clock(fake_google: FakeGoogle) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": []})
    fake_google.set_token_lifetime(600)
    lasting = fake_google.issue_token()  # minted directly: never expires
    short = fake_google.issue_token(lifetime=fake_google.token_lifetime)
    assert _raw(fake_google, short)("GET", f"/v4/spreadsheets/{sid}").status_code == 200
    fake_google.advance_clock(600)
    assert _raw(fake_google, short)("GET", f"/v4/spreadsheets/{sid}").status_code == 401
    assert _raw(fake_google, lasting)("GET", f"/v4/spreadsheets/{sid}").status_code == 200
    assert fake_google.auth_refusals == 1


def test_the_token_endpoint_answers_the_lifetime(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["x"]]})
    fake_google.set_token_lifetime(1200)
    gc.open_by_key(sid)
    assert gc.http_client.auth.expiry is not None
    left = gc.http_client.auth.expiry - dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert dt.timedelta(seconds=1100) < left <= dt.timedelta(seconds=1200)


def test_call_log_records_decoded_paths_and_queries(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet 1": [["x"]]})
    sh = gc.open_by_key(sid)
    fake_google.reset_calls()
    sh.values_batch_get(["'Sheet 1'!A1:B2", "'Sheet 1'!C:C"], params=dict(UNFORMATTED))
    (call,) = fake_google.calls
    method, path, query = call
    assert (method, path) == ("GET", f"/v4/spreadsheets/{sid}/values:batchGet")
    assert query["ranges"] == ["'Sheet 1'!A1:B2", "'Sheet 1'!C:C"]
    assert query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert fake_google.call_counts() == {"values.batchGet": 1}


def test_json_is_indented_unless_pretty_print_is_false(fake_google: FakeGoogle, gc: gspread.Client) -> None:
    sid = fake_google.add_spreadsheet("T", {"Sheet1": [["x", 1], ["y", 2]]})
    url = f"{fake_google.url}/v4/spreadsheets/{sid}/values/Sheet1"
    pretty = gc.http_client.session.get(url).text
    compact = gc.http_client.session.get(url, params={"prettyPrint": "false"}).text
    assert json.loads(pretty) == json.loads(compact)
    assert "\n  " in pretty and "\n" not in compact and ", " not in compact


def test_quota_uses_the_injected_clock() -> None:
    now = [0.0]
    with FakeGoogle(clock=lambda: now[0], require_auth=False) as fake:
        sid = fake.add_spreadsheet("T", {"Sheet1": []})
        fake.set_quota(2)
        statuses = [requests.get(f"{fake.url}/v4/spreadsheets/{sid}", timeout=5).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        now[0] = 60.0
        assert requests.get(f"{fake.url}/v4/spreadsheets/{sid}", timeout=5).status_code == 200


# --- A1 helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("A1", a1.Bounds(0, 1, 0, 1)),
        ("B2:C3", a1.Bounds(1, 3, 1, 3)),
        ("A:C", a1.Bounds(None, None, 0, 3)),
        ("2:5", a1.Bounds(1, 5, None, None)),
        ("A5:B", a1.Bounds(4, None, 0, 2)),
        ("$A$1:$AA$10", a1.Bounds(0, 10, 0, 27)),
    ],
)
def test_parse_cells(text: str, bounds: a1.Bounds) -> None:
    assert a1.parse_cells(text) == bounds


def test_sheet_titles_split_and_quote() -> None:
    assert a1.split_sheet("'It''s'!A:C") == ("It's", "A:C")
    assert a1.split_sheet("'Sheet 1'") == ("Sheet 1", None)
    assert a1.split_sheet("Sheet1!A1") == ("Sheet1", "A1")
    assert [a1.quote_title(t) for t in ("Sheet1", "My Tab", "A1", "It's")] == [
        "Sheet1",
        "'My Tab'",
        "'A1'",
        "'It''s'",
    ]
    with pytest.raises(a1.A1Error):
        a1.parse_cells("A1:")
