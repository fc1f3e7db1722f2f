"""The .xlsx tracker as users get it: written by the real sync on the example project,
opened again with openpyxl and checked tab by tab against the results JSON."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl import load_workbook
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.writer.excel import ExcelWriter

from connectors import xlsx_tracker
from connectors.atomic import OutputError
from connectors.tracker_layout import default_template
from sheetsync.config import load_config
from sheetsync.core.model import Config
from sheetsync.core.tracker import (
    HISTORY_HEADER,
    KPI_HEADER,
    KR_HEADER,
    OBJECTIVE_HEADER,
    SOURCE_HEADER,
    STATUS_LABELS,
    TAB_NAMES,
)
from sheetsync.errors import ConfigError
from sheetsync.runtime.history import History
from sheetsync.runtime.jobs import run_sync
from tests.helpers import ROOT, copy_example, run_cli

AS_OF = "2026-11-24"
TRACKER = Path("output") / "okr_tracker.xlsx"


def table(wb: Workbook, key: str) -> tuple[list, list[list]]:
    """A table's header and data rows, found through the template's defined name."""
    title, ref = next(iter(wb.defined_names[f"sheetsync_{key}"].destinations))
    ws = wb[title]
    min_col, row, max_col, _ = range_boundaries(ref.replace("$", ""))
    header = [c.value for c in ws[row][min_col - 1:max_col]]
    rows = []
    for r in range(row + 1, ws.max_row + 1):
        values = [ws.cell(r, c).value for c in range(min_col, max_col + 1)]
        if all(v is None for v in values):
            break
        rows.append(values)
    return header, rows


def by(header: list, rows: list[list], key: str) -> dict:
    index = header.index(key)
    return {row[index]: dict(zip(header, row, strict=True)) for row in rows}


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[Path, dict]:
    """The CLI on a copy of the example: (the tracker path, the results JSON)."""
    work = tmp_path_factory.mktemp("tracker")
    copy_example(work)
    proc = run_cli("sync", "--as-of", AS_OF, "--json", "results.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {work / TRACKER}" in proc.stdout
    return work / TRACKER, json.loads((work / "results.json").read_text())


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_example(tmp_path)


def config_with(path: Path, old: str = "", new: str = "") -> Config:
    if old:
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    return load_config(path)


def history_state(config: Config) -> tuple[list, list, list]:
    with History.for_state_dir(config.state_dir) as history:
        return history.weeks(), [tuple(r) for r in history.kr_rows()], [tuple(r) for r in history.kpi_rows()]


# --- every tab's values --------------------------------------------------------------------


def test_tabs_in_order(cli_run):
    wb = load_workbook(cli_run[0])
    assert wb.sheetnames == list(TAB_NAMES)
    assert wb.active.title == "Dashboard"


def test_key_results_tab(cli_run):
    path, results = cli_run
    header, rows = table(load_workbook(path), "key_results")
    assert tuple(header) == KR_HEADER
    krs = [(o, k) for o in results["objectives"] for k in o["key_results"]]
    assert len(rows) == len(krs)
    got = by(header, rows, "Key result")
    for objective, kr in krs:
        row = got[kr["id"]]
        assert row["Objective"] == objective["id"]
        assert row["Title"] == kr["title"]
        assert row["Owner"] == objective["owner"]  # the example's KRs have no owner of their own
        assert row["KPI"] == kr["kpi"]
        for column, key in (("Start", "start"), ("Target", "target"), ("Current", "current"),
                            ("Progress", "progress"), ("Expected", "expected"), ("Weight", "weight")):
            assert row[column] == pytest.approx(kr[key]), (kr["id"], column)
        assert row["Status"] == STATUS_LABELS[kr["status"]]
        assert row["Change since last week"] is None  # no earlier week in the history yet
        assert row["Updated"].date() <= date.fromisoformat(AS_OF)
    for _objective, kr in krs:  # the raw progress shows where the clamped one cannot
        raw = kr["progress_raw"]
        expected_note = (
            f"behind its start: {raw:.0%}" if raw < 0 else f"past its target: {raw:.0%} of the way" if raw > 1 else None
        )
        assert got[kr["id"]]["Note"] == expected_note, kr["id"]


def test_kpis_tab(cli_run):
    path, results = cli_run
    header, rows = table(load_workbook(path), "kpis")
    assert tuple(header) == KPI_HEADER
    assert len(rows) == len(results["kpis"])
    got = by(header, rows, "KPI")
    for kpi in results["kpis"]:
        row = got[kpi["id"]]
        assert row["Title"] == kpi["title"]
        assert row["Unit"] == (kpi["unit"] or None)
        assert row["Status"] == STATUS_LABELS[kpi["status"]]
        for column, key in (("Value", "value"), ("Target", "target"), ("Previous", "previous")):
            assert row[column] == pytest.approx(kpi[key]), (kpi["id"], column)
        # A change in the KPI's own unit; a % KPI's in percentage points (+1.2 pts), as in the digest.
        assert row["Change"] == pytest.approx((kpi["value"] - kpi["previous"]) * (100 if kpi["unit"] == "%" else 1))
        assert row["Change"] == pytest.approx(kpi["change"] * (100 if kpi["unit"] == "%" else 1))
        complete = [p for p in kpi["series"] if p["complete"]]
        assert len(row["Trend"]) == min(len(complete), 8)
    csat = got["csat"]
    assert csat["Window"] == "16–22 Nov 2026"
    assert csat["Recent"].endswith("W47 86.6%")


def test_dashboard_tab(cli_run):
    path, results = cli_run
    wb = load_workbook(path)
    header, rows = table(wb, "objectives")
    assert tuple(header) == OBJECTIVE_HEADER
    got = by(header, rows, "Objective")
    assert list(got) == [o["id"] for o in results["objectives"]]
    for objective in results["objectives"]:
        row = got[objective["id"]]
        assert (row["Title"], row["Owner"], row["Team"]) == (objective["title"], objective["owner"], objective["team"])
        assert row["Progress"] == pytest.approx(objective["progress"])
        assert row["Expected"] == pytest.approx(results["period"]["expected"])
        assert row["Status"] == STATUS_LABELS[objective["status"]]
        assert row["Key results"] == f"{objective['measured']} of {len(objective['key_results'])} measured"
        assert row["Aligns to"] == objective["parent"]
    _, facts = table(wb, "facts")
    facts = dict(facts)
    assert facts["Period"] == "2026-Q4 (1 Oct – 31 Dec 2026)"
    assert facts["As of"].date() == date.fromisoformat(AS_OF)
    assert facts["Period elapsed"] == pytest.approx(results["period"]["expected"])
    top = [o["progress"] for o in results["objectives"] if not o["parent"]]
    assert facts["Overall progress"] == pytest.approx(sum(top) / len(top))
    assert facts["Key results"] == sum(len(o["key_results"]) for o in results["objectives"])
    _, counts = table(wb, "status_counts")
    statuses = [k["status"] for o in results["objectives"] for k in o["key_results"]]
    assert {label: n for label, n, _share in counts} == {
        STATUS_LABELS[s]: statuses.count(s) for s in ("done", "on_track", "at_risk", "off_track", "no_data")
    }
    ws = wb["Dashboard"]
    assert ws["A1"].value == "Acme OKRs · 2026-Q4"
    assert len(ws._charts) == 1  # the template's chart survives, pointed at every objective
    first = table_first_row(wb, "objectives")
    refs = [s.val.numRef.f for s in ws._charts[0].series]
    assert refs == [f"'Dashboard'!$E${first}:$E${first + 2}", f"'Dashboard'!$F${first}:$F${first + 2}"]
    assert ws._charts[0].series[0].cat.strRef.f == f"'Dashboard'!$B${first}:$B${first + 2}"


def table_first_row(wb: Workbook, key: str) -> int:
    _, ref = next(iter(wb.defined_names[f"sheetsync_{key}"].destinations))
    return range_boundaries(ref.replace("$", ""))[1] + 1


def test_history_and_sources_tabs(cli_run):
    path, results = cli_run
    wb = load_workbook(path)
    header, rows = table(wb, "history")
    assert tuple(header) == HISTORY_HEADER
    krs = [k for o in results["objectives"] for k in o["key_results"]]
    assert len(rows) == len(krs) + len(results["kpis"])
    assert {r[0] for r in rows} == {"2026-W48"}
    kr_rows = by(header, [r for r in rows if r[2] == "Key result"], "ID")
    for kr in krs:
        assert kr_rows[kr["id"]]["Progress"] == pytest.approx(kr["progress"])
        assert kr_rows[kr["id"]]["Status"] == STATUS_LABELS[kr["status"]]
    header, rows = table(wb, "sources")
    assert tuple(header) == SOURCE_HEADER
    got = by(header, rows, "Source")
    for source in results["sources"]:
        row = got[source["name"]]
        assert (row["Type"], row["Location"], row["Sheet"], row["Rows"]) == (
            source["type"], source["location"], source["sheet"], source["rows"])
        assert row["Status"] == STATUS_LABELS[source["status"]]
        assert row["Fetched at"] is not None and row["Fetched at"].tzinfo is None


def test_number_formats_and_template_styles(cli_run):
    wb = load_workbook(cli_run[0])
    template = load_workbook(default_template())
    ws, tws = wb["Key Results"], template["Key Results"]
    header, rows = table(wb, "key_results")
    last = 1 + len(rows)
    col = {name: i + 1 for i, name in enumerate(header)}
    assert ws.cell(2, col["Progress"]).number_format == "0%"  # the template's
    revenue_row = 2 + [r[1] for r in rows].index("O2-KR1")
    assert ws.cell(revenue_row, col["Current"]).number_format == '"$"#,##0'  # by unit: template says General
    csat_row = 2 + [r[1] for r in rows].index("O1-KR1")
    assert ws.cell(csat_row, col["Current"]).number_format == "0.0%"
    # The template's row 2 style is kept and copied down to the last row.
    for c in range(1, len(header) + 1):
        for row in (2, last):
            assert ws.cell(row, c).font.color.rgb == tws.cell(2, c).font.color.rgb
            assert ws.cell(row, c).border.bottom.color.rgb == tws.cell(2, c).border.bottom.color.rgb
            assert ws.cell(row, c).alignment.horizontal == tws.cell(2, c).alignment.horizontal
        assert ws.cell(last, c).style_id == ws.cell(2, c).style_id or c in (col["Start"], col["Target"],
                                                                          col["Current"])
    assert ws.freeze_panes == tws.freeze_panes
    assert ws.column_dimensions["C"].width == tws.column_dimensions["C"].width
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(KR_HEADER))}{last}"
    # Conditional formats stretch from row 2 to the last row written.
    ranges = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    assert ranges[f"K2:K{last}"] == ["cellIs"] * 10  # one per status, missed included
    assert ranges[f"I2:I{last}"] == ["dataBar"]


# --- restyled templates ---------------------------------------------------------------------


def test_user_restyled_template_survives(project):
    template = load_workbook(default_template())
    ws = template["Key Results"]
    ws["A1"].fill = PatternFill("solid", start_color="FF7A00", end_color="FF7A00")
    ws["C2"].fill = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
    ws["A1"].value = "Objective id"  # a renamed header is kept
    ws.column_dimensions["C"].width = 61
    template["KPIs"].sheet_properties.tabColor = "00AA00"
    template.save(project.parent / "my_template.xlsx")
    config = config_with(project, 'path = "output/okr_tracker.xlsx"',
                         'path = "output/okr_tracker.xlsx"\ntemplate = "my_template.xlsx"')
    run_sync(config, date.fromisoformat(AS_OF))

    wb = load_workbook(project.parent / TRACKER)
    ws = wb["Key Results"]
    assert ws["A1"].fill.fgColor.rgb == "00FF7A00"
    assert ws["A1"].value == "Objective id"
    assert ws.column_dimensions["C"].width == 61
    assert wb["KPIs"].sheet_properties.tabColor.rgb == "0000AA00"
    for row in range(2, 8):  # the restyled first data row is copied to every KR row
        assert ws.cell(row, 3).fill.fgColor.rgb == "00FFF2CC"
    assert ws["C2"].value == "Increase CSAT from 80% to 90%"


def test_tables_found_through_defined_names(project):
    """A table moved in the template (its defined name moved with it) is filled where it now is;
    a tab deleted from the template is added back, plain."""
    template = load_workbook(default_template())
    ws = template["KPIs"]
    ws.move_range("A1:M2", rows=2)
    ws.conditional_formatting = ConditionalFormattingList()  # the status rule, moved down with the table
    ws.conditional_formatting.add("F4", CellIsRule(operator="equal", formula=['"At risk"'], font=None))
    ws.auto_filter.ref = "A3:M4"
    template.defined_names["sheetsync_kpis"].attr_text = "'KPIs'!$A$3:$M$3"
    ws["A1"] = "Our KPIs"
    del template["Sources"]
    template.save(project.parent / "moved.xlsx")
    config = config_with(project, 'path = "output/okr_tracker.xlsx"',
                         'path = "output/okr_tracker.xlsx"\ntemplate = "moved.xlsx"')
    outcome = run_sync(config, date.fromisoformat(AS_OF))

    wb = load_workbook(project.parent / TRACKER)
    ws = wb["KPIs"]
    assert ws["A1"].value == "Our KPIs"
    assert [c.value for c in ws[3][:3]] == ["KPI", "Title", "Value"]
    kpis = [k.id for k in outcome.result.kpis]
    assert [ws.cell(r, 1).value for r in range(4, 4 + len(kpis))] == kpis
    assert [str(cf.sqref) for cf in ws.conditional_formatting] == [f"F4:F{3 + len(kpis)}"]
    assert ws.auto_filter.ref == f"A3:M{3 + len(kpis)}"
    sources = wb["Sources"]
    assert [c.value for c in sources[1]] == list(SOURCE_HEADER)
    assert sources["A2"].value == outcome.result.sources[0].name


def test_missing_template_is_a_config_error(project, tmp_path):
    config = config_with(project, 'path = "output/okr_tracker.xlsx"',
                         'path = "output/okr_tracker.xlsx"\ntemplate = "nope.xlsx"')
    with pytest.raises(ConfigError, match=r"tracker.template: .*nope.xlsx: file not found"):
        run_sync(config, date.fromisoformat(AS_OF))
    (tmp_path / "nope.xlsx").write_text("not a workbook")
    with pytest.raises(ConfigError, match=r"not an \.xlsx workbook"):
        run_sync(config, date.fromisoformat(AS_OF))
    assert history_state(config)[0] == []  # nothing recorded for a run that wrote no tracker


# --- history: one snapshot per week -------------------------------------------------------


def test_rerunning_a_week_replaces_its_rows_and_a_new_week_appends(project):
    config = load_config(project)
    krs, kpis = 6, 10
    run_sync(config, date(2026, 11, 24))
    run_sync(config, date(2026, 11, 25))  # same ISO week: replaces
    weeks, kr_rows, kpi_rows = history_state(config)
    assert weeks == ["2026-W48"] and len(kr_rows) == krs and len(kpi_rows) == kpis
    _, rows = table(load_workbook(project.parent / TRACKER), "history")
    assert len(rows) == krs + kpis

    run_sync(config, date(2026, 11, 17))  # an earlier week: appended
    run_sync(config, date(2026, 11, 24))
    weeks, kr_rows, _ = history_state(config)
    assert weeks == ["2026-W47", "2026-W48"]
    wb = load_workbook(project.parent / TRACKER)
    header, rows = table(wb, "history")
    assert len(rows) == 2 * (krs + kpis)
    assert [r[0] for r in rows] == ["2026-W47"] * (krs + kpis) + ["2026-W48"] * (krs + kpis)
    # Change since last week = this week's progress - W47's, from the history DB.
    progress = {(r[0], r[3]): r[9] for r in kr_rows}
    header, rows = table(wb, "key_results")
    for row in rows:
        item = dict(zip(header, row, strict=True))
        kr_id = item["Key result"]
        assert item["Change since last week"] == pytest.approx(  # progress points, as in the digest
            (progress[("2026-W48", kr_id)] - progress[("2026-W47", kr_id)]) * 100, abs=1e-6)


# --- atomic writes: failures leave the previous tracker and history as they were ---------


@pytest.fixture
def written(project) -> tuple[Config, Path, bytes, tuple]:
    config = load_config(project)
    run_sync(config, date(2026, 11, 17))
    path = project.parent / TRACKER
    return config, path, path.read_bytes(), history_state(config)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "okr_tracker.xlsx")


def test_a_history_commit_that_fails_leaves_the_old_tracker_in_place(written, monkeypatch):
    """A backup holding the history when the sync commits: the new tracker must not be left in place."""
    from sheetsync.runtime.history import History, HistoryError

    config, path, before, state = written
    real_transaction = History.transaction

    @contextmanager
    def refused_commit(self: History):
        with real_transaction(self) as db:
            yield db
            self.db.execute("ROLLBACK")  # what SQLite keeps when COMMIT cannot take the lock
            self.db.execute("BEGIN")
        raise HistoryError(f"{self.path}: history database error: database is locked", self.path)

    monkeypatch.setattr(History, "transaction", refused_commit)
    with pytest.raises(HistoryError, match="database is locked"):
        run_sync(config, date(2026, 11, 24))
    assert path.read_bytes() == before  # the tracker and the history, both as they were
    assert history_state(config) == state
    assert leftovers(path.parent) == []


def test_failure_mid_write_keeps_old_tracker_and_history(written, monkeypatch):
    config, path, before, state = written

    real_write_bytes = Path.write_bytes

    def half_write(self: Path, data: bytes) -> int:
        real_write_bytes(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_write)
    with pytest.raises(OutputError) as caught:
        run_sync(config, date(2026, 11, 24))
    assert str(caught.value) == f"{path}: cannot write: the disk is full"
    assert path.read_bytes() == before
    assert history_state(config) == state  # the W48 snapshot was rolled back
    assert leftovers(path.parent) == []  # no temporary file left behind


def test_unexpected_error_mid_write_keeps_old_tracker(written, monkeypatch):
    config, path, before, state = written
    real_save = ExcelWriter.save

    def broken_save(self: ExcelWriter) -> None:  # the workbook is written, then something fails
        real_save(self)
        raise RuntimeError("boom")

    monkeypatch.setattr(ExcelWriter, "save", broken_save)
    with pytest.raises(RuntimeError, match="boom"):
        run_sync(config, date(2026, 11, 24))
    assert path.read_bytes() == before
    assert history_state(config) == state
    assert leftovers(path.parent) == []


def test_tracker_that_cannot_be_replaced(written, monkeypatch):
    config, path, before, state = written

    def denied(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(OutputError, match=r"okr_tracker.xlsx: cannot write: permission denied"):
        run_sync(config, date(2026, 11, 24))
    assert path.read_bytes() == before
    assert history_state(config) == state
    assert leftovers(path.parent) == []


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder(written):
    config, path, before, state = written
    path.parent.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            run_sync(config, date(2026, 11, 24))
    finally:
        path.parent.chmod(0o755)
    assert path.read_bytes() == before
    assert history_state(config) == state


def test_tracker_open_in_another_program(written, monkeypatch):
    """Excel on Windows holds the file open: opening it for update fails (a sharing violation)."""
    config, path, before, state = written
    path.with_name("~$okr_tracker.xlsx").write_text("someone")
    real_open = open

    def locked_open(file, mode="r", *args, **kwargs):
        if Path(file) == path and "+" in mode:
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(xlsx_tracker, "open", locked_open, raising=False)
    with pytest.raises(OutputError) as caught:
        run_sync(config, date(2026, 11, 24))
    assert str(caught.value) == (
        f"{path}: cannot write: the file is open in another program (lock file ~$okr_tracker.xlsx); "
        "close it and run again")
    assert path.read_bytes() == before
    assert history_state(config) == state


def test_stale_lock_file_does_not_block_the_write(written, caplog):
    config, path, before, _ = written
    path.with_name(".~lock.okr_tracker.xlsx#").write_text("someone,host,2026-11-17")
    run_sync(config, date(2026, 11, 24))
    assert path.read_bytes() != before
    assert history_state(config)[0] == ["2026-W47", "2026-W48"]
    assert "looks open in another program (lock file .~lock.okr_tracker.xlsx#)" in caplog.text


def test_cli_reports_an_unwritable_tracker_in_one_line(project):
    (project.parent / "output" / "okr_tracker.xlsx").mkdir(parents=True)
    proc = run_cli("sync", "--as-of", AS_OF, cwd=project.parent)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == f"error: {project.parent / TRACKER}: cannot write: it is a folder"
    assert "Traceback" not in proc.stderr


# --- text stays text ----------------------------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-3+4", "@SUM(A1:A2)"]


def test_formula_looking_text_is_written_as_text(project):
    config = config_with(project, 'title = "Enhance customer experience"', f"title = '{FORMULAS[0]}'")
    text = project.read_text()
    for old, new in (('owner = "Head of Support"', f'owner = "{FORMULAS[1]}"'),
                     ('team = "Support"', f'team = "{FORMULAS[2]}"'),
                     ('title = "Increase CSAT from 80% to 90%"', f'title = "{FORMULAS[3]}"')):
        text = text.replace(old, new, 1)
    project.write_text(text)
    config = load_config(project)
    run_sync(config, date.fromisoformat(AS_OF))
    path = project.parent / TRACKER

    wb = load_workbook(path)
    header, rows = table(wb, "objectives")
    o1 = by(header, rows, "Objective")["O1"]
    assert [o1["Title"], o1["Owner"], o1["Team"]] == FORMULAS[:3]
    header, rows = table(wb, "key_results")
    assert by(header, rows, "Key result")["O1-KR1"]["Title"] == FORMULAS[3]
    found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value in FORMULAS]
    assert len(found) >= 5
    assert all(c.data_type == "s" for c in found)
    assert all(c.quotePrefix for c in found)  # and stays text when someone edits the cell
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


# --- the Google Sheets hook ---------------------------------------------------------------


def test_gsheet_tracker_goes_through_the_hook(project, monkeypatch):
    config = config_with(project, '[tracker]\ntype = "xlsx"\npath = "output/okr_tracker.xlsx"',
                         '[tracker]\ntype = "gsheet"\nspreadsheet = "abc123"')
    seen = []

    class GSheetTracker:
        checkins = None

        @classmethod
        def open(cls, config: Config, *, read_checkins: bool) -> GSheetTracker:
            assert read_checkins  # check-ins come from the tracker by default
            return cls()

        def write(self, content: object) -> str:
            seen.append(content)
            return "https://docs.google.com/spreadsheets/d/abc123"

        @contextmanager
        def staged(self, content: object) -> Iterator[str]:
            yield self.write(content)

    fake = types.ModuleType("connectors.gsheet_tracker")
    fake.GSheetTracker = GSheetTracker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connectors.gsheet_tracker", fake)
    outcome = run_sync(config, date.fromisoformat(AS_OF))
    assert outcome.outputs == ["https://docs.google.com/spreadsheets/d/abc123"]
    assert [t.name for t in seen[0].tabs] == list(TAB_NAMES)
    assert not (project.parent / TRACKER).exists()
    assert history_state(config)[0] == ["2026-W48"]


def test_control_characters_are_dropped_and_long_text_cut(project):
    text = project.read_text().replace('team = "Support"', 'team = "Sup\\u0007port"', 1)
    text = text.replace('owner = "VP Sales"', f'owner = "{"x" * 40000}"', 1)
    project.write_text(text)
    run_sync(load_config(project), date.fromisoformat(AS_OF))
    header, rows = table(load_workbook(project.parent / TRACKER), "objectives")
    got = by(header, rows, "Objective")
    assert got["O1"]["Team"] == "Support"
    assert len(got["O2"]["Owner"]) == 32767  # Excel's limit for one cell


def test_template_is_what_the_script_makes(tmp_path):
    """templates/okr_tracker.xlsx is regenerated, not hand-edited: the two agree (but for timestamps)."""
    made = tmp_path / "made.xlsx"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_tracker_template.py"), str(made)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(made) as new, zipfile.ZipFile(ROOT / "templates" / "okr_tracker.xlsx") as shipped:
        assert new.namelist() == shipped.namelist()
        stale = [n for n in new.namelist() if n != "docProps/core.xml" and new.read(n) != shipped.read(n)]
    assert stale == [], "run: python scripts/make_tracker_template.py"


def test_openpyxl_keeps_charts_on_load():
    """The template's chart survives load/save: the premise of styling through a template."""
    wb = load_workbook(default_template())
    assert len(wb["Dashboard"]._charts) == 1
    assert openpyxl.__version__ >= "3.1"


