"""Week-by-week history in SQLite: one snapshot per ISO week of the as-of date.

Re-running a week replaces that week's snapshot, so a Monday re-run never duplicates
rows. Week-over-week changes in the tracker and the digest come from here, and so do the
records the digest and the scheduler keep of what they already did. SQLite transactions
keep the file whole even when the process is killed mid-write.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheetsync.core.checkins import CheckIn
from sheetsync.core.results import SyncResult
from sheetsync.core.snapshot import KPISnapshot, KRSnapshot, LastGood, LastGoodValues, Snapshot, week_key
from sheetsync.errors import SheetsyncError

if TYPE_CHECKING:
    from sheetsync.core.kpis import SeriesPoint

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    week TEXT NOT NULL, as_of TEXT NOT NULL, period TEXT NOT NULL, expected REAL,
    overall_progress REAL, taken_at TEXT NOT NULL,
    PRIMARY KEY (week, period)
);
CREATE TABLE IF NOT EXISTS kr_history (
    week TEXT NOT NULL, as_of TEXT NOT NULL, objective TEXT NOT NULL, kr_id TEXT NOT NULL,
    title TEXT, kpi TEXT, start REAL, target REAL, current REAL, progress REAL,
    progress_raw REAL, expected REAL, status TEXT NOT NULL, stale TEXT, period TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (week, period, kr_id)
);
CREATE TABLE IF NOT EXISTS kpi_history (
    week TEXT NOT NULL, as_of TEXT NOT NULL, kpi_id TEXT NOT NULL, title TEXT, value REAL,
    unit TEXT, target REAL, status TEXT NOT NULL, stale TEXT, period TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (week, period, kpi_id)
);
CREATE TABLE IF NOT EXISTS objective_history (
    week TEXT NOT NULL, as_of TEXT NOT NULL, objective TEXT NOT NULL, progress REAL,
    status TEXT NOT NULL, period TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (week, period, objective)
);
CREATE TABLE IF NOT EXISTS kpi_series (
    period TEXT NOT NULL, kpi_id TEXT NOT NULL, as_of TEXT NOT NULL, points TEXT NOT NULL,
    PRIMARY KEY (period, kpi_id)
);
CREATE TABLE IF NOT EXISTS checkins (
    kr_id TEXT NOT NULL, week TEXT NOT NULL, at TEXT NOT NULL, confidence TEXT, comment TEXT, value REAL,
    by_name TEXT, origin TEXT NOT NULL, row INTEGER
);
CREATE INDEX IF NOT EXISTS checkins_by_week ON checkins (week, kr_id);
CREATE TABLE IF NOT EXISTS digests (
    week TEXT NOT NULL, audience TEXT NOT NULL, sent_at TEXT NOT NULL, message_id TEXT,
    PRIMARY KEY (week, audience)
);
CREATE TABLE IF NOT EXISTS job_runs (
    job TEXT PRIMARY KEY, last_success TEXT, last_attempt TEXT, outcome TEXT, detail TEXT
);
CREATE TABLE IF NOT EXISTS chat_posts (
    week TEXT NOT NULL, audience TEXT NOT NULL, channel TEXT NOT NULL, posted_at TEXT NOT NULL,
    PRIMARY KEY (week, audience, channel)
);
CREATE TABLE IF NOT EXISTS alert_state (
    name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_log (
    at TEXT NOT NULL, as_of TEXT NOT NULL, rule TEXT NOT NULL, condition TEXT NOT NULL, event TEXT NOT NULL,
    message TEXT NOT NULL
);
"""

HISTORY_FILE = "history.sqlite"

ADDED_COLUMNS = (
    ("kr_history", "value_as_of", "TEXT"),
    ("kr_history", "grade", "TEXT"),
    ("kpi_history", "data_through", "TEXT"),
    ("kpi_history", "value_as_of", "TEXT"),
    ("kpi_history", "measured_as_of", "TEXT"),
)
"""Columns newer than the first schema: added in place to an older history file."""

SCHEMA_VERSION = zlib.crc32((SCHEMA + repr(ADDED_COLUMNS)).encode("utf-8")) & 0x7FFFFFFF
"""Kept in the file (`PRAGMA user_version`) once it has every table and column above: opening
an up-to-date history then checks nothing else. Any change to the schema changes it."""


class HistoryError(SheetsyncError):
    """The history database cannot be used; the message names the file and what to do."""

    def __init__(self, message: str, path: Path, **location: Any) -> None:
        super().__init__(message, file=str(path), **location)


REPAIR_ADVICE = "it is left as it is: run `sheetsync history repair` to move it aside (kept) and start afresh"


