"""Write the tracker into a Google Sheet, styled by the same template as the .xlsx tracker.

The layout is `connectors.gsheet_plan`'s, the payloads `connectors.gsheet_requests`'; this
module only talks to Google. A sync costs a constant number of calls, whatever the number
of key results: ``spreadsheets.get`` with a field mask (tabs, grid sizes, old rules, charts
and filter, and the Check-ins tab's cells, read back before anything is rewritten), one
atomic ``spreadsheets:batchUpdate``, one ``values:batchUpdate``.

Failures: until the batchUpdate succeeds nothing has changed (it is atomic). If the values
write then fails, the sheet keeps last run's values under this run's formats (the error says
so); the next successful sync repairs it. Creating a spreadsheet (``create = "Title"``) adds
one Drive call the first time, and its id is kept in the state folder so later syncs reuse it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gspread
from gspread.urls import DRIVE_FILES_API_V3_URL

from connectors.atomic import OutputError, atomic_write_bytes
from connectors.google_client import (
    GoogleAPIError,
    GoogleConfigError,
    RetryPolicy,
    client_from_config,
    service_account_email,
)
from connectors.gsheet_plan import plan_tabs
from connectors.gsheet_requests import build_requests, existing_tabs
from connectors.gsheet_source import describe_google_error, quote_title
from connectors.tracker_layout import load_template
from sheetsync.core.checkins import TabRows, is_tab_header, text_columns
from sheetsync.core.model import SHEETS_URL, Config
from sheetsync.core.tracker import CHECKINS_TAB, TrackerContent
from sheetsync.errors import ConfigError

log = logging.getLogger(__name__)

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
METADATA_FIELDS = (
    "spreadsheetId,properties.title,sheets(properties(sheetId,title,index,sheetType,gridProperties("
    "rowCount,columnCount)),conditionalFormats.ranges,charts(chartId,spec.title),basicFilter.range)"
)
STATE_FILE = "gsheet_tracker.json"


@dataclass
class TrackerState:
    """The spreadsheet sheetsync created for ``create = "Title"``, kept between syncs."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> TrackerState:
        path = state_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data if isinstance(data, dict) else {})

    def save(self) -> None:
        payload = json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"
        atomic_write_bytes(self.path, payload.encode("utf-8"))


def tracker_url(key: str) -> str:
    return SHEETS_URL.format(key=key) + "/edit"


CHECKINS_DATA = "data(startRow,startColumn,rowData.values(effectiveValue,formattedValue))"
"""What the metadata request also asks for on the Check-ins tab: its cell values."""
HEADER_SCAN = 20  # rows searched for the Check-ins header


