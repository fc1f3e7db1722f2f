"""Google Sheets sources: every tab of a spreadsheet read with one values:batchGet.

Quota is counted per request (about 60 reads a minute per user), so requests are grouped by
spreadsheet, whatever the number of sources and KPIs on it: one ``values:batchGet`` for all
its ranges. The tab metadata (``spreadsheets.get``, tab properties only) is read only when it
is needed: for a source that names no tab (the first tab) or a ``#gid=`` URL, or once to
explain a batch Google refused (a tab that vanished); the batch is then sent again without
the missing tabs, so one bad tab never fails the others.

Values are read unformatted (``0.12`` rather than ``"12%"``, ``1200`` rather than
``"$1,200"``) with dates as serial numbers: the grid keeps numbers as numbers and the KPI's
``date_column`` turns serials into days (epoch 1899-12-30, ``sheetsync.core.dates``). Text that
people typed, such as ``"12%"``, stays text for the core number parser.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gspread

from connectors.base import (
    SourceAccessDenied,
    SourceError,
    SourceFormatError,
    SourceNotFound,
    SourceUnavailable,
)
from connectors.google_client import (
    GoogleAPIError,
    GoogleConfigError,
    GoogleConnectionError,
    RetryPolicy,
    accounts_from_config,
    service_account_email,
)
from connectors.gsheet_cache import KeptRead, ValuesStore, unchanged, visible_spreadsheets
from connectors.tabular import HeaderError, columns_frame, grid_frame
from sheetsync.core.model import SHEETS_URL, GoogleConfig, SourceConfig, SpreadsheetRef
from sheetsync.core.sources import SourceData

log = logging.getLogger(__name__)

READ_PARAMS = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    # Column by column: each column becomes one typed array without transposing the grid in
    # Python, and the answer is a little smaller to decode. Values kept from an older read
    # say ROWS in their own majorDimension (`_source_data` reads both).
    "majorDimension": "COLUMNS",
    # Google's system parameter: the values come without indentation and a line per cell (at
    # 100,000 rows about a third of the bytes to receive and parse).
    "prettyPrint": "false",
}
METADATA_FIELDS = "spreadsheetId,properties.title,sheets.properties(sheetId,title,index,sheetType,hidden)"
_RETRYABLE = frozenset({408, 429})


# --- spreadsheet keys, titles and ranges --------------------------------------------------------


def quote_title(title: str) -> str:
    """A tab title as A1 notation wants it: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


# --- errors -------------------------------------------------------------------------------------


def describe_google_error(exc: Exception, *, account: str | None, role: str) -> tuple[type[SourceError], str]:
    """The SourceError class and a message a person can act on, for a failed Google call.

    ``role`` is what the account needs on the spreadsheet ("Viewer", "Editor"); ``account`` is
    the service account's email when the credentials are a service account.
    """
    who = account or "the Google account of the configured credentials"
    if isinstance(exc, GoogleConnectionError):
        return SourceUnavailable, f"Google could not be reached: {exc.message}"
    if not isinstance(exc, GoogleAPIError):
        return SourceUnavailable, f"unexpected answer from Google ({type(exc).__name__}: {str(exc)[:200]})"
    code = exc.code
    detail = str(exc.error.get("message") or "") if isinstance(exc.error, dict) else ""
    if code == 401:
        return SourceAccessDenied, f"Google rejected the credentials: {exc.message}"
    reasons = {e.get("reason") for e in exc.error.get("errors", []) if isinstance(e, dict)}
    if code == 403 and ("storageQuotaExceeded" in reasons or "storage quota" in detail.lower()):
        return SourceAccessDenied, (
            "Google refused to create a file: the account has no Drive storage (service accounts created "
            "since 2025 have none). Create the spreadsheet yourself, share it with "
            f"{who} as Editor and give its URL as tracker.spreadsheet; or use an OAuth authorized-user "
            f"credentials file. Google said: {detail[:200]}"
        )
    if code == 403:
        if "has not been used" in detail or "is disabled" in detail or exc.status == "SERVICE_DISABLED":
            return SourceAccessDenied, (
                f"the Google Sheets API is not enabled for the credentials' Cloud project; enable it "
                f"(APIs & Services > Library > Google Sheets API) and retry. Google said: {detail[:300]}"
            )
        return SourceAccessDenied, (
            f"access denied (HTTP 403): share the spreadsheet with {who} as {role} "
            "(Share > add that email)"
        )
    if code == 404:
        return SourceNotFound, (
            f"spreadsheet not found (HTTP 404): check the key or URL; it must be a Google Sheet "
            f"(not an uploaded .xlsx) shared with {who}"
        )
    if code in _RETRYABLE or code >= 500 or code <= 0:
        return SourceUnavailable, f"Google Sheets kept failing, so this source was skipped: {exc.message}"
    return SourceFormatError, f"Google Sheets refused the request: {exc.message}"


