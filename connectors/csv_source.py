"""CSV exports: one file, or several files matched by a glob with the same columns."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from connectors.base import SourceFormatError
from connectors.files import read_bytes, read_files
from connectors.tabular import frame_from_grid, frame_from_rows
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import SourceData

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 100  # csv.Sniffer's regexes cost ~6 ms per 64 KiB; a hundred lines decide as well


_DELIMITERS = ",;\t|"
ONE_COLUMN = "\x1f"
"""The delimiter of a file whose header has none of `_DELIMITERS`: one column, so each line is
one value. Split at commas, "1.234,56" and "1,234" would lose their decimals to an unnamed
second column; the ASCII unit separator is in no export's text."""


def _sniff_delimiter(sample: str, decimal: str = ".") -> str:
    """The one candidate that splits every line of `sample` into the same number (> 1) of fields.

    A header with none of the candidates names one column: `ONE_COLUMN`, whatever the values hold.

    csv.Sniffer's regexes cost about 1.5 ms a file (a tenth of a second over seventy exports);
    splitting with the csv module itself is a tenth of that and settles almost every real
    export. A sample two candidates split evenly, or none does (ragged rows, a quoted header
    that holds a candidate), is left to csv.Sniffer as before, except that with `decimal`
    a comma, a comma is no delimiter while another candidate splits as evenly (a German
    export's `Umsatz (EUR, netto);...` header).
    """
    header = sample.partition("\n")[0]
    if not any(d in header for d in _DELIMITERS):
        return ONE_COLUMN
    even = []
    for delimiter in (d for d in _DELIMITERS if d in header):  # the header row has every delimiter
        widths = {len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row}
        if len(widths) == 1 and widths.pop() > 1:
            even.append(delimiter)
    if decimal == "," and len(even) > 1 and "," in even:
        even.remove(",")
    if len(even) == 1:
        return even[0]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


_SEP_LINE = re.compile(r"sep=(.)\s*")  # Excel's "sep=;" first line names the delimiter
_WIDE = ("utf-16", "utf-32")
_UTF32_MARKS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def _text_bytes(
    config: SourceConfig, data: bytes, fail: Callable[..., SourceFormatError]
) -> tuple[bytes, str, list[str]]:
    """The file's bytes in an encoding pandas' C parser reads, without a byte-order mark.

    Excel's "CSV UTF-8" starts with a BOM (which would stay in the first header) and its
    "Unicode Text" is UTF-16: both are recognised by their mark whatever `encoding` says.
    """
    notes: list[str] = []
    encoding = codecs.lookup(config.encoding).name
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        if encoding not in ("utf-8", "utf-8-sig"):
            notes.append(f"starts with a UTF-8 byte-order mark: read as UTF-8, not {config.encoding}")
        encoding = "utf-8"
    elif data[:4] in _UTF32_MARKS or data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        wide = "utf-32" if data[:4] in _UTF32_MARKS else "utf-16"
        if not encoding.startswith(wide):
            notes.append(f"starts with a {wide.upper()} byte-order mark: read as {wide.upper()}")
        encoding = wide
    if encoding.startswith(_WIDE):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise fail(f"is not valid {encoding} text (byte {exc.start})") from None
        return text.lstrip("\ufeff").encode("utf-8"), "utf-8", notes
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise fail("looks like a binary file, not CSV text (for UTF-16 text set encoding = \"utf-16\")")
    return data, encoding, notes