def test_table_cells_written_as_xml_read_back_as_openpyxl_wrote_them() -> None:
    """`connectors.xlsx_rows`: values, styles, formats and the template's own cells survive the splice."""
    import io
    from datetime import date, datetime

    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    from connectors.xlsx_rows import SheetCells, save_workbook

    wb = Workbook()
    ws = wb.active
    ws["A1"] = "template label"
    ws["A1"].comment = Comment("kept", "author")
    ws["C2"] = "=1+1"  # a template formula beside the table's cells, in the same row
    ws["D2"].font = Font(bold=True)
    look = ws["D2"]._style
    ws.row_dimensions[3].height = 30
    cells = SheetCells(ws)
    texts = ["  padded ", "a & b < c > d", "line\r\nbreak", "=HYPERLINK(\"x\")"]
    for col, text in enumerate(texts, 1):
        cells.put(2 if col < 3 else 4, col if col < 3 else col + 2, text, None, None, quote=text.startswith("="))
    cells.put(3, 1, 1234.5, look, '"$"#,##0.00')
    cells.put(3, 2, 7, None, "#,##0")
    cells.put(3, 3, date(2026, 11, 24), None, "yyyy-mm-dd")
    cells.put(3, 4, datetime(2026, 11, 24, 8, 30), None, None)
    cells.put(3, 5, None, look, None)  # blank, styled: kept
    cells.put(3, 6, None, None, None)  # blank, unstyled: not written
    back = load_workbook(io.BytesIO(save_workbook(wb, {ws.title: cells})))[ws.title]
    assert back["A1"].value == "template label" and back["A1"].comment.text == "kept"
    assert back["C2"].value == "=1+1" and back["C2"].data_type == "f"
    assert [back["A2"].value, back["B2"].value, back["E4"].value, back["F4"].value] == texts
    assert back["F4"].data_type == "s" and back["F4"].quotePrefix and not back["A2"].quotePrefix
    assert back["A3"].value == 1234.5 and back["A3"].number_format == '"$"#,##0.00' and back["A3"].font.b
    assert back["B3"].value == 7 and back["B3"].number_format == "#,##0"
    assert back["C3"].value == datetime(2026, 11, 24) and back["C3"].number_format == "yyyy-mm-dd"
    assert back["D3"].value == datetime(2026, 11, 24, 8, 30) and back["D3"].is_date
    assert back["E3"].value is None and back["E3"].font.b
    assert (3, 6) not in back._cells
    assert back.row_dimensions[3].height == 30
    assert back.dimensions == "A1:F4"


