"""Check-ins end to end with the .xlsx tracker: sync, an owner types into the Check-ins tab, sync again.

The owner's edits are made the way a person's would reach the file: with openpyxl on the
saved workbook, and (slow) in a workbook LibreOffice re-saved headless.
"""

from __future__ import annotations

import email
import json
import shutil
import subprocess
from datetime import datetime
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sheetsync.core.tracker import CHECKIN_HEADER, HISTORY_HEADER, KR_HEADER
from tests.helpers import copy_example, run_cli

TRACKER = Path("output") / "okr_tracker.xlsx"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def sync(work: Path, as_of: str, name: str) -> dict:
    proc = run_cli("sync", "--config", "config.toml", "--as-of", as_of, "--json", name, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads((work / name).read_text())


def checkins_tab(path: Path) -> tuple[list[str], dict[str, dict[str, object]]]:
    ws = load_workbook(path)["Check-ins"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    return header, {r[header.index("Key result")]: dict(zip(header, r, strict=True)) for r in rows[1:] if r[2]}


def digest(work: Path, as_of: str) -> tuple[str, str]:
    """The digest's text and HTML parts, as written to the outbox."""
    proc = run_cli("digest", "--config", "config.toml", "--as-of", as_of, "--force", cwd=work)
    assert proc.returncode == 0, proc.stderr
    [path] = (work / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def kr(results: dict, kr_id: str) -> dict:
    return next(k for o in results["objectives"] for k in o["key_results"] if k["id"] == kr_id)


def type_checkins(path: Path, typed: dict[str, dict[str, object]]) -> None:
    """What an owner does in Excel: type into the Confidence, Comment and Value cells of a KR's row."""
    wb = load_workbook(path)
    ws = wb["Check-ins"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        cells = typed.get(row[header.index("Key result")].value, {})
        for column, value in cells.items():
            cell = row[header.index(column)]
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # typed as text ('=...), as Excel keeps a leading apostrophe
    wb.save(path)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    copy_example(tmp_path, never_stale=True)  # syncs into December: not a test of freshness
    return tmp_path


def test_check_ins_typed_into_the_tab_reach_the_json_the_tracker_and_the_history(work: Path):
    first = sync(work, "2026-11-24", "week48.json")
    header, rows = checkins_tab(work / TRACKER)
    assert tuple(header) == CHECKIN_HEADER
    assert list(rows) == [k["id"] for o in first["objectives"] for k in o["key_results"]]
    csat = rows["O1-KR1"]
    assert (csat["Week"], csat["Title"], csat["Owner"], csat["Status"]) == (
        "2026-W48", "Increase CSAT from 80% to 90%", "Head of Support", "On track")
    assert (csat["Confidence"], csat["Comment"], csat["Value"], csat["Date"]) == (None, None, None, None)
    assert kr(first, "O1-KR1")["checkin"] is None
    validation = load_workbook(work / TRACKER)["Check-ins"].data_validations.dataValidation
    assert [(v.type, v.formula1, str(v.sqref)) for v in validation] == [
        ("list", '"On track,At risk,Off track"', f"I2:I{1 + len(rows)}")]

    type_checkins(work / TRACKER, {
        "O1-KR1": {"Confidence": "At risk", "Comment": "supplier slipped to January"},
        "O2-KR3": {"Confidence": 8, "Comment": "=HYPERLINK(\"http://evil.example\",\"<b>click</b>\")", "Value": "4.5%"},
    })  # fmt: skip
    second = sync(work, "2026-11-24", "again.json")
    checkin = kr(second, "O1-KR1")["checkin"]
    assert checkin["week"] == "2026-W48" and checkin["date"].startswith("2026-11-")
    assert {k: checkin[k] for k in ("confidence", "comment", "value", "by")} == {
        "confidence": "at_risk", "comment": "supplier slipped to January", "value": None, "by": "Head of Support"}
    churn = kr(second, "O2-KR3")["checkin"]
    assert (churn["confidence"], churn["value"]) == ("on_track", pytest.approx(0.045))
    assert churn["comment"] == '=HYPERLINK("http://evil.example","<b>click</b>")'

    wb = load_workbook(work / TRACKER)
    ws = wb["Key Results"]
    krs = {r[1]: dict(zip(KR_HEADER, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert (krs["O1-KR1"]["Confidence"], krs["O1-KR1"]["Check-in"]) == ("At risk", "supplier slipped to January")
    assert isinstance(krs["O1-KR1"]["Checked in"], datetime)
    # The typed formula is text in every tab it reaches, never a formula.
    comment_cell = ws.cell(2 + list(krs).index("O2-KR3"), KR_HEADER.index("Check-in") + 1)
    assert comment_cell.data_type == "s" and comment_cell.value.startswith("=HYPERLINK")
    # The re-written Check-ins tab still shows what was typed (nothing is lost on a re-run).
    _, rows = checkins_tab(work / TRACKER)
    assert (rows["O1-KR1"]["Confidence"], rows["O1-KR1"]["Comment"]) == ("At risk", "supplier slipped to January")
    assert rows["O2-KR3"]["Confidence"] == "On track" and rows["O2-KR3"]["Value"] == pytest.approx(0.045)
    assert isinstance(rows["O1-KR1"]["Date"], datetime)

    # The digest shows what owners said, escaped, who has not checked in, and where owner and numbers disagree.
    text, html = digest(work, "2026-11-24")
    assert '"Head of Support, at risk: supplier slipped to January' in text
    assert "“Head of Support, at risk: supplier slipped to January" in html
    assert "[Check-in] Reduce monthly churn from 5% to 3% (O2-KR3): VP Sales says on track, the numbers say " \
           "off track" in text
    assert "=HYPERLINK(" in html and "&lt;b&gt;click&lt;/b&gt;" in html and "<b>click" not in html  # escaped
    missing = text[text.index("NO CHECK-IN THIS WEEK"):].split("\n\n")[0]
    assert "O1-KR2 Cut first response time" in missing and "O1-KR1" not in missing and "O2-KR3" not in missing
    assert "No check-in this week" in html

    # A third sync, in the next week: last week's check-in stays in the history, the rows are fresh.
    third = sync(work, "2026-12-01", "week49.json")
    assert kr(third, "O1-KR1")["checkin"]["week"] == "2026-W48"  # the latest one there is, with its week
    _, rows = checkins_tab(work / TRACKER)
    assert rows["O1-KR1"]["Week"] == "2026-W49"
    assert (rows["O1-KR1"]["Confidence"], rows["O1-KR1"]["Comment"], rows["O1-KR1"]["Value"]) == (None, None, None)
    assert rows["O1-KR1"]["Last check-in"] == "2026-W48 · At risk · supplier slipped to January"
    history = load_workbook(work / TRACKER)["History"]
    kept = [dict(zip(HISTORY_HEADER, r, strict=True)) for r in history.iter_rows(min_row=2, values_only=True)]
    week48 = next(r for r in kept if r["Week"] == "2026-W48" and r["ID"] == "O1-KR1")
    assert (week48["Confidence"], week48["Comment"]) == ("At risk", "supplier slipped to January")
    week49 = next(r for r in kept if r["Week"] == "2026-W49" and r["ID"] == "O1-KR1")
    assert (week49["Confidence"], week49["Comment"]) == (None, None)


def test_a_bad_cell_is_a_warning_naming_the_row_and_the_rest_is_kept(work: Path):
    sync(work, "2026-11-24", "first.json")
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "maybe", "Comment": "we will see"}})
    results = sync(work, "2026-11-24", "second.json")
    assert kr(results, "O1-KR1")["checkin"]["comment"] == "we will see"
    assert kr(results, "O1-KR1")["checkin"]["confidence"] is None
    assert any(w.startswith("okr_tracker.xlsx: tab 'Check-ins' row 2: Confidence: expected on track")
               for w in results["warnings"])  # fmt: skip


def test_cells_that_cannot_be_read_stay_in_the_tab_as_typed_and_the_rest_of_the_row_counts(work: Path):
    """Nothing typed is lost: the rewritten tab shows an unreadable cell as its owner left it."""
    sync(work, "2026-11-24", "first.json")  # W48: 23-29 Nov
    type_checkins(work / TRACKER, {
        "O1-KR1": {"Confidence": "maybe", "Comment": "we will see", "Date": "the 25th"},
        "O1-KR2": {"Confidence": "At risk", "Comment": "two lost", "Date": "25/11/2026"},  # day-first: 25 Nov
        "O2-KR1": {"Comment": "typo in the date", "Date": "05/11/2026"},  # 11 May or 5 Nov: neither in W48
    })
    for run in ("second.json", "third.json"):  # and again: the warning stays until the cell is mended
        results = sync(work, "2026-11-24", run)
        _, rows = checkins_tab(work / TRACKER)
        assert (rows["O1-KR1"]["Confidence"], rows["O1-KR1"]["Comment"], rows["O1-KR1"]["Date"]) == (
            "maybe", "we will see", "the 25th")
        checkin = kr(results, "O1-KR1")["checkin"]
        assert checkin["comment"] == "we will see" and checkin["confidence"] is None and checkin["week"] == "2026-W48"
        assert any("row 2: Date: " in w and "dated 2026-11-24 instead" in w for w in results["warnings"])
        assert kr(results, "O1-KR2")["checkin"]["date"] == "2026-11-25"
        assert rows["O1-KR2"]["Date"] == datetime(2026, 11, 25)
        assert kr(results, "O2-KR1")["checkin"]["date"] == "2026-11-23"  # kept inside its row's week
        assert any("Date '05/11/2026' (2026-05-11) is before the row's week 2026-W48; dated 2026-11-23" in w
                   for w in results["warnings"])
        assert not any("check dayfirst" in w for w in results["warnings"])  # [checkins] has no such key


def test_a_digest_counts_a_check_in_typed_since_the_last_sync_as_the_reminders_do(work: Path):
    sync(work, "2026-11-24", "first.json")  # Monday's sync; then an owner checks in; then the digest
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "At risk", "Comment": "vendor slipped"}})
    text, _ = digest(work, "2026-11-24")
    assert "vendor slipped" in text
    missing = text[text.index("NO CHECK-IN THIS WEEK"):].split("\n\n")[0]
    assert "O1-KR1" not in missing and "O1-KR2" in missing, missing


def test_a_check_in_for_a_key_result_renamed_in_the_config_is_found_by_its_title(work: Path):
    sync(work, "2026-11-24", "first.json")
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "At risk", "Comment": "vendor slipped"}})
    config = work / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('id = "O1-KR1"', 'id = "O1-CSAT"'), encoding="utf-8")
    results = sync(work, "2026-11-24", "second.json")
    assert kr(results, "O1-CSAT")["checkin"]["comment"] == "vendor slipped"
    assert any("key result 'O1-KR1' is 'O1-CSAT' now (found by its title)" in w for w in results["warnings"])
    _, rows = checkins_tab(work / TRACKER)
    assert rows["O1-CSAT"]["Comment"] == "vendor slipped" and rows["O1-CSAT"]["Confidence"] == "At risk"


