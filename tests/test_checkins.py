"""Check-ins as pure data: confidence words, weeks, which one counts, the Check-ins tab's rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sheetsync.core import checkins as ci
from sheetsync.core.checkins import CheckIn, CheckInColumns, CheckInError, TabRows

KRS = {"O1-KR1": "Increase CSAT from 80% to 90%", "O1-KR2": "Cut first response time", "O2-KR10": "Hire 3 engineers"}


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [
        ("on track", "on_track"), ("On Track", "on_track"), ("on_track", "on_track"), ("ON-TRACK", "on_track"),
        ("ontrack", "on_track"), ("green", "on_track"), ("Yellow", "at_risk"), ("amber", "at_risk"),
        ("at risk", "at_risk"), ("RED", "off_track"), ("off track", "off_track"), (10, "on_track"),
        (7, "on_track"), (6, "at_risk"), (4, "at_risk"), (3, "off_track"), (1, "off_track"), ("8/10", "on_track"),
        ("5", "at_risk"), (6.5, "at_risk"), ("🔴", "off_track"), (None, None), ("", None), ("  ", None),
    ],
)  # fmt: skip
def test_confidence_words_colours_and_scores(typed, meaning):
    assert ci.parse_confidence(typed) == meaning


@pytest.mark.parametrize("typed", ["maybe", 0, 11, "12/10", True, "blue", float("inf")])
def test_anything_else_is_refused(typed):
    with pytest.raises(CheckInError):
        ci.parse_confidence(typed)


def test_a_google_form_response_sheet():
    """Timestamp in the form's en-US locale, free-text answers, a KR picked by its title or 'id: title'."""
    frame = pd.DataFrame({
        "Timestamp": ["11/24/2026 9:15:02", "11/26/2026 14:03:22", "11/26/2026 8:00:00", "12/1/2026 10:00:00",
                      "11/27/2026 12:00:00"],
        "Email Address": ["ana@acme.example"] * 5,
        "Key result": ["O1-KR1: Increase CSAT from 80% to 90%", "O1-KR1", "increase csat from 80% to 90%",
                       "O1-KR1", "O9-KR9"],
        "Confidence": ["green", "at risk", "4", "7", "red"],
        "Comment": ["fine", "supplier slipped to January", "=HYPERLINK(\"http://x\")", "", "?"],
        "By": ["Ana", "Ana", "Ana", "Ana", "Ana"],
        "__row__": [2, 3, 4, 5, 6],
    })  # fmt: skip
    found, warnings = ci.read_frame(frame, CheckInColumns(), KRS, origin="form", row_column="__row__")
    assert [(c.kr_id, c.week, c.confidence, c.row) for c in found] == [
        ("O1-KR1", "2026-W48", "on_track", 2), ("O1-KR1", "2026-W48", "at_risk", 3),
        ("O1-KR1", "2026-W48", "at_risk", 4), ("O1-KR1", "2026-W49", "on_track", 5),
    ]  # fmt: skip
    assert found[1].when == dt.datetime(2026, 11, 26, 14, 3, 22)
    assert found[2].comment == '=HYPERLINK("http://x")'  # kept as text: writers store it as text
    assert warnings == ["checkins source 'form' row 6: no key result matches 'O9-KR9'; the check-in is skipped"]
    # Latest per KR and week: the 14:03 answer beats the 8:00 one of the same day.
    week48 = ci.latest_per_week(found)[("O1-KR1", "2026-W48")]
    assert week48.comment == "supplier slipped to January"
    assert ci.latest(found, "O1-KR1", dt.date(2026, 11, 29)) == week48
    assert ci.latest(found, "O1-KR1", dt.date(2026, 12, 2)).week == "2026-W49"
    assert ci.latest(found, "O1-KR1", dt.date(2026, 11, 20)) is None  # nothing before W48


def test_a_timestamp_with_a_utc_offset_is_the_projects_wall_clock_time():
    """An export's `2026-11-29T20:00:00Z` is Monday 09:00 in Auckland: week 49, not Sunday's week 48."""
    frame = pd.DataFrame({"Timestamp": ["2026-11-29T20:00:00Z", "2026-11-29T20:00:00+00:00",
                                        pd.Timestamp("2026-11-29T20:00:00Z"), "2026-11-30 09:30"],
                          "Key result": ["O1-KR1"] * 4, "Value": [1, 2, 3, 4]})  # fmt: skip
    found, warnings = ci.read_frame(frame, CheckInColumns(), KRS, origin="export", tz="Pacific/Auckland")
    assert warnings == []
    assert [(c.week, c.when) for c in found] == [("2026-W49", dt.datetime(2026, 11, 30, 9))] * 3 + [
        ("2026-W49", dt.datetime(2026, 11, 30, 9, 30))]  # a time without an offset is already local
    # Without a zone (UTC projects), the offset's own wall-clock time, never an aware datetime.
    assert ci.parse_when("2026-11-29T20:00:00+05:00") == dt.datetime(2026, 11, 29, 20)


