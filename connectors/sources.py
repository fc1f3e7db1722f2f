"""Read every configured source, each failure kept beside the others' data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.base import SourceError
from connectors.csv_source import read_csv_source
from connectors.xlsx_source import read_xlsx_source
from sheetsync.core.model import GoogleConfig, SourceConfig
from sheetsync.core.sources import SourceData


def read_sources(
    sources: Iterable[SourceConfig], google: GoogleConfig | None = None
) -> Mapping[str, SourceData | SourceError]:
    """Each source's data, or the `SourceError` that stopped it; one never stops the rest.

    Google Sheets sources are read together so that each spreadsheet costs one batchGet.
    """
    results: dict[str, SourceData | SourceError] = {}
    sheets: list[SourceConfig] = []
    for source in sources:
        if source.type == "gsheet":
            sheets.append(source)
            continue
        try:
            results[source.name] = read_csv_source(source) if source.type == "csv" else read_xlsx_source(source)
        except SourceError as exc:
            results[source.name] = exc
    if sheets:
        from connectors.gsheet_source import read_gsheet_sources

        results.update(read_gsheet_sources(sheets, google or GoogleConfig()))
    return results