def test_an_unreadable_tracker_is_not_overwritten(work: Path):
    sync(work, "2026-11-24", "first.json")
    (work / TRACKER).write_bytes(b"not a workbook")
    proc = run_cli("sync", "--config", "config.toml", "--as-of", "2026-11-24", cwd=work)
    assert proc.returncode == 1
    assert "cannot read the Check-ins tab back before rewriting the tracker" in proc.stderr
    assert (work / TRACKER).read_bytes() == b"not a workbook"


def test_a_key_result_checked_in_twice_in_a_week_on_a_copied_row_keeps_both(work: Path):
    import sqlite3

    sync(work, "2026-11-23", "first.json")
    wb = load_workbook(work / TRACKER)
    ws = wb["Check-ins"]
    header = [c.value for c in ws[1]]
    (original,) = [r for r in ws.iter_rows(min_row=2) if r[header.index("Key result")].value == "O1-KR1"]
    copied = [c.value for c in original]  # the owner copies the row to the bottom and checks in again
    for column, first, second in (("Confidence", "At risk", "Off track"), ("Comment", "first", "second"),
                                  ("Date", datetime(2026, 11, 23), datetime(2026, 11, 25))):  # fmt: skip
        original[header.index(column)].value = first
        copied[header.index(column)] = second
    ws.append(copied)
    wb.save(work / TRACKER)
    for name in ("second.json", "third.json"):  # the re-run reads the tab sheetsync rewrote
        results = sync(work, "2026-11-25", name)
        assert kr(results, "O1-KR1")["checkin"]["comment"] == "second"  # the later one counts
        db = sqlite3.connect(work / ".sheetsync" / "history.sqlite")
        kept = db.execute("SELECT comment FROM checkins WHERE kr_id = 'O1-KR1' ORDER BY at").fetchall()
        db.close()
        assert kept == [("first",), ("second",)], name
        rows = [r for r in load_workbook(work / TRACKER)["Check-ins"].iter_rows(min_row=2, values_only=True)
                if r[header.index("Key result")] == "O1-KR1"]  # fmt: skip
        assert [r[header.index("Comment")] for r in rows] == ["first", "second"], name