# --- reading -------------------------------------------------------------------------------------


@dataclass
class _Planned:
    """One source's read within its spreadsheet's batch."""

    config: SourceConfig
    title: str
    a1: str
    start_row: int
    start_col: int


def read_gsheet_sources(
    configs: Iterable[SourceConfig],
    google: GoogleConfig,
    *,
    retry: RetryPolicy | None = None,
    client: gspread.Client | None = None,
    state_dir: str | Path | None = None,
) -> dict[str, SourceData | SourceError]:
    """Each gsheet source's data or the `SourceError` that stopped it; one never stops the rest.

    Per spreadsheet: one ``values:batchGet``, however many sources and KPIs read it, plus one
    metadata read when a source names no tab or a tab has gone missing. Spreadsheets are read
    ``google.parallel`` at a time, spread round-robin over the credentials of ``[google]``,
    each credential keeping under its own per-minute quota (`TokenBucket`). With a
    ``state_dir``, spreadsheets Drive reports unchanged are built from the values kept from
    their last good read (`connectors.gsheet_cache`). ``retry`` (tests inject a no-wait clock)
    and ``client`` (one client, read one spreadsheet at a time) override the defaults.
    """
    configs = list(configs)
    results: dict[str, SourceData | SourceError] = {}
    groups: dict[str, list[tuple[SourceConfig, SpreadsheetRef]]] = {}
    for config in configs:
        ref = config.spreadsheet  # parsed from its URL or key when the config was read
        if ref is None:
            results[config.name] = SourceFormatError(
                "no spreadsheet: give the spreadsheet's URL or key", source=config.name, location="(no spreadsheet)"
            )
            continue
        groups.setdefault(ref.key, []).append((config, ref))
    if not groups:
        return results
    readers: list[_Reader]
    if client is not None:
        readers = [_Reader(lambda: client, service_account_email(google.credentials))]
        workers = 1
    else:
        try:
            accounts = accounts_from_config(google, retry)
        except GoogleConfigError as exc:
            for members in groups.values():
                for config, ref in members:
                    results[config.name] = SourceAccessDenied(
                        f"cannot use the Google credentials: {exc}", source=config.name, location=ref.url
                    )
            return results
        readers = [_Reader(account.client, account.email) for account in accounts]
        workers = google.parallel
    keys = list(groups)
    reader_of = {key: readers[i % len(readers)] for i, key in enumerate(keys)}
    store = ValuesStore(state_dir) if state_dir is not None else None
    kept = _unchanged_reads(store, groups, reader_of, google) if store is not None else {}

    def read(key: str) -> dict[str, SourceData | SourceError]:
        reader = reader_of[key]
        if key in kept:
            return _read_spreadsheet(None, key, groups[key], reader.email, kept=kept[key])
        started = datetime.now(UTC)
        out = _read_spreadsheet(reader.client().http_client, key, groups[key], reader.email, store=store,
                                started=started)
        return out

    if workers <= 1 or len(keys) <= 1:
        for key in keys:
            results.update(read(key))
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(keys)), thread_name_prefix="gsheet") as pool:
            for out in pool.map(read, keys):
                results.update(out)
    return {config.name: results[config.name] for config in configs}


@dataclass(frozen=True)
class _Reader:
    """Who reads a spreadsheet: a client for the calling thread, and the account's email for messages."""

    client: Callable[[], gspread.Client]
    email: str | None