def test_the_tracker_is_built_with_the_collector_paused_and_it_resumes(monkeypatch) -> None:
    """Hundreds of thousands of acyclic cells: no full collections while they are made, and none lost after."""
    import gc

    from sheetsync.runtime import jobs

    seen: list[bool] = []

    def build(*args: object, **kwargs: object) -> None:
        seen.append(gc.isenabled())
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "build_tracker", build)
    history = types.SimpleNamespace(kr_rows=list, kpi_rows=list, previous=lambda *a: None)
    config = types.SimpleNamespace(timezone="UTC", checkins=types.SimpleNamespace(from_tracker=False))
    result = types.SimpleNamespace(as_of=None, period=types.SimpleNamespace(name="2026-Q4"))
    with pytest.raises(RuntimeError, match="boom"):
        jobs.tracker_content(config, result, history)  # type: ignore[arg-type]
    assert seen == [False] and gc.isenabled()


def test_the_tracker_is_made_in_memory_without_temporary_files(tmp_path, monkeypatch) -> None:
    """Every sheet's XML is made in memory (openpyxl would write, read back and remove a file per sheet)."""
    from tests.test_gsheet_tracker import make_content

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.setattr("connectors.xlsx_template_cache.cache_dir", lambda: None)  # it would keep the template there
    made: list[str] = []
    monkeypatch.setattr(os, "remove", lambda path: made.append(path))
    target, content = tmp_path / "tracker.xlsx", make_content()
    xlsx_tracker.write_xlsx_tracker(content, target)
    assert made == [] and list(temp.iterdir()) == []
    assert load_workbook(target).sheetnames == [tab.name for tab in content.tabs]