def history_error(path: Path, exc: sqlite3.Error | OSError) -> HistoryError:
    """One line naming the database file, the cause and the way out."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return HistoryError(f"{path}: the history database is damaged ({text}); {REPAIR_ADVICE}", path)
    if "disk is full" in lowered or getattr(exc, "errno", None) == errno.ENOSPC:
        return HistoryError(f"{path}: cannot write the history: the disk is full; free some space and run again", path)
    if "readonly" in lowered or "read-only" in lowered or isinstance(exc, PermissionError):
        return HistoryError(f"{path}: cannot write the history: the file or its folder is read-only", path)
    if "unable to open" in lowered:
        return HistoryError(f"{path}: cannot open the history database ({text}); check the folder exists and is"
                            " writable", path)
    return HistoryError(f"{path}: history database error: {text}", path)


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Any database error inside, as the `HistoryError` that names the history file."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise history_error(path, exc) from None


class _Cursor(sqlite3.Cursor):
    """A cursor whose errors while its rows are read (a page found damaged halfway) name the file too."""

    connection: _Connection

    def __next__(self) -> Any:
        with _naming(self.connection.history_path):
            return super().__next__()

    def fetchone(self) -> Any:
        with _naming(self.connection.history_path):
            return super().fetchone()

    def fetchall(self) -> list[Any]:
        with _naming(self.connection.history_path):
            return super().fetchall()


class _Connection(sqlite3.Connection):
    """A connection whose errors name the history file (`HistoryError`), never a bare DatabaseError."""

    history_path: Path

    def execute(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        with _naming(self.history_path):
            return self.cursor(_Cursor).execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        with _naming(self.history_path):
            return super().executemany(*args, **kwargs)

    def executescript(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        with _naming(self.history_path):
            return super().executescript(*args, **kwargs)


def _expected_columns() -> dict[str, list[tuple[str, str, str | None]]]:
    """Each table's columns as SCHEMA declares them: (name, type, default)."""
    with sqlite3.connect(":memory:") as memory:
        memory.executescript(SCHEMA)
        tables = [r[0] for r in memory.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [(r[1], r[2], r[4]) for r in memory.execute(f"PRAGMA table_info({t})")] for t in tables}


SNAPSHOT_TABLES = ("snapshots", "kr_history", "kpi_history", "objective_history")
"""A week's snapshot, one per (ISO week, OKR period): a quarter's last run and the next quarter's
first often fall in one week, and neither may replace the other."""


def _rekey_by_period(db: sqlite3.Connection) -> list[str]:
    """Rebuild snapshot tables an older sheetsync keyed by week alone, keyed by week and period.

    SQLite cannot change a primary key in place: each table is renamed, made again from
    SCHEMA and its rows copied, every column kept, the period of each row taken from its week's
    snapshot (an older file held one a week).
    """
    statements = {t: next(x for x in SCHEMA.split(";") if f"TABLE IF NOT EXISTS {t} (" in x) for t in SNAPSHOT_TABLES}
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    rebuilt = []
    for table in SNAPSHOT_TABLES:
        if table not in have or any(r[1] == "period" and r[5] for r in db.execute(f"PRAGMA table_info({table})")):
            continue
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_by_week")
        db.execute(statements[table])
        old = [(r[1], r[2]) for r in db.execute(f"PRAGMA table_info({table}_by_week)")]
        new = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in old:
            if name not in new:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        columns = ", ".join(name for name, _ in old)
        if "period" in dict(old):
            db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}_by_week")
        else:  # the period of the week's snapshot (snapshots is rebuilt first)
            period = ("COALESCE((SELECT s.period FROM snapshots s WHERE s.week = o.week), '')"
                      if "snapshots" in have else "''")
            db.execute(f"INSERT INTO {table} ({columns}, period) SELECT {columns}, {period} FROM {table}_by_week o")
        db.execute(f"DROP TABLE {table}_by_week")
        rebuilt.append(table)
    return rebuilt


def _migrate(db: sqlite3.Connection) -> list[str]:
    """Bring a database from an older sheetsync up to SCHEMA: tables are created, missing columns added.

    Columns are only ever added (as NULL, or their declared default), so older rows keep
    their values and an older sheetsync can still read what it knew.
    """
    added = []
    for table, columns in _expected_columns().items():
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        for name, kind, default in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}" + (f" DEFAULT {default}" if default else ""))
                added.append(f"{table}.{name}")
    return added