@pytest.mark.parametrize(("how", "message"), [
    ("renamed", "okr_tracker.xlsx: tab 'Check-ins': no header row with 'Key result' and 'Confidence' columns"),
    ("cleared", "okr_tracker.xlsx: tab 'Check-ins': no header row with 'Key result' and 'Confidence' columns"),
    ("confidence", "okr_tracker.xlsx: tab 'Check-ins': no 'Confidence' column, and column 'Conf.' holds cells"),
])  # fmt: skip
def test_a_tab_whose_header_was_edited_away_is_not_overwritten(work: Path, how: str, message: str):
    sync(work, "2026-11-24", "first.json")
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "At risk", "Comment": "vendor slipped"}})
    wb = load_workbook(work / TRACKER)
    ws = wb["Check-ins"]
    header = [c.value for c in ws[1]]
    if how == "renamed":  # the defined name still finds the tab; its header no longer says which column is which
        ws.cell(1, header.index("Key result") + 1).value = "KR"
    elif how == "confidence":  # the owner's column retitled: its "At risk" would be dropped
        ws.cell(1, header.index("Confidence") + 1).value = "Conf."
    else:
        ws.delete_rows(1)
    wb.save(work / TRACKER)
    before = (work / TRACKER).read_bytes()
    proc = run_cli("sync", "--config", "config.toml", "--as-of", "2026-11-25", cwd=work)
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr
    assert "the tracker was not rewritten, so nothing typed there is lost" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (work / TRACKER).read_bytes() == before  # the owner's comment is still there to recover
    ws = load_workbook(work / TRACKER)["Check-ins"]
    assert any(c.value == "vendor slipped" for r in ws.iter_rows() for c in r)