def _read_one(config: SourceConfig, path: str) -> tuple[pd.DataFrame, list[str]]:
    def fail(message: str, row: int | None = None) -> SourceFormatError:
        return SourceFormatError(message, source=config.name, location=path, row=row)

    data, encoding, notes = _text_bytes(config, read_bytes(config, path, what="CSV file"), fail)
    head = data[:_SNIFF_BYTES]
    if not head.strip():
        return frame_from_grid(pd.DataFrame(), header_row=config.header_row, rename=config.rename)
    try:
        sample = head.decode(encoding, errors="strict" if len(head) < _SNIFF_BYTES else "ignore")
    except UnicodeDecodeError as exc:
        raise fail(
            f"is not valid {config.encoding} text (byte {exc.start}); set encoding, e.g. encoding = \"cp1252\""
        ) from None
    all_lines = sample.splitlines()
    skip = 0  # lines above the header row that are not the sheet's (Excel's sep= line)
    delimiter = config.delimiter
    if all_lines and (sep := _SEP_LINE.fullmatch(all_lines[0].strip())):
        skip = 1
        delimiter = delimiter or sep[1]
    # Sniff from the header row on: a title line above it says nothing about the delimiter.
    # Rows are records, as a spreadsheet shows them and pandas skips them: a quoted note above
    # the header may span lines.
    lines = all_lines[skip + _record_start(all_lines[skip:], config.header_row - 1) :]
    if len(head) == _SNIFF_BYTES and len(lines) <= _SNIFF_LINES:
        lines = lines[:-1] or lines  # the sample may end inside the last line: not a whole row
    sample_text = "\n".join(lines[:_SNIFF_LINES])
    delimiter = delimiter or _sniff_delimiter(sample_text, config.decimal)
    if not lines:
        return frame_from_grid(pd.DataFrame(), header_row=config.header_row, rename=config.rename)
    sampled = list(csv.reader(io.StringIO(sample_text), delimiter=delimiter))  # records: a cell may span lines
    header = sampled[0] if sampled else []
    as_text: type[str] | dict[int, type[str]] | None = (
        str if config.decimal != "." or config.thousands is not None else _zero_padded(sampled[1:])
    )
    try:
        # The body is read with types inferred (numbers arrive as numbers, the fast path);
        # the header separately, so it cannot turn every column into text. Both come from
        # the bytes read once above: a file replaced mid-run cannot mix two versions.
        body = pd.read_csv(
            io.BytesIO(data),
            sep=delimiter,
            header=None,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skiprows=skip + config.header_row,
            encoding=encoding,
            engine="c",
            low_memory=False,
            # pandas knows only '.' decimals: with decimal = "," it would read "1.234" as 1.234,
            # not 1234. Such sources arrive as text and the source's own number parser decides.
            # So do columns of zero-padded codes (`_zero_padded`).
            dtype=as_text,
        )
    except UnicodeDecodeError as exc:
        raise fail(
            f"is not valid {config.encoding} text; set encoding, e.g. encoding = \"cp1252\" ({exc.reason})"
        ) from None
    except pd.errors.EmptyDataError:
        body = pd.DataFrame(columns=range(len(header)))
    except pd.errors.ParserError as exc:
        message = str(exc).strip().splitlines()[-1]
        raise fail(f"cannot parse CSV: {message}") from None
    frame, warnings = frame_from_rows(list(header), body, first_row=skip + config.header_row + 1, rename=config.rename)
    return frame, [*notes, *warnings]


def _record_start(lines: list[str], records: int) -> int:
    """The line that record number `records` (0-based) starts on: a quoted cell may hold line breaks."""
    if records <= 0:
        return 0
    reader = csv.reader(io.StringIO("\n".join(lines)))
    for _ in range(records):
        if next(reader, None) is None:
            return len(lines)
    return reader.line_num


_ZERO_PADDED = re.compile(r"0\d+")


def _zero_padded(rows: list[list[str]]) -> dict[int, type[str]] | None:
    """The columns whose sampled rows include a zero-padded code (`02134`, `007`), to read as text.

    Inferred as integers they would lose the zero: `02134` and `2134` would be one customer
    and `Zip == '02134'` would keep both, where the same cells in an .xlsx are text.
    """
    found = {i for row in rows for i, cell in enumerate(row) if _ZERO_PADDED.fullmatch(cell.strip())}
    return dict.fromkeys(sorted(found), str) or None


def read_csv_source(config: SourceConfig) -> SourceData:
    """Read a CSV source; a glob stacks files that share their columns."""
    frame, warnings, location = read_files(config, lambda path: _read_one(config, path))
    return SourceData(config.name, "csv", location, None, datetime.now(UTC), frame, warnings)