def test_missing_columns_and_bad_cells_are_warnings_naming_the_row():
    frame = pd.DataFrame({"KR": ["O1-KR2"], "When": ["2026-11-25"]})
    found, warnings = ci.read_frame(frame, CheckInColumns(kr="KR", date="When"), KRS, origin="sheet")
    assert found == [] and "none of the columns 'Confidence', 'Comment', 'Value'" in warnings[0]
    found, warnings = ci.read_frame(pd.DataFrame({"Date": []}), CheckInColumns(), KRS, origin="sheet")
    assert warnings == ["checkins source 'sheet': no column 'Key result' (columns: Date)"]
    frame = pd.DataFrame({
        "Key result": ["O1-KR2", "O1-KR2", "O1-KR2"], "Date": ["2026-11-25", "soon", "2026-11-26"],
        "Confidence": ["meh", "on track", "on track"], "Value": ["3 minutes", "2", "x" * 3],
    })  # fmt: skip
    found, warnings = ci.read_frame(frame, CheckInColumns(), KRS, origin="sheet")
    assert [(c.row, c.confidence, c.value) for c in found] == [(4, "on_track", None)]
    assert any(w.startswith("checkins source 'sheet' row 2: Confidence: expected on track") for w in warnings)
    assert any(w.startswith("checkins source 'sheet' row 2: Value:") for w in warnings)
    assert any("row 3: Date:" in w and "skipped" in w for w in warnings)
    assert any(w.startswith("checkins source 'sheet' row 4: Value:") for w in warnings)


def test_long_comments_are_cut_with_a_warning_and_control_characters_dropped():
    checkin, warnings = ci.read_row(
        ci.RowCells(7, "O1-KR1", "2026-11-25", "at risk", "why \x07" + "x" * 900), ci.KRMatcher(KRS),
        where="here", origin="form",
    )
    assert checkin is not None and len(checkin.comment) == ci.MAX_COMMENT and checkin.comment.startswith("why x")
    assert warnings == [f"here: Comment cut to {ci.MAX_COMMENT} characters (it had 904)"]


def test_kr_ids_that_prefix_each_other_are_told_apart():
    matcher = ci.KRMatcher({"O2-KR1": "a", "O2-KR10": "b"})
    assert matcher.find("O2-KR10 - hire") == "O2-KR10"
    assert matcher.find("o2-kr1: grow") == "O2-KR1"
    assert matcher.find("O2-KR1x") is None


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour))


def tab(*rows: tuple[object, ...]) -> TabRows:
    header = ("Week", "Objective", "Key result", "Title", "Owner", "Status", "Current", "Last check-in",
              "Confidence", "Comment", "Value", "Date")  # fmt: skip
    return TabRows(header, tuple(rows))


def row(kr: str, confidence: object = None, comment: object = None, value: object = None, date: object = None,
        week: object = "2026-W48") -> tuple[object, ...]:  # fmt: skip
    return (week, "O1", kr, "t", "Ana", "On track", 0.8, None, confidence, comment, value, date)


def test_a_backfill_dates_a_check_in_without_a_date_on_its_as_of_day_at_the_latest():
    from sheetsync.config import load_config
    from sheetsync.runtime.jobs import tab_checkins
    from tests.helpers import ROOT

    config = load_config(ROOT / "config.toml")
    got, _, _ = tab_checkins(config, tab(row("O1-KR1", "At risk", value=3)), [], dt.date(2026, 11, 25))
    (checkin,) = got  # read on any later day (today), for W48 as of Wednesday 25 November
    assert checkin.week == "2026-W48" and checkin.when <= dt.datetime(2026, 11, 25, 23, 59, 59)


