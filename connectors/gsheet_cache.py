"""Incremental Google Sheets reads: the last good values of each spreadsheet, kept in the state folder.

A daily sync of 200 spreadsheets that nobody touched should not cost 200 requests. One Drive
``files.list`` (paged: a request per 1,000 spreadsheets the account can see) gives each
spreadsheet's ``modifiedTime``; one modified before its kept read is built from the values kept
from that read. One the list leaves out is read again: the account can no longer see it
(unshared, trashed, deleted), and only a read says so (a 403 or 404, the source failed).
Listing only the files modified since the last read would leave those out too, and serve
their kept values as today's. Three more things bound the trust in a kept copy:

- a source with ``incremental = false`` (IMPORTRANGE, NOW(), GOOGLEFINANCE: values that change
  without a new ``modifiedTime``) makes its spreadsheet read every time;
- every spreadsheet is read again at least every ``[google] full_read_days`` (7 by default);
- the kept copy must hold every range the config asks for now (a new tab is a full read),
  and ``modifiedTime`` is compared with a margin for the two clocks
  (``CLOCK_MARGIN``).

A copy is written only after a read that succeeded for every source of the spreadsheet, and
atomically: a failed read never replaces a good copy.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

FOLDER = "google-values"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
CLOCK_MARGIN = timedelta(minutes=5)
PAGE_SIZE = 1000  # Drive's largest page
_VERSION = 1


@dataclass(frozen=True)
class KeptRead:
    """A spreadsheet's values as its last good read answered them (A1 range -> valueRange)."""

    key: str
    read_at: datetime  # our clock, taken before the request was sent
    value_ranges: Mapping[str, dict[str, Any]]

    def covers(self, ranges: Iterable[str]) -> bool:
        return all(a1 in self.value_ranges for a1 in ranges)


class ValuesStore:
    """One gzip JSON file per spreadsheet under ``state_dir/google-values``."""

    def __init__(self, state_dir: str | Path) -> None:
        self.folder = Path(state_dir) / FOLDER

    def _path(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json.gz")

    def load(self, key: str) -> KeptRead | None:
        path = self._path(key)
        try:
            data = json.loads(gzip.decompress(path.read_bytes()))
            if data.get("version") != _VERSION or data.get("key") != key:
                return None
            return KeptRead(key, datetime.fromisoformat(data["read_at"]), data["value_ranges"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:  # a damaged copy is a full read
            log.warning("ignoring the kept values of spreadsheet %s (%s): reading it again", key, exc)
            return None

    def save(self, key: str, read_at: datetime, value_ranges: Mapping[str, dict[str, Any]]) -> None:
        data = {"version": _VERSION, "key": key, "read_at": read_at.isoformat(), "value_ranges": dict(value_ranges)}
        body = gzip.compress(json.dumps(data, separators=(",", ":")).encode(), compresslevel=1)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self._path(key), body)
        except OSError as exc:  # the read itself succeeded: only the next sync is slower
            log.warning("cannot keep the values of spreadsheet %s in %s: %s", key, self.folder, exc)


def visible_spreadsheets(http: Any) -> dict[str, datetime]:
    """Every spreadsheet the account can see: id -> modifiedTime (one paged files.list)."""
    params: dict[str, Any] = {
        "q": f"mimeType = '{SPREADSHEET_MIME}' and trashed = false",
        "fields": "nextPageToken,files(id,modifiedTime)",
        "pageSize": PAGE_SIZE,
        "supportsAllDrives": "true",
        "includeItemsFromAllDrives": "true",
    }
    listed: dict[str, datetime] = {}
    while True:
        answer = http.request("get", "https://www.googleapis.com/drive/v3/files", params=params).json()
        for item in answer.get("files", []):
            listed[str(item["id"])] = datetime.fromisoformat(str(item["modifiedTime"]).replace("Z", "+00:00"))
        token = answer.get("nextPageToken")
        if not token:
            return listed
        params["pageToken"] = token


def unchanged(kept: Mapping[str, KeptRead], listed: Mapping[str, datetime]) -> set[str]:
    """Keys still visible whose kept read is newer than their last modification (with the clock margin)."""
    return {key for key, read in kept.items() if key in listed and listed[key] < read.read_at - CLOCK_MARGIN}