class History:
    """The history database of one project (`<state_dir>/history.sqlite`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise HistoryError(f"{self.path}: is a folder, not the history database; {REPAIR_ADVICE}", self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise history_error(self.path, exc) from None
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, factory=_Connection)
        except sqlite3.Error as exc:
            raise history_error(self.path, exc) from None
        self.db.history_path = self.path  # type: ignore[attr-defined]
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA synchronous=FULL")
            if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._upgrade()
        except HistoryError:
            self.db.close()
            raise

    def _upgrade(self) -> None:
        """Create the tables missing, add the columns an older sheetsync did not have and mark the
        file as at this schema: one transaction, so one sync to disk rather than one per table."""
        with self.transaction():
            _rekey_by_period(self.db)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            for table, column, kind in ADDED_COLUMNS:
                have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            _migrate(self.db)  # and any other column an older sheetsync did not have
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def for_state_dir(cls, state_dir: str | Path) -> History:
        return cls(Path(state_dir) / HISTORY_FILE)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: what runs inside is committed only if the block finishes."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk): keep the real error
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- snapshots -----------------------------------------------------------------

    def record(self, result: SyncResult, *, taken_at: datetime | None = None) -> str:
        """Store `result` as its week's snapshot of its period, replacing one already there.

        Another period's snapshot of the same week stays (see `SNAPSHOT_TABLES`). Call inside
        `transaction()` to make it part of a larger all-or-nothing step.
        """
        week = week_key(result.as_of)
        period = result.period.name
        as_of = result.as_of.isoformat()
        own = not self.db.in_transaction
        if own:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            for table in SNAPSHOT_TABLES:
                self.db.execute(f"DELETE FROM {table} WHERE week = ? AND period = ?", (week, period))
            self.db.execute(
                "INSERT INTO snapshots (week, period, as_of, expected, overall_progress, taken_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (week, period, as_of, result.expected, result.overall_progress,
                 (taken_at or datetime.now(UTC)).isoformat(timespec="seconds")),
            )
            self.db.executemany(
                "INSERT INTO kr_history (week, period, as_of, objective, kr_id, title, kpi, start, target, current, "
                "progress, progress_raw, expected, status, stale, value_as_of, grade) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (week, period, as_of, kr.objective, kr.id, kr.title, kr.kpi, kr.start, kr.target, kr.current,
                     kr.progress, kr.progress_raw, kr.expected, kr.status, kr.stale, _iso(kr.value_as_of), kr.grade)
                    for kr in result.key_results
                ],
            )
            self.db.executemany(
                "INSERT INTO kpi_history (week, period, as_of, kpi_id, title, value, unit, target, status, stale, "
                "data_through, value_as_of, measured_as_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(week, period, as_of, k.id, k.title, k.value, k.unit, k.target, k.status, k.stale,
                  _iso(k.data_through), _iso(k.value_as_of), _iso(k.measured_as_of)) for k in result.kpis],
            )
            self.db.executemany(
                # Only the newest measured series of each KPI is kept (a backfill of an older
                # week leaves a newer one), for a later run whose read fails (`last_good`).
                "INSERT INTO kpi_series (period, kpi_id, as_of, points) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (period, kpi_id) DO UPDATE SET as_of = excluded.as_of, points = excluded.points "
                "WHERE excluded.as_of >= kpi_series.as_of",
                [(period, k.id, as_of, _series_json(k.series)) for k in result.kpis if k.series and not k.failed],
            )
            self.db.executemany(
                "INSERT INTO objective_history (week, period, as_of, objective, progress, status) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(week, period, as_of, o.id, o.progress, o.status) for o in result.objectives],
            )
            if result.checkins_on:
                # result.checkins is this history's check-ins plus this sync's (see pipeline.compute)
                self.db.execute("DELETE FROM checkins")
                self.db.executemany(
                    "INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(c.kr_id, c.week, c.when.isoformat(timespec="seconds"), c.confidence, c.comment, c.value, c.by,
                      c.origin, c.row) for c in result.checkins],
                )
        except BaseException:
            if own and self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if own:
            self.db.execute("COMMIT")
        return week

    def weeks(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT week FROM snapshots ORDER BY week")]

    def snapshot(self, week: str, period: str | None = None) -> Snapshot | None:
        """The week's snapshot of `period`; without one, the week's latest (by as-of date)."""
        row = self.db.execute(
            "SELECT * FROM snapshots WHERE week = ? AND (? IS NULL OR period = ?) ORDER BY as_of DESC LIMIT 1",
            (week, period, period),
        ).fetchone()
        if row is None:
            return None
        key = (week, row["period"])
        krs = {
            r["kr_id"]: KRSnapshot(r["kr_id"], r["objective"], r["current"], r["progress"], r["status"],
                                   _day(r["value_as_of"]))
            for r in self.db.execute("SELECT * FROM kr_history WHERE week = ? AND period = ?", key)
        }
        kpis = {
            r["kpi_id"]: KPISnapshot(r["kpi_id"], r["value"], r["status"], _day(r["value_as_of"]))
            for r in self.db.execute("SELECT * FROM kpi_history WHERE week = ? AND period = ?", key)
        }
        objectives = {
            r["objective"]: (r["progress"], r["status"])
            for r in self.db.execute("SELECT * FROM objective_history WHERE week = ? AND period = ?", key)
        }
        return Snapshot(
            week, date.fromisoformat(row["as_of"]), row["period"], row["overall_progress"], krs, kpis, objectives
        )

    def previous(self, as_of: date, period: str | None = None) -> Snapshot | None:
        """The latest snapshot from a week before `as_of`'s week: what "last week" means.

        With `period`, a snapshot of another OKR period is no "last week": the first week of a
        period has nothing to compare with (None).
        """
        row = self.db.execute(
            "SELECT week, period FROM snapshots WHERE week < ? ORDER BY week DESC, period = ? DESC, as_of DESC "
            "LIMIT 1", (week_key(as_of), period),
        ).fetchone()
        if row is None or (period is not None and row["period"] != period):
            return None
        return self.snapshot(row["week"], row["period"])

    def last_good(self, period: str, as_of: date) -> LastGoodValues:
        """Each KPI's latest value in `period` up to `as_of` (this week's included), and each KR's
        latest start and target: what a run shows for the numbers it cannot compute."""
        week = week_key(as_of)
        kpis: dict[str, LastGood] = {}
        # The newest value by the day it is from, not by the week that last showed it: a week
        # that carried an older value (its read failed) never hides one a backfill measured since.
        for r in self.db.execute(
            "SELECT k.kpi_id, k.value, COALESCE(k.value_as_of, k.as_of) AS day, k.as_of, k.measured_as_of "
            "FROM kpi_history k WHERE k.period = ? AND k.week <= ? AND k.value IS NOT NULL "
            "AND COALESCE(k.value_as_of, k.as_of) <= ? ORDER BY day, k.as_of",
            (period, week, as_of.isoformat()),
        ):
            day = date.fromisoformat(r["day"])
            kept = kpis.get(r["kpi_id"])
            if r["measured_as_of"] is not None:  # the run that measured it, kept by every run carrying it
                run = date.fromisoformat(r["measured_as_of"])
            elif kept is not None and (kept.as_of, kept.value) == (day, r["value"]):
                continue  # a history from before measured_as_of: the first run showing the value measured it
            else:
                run = date.fromisoformat(r["as_of"])
            kpis[r["kpi_id"]] = LastGood(r["value"], day, run)
        for r in self.db.execute("SELECT kpi_id, points FROM kpi_series WHERE period = ?", (period,)):
            if (kept := kpis.get(r["kpi_id"])) is not None:
                points = tuple((date.fromisoformat(a), date.fromisoformat(b), float(v))
                               for a, b, v in json.loads(r["points"]) if date.fromisoformat(b) <= as_of)
                kpis[r["kpi_id"]] = replace(kept, series=points)
        key_results: dict[str, tuple[float | None, float | None]] = {}
        for r in self.db.execute(
            "SELECT k.kr_id, k.start, k.target FROM kr_history k "
            "WHERE k.period = ? AND k.week <= ? AND k.target IS NOT NULL ORDER BY k.week",
            (period, week),
        ):
            key_results[r["kr_id"]] = (r["start"], r["target"])
        return LastGoodValues(kpis, key_results)

    def kr_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM kr_history ORDER BY week, as_of, objective, kr_id").fetchall()

    def checkins(self) -> list[CheckIn]:
        """Every check-in kept, oldest first."""
        return [
            CheckIn(r["kr_id"], r["week"], datetime.fromisoformat(r["at"]), r["confidence"], r["comment"], r["value"],
                    r["by_name"], r["origin"], r["row"])
            for r in self.db.execute("SELECT * FROM checkins ORDER BY week, at, rowid")
        ]

    def kpi_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM kpi_history ORDER BY week, as_of, kpi_id").fetchall()

    # --- what jobs already did -----------------------------------------------------

    def digest_sent(self, week: str, audience: str) -> bool:
        row = self.db.execute("SELECT 1 FROM digests WHERE week = ? AND audience = ?", (week, audience)).fetchone()
        return row is not None

    def newest_digest_week(self, audience: str) -> str | None:
        """The latest ISO week ('2026-W49') whose digest went to `audience`, if any."""
        row = self.db.execute("SELECT MAX(week) FROM digests WHERE audience = ?", (audience,)).fetchone()
        return row[0] if row else None

    def mark_digest_sent(self, week: str, audience: str, message_id: str | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?)",
            (week, audience, datetime.now(UTC).isoformat(timespec="seconds"), message_id),
        )

    def chat_posted(self, week: str, audience: str, channel: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM chat_posts WHERE week = ? AND audience = ? AND channel = ?", (week, audience, channel)
        ).fetchone()
        return row is not None

    def mark_chat_posted(self, week: str, audience: str, channel: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO chat_posts VALUES (?, ?, ?, ?)",
            (week, audience, channel, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    # --- alerts ------------------------------------------------------------------

    def alert_state(self) -> str | None:
        """The alert state (JSON, see `sheetsync.core.alerts.AlertState`) the last sync left; None before any."""
        row = self.db.execute("SELECT state FROM alert_state WHERE name = 'alerts'").fetchone()
        return None if row is None else str(row[0])

    def save_alerts(self, state: str, events: list[tuple[str, str, str, str, str]]) -> None:
        """Keep the new state and log (as_of, rule, condition, event, message) per alert, in one transaction."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO alert_state VALUES ('alerts', ?, ?)", (state, now))
            self.db.executemany("INSERT INTO alert_log VALUES (?, ?, ?, ?, ?, ?)", [(now, *e) for e in events])

    def alert_log(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM alert_log ORDER BY rowid").fetchall()

    def record_job(
        self, job: str, *, ok: bool, detail: str = "", when: datetime | None = None, outcome: str | None = None
    ) -> None:
        """Note a finished run of `job` that started at `when`; `outcome` refines ok/failed (e.g. "stale")."""
        stamp = (when or datetime.now(UTC)).isoformat(timespec="seconds")
        self.db.execute(
            "INSERT INTO job_runs (job, last_success, last_attempt, outcome, detail) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(job) DO UPDATE SET last_attempt = excluded.last_attempt, outcome = excluded.outcome, "
            "detail = excluded.detail, last_success = COALESCE(excluded.last_success, job_runs.last_success)",
            (job, stamp if ok else None, stamp, outcome or ("ok" if ok else "failed"), detail),
        )

    def last_job_run(self, job: str) -> sqlite3.Row | None:
        """The job's row: last_success, last_attempt, outcome and detail of the last attempt."""
        return self.db.execute("SELECT * FROM job_runs WHERE job = ?", (job,)).fetchone()

    def last_success(self, job: str) -> datetime | None:
        row = self.db.execute("SELECT last_success FROM job_runs WHERE job = ?", (job,)).fetchone()
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])