def test_tab_rows_belong_to_their_week_and_keep_their_date_on_re_runs():
    now = at("2026-11-25", 10)
    first, restated, warnings, _ = ci.read_tab(tab(row("O1-KR1", "At risk", "supplier slipped"), row("O1-KR2")),
                                            KRS, [], now=now, week="2026-W48")  # fmt: skip
    assert warnings == []
    assert [(c.kr_id, c.week, c.when, c.confidence, c.by) for c in first] == [
        ("O1-KR1", "2026-W48", now, "at_risk", "Ana")]
    assert restated == {("tracker", "2026-W48", "O1-KR1"), ("tracker", "2026-W48", "O1-KR2")}
    # The next sync reads the row back as sheetsync rewrote it (its Date filled in): same check-in, same time.
    again, _, _, _ = ci.read_tab(tab(row("O1-KR1", "At risk", "supplier slipped", date=dt.datetime(2026, 11, 25))),
                              KRS, first, now=at("2026-11-26"), week="2026-W48")  # fmt: skip
    assert again == first
    # The owner changes the comment but not the date sheetsync wrote: it is a new check-in, dated now.
    edited, _, _, _ = ci.read_tab(tab(row("O1-KR1", "Off track", "lost the supplier", date=dt.datetime(2026, 11, 25))),
                               KRS, first, now=at("2026-11-27"), week="2026-W48")  # fmt: skip
    assert edited[0].when == at("2026-11-27") and edited[0].confidence == "off_track"
    merged = ci.merge(first, edited, restated={("tracker", "2026-W48", "O1-KR1")})
    assert merged == edited  # the tab restates the week: one check-in, not two
    # Read after the week ended (Monday's sync), a row undated still belongs to its week.
    late, _, _, _ = ci.read_tab(tab(row("O1-KR2", 3)), KRS, [], now=at("2026-11-30", 7), week="2026-W49")
    assert late[0].week == "2026-W48" and late[0].when == dt.datetime(2026, 11, 29, 23, 59, 59)
    assert late[0].confidence == "off_track"


def test_an_owner_correcting_only_the_date_of_a_check_in_moves_it_to_that_date():
    first, _, _, _ = ci.read_tab(tab(row("O2-KR10", value=1, date=dt.datetime(2026, 11, 23))), KRS, [],
                                 now=at("2026-11-23", 10), week="2026-W48")  # fmt: skip
    corrected, _, warnings, _ = ci.read_tab(tab(row("O2-KR10", value=1, date=dt.datetime(2026, 11, 25))), KRS,
                                            first, now=at("2026-11-26"), week="2026-W48")  # fmt: skip
    assert warnings == [] and corrected[0].date == dt.date(2026, 11, 25) and corrected[0].value == 1


def test_a_tab_without_its_week_column_dates_each_row_by_its_date():
    header = tuple(h for h in ci.TAB_HEADER if h != "Week")
    cells = row("O1-KR1", "At risk", "typed in W48", date=dt.datetime(2026, 11, 25))[1:]
    fresh, restated, warnings, _ = ci.read_tab(TabRows(header, (cells,)), KRS, [], now=at("2026-11-30", 7),
                                               week="2026-W49")  # fmt: skip
    assert [(c.week, c.date) for c in fresh] == [("2026-W48", dt.date(2026, 11, 25))]
    assert restated == {("tracker", "2026-W48", "O1-KR1")}
    assert warnings == ["Check-ins tab: no 'Week' column: each row counts for the week of its Date (else 2026-W49)"]


def test_a_cleared_row_withdraws_its_check_in_and_other_weeks_stay():
    old = CheckIn("O1-KR1", "2026-W47", at("2026-11-18"), "on_track", origin="tracker")
    this = CheckIn("O1-KR1", "2026-W48", at("2026-11-24"), "at_risk", origin="tracker")
    fresh, restated, _, _ = ci.read_tab(tab(row("O1-KR1")), KRS, [old, this], now=at("2026-11-25"), week="2026-W48")
    assert fresh == [] and ci.merge([old, this], fresh, restated=restated) == [old]


def test_a_tab_with_rows_but_without_its_header_stops_the_rewrite():
    with pytest.raises(ci.CheckinsTabError, match=r"its header: 'a', 'b'.*the tracker was not rewritten") as got:
        ci.read_tab(TabRows(("a", "b"), ((1, 2),)), KRS, [], now=at("2026-11-25"), week="2026-W48")
    assert got.value.exit_code == 1
    # Nothing in it, nothing to lose: a warning, and the tab is written anew.
    fresh, restated, warnings, _ = ci.read_tab(TabRows(("a", "b"), ((None, " "),)), KRS, [], now=at("2026-11-25"),
                                            week="2026-W48")  # fmt: skip
    assert (fresh, restated) == ([], set())
    assert "no header row with 'Key result' and 'Confidence' columns (its header: 'a', 'b') and no rows" in warnings[0]