def test_an_emptied_tab_without_its_header_is_written_afresh(work: Path):
    sync(work, "2026-11-24", "first.json")
    wb = load_workbook(work / TRACKER)
    wb["Check-ins"].delete_rows(1, wb["Check-ins"].max_row)
    wb.save(work / TRACKER)
    results = sync(work, "2026-11-25", "second.json")
    assert any("no rows: the tab is written afresh" in w for w in results["warnings"])
    header, rows = checkins_tab(work / TRACKER)
    assert header == list(CHECKIN_HEADER) and "O1-KR1" in rows


def test_a_new_period_in_the_same_iso_week_offers_empty_rows_and_keeps_the_old_periods_check_in(work: Path):
    """Q4 2026 ends on Thursday 31 Dec and Q1 2027 starts on Friday 1 Jan: both in 2026-W53."""
    import sqlite3

    sync(work, "2026-12-31", "q4.json")
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "Off track", "Comment": "end of Q4"}})
    sync(work, "2026-12-31", "q4-again.json")  # read back in Q4
    config = work / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('period = "2026-Q4"', 'period = "2027-Q1"'),
                      encoding="utf-8")
    q1 = sync(work, "2027-01-01", "q1.json")
    assert kr(q1, "O1-KR1")["checkin"] is None
    _, rows = checkins_tab(work / TRACKER)
    assert rows["O1-KR1"]["Comment"] is None and rows["O1-KR1"]["Confidence"] is None  # not Q4's word
    type_checkins(work / TRACKER, {"O1-KR1": {"Confidence": "On track", "Comment": "start of Q1"}})
    sync(work, "2027-01-01", "q1-again.json")
    db = sqlite3.connect(work / ".sheetsync" / "history.sqlite")
    kept = [c for (c,) in db.execute("SELECT comment FROM checkins WHERE kr_id = 'O1-KR1' ORDER BY at")]
    db.close()
    assert kept == ["end of Q4", "start of Q1"]