def _series_json(series: tuple[SeriesPoint, ...]) -> str:
    """A series' complete, measured buckets as `[["start", "end", value], ...]`, as `last_good` reads them."""
    return "[" + ",".join(f'["{_bucket_text(p.start, p.end)}",{float(p.value)!r}]'  # a finite float's repr is JSON
                          for p in series if p.complete and p.value is not None and math.isfinite(p.value)) + "]"


@functools.lru_cache(maxsize=1024)
def _bucket_text(start: date, end: date) -> str:
    return f'{start.isoformat()}","{end.isoformat()}'  # every KPI of a grain shares its buckets


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text)


def repair_history(state_dir: str | Path, *, now: datetime | None = None) -> str:
    """Check the history database; a damaged one is moved aside (never deleted) and a fresh one started.

    Only ever run on request (`sheetsync history repair`): a run that finds the history
    damaged stops and says so, so no run silently forgets the past.
    """
    path = Path(state_dir) / HISTORY_FILE
    if not path.exists():
        return f"{path}: no history yet; nothing to repair"
    problem = None
    try:
        with History(path) as history:
            verdict = history.db.execute("PRAGMA integrity_check").fetchone()[0]
            weeks = len(history.weeks())
        if verdict != "ok":
            problem = f"integrity check: {verdict}"
    except HistoryError as exc:
        if "damaged" not in str(exc) and "is a folder" not in str(exc) and "database error" not in str(exc):
            raise  # a full or read-only disk is not cured by starting afresh
        problem = str(exc).split(": ", 1)[1]
    if problem is None:
        return f"{path}: the history is sound ({weeks} weeks); nothing to repair"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        os.replace(path, kept)
        for suffix in ("-wal", "-shm", "-journal"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + suffix))
    except OSError as exc:
        raise history_error(path, exc) from None
    History(path).close()
    return f"{path}: was damaged ({problem[:200]}); moved aside to {kept} (kept) and started a fresh history"