def test_a_header_an_owner_added_words_to_still_names_its_column():
    header = tuple("Confidence (owner)" if h == "Confidence" else h for h in ci.TAB_HEADER)
    fresh, _, warnings, _ = ci.read_tab(TabRows(header, (row("O1-KR1", "At risk", "slipped"),)), KRS, [],
                                        now=at("2026-11-25"), week="2026-W48")  # fmt: skip
    assert warnings == [] and fresh[0].confidence == "at_risk"


def test_a_retitled_owner_column_with_cells_stops_the_rewrite_and_an_extra_one_is_a_warning():
    retitled = tuple("Conf." if h == "Confidence" else h for h in ci.TAB_HEADER)
    with pytest.raises(ci.CheckinsTabError, match=r"no 'Confidence' column, and column 'Conf\.' holds cells"):
        ci.read_tab(TabRows(retitled, (row("O1-KR1", "At risk"),)), KRS, [], now=at("2026-11-25"), week="2026-W48")
    # The column deleted, nothing of it left: its cells cannot be lost.
    deleted = tuple(h for h in ci.TAB_HEADER if h != "Confidence")
    cells = tuple(v for h, v in zip(ci.TAB_HEADER, row("O1-KR1", None, "slipped"), strict=True) if h != "Confidence")
    fresh, _, warnings, _ = ci.read_tab(TabRows(deleted, (cells,)), KRS, [], now=at("2026-11-25"), week="2026-W48")
    assert warnings == [] and fresh[0].comment == "slipped"
    # An owner's own column beside the others: read as before, with a warning that it is not kept.
    extra = (*ci.TAB_HEADER, "My notes", None)
    fresh, _, warnings, _ = ci.read_tab(TabRows(extra, ((*row("O1-KR1", "At risk"), "call vendor", "x"),)), KRS,
                                        [], now=at("2026-11-25"), week="2026-W48")  # fmt: skip
    assert fresh[0].confidence == "at_risk"
    assert warnings == [
        "Check-ins tab: column 'My notes' is not one of the tab's, and its cells are not kept when the tab is "
        "rewritten (write notes in Comment)",
        "Check-ins tab: column N (no header) is not one of the tab's, and its cells are not kept when the tab is "
        "rewritten (write notes in Comment)"]


def test_a_tab_row_of_a_week_split_by_a_period_change_restates_only_the_new_periods_check_in():
    """Q-A ends Wednesday 25 Nov, Q-B starts Thursday: the tab written in B restates B's part of W48 alone."""
    in_a = CheckIn("O1-KR1", "2026-W48", at("2026-11-24"), "off_track", "end of A", origin="tracker")
    in_b = CheckIn("O1-KR1", "2026-W48", at("2026-11-27"), "on_track", "start of B", origin="tracker")
    restated = {("tracker", "2026-W48", "O1-KR1")}
    assert ci.merge([in_a], [in_b], restated=restated, since=dt.date(2026, 11, 26)) == [in_a, in_b]
    assert ci.merge([in_a], [in_b], restated=restated) == [in_b]  # within one period: the edit replaces it


def test_source_rows_read_again_are_kept_once():
    a = CheckIn("O1-KR1", "2026-W48", at("2026-11-24"), "at_risk", origin="form", row=2)
    assert ci.merge([a], [a]) == [a]
    b = CheckIn("O1-KR1", "2026-W48", at("2026-11-24"), "off_track", origin="form", row=2)  # edited response
    assert ci.merge([a], [b]) == [a, b]


def test_manual_values_and_staleness():
    checkins = [
        CheckIn("O2-KR10", "2026-W47", at("2026-11-18"), "on_track", value=1),
        CheckIn("O2-KR10", "2026-W48", at("2026-11-24"), "at_risk", comment="no value this time"),
    ]
    none = ci.manual_value(checkins, "O2-KR10", dt.date(2026, 11, 10))
    assert none.value is None and none.note
    last_week = ci.manual_value(checkins, "O2-KR10", dt.date(2026, 11, 25))
    assert last_week.value == 1 and last_week.stale == "no check-in value this week"
    fresh = ci.manual_value(checkins, "O2-KR10", dt.date(2026, 11, 19))
    assert fresh.value == 1 and fresh.stale is None


@pytest.mark.parametrize(
    ("confidence", "status", "steps"),
    [("off_track", "on_track", 2), ("on_track", "off_track", 2), ("on_track", "done", 0), ("at_risk", "on_track", 1),
     ("off_track", "no_data", 0), (None, "on_track", 0)],
)  # fmt: skip
def test_disagreement_in_steps(confidence, status, steps):
    assert ci.disagreement(confidence, status) == steps


@pytest.mark.parametrize(("text", "week"), [("2026-W48", "2026-W48"), ("2026w9", "2026-W09"), ("2026-W54", None),
                                            ("W48", None)])  # fmt: skip
