"""Read every configured source, each failure kept beside the others' data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from connectors.base import SourceError
from connectors.csv_source import read_csv_source
from connectors.xlsx_source import read_xlsx_source
from sheetsync.core.model import GoogleConfig, SourceConfig
from sheetsync.core.sources import SourceData


def read_sources(
    sources: Iterable[SourceConfig],
    google: GoogleConfig | None = None,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    prepare: Callable[[SourceData], SourceData] | None = None,
) -> Mapping[str, SourceData | SourceError]:
    """Each source's data, or the `SourceError` that stopped it; one never stops the rest.

    Google Sheets sources are read together so that each spreadsheet costs one batchGet, in
    background threads while the local files are parsed (waiting on Google costs no CPU).
    With a `state_dir`, spreadsheets unchanged since their last good read are not read again
    (`connectors.gsheet_cache`). `prepare` is applied to each source's data as soon as it is
    read (the sync turns the rows into its KPIs' inputs there, so no two files' rows need be
    held at once).
    """

    def ready(got: SourceData | SourceError) -> SourceData | SourceError:
        return prepare(got) if prepare is not None and isinstance(got, SourceData) else got

    sources = list(sources)
    sheets = [source for source in sources if source.type == "gsheet"]
    google_reads: Future[dict[str, SourceData | SourceError]] | None = None
    pool: ThreadPoolExecutor | None = None
    if sheets:
        from connectors.gsheet_source import read_gsheet_sources

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gsheets")
        google_reads = pool.submit(read_gsheet_sources, sheets, google or GoogleConfig(), state_dir=state_dir)
    results: dict[str, SourceData | SourceError] = {}
    try:
        for source in sources:
            if source.type == "gsheet":
                continue
            if source.is_warehouse:  # no rows come back from a warehouse: its size and columns only
                from connectors.warehouse import describe

                try:
                    results[source.name] = describe(source, ())[0]
                except SourceError as exc:
                    results[source.name] = exc
                continue
            read_file = read_csv_source if source.type == "csv" else read_xlsx_source
            try:
                results[source.name] = ready(read_file(source))  # no name keeps the rows once prepared
            except SourceError as exc:
                results[source.name] = exc
        if google_reads is not None:
            results.update((name, ready(got)) for name, got in google_reads.result().items())
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return {source.name: results[source.name] for source in sources}