def test_a_plain_row_is_written_as_its_cells_one_by_one() -> None:
    """`SheetCells.put_row` (a row with no template cell under it) writes what `put` does per cell."""
    from datetime import datetime

    from openpyxl.styles import Font

    from connectors.xlsx_rows import SheetCells
    from sheetsync.core.tracker import Cell, number_format

    row = (
        Cell("=1+1"), Cell("a\x01b & <c>"), Cell("x" * 40_000), Cell(""), Cell(" padded "), Cell(None),
        Cell(None, "percent"), Cell(0.25, "percent", signed=True), Cell(1234.5, "currency", "$"),
        Cell(3.0, "number", "min"), Cell(7, "number"), Cell(date(2026, 11, 24), "date"),
        Cell(datetime(2026, 11, 24, 8, 30), "datetime"), Cell(None), Cell("On track", "status", status="on_track"),
    )  # one short of the columns: padded with a blank cell

    def sheet() -> tuple[SheetCells, list[tuple[int, str, object, str | None]]]:
        wb = Workbook()
        ws = wb.active
        ws["A1"].font = Font(bold=True)
        look = ws["A1"]._style
        del ws._cells[(1, 1)]
        bases = [look if c % 3 == 0 else None for c in range(1, len(row) + 2)]
        formats = [None if c % 4 else "0.0" for c in range(1, len(row) + 2)]
        return SheetCells(ws), [(c, bases[c - 1], formats[c - 1]) for c in range(1, len(row) + 2)]

    fused, columns = sheet()
    fused.put_row(5, row, fused.columns(columns))
    fused.put_row(6, row, fused.columns(columns))  # the columns' styles known now
    one_by_one, columns = sheet()
    for line in (5, 6):
        for (col, base, fmt), cell in zip(columns, (*row, Cell(None)), strict=True):
            value, quote = xlsx_tracker.stored(cell)
            one_by_one.put(line, col, value, base, fmt or number_format(cell), quote)
    assert fused.rows == one_by_one.rows and sorted(fused.rows[6]) == [c for c in range(1, 17) if c != 14]
    assert list(fused.ws.parent._cell_styles) == list(one_by_one.ws.parent._cell_styles)
    assert list(fused.ws.parent._number_formats) == list(one_by_one.ws.parent._number_formats)