def test_week_cells(text, week):
    assert ci.parse_week(text) == week


# --- [checkins] and manual key results in config.toml ------------------------------------------

CONFIG = """
[project]
name = "T"
period = "2026-Q4"

[sources.s]
type = "csv"
path = "s.csv"

[kpis.k]
source = "s"
column = "v"

[[objectives]]
id = "O1"
owner_email = "lead@acme.example"

[[objectives.key_results]]
id = "KR1"
kpi = "k"
target = 10

[[objectives.key_results]]
id = "KR2"
manual = true
target = 3
unit = "hires"
owner_email = "ana@acme.example"
"""


def load(tmp_path, extra: str = "", base: str = CONFIG):
    from sheetsync.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(base + extra, encoding="utf-8")
    return load_config(path)


def test_checkins_default_to_the_tracker_tab_and_manual_krs_load(tmp_path):
    config = load(tmp_path)
    assert config.checkins.enabled and config.checkins.source is None and config.checkins.from_tracker
    manual = config.objectives[0].key_results[1]
    assert (manual.manual, manual.kpi, manual.unit, manual.owner_email) == (True, None, "hires", "ana@acme.example")
    assert config.objectives[0].owner_email == "lead@acme.example"
    config = load(tmp_path, '\n[checkins]\nsource = "s"\ndate = "Timestamp"\nkr = "Which KR?"\n')
    assert (config.checkins.source, config.checkins.date, config.checkins.kr, config.checkins.comment) == (
        "s", "Timestamp", "Which KR?", "Comment")
    assert not config.checkins.from_tracker


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[checkins]\nsource = "form"\n', "config.toml: checkins.source: no source named 'form'"),
        ('\n[checkins]\ndate = "Timestamp"\n', "config.toml: checkins.date: column names are for a check-in source"),
        ('\n[checkins]\nenabled = false\n', "config.toml: checkins.enabled: key result 'KR2' is manual"),
        ('\n[checkins]\nconfidance = "x"\n', "config.toml: checkins.confidance: unknown key (did you mean"),
    ],
)  # fmt: skip
def test_checkins_config_errors(tmp_path, extra, message):
    from sheetsync.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load(tmp_path, extra)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('manual = true\ntarget = 3', 'manual = true\nkpi = "k"\ntarget = 3'),
         "config.toml: objectives.O1.key_results.KR2.kpi: a manual key result takes its value from check-ins"),
        (('kpi = "k"\ntarget = 10', 'kpi = "k"\ntarget = 10\nunit = "x"'),
         "config.toml: objectives.O1.key_results.KR1.unit: a KPI-backed key result shows its KPI's unit"),
        (('owner_email = "ana@acme.example"', 'owner_email = "ana"'),
         "config.toml: objectives.O1.key_results.KR2.owner_email: 'ana' is not one email address"),
    ],
)  # fmt: skip
def test_manual_kr_config_errors(tmp_path, change, message):
    from sheetsync.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load(tmp_path, base=CONFIG.replace(*change))
    assert str(info.value).startswith(message), str(info.value)


def test_a_new_quarter_starts_its_manual_key_results_and_check_ins_afresh(tmp_path):
    """Q4's 3 hires are not Q1's: a manual KR, like a KPI's last good value, keeps to its period."""
    from sheetsync.runtime.pipeline import compute

    q4 = [CheckIn("KR2", "2026-W47", at("2026-11-18"), "on_track", "three offers signed", 3.0, "Ana", "tracker"),
          CheckIn("KR1", "2026-W53", at("2026-12-30"), "at_risk", "holidays", None, "Lead", "tracker")]
    config = load(tmp_path, base=CONFIG.replace('"2026-Q4"', '"2027-Q1"'))
    (tmp_path / "s.csv").write_text("v\n4\n", encoding="utf-8")
    from connectors.csv_source import read_csv_source

    data = {"s": read_csv_source(config.sources["s"])}
    result = compute(config, data, dt.date(2027, 1, 6), checkins=q4)
    kr2 = next(k for k in result.key_results if k.id == "KR2")
    assert kr2.current is None and kr2.status == "no_data" and kr2.checkin is None
    kr1 = next(k for k in result.key_results if k.id == "KR1")
    assert kr1.checkin is None  # 30 Dec is in Q4, though its ISO week (2026-W53) runs into January
    again = compute(load(tmp_path), data, dt.date(2026, 12, 31), checkins=q4)  # in Q4 they count
    assert next(k for k in again.key_results if k.id == "KR2").current == 3.0