def test_checkins_disabled_means_no_tab(work: Path):
    config = work / "config.toml"
    config.write_text(config.read_text() + "\n[checkins]\nenabled = false\n")
    results = sync(work, "2026-11-24", "r.json")
    assert "Check-ins" not in load_workbook(work / TRACKER).sheetnames
    assert kr(results, "O1-KR1")["checkin"] is None


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: apt-get install "
                    "libreoffice-calc-nogui, as .ci/run does")
def test_a_tracker_re_saved_by_libreoffice_is_read_back(work: Path, tmp_path_factory):
    sync(work, "2026-11-24", "first.json")
    type_checkins(work / TRACKER, {"O1-KR2": {"Confidence": "Off track", "Comment": "two agents out sick"}})
    out, profile = tmp_path_factory.mktemp("lo-out"), tmp_path_factory.mktemp("lo-profile")
    assert SOFFICE is not None
    proc = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(work / TRACKER)],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    shutil.copyfile(out / "okr_tracker.xlsx", work / TRACKER)  # as if the owner saved it in LibreOffice
    results = sync(work, "2026-11-24", "second.json")
    checkin = kr(results, "O1-KR2")["checkin"]
    assert (checkin["confidence"], checkin["comment"]) == ("off_track", "two agents out sick")
    _, rows = checkins_tab(work / TRACKER)
    assert rows["O1-KR2"]["Comment"] == "two agents out sick"


MANUAL_KR = """
[[objectives.key_results]]
id = "O3-KR2"
title = "Hire 3 engineers"
manual = true
start = 0
target = 3
unit = "hires"
owner = "Ana"
"""


def test_a_manual_key_result_from_no_data_to_a_value_to_done_over_three_weeks(work: Path):
    config = work / "config.toml"
    text = config.read_text()
    at = text.index("# --- outputs")
    config.write_text(text[:at] + MANUAL_KR + "\n" + text[at:])

    week47 = kr(sync(work, "2026-11-17", "w47.json"), "O3-KR2")
    assert (week47["kpi"], week47["manual"], week47["current"], week47["status"]) == (None, True, None, "no_data")
    assert week47["note"] == "manual key result: no check-in has given a value yet"

    sync(work, "2026-11-24", "w48.json")
    type_checkins(work / TRACKER, {"O3-KR2": {"Confidence": "on track", "Value": 1, "Comment": "first hire signed"}})
    week48 = kr(sync(work, "2026-11-24", "w48b.json"), "O3-KR2")
    assert (week48["current"], week48["progress"], week48["stale"]) == (1, pytest.approx(1 / 3), None)
    assert week48["status"] == "off_track"  # a third of the way with 60% of the period gone

    week49 = kr(sync(work, "2026-12-01", "w49.json"), "O3-KR2")
    assert week49["current"] == 1 and week49["stale"] == "no check-in value this week"
    assert week49["note"] == "stale: no check-in value this week; showing the value from 24 Nov 2026"  # once
    _, rows = checkins_tab(work / TRACKER)
    assert rows["O3-KR2"]["Last check-in"] == "2026-W48 · On track · first hire signed · value 1 hires"
    type_checkins(work / TRACKER, {"O3-KR2": {"Value": "3"}})
    week49 = kr(sync(work, "2026-12-01", "w49b.json"), "O3-KR2")
    assert (week49["current"], week49["status"], week49["stale"]) == (3, "done", None)

    history = load_workbook(work / TRACKER)["History"]
    kept = [dict(zip(HISTORY_HEADER, r, strict=True)) for r in history.iter_rows(min_row=2, values_only=True)]
    manual = [(r["Week"], r["Value"], r["Status"]) for r in kept if r["ID"] == "O3-KR2"]
    assert manual == [("2026-W47", None, "No data"), ("2026-W48", 1, "Off track"), ("2026-W49", 3, "Done")]
    ws = load_workbook(work / TRACKER)["Key Results"]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[1] == "O3-KR2")
    assert row[KR_HEADER.index("KPI")] == "manual" and row[KR_HEADER.index("Current")] == 3