@dataclass
class GSheetTracker:
    """One sync's tracker spreadsheet: opened (one metadata request), then written (two).

    Opening reads the Check-ins tab's values in the same ``spreadsheets.get`` the write needs
    for the tab list: once sheetsync knows the spreadsheet's tabs (kept in the state folder
    from the last write) it asks for those ranges only, so the other tabs' cells are not sent.
    Only when that knowledge is missing or out of date, and a Check-ins tab exists, does the
    tab cost one more read.
    """

    config: Config
    http: Any
    account: str | None
    state: TrackerState
    key: str
    fresh: bool
    metadata: Mapping[str, Any]
    checkins: TabRows | None = None
    ranged: bool = False  # the metadata covers only the tabs sheetsync knew of

    @classmethod
    def open(
        cls,
        config: Config,
        *,
        read_checkins: bool = False,
        retry: RetryPolicy | None = None,
        client: gspread.Client | None = None,
    ) -> GSheetTracker:
        """Find (or create) the spreadsheet and read its tabs, and the Check-ins tab's cells when asked."""
        tracker, google = config.tracker, config.google
        load_template(tracker.template)  # a bad template fails before any call
        account = service_account_email(google.credentials)
        if client is None:
            try:
                client = client_from_config(google, retry)
            except GoogleConfigError as exc:
                raise ConfigError(f"google.credentials: {exc}", key="google.credentials") from None
        http = client.http_client
        state = TrackerState.load(config.state_dir)
        where = str(tracker.spreadsheet or f"new spreadsheet {tracker.create!r}")
        given = tracker.spreadsheet.key if tracker.spreadsheet else None  # parsed when the config was read
        try:
            if given is not None:
                key, fresh = given, False
            else:
                key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state, config.name)
            where = tracker_url(key)
            try:
                metadata, ranged = _metadata(http, key, state, read_checkins and not fresh)
            except GoogleAPIError as exc:
                if exc.code != 404 or tracker.spreadsheet:
                    raise
                log.warning("the tracker spreadsheet %s was deleted; creating a new one", where)
                state.data = {}
                key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state, config.name)
                where = tracker_url(key)
                metadata, ranged = _metadata(http, key, state, False)
            checkins = None
            if read_checkins:
                checkins = checkins_from_metadata(metadata)
                if checkins is None and not ranged and _has_tab(metadata, CHECKINS_TAB):
                    checkins = checkins_from_values(_tab_values(http, key, CHECKINS_TAB))
                known = state.data.get("tabs") or {}
                if checkins is None and known.get("key") == key and CHECKINS_TAB in known.get("titles", ()):
                    checkins = _renamed_checkins(http, key, metadata, known.get("titles", ()), where)
        except GoogleAPIError as exc:
            _, message = describe_google_error(exc, account=account, role="Editor")
            raise OutputError(f"Google Sheet tracker {where}: {message} (failed before changing anything)",
                              file=where, sheet=exc.sheet) from None
        except (ValueError, KeyError) as exc:  # an answer that is not what the API documents
            raise OutputError(f"Google Sheet tracker {where}: unexpected answer from Google ({exc}) "
                              "(before changing anything)", file=where) from None
        return cls(config, http, account, state, key, fresh, metadata, checkins, ranged)

    @contextmanager
    def staged(self, content: TrackerContent) -> Iterator[str]:
        """The write, which cannot be undone: a spreadsheet keeps no old copy to put back."""
        yield self.write(content)

    def write(self, content: TrackerContent) -> str:
        """Render `content` into the spreadsheet; returns its URL (for the digest's link)."""
        plans = plan_tabs(content, self.config.tracker.template)
        http, key = self.http, self.key
        where = tracker_url(key)
        stage = "before changing anything"
        try:
            metadata = self.metadata
            ours = {p.title for p in plans}
            if self.ranged and not ours <= {t.title for t in existing_tabs(metadata)}:
                metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})  # the template changed
            existing = existing_tabs(metadata)
            drop = [t.title for t in existing if t.title not in ours] if self.fresh else []
            requests, data = build_requests(plans, existing, drop_tabs=drop)
            http.batch_update(key, {"requests": requests})
            stage = ("after formatting, before writing values: the sheet shows last run's values under this run's "
                     "formats")
            http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
        except GoogleAPIError as exc:
            _, message = describe_google_error(exc, account=self.account, role="Editor")
            raise OutputError(f"Google Sheet tracker {where}: {message} (failed {stage})", file=where,
                              sheet=exc.sheet) from None
        except (ValueError, KeyError) as exc:  # an answer that is not what the API documents
            raise OutputError(
                f"Google Sheet tracker {where}: unexpected answer from Google ({exc}) ({stage})", file=where
            ) from None
        state = self.state
        if state.data.get("spreadsheet_id") == key and not state.data.get("written"):
            state.data["written"] = True
            _save(state)
        _share(http, key, self.config.tracker.share, state)
        titles = sorted(ours | {t.title for t in existing if t.title not in drop})
        if state.data.get("tabs") != {"key": key, "titles": titles}:
            state.data["tabs"] = {"key": key, "titles": titles}
            _save(state)
        return tracker_url(key)


def write_gsheet_tracker(
    config: Config,
    content: TrackerContent,
    *,
    retry: RetryPolicy | None = None,
    client: gspread.Client | None = None,
) -> str:
    """Render `content` into the tracker Google Sheet; returns its URL (for the digest's link).

    Raises OutputError (one line naming the spreadsheet, and whom to share it with when
    access is denied) when Google refuses or keeps failing; ConfigError for unusable
    credentials or a bad spreadsheet URL.
    """
    return GSheetTracker.open(config, retry=retry, client=client).write(content)


def _metadata(http: Any, key: str, state: TrackerState, with_checkins: bool) -> tuple[Mapping[str, Any], bool]:
    """The tab list (and, when asked, the Check-ins tab's cells) in one ``spreadsheets.get``.

    Returns (metadata, ranged): ranged when only the tabs known from the last write were
    asked for (a range per tab: the API returns the tabs its ranges touch).
    """
    known = state.data.get("tabs") or {}
    titles = known.get("titles") if known.get("key") == key else None
    if with_checkins and isinstance(titles, list) and CHECKINS_TAB in titles:
        ranges = [f"{quote_title(t)}!A1" if t != CHECKINS_TAB else quote_title(t) for t in titles]
        fields = METADATA_FIELDS[:-1] + "," + CHECKINS_DATA + ")"
        try:
            return http.fetch_sheet_metadata(key, params={"fields": fields, "ranges": ranges}), True
        except GoogleAPIError as exc:
            if exc.code != 400:
                raise
            log.info("tracker tabs changed since the last sync (%s); reading the tab list afresh", exc.message)
    return http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS}), False


