"""Write the tracker into a Google Sheet, styled by the same template as the .xlsx tracker.

The layout is `connectors.gsheet_plan`'s, the payloads `connectors.gsheet_requests`'; this
module only talks to Google. A sync costs a constant number of calls, whatever the number
of key results: ``spreadsheets.get`` with a field mask (tabs, grid sizes, old rules, charts
and filter), one atomic ``spreadsheets:batchUpdate``, one ``values:batchUpdate``.

Failures: until the batchUpdate succeeds nothing has changed (it is atomic). If the values
write then fails, the sheet keeps last run's values under this run's formats (the error says
so); the next successful sync repairs it. Creating a spreadsheet (``create = "Title"``) adds
one Drive call the first time, and its id is kept in the state folder so later syncs reuse it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from connectors.gsheet_source import SHEETS_URL, describe_google_error, parse_spreadsheet
from sheetsync.core.model import Config
from sheetsync.core.tracker import TrackerContent
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
        path = Path(state_dir) / STATE_FILE
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
    tracker, google = config.tracker, config.google
    plans = plan_tabs(content, tracker.template)  # a bad template fails before any call
    account = service_account_email(google.credentials)
    if client is None:
        try:
            client = client_from_config(google, retry)
        except GoogleConfigError as exc:
            raise ConfigError(f"google.credentials: {exc}") from None
    http = client.http_client
    state = TrackerState.load(config.state_dir)
    where = tracker.spreadsheet or f"new spreadsheet {tracker.create!r}"
    given: str | None = None
    if tracker.spreadsheet:
        try:
            given = parse_spreadsheet(tracker.spreadsheet).key
        except ValueError as exc:
            raise ConfigError(f"tracker.spreadsheet: {exc}") from None
    stage = "before changing anything"
    try:
        if given is not None:
            key, fresh = given, False
        else:
            key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state)
        where = tracker_url(key)
        try:
            metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        except GoogleAPIError as exc:
            if exc.code != 404 or tracker.spreadsheet:
                raise
            log.warning("the tracker spreadsheet %s was deleted; creating a new one", where)
            state.data = {}
            key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state)
            where = tracker_url(key)
            metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        existing = existing_tabs(metadata)
        ours = {p.title for p in plans}
        drop = [t.title for t in existing if t.title not in ours] if fresh else []
        requests, data = build_requests(plans, existing, drop_tabs=drop)
        http.batch_update(key, {"requests": requests})
        stage = "after formatting, before writing values: the sheet shows last run's values under this run's formats"
        http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
    except GoogleAPIError as exc:
        _, message = describe_google_error(exc, account=account, role="Editor")
        raise OutputError(f"Google Sheet tracker {where}: {message} (failed {stage})") from None
    except (ValueError, KeyError) as exc:  # an answer that is not what the API documents
        raise OutputError(f"Google Sheet tracker {where}: unexpected answer from Google ({exc}) ({stage})") from None
    if state.data.get("spreadsheet_id") == key and not state.data.get("written"):
        state.data["written"] = True
        _save(state)
    _share(http, key, tracker.share, state)
    return tracker_url(key)


def _created_spreadsheet(http: Any, title: str, state: TrackerState) -> tuple[str, bool]:
    """The spreadsheet made for ``create = title`` earlier, or a new one (one Drive call)."""
    if state.data.get("create") == title and state.data.get("spreadsheet_id"):
        return str(state.data["spreadsheet_id"]), not state.data.get("written", False)
    response = http.request(
        "post", DRIVE_FILES_API_V3_URL, json={"name": title, "mimeType": SPREADSHEET_MIME},
        params={"supportsAllDrives": True, "fields": "id"},
    )
    key = str(response.json()["id"])
    state.data = {"create": title, "spreadsheet_id": key, "written": False, "shared": []}
    _save(state)  # before anything else, so a failed first write never creates a second sheet
    log.info("created Google Sheet tracker %s", tracker_url(key))
    return key, True


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


__all__ = ["METADATA_FIELDS", "TrackerState", "tracker_url", "write_gsheet_tracker"]