def _unchanged_reads(
    store: ValuesStore,
    groups: Mapping[str, Sequence[tuple[SourceConfig, SpreadsheetRef]]],
    reader_of: Mapping[str, _Reader],
    google: GoogleConfig,
) -> dict[str, KeptRead]:
    """Kept reads of the spreadsheets Drive says nobody changed since (one files.list per account)."""
    now = datetime.now(UTC)
    candidates: dict[str, KeptRead] = {}
    for key, members in groups.items():
        if not all(config.incremental and not _needs_tabs(config, ref) for config, ref in members):
            continue  # opted out (IMPORTRANGE, NOW()), or placed only by reading the tab list
        read = store.load(key)
        if read is None or now - read.read_at > timedelta(days=google.full_read_days):
            continue  # never read, or due for its periodic full read
        try:
            ranges = [_plan(config, ref, None).a1 for config, ref in members]
        except SourceError:
            continue
        if read.covers(ranges):
            candidates[key] = read
    kept: dict[str, KeptRead] = {}
    by_reader: dict[int, list[str]] = {}
    for key in candidates:
        by_reader.setdefault(id(reader_of[key]), []).append(key)
    for keys in by_reader.values():
        reader = reader_of[keys[0]]
        mine = {key: candidates[key] for key in keys}
        try:
            listed = visible_spreadsheets(reader.client().http_client)
        except (GoogleAPIError, ValueError, KeyError) as exc:  # Drive API off, say: read them all
            log.warning("cannot ask Google Drive which spreadsheets changed (%s); reading them all", exc)
            continue
        kept.update({key: mine[key] for key in unchanged(mine, listed)})
    return kept


def _read_spreadsheet(
    http: Any,
    key: str,
    members: Sequence[tuple[SourceConfig, SpreadsheetRef]],
    account: str | None,
    *,
    kept: KeptRead | None = None,
    store: ValuesStore | None = None,
    started: datetime | None = None,
) -> dict[str, SourceData | SourceError]:
    url = SHEETS_URL.format(key=key)
    out: dict[str, SourceData | SourceError] = {}
    if kept is not None:  # Drive says unchanged since this read: its values are today's
        fetched = datetime.now(UTC)
        for config, ref in members:
            plan = _plan(config, ref, None)
            try:
                out[config.name] = _source_data(plan, kept.value_ranges[plan.a1], url, fetched)
            except SourceError as exc:  # the header cannot be used (as on the read that was kept)
                out[config.name] = exc
        return out

    def fail_all(exc: Exception, configs: Iterable[SourceConfig]) -> None:
        cls, message = describe_google_error(exc, account=account, role="Viewer")
        for config in configs:
            out[config.name] = cls(message, source=config.name, location=url, sheet=config.worksheet)

    def read_tabs() -> list[dict[str, Any]]:
        metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        return sorted((s.get("properties", {}) for s in metadata.get("sheets", [])), key=lambda p: p.get("index", 0))

    def plan_all(tabs: list[dict[str, Any]] | None) -> list[_Planned]:
        planned: list[_Planned] = []
        for config, ref in members:
            try:
                planned.append(_plan(config, ref, tabs))
            except SourceError as exc:
                out[config.name] = exc
        return planned

    def batch_get(planned: list[_Planned]) -> tuple[list[str], list[dict[str, Any]]]:
        ranges = list(dict.fromkeys(p.a1 for p in planned))
        answer = http.values_batch_get(key, ranges, params=dict(READ_PARAMS))
        value_ranges = answer.get("valueRanges", [])
        if len(value_ranges) != len(ranges):
            raise ValueError(f"asked for {len(ranges)} ranges, got {len(value_ranges)}")
        return ranges, value_ranges

    tabs = None
    try:
        if any(_needs_tabs(config, ref) for config, ref in members):
            tabs = read_tabs()
        planned = plan_all(tabs)
        if not planned:
            return out
        try:
            ranges, value_ranges = batch_get(planned)
        except GoogleAPIError as exc:
            if tabs is not None or getattr(exc, "code", None) != 400:
                raise
            # A tab was renamed or deleted: one metadata read says which, the rest are read again.
            planned = plan_all(read_tabs())
            if not planned:
                return out
            ranges, value_ranges = batch_get(planned)
    except (GoogleAPIError, ValueError) as exc:
        fail_all(exc, [config for config, _ in members if config.name not in out])
        return out
    fetched = datetime.now(UTC)
    by_range = dict(zip(ranges, value_ranges, strict=True))
    for plan in planned:
        try:
            out[plan.config.name] = _source_data(plan, by_range[plan.a1], url, fetched)
        except SourceError as exc:  # this tab's header cannot be used; the spreadsheet's other tabs can
            out[plan.config.name] = exc
    if store is not None and started is not None and all(isinstance(v, SourceData) for v in out.values()):
        store.save(key, started, by_range)
    return out