def _has_tab(metadata: Mapping[str, Any], title: str) -> bool:
    return any(s.get("properties", {}).get("title") == title for s in metadata.get("sheets", []))


def checkins_from_metadata(metadata: Mapping[str, Any]) -> TabRows | None:
    """The Check-ins tab's rows from grid data in a ``spreadsheets.get`` answer (None when absent)."""
    for sheet in metadata.get("sheets", []):
        if sheet.get("properties", {}).get("title") != CHECKINS_TAB or "data" not in sheet:
            continue
        grid: list[list[object]] = []
        shown: list[list[object]] = []  # the text the sheet shows, for the free-text columns
        for block in sheet.get("data", []):
            top, left = int(block.get("startRow", 0)), int(block.get("startColumn", 0))
            for r, row in enumerate(block.get("rowData", [])):
                for target, cells in ((grid, [_cell_value(v) for v in row.get("values", [])]),
                                      (shown, [v.get("formattedValue") for v in row.get("values", [])])):
                    while len(target) <= top + r:
                        target.append([])
                    line = target[top + r]
                    line.extend([None] * (left + len(cells) - len(line)))
                    line[left : left + len(cells)] = cells
        return checkins_from_values(grid, shown)
    return None


def _tab_values(http: Any, key: str, title: str) -> list[list[object]]:
    """One tab's cells as stored (numbers and date serials, not the text shown): one request."""
    values = http.values_get(key, quote_title(title), params={
        "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"})
    return list(values.get("values", []))


def _renamed_checkins(http: Any, key: str, metadata: Mapping[str, Any], written: Sequence[str],
                      where: str) -> TabRows | None:
    """The Check-ins tab an owner renamed since the last sync, found among the tabs new since then
    by its header (a request each, at most three); None, with a warning, when none is it.

    Its check-ins are read, so none is lost; a new Check-ins tab is written beside it."""
    new = [t for t in (s.get("properties", {}).get("title") for s in metadata.get("sheets", []))
           if t and t not in written][:3]  # fmt: skip
    for title in new:
        found = checkins_from_values(_tab_values(http, key, title))
        if found.header:
            log.warning("the tracker's %r tab is %r now (renamed by hand in %s): its check-ins are read, and a new "
                        "%r tab is written beside it", CHECKINS_TAB, title, where, CHECKINS_TAB)
            return replace(found, where=f"Google Sheet tracker: tab {title!r}")
    log.warning("the tracker's %r tab is gone from %s (deleted or renamed by hand): check-ins typed there since the "
                "last sync are not read; a new %r tab is written", CHECKINS_TAB, where, CHECKINS_TAB)
    return None


def _cell_value(cell: Mapping[str, Any]) -> object:
    value = cell.get("effectiveValue") or {}
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in value:
            return value[kind]
    return cell.get("formattedValue")


def checkins_from_values(grid: Sequence[Sequence[object]], shown: Sequence[Sequence[object]] = ()) -> TabRows:
    """Rows of the Check-ins tab (values as the API gives them) as a table under its header row.

    `shown`, the same cells' formatted text where the answer has it, is what a free-text column
    holds: a comment typed as `100%` is stored as the number 1, and must not come back as "1".
    """
    where = f"Google Sheet tracker: tab {CHECKINS_TAB!r}"
    for index, row in enumerate(list(grid)[:HEADER_SCAN]):
        names = [str(v).strip() if v is not None else "" for v in row]
        if is_tab_header(row):
            first = next(i for i, n in enumerate(names) if n)
            texts = text_columns(row)
            rows = [list(r) for r in grid]
            for r in range(index + 1, min(len(rows), len(shown))):
                for c in texts:
                    if c < len(rows[r]) and not isinstance(rows[r][c], str) and c < len(shown[r]) and shown[r][c]:
                        rows[r][c] = shown[r][c]
            body = [tuple(r[first:]) for r in rows[index + 1 :]]
            while body and all(v in (None, "") for v in body[-1]):
                body.pop()
            return TabRows(tuple(row[first:]), tuple(body), index + 2, where)
    return TabRows((), tuple(tuple(r) for r in grid), where=where)  # no header: never overwritten (read_tab)


