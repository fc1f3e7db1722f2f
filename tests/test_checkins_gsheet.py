"""Check-ins with Google Sheets, on the fake Sheets server: the tracker's tab, and a Form's responses.

An owner's edit reaches the tracker through the Sheets API (gspread as that owner, typing with
USER_ENTERED as the Sheets editor does), and the next sync reads it back inside the same
``spreadsheets.get`` it makes anyway: the call counts stay 1 get, 1 batchUpdate, 1 values
batchUpdate per sync.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.google_client import make_gspread_client
from tests.fake_google import FakeGoogle, fixtures
from tests.helpers import copy_example, run_cli

fake_google = fixtures.fake_google

TRACKER_BLOCK = re.compile(r'\[tracker\]\ntype = "xlsx"\npath = "output/okr_tracker\.xlsx"\n')
TRACKER_CALLS = {"spreadsheets.get": 1, "spreadsheets.batchUpdate": 1, "values.batchUpdate": 1}


def project(work: Path, fake: FakeGoogle, tracker_id: str, extra: str = "") -> None:
    config = copy_example(work)
    creds = fixtures.write_service_account(work / "service-account.json", fake)
    text = TRACKER_BLOCK.sub(f'[tracker]\ntype = "gsheet"\nspreadsheet = "{tracker_id}"\n', config.read_text())
    text += f'\n[google]\ncredentials = "{creds.name}"\napi_url = "{fake.url}"\nretry_seconds = 2\n' + extra
    config.write_text(text)


def sync(work: Path, as_of: str) -> dict[str, Any]:
    proc = run_cli("sync", "--config", "config.toml", "--as-of", as_of, "--json", "results.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads((work / "results.json").read_text())


def kr(results: dict[str, Any], kr_id: str) -> dict[str, Any]:
    return next(k for o in results["objectives"] for k in o["key_results"] if k["id"] == kr_id)


def tracker_calls(fake: FakeGoogle) -> dict[str, int]:
    return {k: v for k, v in fake.call_counts().items() if k != "oauth.token"}


def test_an_owner_edit_made_through_the_api_is_read_back_in_the_same_requests(fake_google: FakeGoogle,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    project(tmp_path, fake_google, tracker_id)
    sync(tmp_path, "2026-11-24")
    assert tracker_calls(fake_google) == TRACKER_CALLS  # the first sync: no tab to read back yet
    ss = fake_google.spreadsheet(tracker_id)
    rows = ss.values("Check-ins")
    header = rows[0]
    assert header[:3] == ["Week", "Objective", "Key result"]
    assert [r[header.index("Key result")] for r in rows[1:]][:2] == ["O1-KR1", "O1-KR2"]
    assert ss.requests_of("setDataValidation")[-1]["rule"]["condition"]["values"] == [
        {"userEnteredValue": "On track"}, {"userEnteredValue": "At risk"}, {"userEnteredValue": "Off track"}]

    # Ana types her check-in into the sheet (through the API, as the Sheets editor does).
    owner = fixtures.write_authorized_user(tmp_path / "ana.json", fake_google, email="ana@acme.example")
    ws = make_gspread_client(credentials_path=str(owner), api_url=fake_google.url).open_by_key(tracker_id)
    confidence = chr(ord("A") + header.index("Confidence"))
    ws.worksheet("Check-ins").update(range_name=f"{confidence}2:{chr(ord(confidence) + 2)}2",
                                     values=[["at risk", "supplier slipped to January", "=1+1"]],
                                     value_input_option="USER_ENTERED")  # fmt: skip

    fake_google.reset_calls()
    results = sync(tmp_path, "2026-11-24")
    assert tracker_calls(fake_google) == TRACKER_CALLS  # read back inside the metadata request
    (get,) = fake_google.calls_of("spreadsheets.get")
    assert "'Check-ins'" in get.query["ranges"] and "data(" in get.query["fields"][0]
    checkin = kr(results, "O1-KR1")["checkin"]
    assert (checkin["week"], checkin["confidence"], checkin["comment"], checkin["value"]) == (
        "2026-W48", "at_risk", "supplier slipped to January", 2)  # the owner's formula, as its value
    assert checkin["by"] == "Head of Support"
    krs = ss.values("Key Results")
    row = next(r for r in krs if r[1] == "O1-KR1")
    assert row[krs[0].index("Confidence")] == "At risk"
    assert row[krs[0].index("Check-in")] == "supplier slipped to January"
    rows = ss.values("Check-ins")
    assert rows[1][rows[0].index("Comment")] == "supplier slipped to January"  # still there after the rewrite

    # The tab deleted by hand: the stored list of tabs is out of date, the sync still goes through.
    ws.del_worksheet(ws.worksheet("History"))
    fake_google.reset_calls()
    results = sync(tmp_path, "2026-11-24")
    assert kr(results, "O1-KR1")["checkin"]["comment"] == "supplier slipped to January"
    assert fake_google.spreadsheet(tracker_id).values("History")  # written again


def owners_tab(fake: FakeGoogle, work: Path) -> tuple[str, Any, str]:
    """A tracker after its first sync: its id, its Check-ins tab opened by its owner Ana (through
    the API, as the Sheets editor does), and the letter of the tab's Confidence column."""
    tracker_id = fake.add_spreadsheet("Acme OKR tracker")
    project(work, fake, tracker_id)
    sync(work, "2026-11-24")
    header = fake.spreadsheet(tracker_id).values("Check-ins")[0]
    owner = fixtures.write_authorized_user(work / "ana.json", fake, email="ana@acme.example")
    owner.chmod(0o600)
    sheet = make_gspread_client(credentials_path=str(owner), api_url=fake.url).open_by_key(tracker_id)
    return tracker_id, sheet.worksheet("Check-ins"), chr(ord("A") + header.index("Confidence"))


