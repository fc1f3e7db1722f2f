"""CSV and .xlsx sources: headers, globs, encodings and broken files, read for real from disk."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from connectors import ROW_COLUMN, SourceFormatError, SourceNotFound
from connectors import sources as sources_module
from connectors.csv_source import read_csv_source
from connectors.sources import read_sources
from connectors.tabular import column_letter
from connectors.xlsx_source import read_xlsx_source
from sheetsync.core.model import SourceConfig
from tests.helpers import run_cli


def csv_source(path: Path, **kw) -> SourceConfig:
    return SourceConfig(name="s", type="csv", path=str(path), **kw)


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_csv_headers_rows_and_row_numbers(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Name,,Amount,Amount\nx,1,2,3\n\ny,4,5,6\n,,,\n", encoding="utf-8")
    data = read_csv_source(csv_source(path))
    assert data.columns == ["Name", "B", "Amount", "Amount_2"]
    assert data.frame["Name"].tolist() == ["x", "y"]
    assert data.frame[ROW_COLUMN].tolist() == [2, 4]  # sheet rows, blank line skipped
    assert "duplicate header 'Amount' in column D renamed to 'Amount_2'" in data.warnings
    assert data.location == str(path) and data.fetched_at.tzinfo is not None


def test_csv_header_row_and_rename_and_semicolons(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("Export of 2026\n\nDatum;Umsatz\n2026-10-01;1.234,5\n", encoding="utf-8")
    data = read_csv_source(csv_source(path, header_row=3, rename={"Umsatz": "revenue"}))
    assert data.columns == ["Datum", "revenue"]
    assert data.frame["revenue"].tolist() == ["1.234,5"]
    assert data.frame[ROW_COLUMN].tolist() == [4]


DELIMITED = {
    ",": 'Date,Amount,Note\n2026-10-01,"$1,234.50",a;b\n2026-10-02,"$12.00",c;d\n',
    ";": "Datum;Umsatz;Notiz\n2026-10-01;1.234,5;x, y\n2026-10-02;12,0;z\n",
    "\t": "Date\tAmount\n2026-10-01\t1,5\n2026-10-02\t2\n",
    "|": "a|b|c\n1|2|3\n4|5|6\n",
}


@pytest.mark.parametrize("delimiter", list(DELIMITED))
def test_csv_delimiter_settled_by_even_rows_without_the_sniffer(tmp_path, monkeypatch, delimiter):
    """A file that exactly one candidate splits into even rows is read without csv.Sniffer (1.5 ms a file)."""
    from connectors import csv_source as module

    class NoSniffer:
        def sniff(self, *args, **kwargs):
            raise AssertionError("csv.Sniffer consulted for an evenly delimited file")

    path = tmp_path / "d.csv"
    path.write_text(DELIMITED[delimiter], encoding="utf-8")
    monkeypatch.setattr(module.csv, "Sniffer", NoSniffer)
    data = read_csv_source(csv_source(path))
    assert len(data.columns) == DELIMITED[delimiter].splitlines()[0].count(delimiter) + 1
    assert data.rows == 2


@pytest.mark.parametrize(
    "text",
    [
        "a,b;c\n1,2;3\n4,5;6\n",  # both split evenly: csv.Sniffer decides, as before
        "a;b\n1;2;3\n4\n",  # ragged
        *DELIMITED.values(),
    ],
)
def test_csv_delimiter_guess_agrees_with_csv_sniffer(text):
    import csv

    from connectors.csv_source import _sniff_delimiter

    try:
        expected = csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        expected = ","
    assert _sniff_delimiter(text) == expected


def test_a_decimal_comma_export_is_split_at_its_semicolons_though_commas_split_it_evenly_too(tmp_path):
    from connectors.csv_source import _sniff_delimiter

    text = "Datum;Umsatz (EUR, netto);Kommentar\n2026-11-02;1.234,50;gut\n2026-11-03;13,25;ok\n"
    assert _sniff_delimiter(text) == ","  # what csv.Sniffer says, without the hint
    assert _sniff_delimiter(text, ",") == ";"
    (tmp_path / "de.csv").write_text(text, encoding="utf-8")
    got = read_csv_source(csv_source(tmp_path / "de.csv", decimal=",", thousands="."))
    assert list(got.frame.columns[:3]) == ["Datum", "Umsatz (EUR, netto)", "Kommentar"]


@pytest.mark.parametrize(("text", "decimal", "values"), [
    ("Amount\n1.234,56\n10,00\n5,5\n", ",", [1234.56, 10.0, 5.5]),  # European Excel leaves these unquoted
    ("Amount\n1,234\n5,678\n12\n", ".", [1234.0, 5678.0, 12.0]),
    ('Note\n"a; b, c"\nplain\n', ".", ["a; b, c", "plain"]),
])
def test_a_one_column_file_keeps_each_line_whole(tmp_path, text, decimal, values):
    from sheetsync.core.kpis import ColumnCache

    path = tmp_path / "one.csv"
    path.write_text(text, encoding="utf-8")
    data = read_csv_source(csv_source(path, decimal=decimal))
    assert data.columns == [text.partition("\n")[0]] and data.rows == len(values)
    column = data.columns[0]
    if isinstance(values[0], str):
        assert data.frame[column].tolist() == values
    else:
        cache = ColumnCache(data.frame, csv_source(path, decimal=decimal))
        assert cache.numbers(column)[0].tolist() == values


def test_a_no_break_space_in_a_header_is_a_plain_space(tmp_path):
    path = tmp_path / "nb.csv"
    path.write_text("Date,Gross\u00a0Amount,Net\u202fAmount\u00a0\n2026-10-01,5,4\n", encoding="utf-8")
    assert read_csv_source(csv_source(path)).columns == ["Date", "Gross Amount", "Net Amount"]
    renamed = read_csv_source(csv_source(path, rename={"Gross\u00a0Amount": "gross", "Net Amount": "net"}))
    assert renamed.columns == ["Date", "gross", "net"]


def test_a_rename_of_a_column_the_sheet_lacks_is_a_warning(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("Date,Amount\n2026-10-01,5\n", encoding="utf-8")
    data = read_csv_source(csv_source(path, rename={"Amuont": "amount", "Total": "Amount"}))
    assert data.columns == ["Date", "Amount"]  # 'Total' -> 'Amount': already named so, no word
    assert data.warnings == ["rename 'Amuont' -> 'amount': the sheet has no column 'Amuont' (did you mean 'Amount'?)"]


def test_csv_sniff_sample_ends_on_a_whole_row(tmp_path):
    """A 64 KiB sample cut inside a row: the cut row does not make the rows uneven."""
    row = "2026-10-01;" + "x" * 300 + ";1\n"
    path = tmp_path / "long.csv"
    path.write_text("Date;Text;Amount\n" + row * 400, encoding="utf-8")
    data = read_csv_source(csv_source(path))
    assert data.columns == ["Date", "Text", "Amount"] and data.rows == 400


def test_csv_glob_stacks_files_and_checks_columns(tmp_path):
    (tmp_path / "m-1.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "m-2.csv").write_text("a,b\n3,4\n", encoding="utf-8")
    data = read_csv_source(csv_source(tmp_path / "m-*.csv"))
    assert data.frame["a"].tolist() == [1, 3]  # typed: numbers arrive as numbers
    (tmp_path / "m-3.csv").write_text("a,c\n5,6\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"m-3.csv.*columns differ from m-1.csv"):
        read_csv_source(csv_source(tmp_path / "m-*.csv"))


KR1_REVENUE = """[[objectives]]
id = "O1"
title = "Grow"

