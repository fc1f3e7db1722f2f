"""The .xlsx fast path (typed columns from fastexcel) gives the general reader's frame, or steps aside.

Every workbook here is read twice through `read_xlsx_source`, the way a sync reads it: once as
it is, once with the fast path turned off, and the two results must be equal.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from connectors import xlsx_columns, xlsx_source
from connectors.xlsx_scan import cells_below, first_value_row, sheet_xml
from connectors.xlsx_source import read_xlsx_source
from sheetsync.core.model import SourceConfig
from tests.test_tracker_libreoffice import SOFFICE, convert


def _save(path: Path, rows: list[list[object]], *, at: str = "A1") -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    first_row = int("".join(ch for ch in at if ch.isdigit()))
    first_column = ord(at[0]) - ord("A") + 1
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.cell(first_row + r, first_column + c, value)
    book.save(path)
    return path


def _both(path: Path, monkeypatch: pytest.MonkeyPatch, **config: object) -> tuple[object, object, bool]:
    """The read as it is, the read with the fast path off, and whether the fast path answered."""
    source = SourceConfig(name="w", type="xlsx", path=str(path), **config)
    answered: list[bool] = []
    real = xlsx_columns.typed_frame

    def spy(*args: object) -> object:
        got = real(*args)
        answered.append(got is not None)
        return got

    monkeypatch.setattr(xlsx_source, "typed_frame", spy)
    fast = read_xlsx_source(source)
    monkeypatch.setattr(xlsx_source, "typed_frame", lambda *args: None)
    general = read_xlsx_source(source)
    monkeypatch.undo()
    return fast, general, answered == [True]


def _assert_same(fast: object, general: object) -> None:
    assert fast.warnings == general.warnings
    assert list(fast.frame.columns) == list(general.frame.columns)
    # Text arrives as pandas' `str` (as from a CSV) rather than Python objects; values and
    # every other dtype are the general reader's.
    pd.testing.assert_frame_equal(fast.frame, general.frame, check_dtype=False)
    for name in fast.frame.columns:
        if general.frame[name].dtype != object:
            assert fast.frame[name].dtype == general.frame[name].dtype, name


def test_a_plain_sheet_takes_the_fast_path_with_the_general_readers_answer(tmp_path, monkeypatch):
    rows = [
        ["Exported 24 Nov"],  # a title line above the header
        ["When", "At", "Amount", "Units", "Team", "Paid", "Empty", " Padded "],
        [date(2026, 10, 5), datetime(2026, 10, 5, 9, 30), 1200.5, 3, "north", True, None, 1],
        [None] * 8,  # an empty row in the middle: dropped, row numbers kept
        [date(2026, 10, 6), datetime(2026, 10, 6), None, 4, None, False, None, 2],
        [None, datetime(2026, 10, 7, 23, 59, 59), -0.25, 5, "south", None, None, 3],
    ]
    fast, general, answered = _both(_save(tmp_path / "w.xlsx", rows, at="B1"), monkeypatch, header_row=2)
    assert answered
    _assert_same(fast, general)
    frame = fast.frame
    assert list(frame["__row__"]) == [3, 5, 6]
    assert frame["When"].dtype == "datetime64[s]" and frame["At"].dtype == "datetime64[us]"
    assert frame["Amount"].tolist()[::2] == [1200.5, -0.25] and frame["Units"].dtype == "float64"
    assert frame["Team"].dtype == "str" and pd.isna(frame["Team"][1])
    assert list(frame["Paid"])[:2] == [True, False] and "Empty" in frame.columns


@pytest.mark.parametrize(
    ("why", "rows", "config"),
    [
        ("numbers mixed with text", [["Amount"], [1.5], ["pending"]], {}),
        # fastexcel reads these as blanks in a column of numbers, dates or booleans
        ("'N/A' among numbers", [["Amount"], [1.5], ["N/A"]], {}),
        ("'nan' among numbers", [["Amount"], [1.5], ["nan"]], {}),
        ("'NULL' among dates", [["When"], [date(2026, 1, 1)], ["NULL"]], {}),
        ("a space among booleans", [["Paid"], [True], [" "]], {}),
        ("a blank header cell", [["Amount", None, "Team"], [1, 2, "x"]], {}),
        ("a date as a header", [["Team", date(2026, 1, 1)], ["x", 5]], {}),
        ("a repeated header", [["Amount", "Amount"], [1, 2]], {}),
        ("a number as a header", [["Team", 2026], ["x", 5]], {}),
        ("times of day", [["Start"], [time(9, 30)], [time(13, 0)]], {}),
        ("durations", [["Took"], [timedelta(hours=5)]], {}),
        ("a header row above the used range", [["Amount"], [1]], {"header_row": 1, "at": "A3"}),
    ],
)
def test_what_fastexcel_would_read_otherwise_goes_to_the_general_reader(tmp_path, monkeypatch, why, rows, config):
    at = config.pop("at", "A1")
    fast, general, answered = _both(_save(tmp_path / "w.xlsx", rows, at=at), monkeypatch, **config)
    assert not answered, why
    _assert_same(fast, general)


def test_error_cells_and_unsaved_formulas_go_to_the_general_reader(tmp_path, monkeypatch):
    path = _save(tmp_path / "w.xlsx", [["Amount"], [1], ["=A2*2"]])  # openpyxl saves no result
    fast, general, answered = _both(path, monkeypatch)
    assert not answered
    assert any("no saved result" in w for w in fast.warnings)
    _assert_same(fast, general)
    corpus = Path(__file__).parent / "corpus" / "xlsx-error-cells" / "data"
    for workbook in corpus.glob("*.xlsx"):
        fast, general, answered = _both(workbook, monkeypatch)
        assert not answered
        _assert_same(fast, general)


def test_an_error_cell_among_text_goes_to_the_general_reader(tmp_path, monkeypatch):
    fast, general, answered = _both(_save(tmp_path / "w.xlsx", [["Team"], ["north"], ["#N/A"]]), monkeypatch)
    assert not answered
    _assert_same(fast, general)
    assert list(general.frame["Team"]) == ["north", "#N/A"]  # named like a CSV's bad cell


def test_the_used_range_and_the_cells_below_the_header_are_read_off_the_xml(tmp_path):
    path = _save(tmp_path / "w.xlsx", [["Title"], [None], ["Amount", "Team"], [1, None], [2, "x"]], at="C4")
    xml = sheet_xml(path.read_bytes(), "Data")
    assert first_value_row(xml) == 4
    assert cells_below(xml, 6) == 3 and cells_below(xml, 7) == 2


_CELLS = {
    "number": st.one_of(st.integers(-10**9, 10**9), st.floats(-1e12, 1e12, allow_nan=False)),
    "text": st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
        st.sampled_from(["N/A", "NA", "n/a", "#N/A", "NULL", "null", "None", "nan", "NaN", " ", "-", "inf"]),
    ),
    "date": st.dates(date(1950, 1, 1), date(2100, 1, 1)),
    "datetime": st.datetimes(datetime(1950, 1, 1), datetime(2100, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    "bool": st.booleans(),
}
_COLUMN = st.sampled_from(sorted(_CELLS)).flatmap(
    lambda kind: st.lists(st.one_of(st.none(), _CELLS[kind]), min_size=1, max_size=12)
)
_MIXED = st.lists(st.one_of(st.none(), *_CELLS.values()), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=st.lists(st.one_of(_COLUMN, _MIXED), min_size=1, max_size=5), header_row=st.integers(1, 3))
def test_any_sheet_reads_the_same_with_or_without_the_fast_path(tmp_path_factory, columns, header_row):
    height = max(len(c) for c in columns)
    names = [f"c{i}" for i in range(len(columns))]
    body = [[c[r] if r < len(c) else None for c in columns] for r in range(height)]
    rows = [[f"title {r}"] for r in range(header_row - 1)] + [names] + body
    path = _save(tmp_path_factory.mktemp("prop") / "w.xlsx", rows)
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, general, _ = _both(path, monkeypatch, header_row=header_row)
    _assert_same(fast, general)


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: .ci/run installs it")
def test_workbooks_saved_by_libreoffice_read_the_same_either_way(tmp_path, monkeypatch):
    """LibreOffice writes shared strings, styled empty cells and booleans as formulas with results."""
    rows = [["Exported"], [None], ["When", "At", "Amount", "Team", "Paid"]]
    rows += [[date(2026, 10, 1 + i % 28), datetime(2026, 10, 1, 9, 30) + timedelta(hours=i),
              None if i % 7 == 0 else i * 12.5, None if i % 5 == 0 else ("north", "south")[i % 2], i % 2 == 0]
             for i in range(60)]
    flawed = [row[:] for row in rows]
    flawed[10][2] = "N/A"  # named by the general reader, a blank to fastexcel
    for name, grid, fast_expected in (("plain", rows, True), ("flawed", flawed, False)):
        made = _save(tmp_path / f"{name}.xlsx", grid)
        out = tmp_path / "lo" / name
        done = convert(made, "xlsx:Calc MS Excel 2007 XML", out, tmp_path / "profile")
        assert done.returncode == 0, done.stderr
        fast, general, answered = _both(out / made.name, monkeypatch, header_row=3)
        assert answered is fast_expected, name
        _assert_same(fast, general)
        assert len(fast.frame) == 60