def _needs_tabs(config: SourceConfig, ref: SpreadsheetRef) -> bool:
    """Whether a source can only be placed with the tab list: no tab named, or a #gid= URL."""
    named = config.worksheet is not None or (config.range is not None and config.range.title is not None)
    return not named


def _plan(config: SourceConfig, ref: SpreadsheetRef, tabs: list[dict[str, Any]] | None) -> _Planned:
    """Which tab and A1 range a source reads; SourceNotFound/SourceFormatError when it cannot.

    Without `tabs` (no metadata was read) the named tab is taken on trust: a missing one
    makes Google refuse the batch, and the caller then reads the metadata and plans again.
    """
    if tabs is None:
        range_title = config.range.title if config.range else None
        if range_title is not None and config.worksheet is not None and config.worksheet != range_title:
            raise SourceFormatError(
                f"worksheet {config.worksheet!r} and range {config.range!r} name different tabs; give the tab once",
                source=config.name, location=ref.url, sheet=config.worksheet,
            )
        title = str(range_title if range_title is not None else config.worksheet)
        return _placed(config, title)
    grids = [t for t in tabs if t.get("sheetType", "GRID") == "GRID"]
    titles = [str(t.get("title", "")) for t in tabs]
    range_title = config.range.title if config.range else None
    wanted = config.worksheet
    if range_title is not None:
        if wanted is not None and wanted != range_title:
            raise SourceFormatError(
                f"worksheet {wanted!r} and range {config.range!r} name different tabs; give the tab once",
                source=config.name, location=ref.url, sheet=wanted,
            )
        wanted = range_title
    if wanted is None and ref.gid is not None:
        by_gid = next((t for t in tabs if t.get("sheetId") == ref.gid), None)
        wanted = str(by_gid["title"]) if by_gid else None
        if by_gid is None:
            raise SourceNotFound(
                f"the URL names tab id gid={ref.gid}, which the spreadsheet does not have; its tabs are "
                + ", ".join(repr(t) for t in titles),
                source=config.name, location=ref.url,
            )
    if wanted is None:
        if not grids:
            raise SourceFormatError("the spreadsheet has no grid tab to read", source=config.name, location=ref.url)
        title = str(grids[0]["title"])
    else:
        found = next((t for t in tabs if t.get("title") == wanted), None)
        if found is None:
            close = [t for t in titles if t.strip().casefold() == wanted.strip().casefold()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SourceNotFound(
                f"no tab named {wanted!r}{hint}; the spreadsheet has " + ", ".join(repr(t) for t in titles),
                source=config.name, location=ref.url, sheet=wanted,
            )
        if found.get("sheetType", "GRID") != "GRID":
            raise SourceFormatError(
                "this tab is a chart, not a grid of cells", source=config.name, location=ref.url, sheet=wanted
            )
        title = wanted
    return _placed(config, title)


def _placed(config: SourceConfig, title: str) -> _Planned:
    """The A1 range to ask for: the tab, and the cells of the source's range (parsed at load)."""
    cells = config.range.cells if config.range else ""
    a1 = quote_title(title) + (f"!{cells.upper()}" if cells else "")
    start_row, start_col = (config.range.start_row, config.range.start_col) if config.range else (0, 0)
    return _Planned(config, title, a1, start_row, start_col)


def _source_data(plan: _Planned, value_range: Mapping[str, Any], url: str, fetched: datetime) -> SourceData:
    """A ValueRange (column by column, or row by row as Google's default) as a frame of typed columns."""
    config = plan.config
    # header_row counts sheet rows; a range starting lower puts the header on its first row.
    header_row = max(config.header_row - plan.start_row, 1)
    by_columns = value_range.get("majorDimension", "ROWS") == "COLUMNS"
    try:
        frame, warnings = (columns_frame if by_columns else grid_frame)(
            value_range.get("values", []),
            header_row=header_row,
            rename=config.rename,
            skipped_rows=plan.start_row,
            lead_columns=plan.start_col,  # blank headers keep the sheet's own column letters
        )
    except HeaderError as exc:
        raise SourceFormatError(str(exc), source=config.name, location=url, sheet=plan.title) from None
    return SourceData(config.name, "gsheet", url, plan.title, fetched, frame, warnings)


__all__ = [
    "METADATA_FIELDS",
    "READ_PARAMS",
    "describe_google_error",
    "quote_title",
    "read_gsheet_sources",
]