[[objectives.key_results]]
id = "KR1"
title = "Revenue"
kpi = "revenue"
start = 0
target = 100
"""
"""One objective with one key result over the KPI `revenue`, for the configs below."""

GLOB_CONFIG = """
[project]
period = "2026-Q4"

[sources.sales]
type = "csv"
path = "data/*/sales.csv"

[sources.checkins]
type = "csv"
path = "data/*/checkins.csv"

[checkins]
source = "checkins"

[kpis.revenue]
source = "sales"
column = "Amount"
date_column = "Date"

""" + KR1_REVENUE


def test_a_stacked_sources_messages_name_the_file_of_each_row(tmp_path):
    """Every file of a glob numbers its own rows: 'row 3' alone would not say whose."""
    for region, bad in (("east", "abc"), ("west", "xyz")):
        folder = tmp_path / "data" / region
        folder.mkdir(parents=True)
        (folder / "sales.csv").write_text(f"Date,Amount\n2026-11-02,10\n2026-11-03,{bad}\n", encoding="utf-8")
        checkins = f"Key result,Date,Confidence\nKR1,2026-11-04,green\nKR9,2026-11-05,{bad}\n"
        (folder / "checkins.csv").write_text(checkins, encoding="utf-8")
    (tmp_path / "config.toml").write_text(GLOB_CONFIG, encoding="utf-8")
    proc = run_cli("sync", "--as-of", "2026-11-10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for region, bad in (("east", "abc"), ("west", "xyz")):
        assert (f"warning: source 'sales', column 'Amount', row 3 of {region}/sales.csv: '{bad}' is not a number"
                " (skipped)") in proc.stderr.splitlines(), proc.stderr
        assert f"checkins source 'checkins' row 3 of {region}/checkins.csv" in proc.stderr, proc.stderr
    check = run_cli("check", "--as-of", "2026-11-10", cwd=tmp_path)
    assert "__file__" not in check.stdout + check.stderr and "__row__" not in check.stdout + check.stderr
    # One file alone keeps the plain row number.
    (tmp_path / "config.toml").write_text(GLOB_CONFIG.replace("data/*/sales.csv", "data/east/sales.csv"))
    proc = run_cli("sync", "--as-of", "2026-11-10", cwd=tmp_path)
    assert "column 'Amount', row 3: 'abc' is not a number" in proc.stderr, proc.stderr


def test_csv_empty_and_header_only(tmp_path):
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    empty = read_csv_source(csv_source(tmp_path / "e.csv"))
    assert empty.rows == 0 and empty.warnings == ["the sheet is empty: no header row"]
    (tmp_path / "h.csv").write_text("a,b\n", encoding="utf-8")
    header_only = read_csv_source(csv_source(tmp_path / "h.csv"))
    assert header_only.rows == 0 and header_only.columns == ["a", "b"]
    assert header_only.warnings == ["the sheet has a header but no data rows"]


def test_csv_errors_name_source_and_file(tmp_path):
    with pytest.raises(SourceNotFound, match=r"source 's' \(.*nope.csv\): file not found"):
        read_csv_source(csv_source(tmp_path / "nope.csv"))
    (tmp_path / "bin.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(SourceFormatError, match="binary file"):
        read_csv_source(csv_source(tmp_path / "bin.csv"))
    (tmp_path / "latin.csv").write_bytes("Name,Value\nCaf\xe9,1\n".encode("cp1252"))
    with pytest.raises(SourceFormatError, match=r"not valid utf-8 text.*encoding"):
        read_csv_source(csv_source(tmp_path / "latin.csv"))
    assert read_csv_source(csv_source(tmp_path / "latin.csv", encoding="cp1252")).frame["Name"][0] == "Café"
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="cannot parse CSV"):
        read_csv_source(csv_source(tmp_path / "ragged.csv"))


def test_xlsx_typed_cells_sheet_choice_and_errors(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["When", "Amount", "Note"])
    sheet.append([datetime(2026, 10, 5), 1200.5, "=not a formula"])
    sheet["B2"].number_format = '"$"#,##0.00'
    book.create_sheet("Other")
    path = tmp_path / "w.xlsx"
    book.save(path)
    data = read_xlsx_source(SourceConfig(name="w", type="xlsx", path=str(path), sheet="Data"))
    assert data.sheet == "Data"
    assert pd.Timestamp(data.frame["When"][0]) == pd.Timestamp("2026-10-05")
    assert data.frame["Amount"][0] == 1200.5
    with pytest.raises(
        SourceNotFound, match=r"sheet 'Nope'.*no sheet named 'Nope'; the workbook has 'Data', 'Other'"
    ):
        read_xlsx_source(SourceConfig(name="w", type="xlsx", path=str(path), sheet="Nope"))
    fake = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(SourceFormatError, match="not a readable workbook"):
        read_xlsx_source(SourceConfig(name="w", type="xlsx", path=str(fake)))
    text = tmp_path / "text.xlsx"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(SourceFormatError, match="not an Excel workbook"):
        read_xlsx_source(SourceConfig(name="w", type="xlsx", path=str(text)))


def test_read_sources_keeps_going_after_a_failure(tmp_path):
    (tmp_path / "ok.csv").write_text("a\n1\n", encoding="utf-8")
    results = read_sources(
        [
            csv_source(tmp_path / "missing.csv"),
            SourceConfig(name="ok", type="csv", path=str(tmp_path / "ok.csv")),
        ]
    )
    assert isinstance(results["s"], SourceNotFound)
    assert results["ok"].rows == 1


def _files(tmp_path: Path, count: int) -> list[SourceConfig]:
    for i in range(count):
        (tmp_path / f"f{i}.csv").write_text(f"a\n{i}\n", encoding="utf-8")
    return [SourceConfig(name=f"f{i}", type="csv", path=str(tmp_path / f"f{i}.csv")) for i in range(count)]


def test_read_sources_reads_and_prepares_files_on_parallel_threads(tmp_path):
    # Two files must be in `prepare` at the same moment: read one after another, the barrier breaks.
    both = threading.Barrier(2, timeout=10)

    def prepare(got):
        both.wait()
        return replace(got, warnings=[*got.warnings, threading.current_thread().name])

    results = read_sources(_files(tmp_path, 2), prepare=prepare, threads=2)
    assert [results[f"f{i}"].frame["a"].tolist() for i in range(2)] == [[0], [1]]  # each its own file
    assert len({results[name].warnings[-1] for name in results}) == 2  # on two threads


def test_read_sources_holds_at_most_threads_files_at_once(tmp_path):
    lock, busy, most = threading.Lock(), [0], [0]

    def prepare(got):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.01)  # long enough for a second thread, were there one, to arrive
        with lock:
            busy[0] -= 1
        return got

    sources = _files(tmp_path, 6)
    sources.insert(2, csv_source(tmp_path / "missing.csv"))
    results = read_sources(sources, prepare=prepare, threads=1)
    assert most[0] == 1
    assert list(results) == [s.name for s in sources]  # in the config's order, however they finish
    assert isinstance(results["s"], SourceNotFound) and results["f5"].rows == 1


def test_read_sources_stops_on_an_unexpected_error_without_starting_the_rest(tmp_path):
    started = []

    def prepare(got):
        started.append(got.name)
        raise RuntimeError(f"bug preparing {got.name}")

    with pytest.raises(RuntimeError, match="bug preparing f0"):
        read_sources(_files(tmp_path, 5), prepare=prepare, threads=1)
    assert started == ["f0"]


def test_default_threads_one_per_core_up_to_four(monkeypatch):
    monkeypatch.setattr(sources_module.os, "sched_getaffinity", lambda _pid: set(range(16)))
    assert sources_module.default_threads() == 4
    monkeypatch.setattr(sources_module.os, "sched_getaffinity", lambda _pid: {0})
    assert sources_module.default_threads() == 1


def test_xlsx_columns_are_typed_once_and_mixed_ones_left_to_the_core(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Exported 2026-11-24"])  # a title line above the header
    sheet.append(["When", "Amount", "Rate", "Note"])
    sheet.append([datetime(2026, 10, 5), 1200, "12%", "a"])
    sheet.append([None, None, None, None])  # an empty row in the middle: dropped
    sheet.append([datetime(2026, 10, 6), 3.5, 0.2, None])
    path = tmp_path / "w.xlsx"
    book.save(path)
    data = read_xlsx_source(SourceConfig(name="w", type="xlsx", path=str(path), header_row=2))
    frame = data.frame
    assert list(frame["__row__"]) == [3, 5]
    assert frame["When"].dtype.kind == "M" and frame["Amount"].dtype == "float64"
    assert list(frame["Amount"]) == [1200.0, 3.5]
    assert frame["Rate"].dtype == object and list(frame["Rate"]) == ["12%", 0.2]  # the core parses "12%"
    assert frame["Note"][0] == "a" and pd.isna(frame["Note"][1])


def test_a_column_named_like_the_row_numbers_is_refused_by_name(tmp_path):
    (tmp_path / "a.csv").write_text(f"{ROW_COLUMN},Amount\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=rf"a\.csv.*a column is named '{ROW_COLUMN}'.*rename it"):
        read_csv_source(csv_source(tmp_path / "a.csv"))


def test_a_glob_of_workbooks_names_every_sheet_it_read(tmp_path):
    for name, title in (("a.xlsx", "Orders"), ("b.xlsx", "Orders 2026")):
        wb = Workbook()
        wb.active.title = title
        wb.active.append(["Date", "Amount"])
        wb.active.append([datetime(2026, 11, 2), 10])
        wb.save(tmp_path / name)
    data = read_xlsx_source(SourceConfig(name="s", type="xlsx", path=tmp_path / "*.xlsx"))
    assert data.sheet == "Orders / Orders 2026" and data.frame["Amount"].tolist() == [10, 10]


def test_a_checkins_export_with_utc_timestamps_counts_in_the_projects_week(tmp_path):
    """An owner in Auckland checks in Monday 30 Nov 09:00; the export says 2026-11-29T20:00:00Z."""
    (tmp_path / "data" / "nz").mkdir(parents=True)
    (tmp_path / "data" / "nz" / "sales.csv").write_text("Date,Amount\n2026-11-30,10\n", encoding="utf-8")
    (tmp_path / "data" / "nz" / "checkins.csv").write_text(
        "Key result,Date,Confidence,Comment\nKR1,2026-11-29T20:00:00Z,red,supplier slipped\n", encoding="utf-8")
    config = GLOB_CONFIG.replace('period = "2026-Q4"', 'period = "2026-Q4"\ntimezone = "Pacific/Auckland"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    proc = run_cli("sync", "--as-of", "2026-12-01", "--json", "out.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "out.json").read_text())
    (kr,) = [k for o in results["objectives"] for k in o["key_results"]]
    assert kr["checkin"]["week"] == "2026-W49" and kr["checkin"]["date"].startswith("2026-11-30")


def test_zero_padded_codes_in_a_csv_stay_text_as_in_an_xlsx(tmp_path):
    """`02134` and `2134` are two zip codes; inferred as integers they were one, and `Zip == '02134'` kept both."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.csv").write_text(
        "Date,Zip,Month,Amount\n2026-11-02,02134,01,10\n2026-11-03,2134,11,5\n2026-11-04,02134,01,7\n",
        encoding="utf-8",
    )
    got = read_csv_source(csv_source(tmp_path / "data" / "s.csv"))
    assert got.frame["Zip"].tolist() == ["02134", "2134", "02134"]
    assert got.frame["Amount"].dtype.kind == "i"  # other columns keep the fast, inferred path
    (tmp_path / "config.toml").write_text("""
[project]
period = "2026-Q4"
[sources.sales]
type = "csv"
path = "data/s.csv"
[kpis.revenue]
source = "sales"
column = "Amount"
date_column = "Date"
filter = "Zip == '02134' and Month == 1"
[kpis.zips]
source = "sales"
column = "Zip"
agg = "count_distinct"
date_column = "Date"
""" + KR1_REVENUE, encoding="utf-8")
    proc = run_cli("sync", "--as-of", "2026-11-05", "--json", "out.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    values = {k["id"]: k["value"] for k in json.loads((tmp_path / "out.json").read_text())["kpis"]}
    assert values == {"revenue": 17.0, "zips": 2.0}


def test_a_glob_whose_files_type_one_column_differently_stacks_it_as_text(tmp_path):
    """Customer 123 in two monthly exports, one of them also holding 'A-1': three customers, not four."""
    (tmp_path / "m-10.csv").write_text("Date,Customer,Amount\n2026-10-05,123,10\n2026-10-06,,5\n", encoding="utf-8")
    (tmp_path / "m-11.csv").write_text("Date,Customer,Amount\n2026-11-02,123,1.5\n2026-11-03,A-1,2\n",
                                       encoding="utf-8")  # fmt: skip
    got = read_csv_source(csv_source(tmp_path / "m-*.csv"))
    assert got.frame["Customer"].tolist()[:2] == ["123", None] and got.frame["Customer"].nunique() == 2
    assert got.frame["Amount"].tolist() == [10, 5, 1.5, 2]  # numbers in every file stay numbers


def test_csv_rows_are_records_a_quoted_cell_with_a_line_break_is_one_row(tmp_path):
    """A header typed with Alt+Enter, and a two-line note above the header: rows as a spreadsheet shows them."""
    (tmp_path / "broken.csv").write_text('Date,"First response\n(min)",Amount\n2026-11-02,3,10\n2026-11-03,4,20\n',
                                         encoding="utf-8")  # fmt: skip
    got = read_csv_source(csv_source(tmp_path / "broken.csv"))
    assert list(got.frame.columns[:3]) == ["Date", "First response\n(min)", "Amount"]
    assert got.frame["Amount"].tolist() == [10, 20]
    (tmp_path / "noted.csv").write_text('"Export from CRM\nGenerated 2026-11-24",\nDate,Amount\n2026-10-05,1\n'
                                        "2026-11-17,2\n", encoding="utf-8")  # fmt: skip
    got = read_csv_source(csv_source(tmp_path / "noted.csv", header_row=2))  # the note is row 1, as in Excel
    assert list(got.frame.columns[:2]) == ["Date", "Amount"] and got.frame["Amount"].tolist() == [1, 2]