def test_a_header_with_words_added_and_a_comment_the_sheet_stores_as_a_number(fake_google: FakeGoogle,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    tracker_id, tab, confidence = owners_tab(fake_google, tmp_path)
    tab.update(range_name=f"{confidence}1", values=[["Confidence (owner)"]], value_input_option="USER_ENTERED")
    tab.update(range_name=f"{confidence}2:{chr(ord(confidence) + 1)}2", values=[["at risk", "100%"]],
               value_input_option="USER_ENTERED")  # the sheet keeps the comment as the number 1, shown 100%
    results = sync(tmp_path, "2026-11-24")
    checkin = kr(results, "O1-KR1")["checkin"]
    assert (checkin["confidence"], checkin["comment"]) == ("at_risk", "100%")
    rows = fake_google.spreadsheet(tracker_id).values("Check-ins")
    assert rows[1][rows[0].index("Comment")] == "100%"  # the owner's text, not 1


def test_a_check_ins_tab_an_owner_renamed_is_found_and_read(fake_google: FakeGoogle, tmp_path: Path) -> None:
    tracker_id, tab, confidence = owners_tab(fake_google, tmp_path)
    tab.update(range_name=f"{confidence}2:{chr(ord(confidence) + 1)}2", values=[["at risk", "two offers out"]],
               value_input_option="USER_ENTERED")
    tab.update_title("Check-ins Ana")
    proc = run_cli("sync", "--config", "config.toml", "--as-of", "2026-11-24", "--json", "results.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "the tracker's 'Check-ins' tab is 'Check-ins Ana' now" in proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert kr(results, "O1-KR1")["checkin"]["comment"] == "two offers out"
    rows = fake_google.spreadsheet(tracker_id).values("Check-ins")  # written anew, the check-in in it
    assert rows[1][rows[0].index("Comment")] == "two offers out"


FORM_HEADER = ["Timestamp", "Email Address", "Which key result?", "How confident are you?", "What changed?",
               "Your name"]  # fmt: skip


def test_a_google_form_response_sheet_as_the_check_in_source(fake_google: FakeGoogle, tmp_path: Path) -> None:
    form_id = fake_google.add_spreadsheet("OKR check-ins (Responses)", {"Form Responses 1": [
        FORM_HEADER,
        [datetime(2026, 11, 23, 9, 12, 5), "ana@acme.example", "O1-KR1: Increase CSAT from 80% to 90%", "Green",
         "Survey volume is back up.", "Ana"],
        [datetime(2026, 11, 25, 16, 40, 0), "ana@acme.example", "O1-KR1: Increase CSAT from 80% to 90%", "Red",
         "Two agents out sick, scores dropping.", "Ana"],
        [datetime(2026, 11, 24, 11, 0, 0), "bo@acme.example", "Grow sales 30% over Q3", "7",
         "Big deal <signed> today", "Bo"],
        [datetime(2026, 11, 24, 11, 5, 0), "bo@acme.example", "Grow something else", "at risk", "?", "Bo"],
    ]})  # fmt: skip
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    project(tmp_path, fake_google, tracker_id, f"""
[sources.form]
type = "gsheet"
spreadsheet = "{form_id}"
worksheet = "Form Responses 1"

[checkins]
source = "form"
kr = "Which key result?"
confidence = "How confident are you?"
comment = "What changed?"
by = "Your name"
""")  # a Form has no Date question: its Timestamp is the date
    results = sync(tmp_path, "2026-11-26")
    csat = kr(results, "O1-KR1")["checkin"]
    assert csat == {"week": "2026-W48", "date": "2026-11-25", "confidence": "off_track",
                    "comment": "Two agents out sick, scores dropping.", "value": None, "by": "Ana"}  # the latest
    assert kr(results, "O2-KR1")["checkin"]["comment"] == "Big deal <signed> today"
    form = next(s for s in results["sources"] if s["name"] == "form")
    assert form["warnings"] == [
        "checkins source 'form' row 5: no key result matches 'Grow something else'; the check-in is skipped"]
    assert "Check-ins" not in fake_google.spreadsheet(tracker_id).sheet_titles  # the Form is where owners type
    # Every response is kept: the earlier one of the week is in the history even if the sheet is emptied.
    fake_google.spreadsheet(form_id).clear("'Form Responses 1'!A2:F9")
    again = sync(tmp_path, "2026-11-26")
    assert kr(again, "O1-KR1")["checkin"] == csat
