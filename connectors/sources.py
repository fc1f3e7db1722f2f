"""Read every configured source, each failure kept beside the others' data."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from functools import partial

from connectors.base import SourceError
from connectors.csv_source import read_csv_source
from connectors.xlsx_source import read_xlsx_source
from sheetsync.core.model import GoogleConfig, SourceConfig
from sheetsync.core.sources import SourceData

Got = SourceData | SourceError

MAX_DEFAULT_THREADS = 4
"""Without `[project] threads`, files are parsed on one thread per core, at most this many."""


def default_threads() -> int:
    """One parsing thread per core this process may use, at most `MAX_DEFAULT_THREADS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cores))


def read_sources(
    sources: Iterable[SourceConfig],
    google: GoogleConfig | None = None,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    prepare: Callable[[SourceData], SourceData] | None = None,
    threads: int | None = None,
) -> Mapping[str, Got]:
    """Each source's data, or the `SourceError` that stopped it; one never stops the rest.

    Local files are read `threads` at a time (default `default_threads()`): pandas' CSV
    parser and calamine let go of the GIL while they parse, so on two cores two files parse
    in about the time of one. Google Sheets sources are read together so that each
    spreadsheet costs one batchGet, in a background thread meanwhile (waiting on Google
    costs no CPU). With a `state_dir`, spreadsheets unchanged since their last good read are
    not read again (`connectors.gsheet_cache`). `prepare` is applied to each source's data on
    the thread that read it, as soon as it is read (the sync turns the rows into its KPIs'
    inputs there, so at most `threads` files' rows are held at once): it must be thread-safe.
    """

    def ready(got: Got) -> Got:
        return prepare(got) if prepare is not None and isinstance(got, SourceData) else got

    broken = threading.Event()  # a bug (not a SourceError) in one read: the rest need not start

    def guarded(work: Callable[[], Got]) -> Got:
        if broken.is_set():
            raise CancelledError
        try:
            return work()
        except SourceError as exc:
            return exc
        except BaseException:
            broken.set()
            raise

    def read_file(source: SourceConfig) -> Got:
        read = read_csv_source if source.type == "csv" else read_xlsx_source
        return guarded(lambda: ready(read(source)))  # no name keeps the rows once prepared

    sources = list(sources)
    sheets = [source for source in sources if source.type == "gsheet"]
    files = [source for source in sources if source.type != "gsheet" and not source.is_warehouse]
    results: dict[str, Got] = {}
    google_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gsheets") if sheets else None
    file_pool = ThreadPoolExecutor(max_workers=threads or default_threads(), thread_name_prefix="files")
    try:
        google_reads: Future[dict[str, Got]] | None = None
        if google_pool is not None:
            from connectors.gsheet_source import read_gsheet_sources

            google_reads = google_pool.submit(
                read_gsheet_sources, sheets, google or GoogleConfig(), state_dir=state_dir
            )
        reads = {source.name: file_pool.submit(read_file, source) for source in files}
        for source in sources:
            if source.is_warehouse:  # no rows come back from a warehouse: its size and columns only
                from connectors.warehouse import describe

                try:
                    results[source.name] = describe(source, ())[0]
                except SourceError as exc:
                    results[source.name] = exc
        if google_reads is not None:
            fetched = google_reads.result().items()
            reads.update((name, file_pool.submit(guarded, partial(ready, got))) for name, got in fetched)
        results.update((name, read.result()) for name, read in reads.items())
    finally:
        # An unexpected error: the reads already running finish, the queued ones never start.
        file_pool.shutdown(wait=True, cancel_futures=True)
        if google_pool is not None:
            google_pool.shutdown(wait=True, cancel_futures=True)
    return {source.name: results[source.name] for source in sources}
