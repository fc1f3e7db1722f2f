"""CSV exports: one file, or several files matched by a glob with the same columns."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pandas as pd

from connectors.base import SourceFormatError, SourceNotFound
from connectors.files import read_files
from connectors.tabular import frame_from_grid, frame_from_rows
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import SourceData

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 100  # csv.Sniffer's regexes cost ~6 ms per 64 KiB; a hundred lines decide as well


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_one(config: SourceConfig, path: str) -> tuple[pd.DataFrame, list[str]]:
    def fail(message: str, row: int | None = None) -> SourceFormatError:
        return SourceFormatError(message, source=config.name, location=path, row=row)

    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except IsADirectoryError:
        raise fail("is a folder, not a CSV file") from None
    except OSError as exc:
        raise SourceNotFound(f"cannot open: {exc.strerror}", source=config.name, location=path) from None
    if b"\x00" in head:
        raise fail("looks like a binary file, not CSV text")
    if not head.strip():
        return frame_from_grid(pd.DataFrame(), header_row=config.header_row, rename=config.rename)
    try:
        sample = head.decode(config.encoding, errors="strict" if len(head) < _SNIFF_BYTES else "ignore")
    except UnicodeDecodeError as exc:
        raise fail(
            f"is not valid {config.encoding} text (byte {exc.start}); set encoding, e.g. encoding = \"cp1252\""
        ) from None
    # Sniff from the header row on: a title line above it says nothing about the delimiter.
    lines = sample.splitlines()[config.header_row - 1 :]
    delimiter = config.delimiter or _sniff_delimiter("\n".join(lines[:_SNIFF_LINES]))
    if not lines:
        return frame_from_grid(pd.DataFrame(), header_row=config.header_row, rename=config.rename)
    header = next(csv.reader([lines[0]], delimiter=delimiter), [])
    try:
        # The body is read with types inferred (numbers arrive as numbers, the fast path);
        # the header separately, so it cannot turn every column into text.
        body = pd.read_csv(
            path,
            sep=delimiter,
            header=None,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skiprows=config.header_row,
            encoding=config.encoding,
            engine="c",
            low_memory=False,
            # pandas knows only '.' decimals: with decimal = "," it would read "1.234" as 1.234,
            # not 1234. Such sources arrive as text and the source's own number parser decides.
            dtype=str if config.decimal != "." or config.thousands is not None else None,
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
    return frame_from_rows(list(header), body, first_row=config.header_row + 1, rename=config.rename)


def read_csv_source(config: SourceConfig) -> SourceData:
    """Read a CSV source; a glob stacks files that share their columns."""
    frame, warnings, location = read_files(config, lambda path: _read_one(config, path))
    return SourceData(config.name, "csv", location, None, datetime.now(UTC), frame, warnings)
