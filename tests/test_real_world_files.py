"""Real-world files read right or with a named warning (issue 13, families 1 and 3).

Each test goes through the connector that reads the file and the core that reads the cells,
as a sync does: a number that is not what the cell says is either read right or named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.csv_source import read_csv_source
from connectors.tabular import HeaderError, frame_from_rows
from sheetsync.core.kpis import ColumnCache, KPIEvaluator, KPIRows
from sheetsync.core.model import KPIConfig, SourceConfig


def csv_source(path: Path, **kw) -> SourceConfig:
    return SourceConfig(name="s", type="csv", path=str(path), **kw)


def column_numbers(config: SourceConfig, column: str) -> tuple[np.ndarray, list[str]]:
    data = read_csv_source(config)
    cache = ColumnCache(data.frame, config)
    values, bad = cache.numbers(column)
    return values, [*(str(v) for _, v in bad), *cache.number_notes(column)]


def test_decimal_comma_with_thousands_dot_reads_the_text_not_pandas_floats(tmp_path):
    (tmp_path / "s.csv").write_text("Day;Amount\n2026-10-01;1.234\n2026-10-02;2.500\n2026-10-03;7,5\n")
    values, notes = column_numbers(csv_source(tmp_path / "s.csv", decimal=",", thousands="."), "Amount")
    assert values.tolist() == [1234.0, 2500.0, 7.5] and not notes
    values, _ = column_numbers(csv_source(tmp_path / "s.csv", decimal=","), "Amount")
    assert values.sum() == 3741.5  # decimal "," alone groups with "." too: never 1.234 + 2.5


def test_a_second_currency_in_a_column_is_skipped_and_named(tmp_path):
    (tmp_path / "s.csv").write_text('Amount\n"$1,000"\n$2000\n"€1,090"\n5\n')
    values, notes = column_numbers(csv_source(tmp_path / "s.csv"), "Amount")
    assert np.nansum(values) == 3005.0
    assert notes == ["source 's', column 'Amount': mixes currencies: 2 cells in '$', row 4 ('€1,090') in '€';"
                     " those are skipped (one column, one currency)"]


def test_overflowing_sums_warn_and_huge_means_read_right():
    kpis = {"k": KPIConfig(id="k", title="K", source="s", column="v", agg="sum")}
    rows = {"k": KPIRows("sum", np.array([1e308, 1e308]), None)}
    evaluator = KPIEvaluator(kpis, rows)
    assert evaluator.value("k", None, None) is None
    assert list(evaluator.warnings) == ["kpis.k: the sum of 2 values is beyond ±1.8e308 (the cells are too large);"
                                        " the value is left empty"]
    assert KPIRows("mean", np.array([1e308, 1e308]), None).value(None, None) == 1e308
    assert KPIRows("median", np.array([1.7e308, 1.7e308]), None).value(None, None) == pytest.approx(1.7e308)


def test_a_sheets_huge_cells_are_guarded_and_its_ordinary_ones_aggregate_unguarded(tmp_path):
    """Only a column whose largest cells could overflow a sum takes the guarded path (np.errstate): the
    same warning from a sheet as from the rows above, and no numpy warning from either kind of column."""
    import warnings

    from sheetsync.core.kpis import prepare_kpi_rows

    (tmp_path / "s.csv").write_text("Big,Small\n1e308,1.5\n1e308,2.5\n")
    source = csv_source(tmp_path / "s.csv")
    frame = read_csv_source(source).frame
    kpis = {name: KPIConfig(id=name, title=name, source="s", column=name, agg="sum") for name in ("Big", "Small")}
    cache = ColumnCache(frame, source)
    rows = {name: prepare_kpi_rows(frame, kpi, source, cache=cache)[0] for name, kpi in kpis.items()}
    assert not rows["Big"].bounded and rows["Small"].bounded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluator = KPIEvaluator(kpis, rows)
        assert evaluator.value("Big", None, None) is None and evaluator.value("Small", None, None) == 4.0
    assert list(evaluator.warnings) == ["kpis.Big: the sum of 2 values is beyond ±1.8e308 (the cells are too"
                                        " large); the value is left empty"]


def test_a_rename_onto_an_existing_column_is_a_header_error():
    data = pd.DataFrame({0: ["a"], 1: ["b"]})
    with pytest.raises(HeaderError, match="rename 'Channel' -> 'CSAT': the sheet already has a column 'CSAT'"):
        frame_from_rows(["Channel", "CSAT"], data, first_row=2, rename={"Channel": "CSAT"})
    frame, _ = frame_from_rows(["Channel", "CSAT"], data, first_row=2, rename={"Channel": "Via", "CSAT": "Channel"})
    assert list(frame.columns)[:2] == ["Via", "Channel"]  # a swap is fine


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    import os
    import time

    from connectors.base import SourceFormatError

    os.mkfifo(tmp_path / "s.csv")
    started = time.monotonic()
    with pytest.raises(SourceFormatError, match=r"s\.csv\): is a named pipe, not a regular CSV file"):
        read_csv_source(csv_source(tmp_path / "s.csv"))
    assert time.monotonic() - started < 5


def test_a_file_that_never_answers_fails_its_source_after_the_timeout(tmp_path, monkeypatch):
    import threading

    import connectors.files
    from connectors.base import SourceUnavailable

    (tmp_path / "s.csv").write_text("a\n1\n")
    stuck = threading.Event()

    def hanging_open(*args, **kwargs):  # a stuck network mount: open() never returns
        stuck.wait(30)
        raise OSError("gave up")

    monkeypatch.setattr(connectors.files, "open", hanging_open, raising=False)
    monkeypatch.setattr(connectors.files, "READ_TIMEOUT", 0.3)
    try:
        with pytest.raises(SourceUnavailable, match=r"no answer after 0\.3 s"):
            read_csv_source(csv_source(tmp_path / "s.csv"))
        monkeypatch.undo()  # the mount answers again: the next read gets a reader not stuck in the last
        assert read_csv_source(csv_source(tmp_path / "s.csv")).frame["a"].tolist() == [1]
    finally:
        stuck.set()


def test_file_reader_threads_are_kept_for_the_next_file(tmp_path, monkeypatch):
    import builtins
    import threading

    import connectors.files

    readers: list[threading.Thread] = []  # held, so no thread object is recycled under another

    def recording_open(*args, **kwargs):
        readers.append(threading.current_thread())
        return builtins.open(*args, **kwargs)

    monkeypatch.setattr(connectors.files, "open", recording_open, raising=False)
    for i in range(30):
        (tmp_path / f"s{i}.csv").write_text(f"a\n{i}\n")
        assert read_csv_source(csv_source(tmp_path / f"s{i}.csv")).frame["a"].tolist() == [i]
    assert len(readers) == 30 and len({id(t) for t in readers}) == 1  # one reader served every file
    assert readers[0] is not threading.current_thread()  # still off the caller's thread (the timeout)


def test_each_file_is_opened_once_so_header_and_body_are_one_version(tmp_path, monkeypatch):
    import builtins

    from connectors.xlsx_source import read_xlsx_source

    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if str(file).startswith(str(tmp_path)):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    (tmp_path / "s.csv").write_text("Day,Amount\n2026-10-01,5\n")
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Day", "Amount"])
    book.active.append(["2026-10-01", 5])
    book.save(tmp_path / "s.xlsx")
    monkeypatch.setattr(builtins, "open", counting_open)
    assert read_csv_source(csv_source(tmp_path / "s.csv")).rows == 1
    assert read_xlsx_source(SourceConfig(name="x", type="xlsx", path=str(tmp_path / "s.xlsx"))).rows == 1
    assert opened == [str(tmp_path / "s.csv"), str(tmp_path / "s.xlsx")]