def _created_spreadsheet(http: Any, title: str, state: TrackerState, project: str = "") -> tuple[str, bool]:
    """The spreadsheet made for ``create = title`` earlier, or a new one (one Drive call).

    A create is not idempotent: when its answer is lost (a timeout, a dropped connection) the
    spreadsheet may exist anyway. Each create carries a one-off marker in its appProperties;
    before trying again (now, or on the next sync when this one gives up, the marker kept in
    the state) one Drive search for the marker tells whether it was made, so no second sheet
    appears. Each also carries its project and title (`_title_mark`): a state folder that is
    new (lost, or not kept by a container) finds the spreadsheet made before by them, one Drive
    search, instead of making a second one whose owners never saw the first's check-ins.
    """
    if state.data.get("create") == title and state.data.get("spreadsheet_id"):
        return str(state.data["spreadsheet_id"]), not state.data.get("written", False)
    marker = state.data.get("pending") if state.data.get("create") == title else None
    key = _find_created(http, marker) if marker else None
    if key is None and marker is None and (earlier := _find_created(http, _title_mark(project, title), TITLE_MARKER)):
        # The state folder is new (lost, or not kept by a container): the spreadsheet made before is reused.
        log.warning("the state folder has no record of the tracker made for create = %r; using the one sheetsync made "
                    "earlier, %s (keep %s to skip this search)", title, tracker_url(earlier), state.path)
        state.data = {"create": title, "spreadsheet_id": earlier, "written": True, "shared": []}
        _save(state)
        return earlier, False
    if key is None:
        marker = marker or secrets.token_hex(12)

        def in_doubt() -> None:  # kept, so that the next sync looks for it before creating another
            state.data = {"create": title, "pending": marker, "shared": []}
            _save(state)

        key = _create(http, title, marker, in_doubt, _title_mark(project, title))
    state.data = {"create": title, "spreadsheet_id": key, "written": False, "shared": []}
    _save(state)  # before anything else, so a failed first write never creates a second sheet
    log.info("created Google Sheet tracker %s", tracker_url(key))
    return key, True


CREATE_MARKER = "sheetsyncCreate"  # the appProperties key that tells a create's result apart
TITLE_MARKER = "sheetsyncTracker"  # the appProperties key naming the `create` title a spreadsheet was made for
CREATE_ATTEMPTS = 3


def _create(http: Any, title: str, marker: str, in_doubt: Callable[[], None], mark: str) -> str:
    """One new spreadsheet; a create that may have happened is looked for before it is repeated
    (`in_doubt` is called first, so a search that fails too leaves the marker to the next sync)."""
    body = {"name": title, "mimeType": SPREADSHEET_MIME,
            "appProperties": {CREATE_MARKER: marker, TITLE_MARKER: mark}}
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            response = http.request("post", DRIVE_FILES_API_V3_URL, json=body,
                                    params={"supportsAllDrives": True, "fields": "id"})  # fmt: skip
            return str(response.json()["id"])
        except GoogleAPIError as exc:
            if not exc.maybe_applied:
                raise
            in_doubt()
            found = _find_created(http, marker)
            if found is not None:
                log.info("the tracker spreadsheet was created though Google's answer was lost")
                return found
            if attempt == CREATE_ATTEMPTS:
                raise
            log.warning("creating the tracker spreadsheet got no answer and it does not exist; trying again")
    raise AssertionError("unreachable")  # pragma: no cover


def _title_mark(project: str, title: str) -> str:
    """A project's `create` title as an appProperties value (key and value share 124 bytes: a digest)."""
    return hashlib.sha256(f"{project}\n{title}".encode()).hexdigest()[:32]


def _find_created(http: Any, marker: str, key: str = CREATE_MARKER) -> str | None:
    """The spreadsheet an earlier create marked `marker` made, if it made one (one Drive search)."""
    query = f"appProperties has {{ key='{key}' and value='{marker}' }} and trashed = false"
    response = http.request("get", DRIVE_FILES_API_V3_URL, params={
        "q": query, "fields": "files(id)", "supportsAllDrives": True, "includeItemsFromAllDrives": True})  # fmt: skip
    files = response.json().get("files") or []
    return str(files[0]["id"]) if files else None


def _save(state: TrackerState) -> None:
    try:
        state.save()
    except OutputError as exc:
        log.warning("could not record the tracker spreadsheet's id: %s", exc)


def _share(http: Any, key: str, emails: Sequence[str], state: TrackerState) -> None:
    """Give each listed address edit access once (Drive sends them the link)."""
    if not emails:
        return
    if state.data.get("spreadsheet_id") != key:
        state.data = {"spreadsheet_id": key, "written": True, "shared": []}
    shared = list(state.data.get("shared", []))
    for email in emails:
        if email in shared:
            continue
        try:
            http.insert_permission(key, email, perm_type="user", role="writer", notify=True)
        except GoogleAPIError as exc:
            log.warning("could not share the tracker with %s: %s (will retry next sync)", email, exc.message)
            continue
        shared.append(email)
    if shared != state.data.get("shared"):
        state.data["shared"] = shared
        _save(state)


__all__ = ["METADATA_FIELDS", "GSheetTracker", "TrackerState", "tracker_url", "write_gsheet_tracker"]
