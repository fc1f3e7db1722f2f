"""Warehouse and database sources (`type = "sql"`, `type = "parquet"`) through Ibis.

A KPI over a billion-row table is computed where the data lives: for each source the engine
gets a few queries (one grouped by date segment for the decomposable aggregations and how fresh
each KPI is, two-level distinct counts per date and value column, one with a filtered aggregate
per window for median) and sends back a handful of rows.
Window edges are sheetsync's own calendar days (`sheetsync.core.windows`), compared with the
date column as literals, so no engine's `date_trunc` (week start, time zone) is involved.

What the engine cannot compute with sheetsync's meaning falls back to fetching only the
columns and dates that KPI needs, parsed by sheetsync's own cell parser, with a note: numbers
or dates stored as text, or an aggregation the engine lacks.

Connection URLs carry passwords: every message shows `redact(url)`, never the URL itself.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.atomic import describe_os_error
from connectors.base import SourceAccessDenied, SourceData, SourceError, SourceNotFound, SourceUnavailable
from connectors.ibis_filter import DayEdges, FilterCompileError, compile_filter, day_at_least, day_at_most, time_kind
from connectors.scratch import Scratch, folder_for, make_scratch
from sheetsync.core.kpis import KPIDataError, _missing_column, prepare_kpi_rows
from sheetsync.core.model import KPIConfig, SourceConfig
from sheetsync.core.windows import (
    DECOMPOSABLE,
    Partial,
    Window,
    WindowRecorder,
    WindowValues,
    segments,
    window_values,
)

CONNECT_TIMEOUT = 15  # seconds to reach a server before the source counts as unavailable
EXTRAS = {"postgres": "postgres", "pyspark": "spark", "bigquery": "bigquery", "snowflake": "snowflake",
          "trino": "trino", "mysql": "mysql"}
_SECRET_PARAM = re.compile(r"pass|secret|token|key|credential|auth", re.IGNORECASE)


# --- URLs -------------------------------------------------------------------------------


def redact(url: str) -> str:
    """The URL without its password or secret query parameters, for messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}" if userinfo.split(":", 1)[0] else host
    query = "&".join(
        f"{k}={v}" for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not _SECRET_PARAM.search(k)
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _secrets(url: str) -> list[str]:
    """The pieces of a URL that must never appear in a message."""
    parts = urllib.parse.urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in urllib.parse.parse_qsl(parts.query) if _SECRET_PARAM.search(k) and v]
    return [s for s in found if s]


def source_url(source: SourceConfig) -> str:
    """The source's connection URL, read from the environment when `url_env` names it."""
    if source.url is not None:
        return source.url
    assert source.url_env is not None
    url = os.environ.get(source.url_env)
    if not url:
        raise SourceError(f"environment variable {source.url_env} is not set (it should hold the connection URL)",
                          source=source.name, location=f"${source.url_env}")
    return url


def location(source: SourceConfig) -> str:
    if source.type == "parquet":
        return str(source.path or "")
    try:
        return redact(source_url(source))
    except SourceError:
        return f"${source.url_env}"


def duckdb_path(url: str, root: Path | None) -> str:
    """SQLAlchemy's form: three slashes for a path relative to the config, four for absolute."""
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if rest in ("", "/", "/:memory:", ":memory:"):
        return ":memory:"
    path = rest[1:] if rest.startswith("/") else rest
    return str((root or Path()) / path)  # an absolute path stays as it is


# --- connecting ---------------------------------------------------------------------------


@dataclass
class Connection:
    """An open Ibis backend with the source's table, and the source's one time budget.

    `timeout` bounds the source's whole set of queries, not each one: the budget starts when
    the source is opened, and each statement may run for what is left of it (the engine's own
    limit set to that before the statement, and a timer that cancels it).
    """

    source: SourceConfig
    backend: Any
    table: Any
    where: str
    secrets: list[str]
    deadline: float = math.inf  # time.monotonic() by which every query of the source must end
    scratch: Scratch | None = None  # DuckDB's spill folder, held while open and removed on close

    @property
    def name(self) -> str:
        return str(self.backend.name)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, expr: Any) -> pd.DataFrame:
        """Execute within what is left of the source's timeout; engine errors become SourceErrors."""
        left = self.remaining()
        if left <= 0:
            raise self.timed_out()
        try:
            limit_statement(self.backend, self.name, left)
        except Exception as exc:
            raise self.error(exc) from None
        done, cancelled = threading.Event(), threading.Event()

        def watch() -> None:
            # Past the budget, cancel again and again until the statement returns: a cancel that
            # lands before the engine has begun the statement (the client still preparing it, on
            # a busy machine) is a no-op, and the statement would then run unbounded.
            if done.wait(left):
                return
            cancelled.set()
            while True:
                self._cancel()
                if done.wait(_RECANCEL_SECONDS):
                    return

        watcher = threading.Thread(target=watch, name=f"timeout {self.source.name}", daemon=True)
        watcher.start()
        try:
            return expr.execute()
        except Exception as exc:
            if cancelled.is_set() or _looks_cancelled(exc):
                raise self.timed_out() from None
            raise self.error(exc) from None
        finally:
            done.set()

    def timed_out(self) -> SourceUnavailable:
        return _timed_out(self.source, self.where)

    def _cancel(self) -> None:
        try:
            if self.name == "duckdb":
                self.backend.con.interrupt()
            elif self.name == "pyspark":
                self.backend._session.sparkContext.cancelAllJobs()
            # The others stop on their own: the engine's limit was set to the budget left.
        except Exception:  # the statement may have just finished
            pass

    def error(self, exc: BaseException) -> SourceError:
        if _looks_cancelled(exc) or self.remaining() <= 0:
            return self.timed_out()
        return engine_error(exc, self.source, self.where, self.secrets)

    def close(self) -> None:
        if self.name != "pyspark":  # the Spark session belongs to the process: a new JVM costs the next run
            with contextlib.suppress(Exception):
                self.backend.disconnect()
        _remove(self.scratch)


_RECANCEL_SECONDS = 0.2  # how often a statement past its source's timeout is cancelled again


def _timed_out(source: SourceConfig, where: str) -> SourceUnavailable:
    return SourceUnavailable(
        f"its queries ran longer than the source's timeout ({source.timeout:g} s) and were cancelled",
        source=source.name, location=where)


def _millis(seconds: float) -> int:
    """A budget in whole milliseconds, rounded up and never 0 (which engines read as no limit)."""
    return max(1, math.ceil(seconds * 1000))


def _whole_seconds(seconds: float) -> int:
    """A budget in whole seconds, for engines whose limit has no finer unit; never 0."""
    return max(1, math.ceil(seconds))


def connect_arguments(scheme: str, seconds: float) -> dict[str, Any]:
    """What `ibis.connect` hands the driver so the engine itself stops a statement after `seconds`.

    PostgreSQL: `statement_timeout` (and libpq's connect_timeout); Snowflake: the session's
    STATEMENT_TIMEOUT_IN_SECONDS (and the connector's login_timeout); Trino: the
    `query_max_run_time` session property. BigQuery's job timeout is set on the client's
    default job config instead (`limit_statement`), as Ibis builds that client itself.
    """
    ms = _millis(seconds)
    connect_within = max(2, min(CONNECT_TIMEOUT, math.ceil(seconds)))
    if scheme == "postgres":
        return {"connect_timeout": connect_within, "options": f"-c statement_timeout={ms}"}
    if scheme == "snowflake":
        return {"login_timeout": connect_within,
                "session_parameters": {"STATEMENT_TIMEOUT_IN_SECONDS": _whole_seconds(seconds)}}
    if scheme == "trino":
        return {"session_properties": {"query_max_run_time": f"{ms}ms"}}
    return {}


def _credentials(scheme: str, url: str, source: SourceConfig, where: str) -> dict[str, Any]:
    """What the driver needs to sign in without asking anyone.

    BigQuery: the application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, or the
    machine's service account), found here; without them Ibis would start an interactive
    browser sign-in, which a scheduled sync would wait on forever. Trino: a URL's password as
    BasicAuthentication over HTTPS (Ibis passes it on as a bare string).
    """
    if scheme == "bigquery":
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/bigquery"])
        except DefaultCredentialsError:
            raise SourceAccessDenied("no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service "
                                     "account's key file", source=source.name, location=where) from None
        return {"credentials": credentials}
    parts = urllib.parse.urlsplit(url)
    if scheme != "trino" or not parts.password:
        return {}
    from trino.auth import BasicAuthentication

    user = urllib.parse.unquote_plus(parts.username or "")
    return {"auth": BasicAuthentication(user, urllib.parse.unquote_plus(parts.password)), "http_scheme": "https"}


def statement_limit(engine: str, seconds: float) -> str | None:
    """The SQL that sets the engine's own limit for the next statement to `seconds` (None: not by SQL)."""
    ms = _millis(seconds)
    if engine == "postgres":
        return f"SET statement_timeout = {ms}"
    if engine == "snowflake":
        return f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {_whole_seconds(seconds)}"
    if engine == "trino":
        return f"SET SESSION query_max_run_time = '{ms}ms'"
    return None


def limit_statement(backend: Any, engine: str, seconds: float) -> None:
    """Give the engine's own limit the budget left before a statement (DuckDB and Spark: the timer)."""
    if engine == "bigquery":
        backend.client.default_query_job_config.job_timeout_ms = _millis(seconds)
        return
    sql = statement_limit(engine, seconds)
    if sql is not None:
        cursor = backend.raw_sql(sql)
        with contextlib.suppress(Exception):
            cursor.close()


def connect(source: SourceConfig) -> Connection:
    """Open the source's database (or Parquet files) and its table or query."""
    import ibis

    deadline = time.monotonic() + source.timeout
    where = location(source)
    if source.type == "parquet":
        scratch = _scratch(source, {}, where)
        try:
            backend = _quiet(ibis.duckdb.connect(**duckdb_settings(source, {}, scratch)))
        except BaseException:  # not held by a connection yet: let go of it here
            _remove(scratch)
            raise
        conn = Connection(source, backend, None, where, [], deadline, scratch)
        pattern = str(source.path or "")
        paths = sorted(_glob(pattern))
        if not paths:
            conn.close()
            raise SourceNotFound("no such Parquet file" if not any(c in pattern for c in "*?[")
                                 else "no Parquet file matches", source=source.name, location=where)
        try:
            conn.table = backend.read_parquet(paths)
        except Exception as exc:
            conn.close()
            raise conn.error(exc) from None
        return _prepared(conn)
    url = source_url(source)
    secrets = _secrets(url)
    scheme = url.split("://", 1)[0].lower().split("+")[0].replace("postgresql", "postgres")
    scratch = None
    try:
        if scheme == "duckdb":
            path = duckdb_path(url, source.root)
            if path != ":memory:" and not os.path.exists(path):
                raise SourceNotFound("no such DuckDB database file", source=source.name, location=where)
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))  # e.g. ?threads=1
            scratch = _scratch(source, query, where)
            backend = _quiet(ibis.duckdb.connect(path, read_only=path != ":memory:",
                                                 **duckdb_settings(source, query, scratch)))
        elif scheme == "pyspark":
            backend = _spark(url)
        else:
            backend = ibis.connect(url, **connect_arguments(scheme, deadline - time.monotonic()),
                                   **_credentials(scheme, url, source, where))
    except SourceError:
        _remove(scratch)
        raise
    except (ImportError, AttributeError) as exc:
        _remove(scratch)
        extra = EXTRAS.get(scheme)
        how = f'pip install "sheetsync[{extra}]"' if extra else f'pip install "ibis-framework[{scheme}]"'
        raise SourceError(f"the {scheme} backend is not installed ({_first_line(exc, secrets)}): {how}",
                          source=source.name, location=where) from None
    except Exception as exc:
        _remove(scratch)
        if _looks_cancelled(exc) or time.monotonic() >= deadline:
            raise _timed_out(source, where) from None
        raise engine_error(exc, source, where, secrets) from None
    conn = Connection(source, backend, None, where, secrets, deadline, scratch)
    try:
        if source.query is not None:
            conn.table = backend.sql(source.query)
        else:
            assert source.table is not None
            *schema, name = source.table.split(".")
            database = tuple(schema) if len(schema) > 1 else (schema[0] if schema else None)
            conn.table = backend.table(name, database=database)
    except Exception as exc:
        conn.close()
        raise conn.error(exc) from None
    return _prepared(conn)


def duckdb_settings(source: SourceConfig, query: Mapping[str, str], scratch: Scratch | str | None) -> dict[str, Any]:
    """The embedded engine's settings: a bounded memory that spills to a scratch folder.

    DuckDB keeps every block it has read cached up to its memory limit (80% of RAM by its own
    default), so the sync's peak memory would grow with the table. `memory_limit` (the source's
    key, else the URL's `?memory_limit=`, else a quarter of RAM) caps it; what an aggregation
    needs beyond it spills to the source's scratch folder (`connectors.scratch`), removed when
    the source is closed, unless the URL names a `?temp_directory=` of its own.
    """
    settings: dict[str, Any] = dict(query)
    settings["memory_limit"] = source.memory_limit or settings.get("memory_limit") or default_memory_limit()
    if scratch is not None:
        settings.setdefault("temp_directory", str(scratch))
    return settings


def _scratch(source: SourceConfig, query: Mapping[str, str], where: str) -> Scratch | None:
    """The source's own spill folder, unless its URL sends DuckDB's spill files elsewhere."""
    if "temp_directory" in query:
        return None
    base = folder_for(source.scratch_dir)
    try:
        return make_scratch(base)
    except OSError as exc:
        raise SourceError(f"cannot make a folder for DuckDB's spill files in {base}: {describe_os_error(exc)}",
                          source=source.name, location=where) from None


def _quiet(backend: Any) -> Any:
    """No progress bar on a long query: a sync's output is a log, not a terminal."""
    backend.con.execute("SET enable_progress_bar = false")
    return backend


def default_memory_limit() -> str:
    """A quarter of the memory this process may use (the machine's, or its container's), in DuckDB's notation."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2GB"
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(Path(limit_file).read_text().strip()))  # "max" (no limit) is not a number
    return f"{max(256, total // 4 // 2**20)}MiB"


def _remove(scratch: Scratch | None) -> None:
    if scratch is not None:
        scratch.close()


def _spark(url: str) -> Any:
    """`pyspark://?spark.master=local[2]&...`: every parameter is Spark config, set as the session starts.

    (Ibis's own URL form sets them again on the running session, which Spark refuses for
    static settings such as spark.master.)
    """
    import ibis
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("sheetsync")
    for key, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query):
        builder = builder.config(key, value)
    return ibis.pyspark.connect(builder.getOrCreate())


def _glob(pattern: str) -> Iterable[str]:
    import glob

    return [p for p in glob.glob(pattern) if os.path.isfile(p)]


def _prepared(conn: Connection) -> Connection:
    """The table with the source's rename and filter applied, as the KPIs see it."""
    source = conn.source
    table = conn.table
    if source.rename:
        missing = [old for old in source.rename if old not in table.columns]
        if missing:
            conn.close()
            raise SourceError(f"rename: no column {missing[0]!r} in the table", source=source.name,
                              location=conn.where)
        table = table.rename({new: old for old, new in source.rename.items()})
    conn.table = table
    return conn


def engine_error(exc: BaseException, source: SourceConfig, where: str, secrets: Sequence[str]) -> SourceError:
    """One line naming the source, of the kind that says what to do about it."""
    message = _first_line(exc, secrets)
    if type(exc).__name__ == "TableNotFound":  # Ibis's: its text is the bare name
        message = f"table {message!r} not found (check the source's table, or that it was not dropped or renamed)"
    lowered = message.lower()
    kind: type[SourceError] = SourceError
    if any(w in lowered for w in ("password", "permission denied", "access denied", "not authorized",
                                  "insufficient privilege", "authentication", "forbidden")):
        kind = SourceAccessDenied
    elif any(w in lowered for w in ("does not exist", "not found", "no such", "catalog error",
                                    "table_or_view_not_found", "cannot open")):
        kind = SourceNotFound
    elif "out of memory" in lowered and source.is_warehouse:
        message = message.split(" (", 1)[0] + ": raise the source's memory_limit (or the server's memory)"
    elif any(w in lowered for w in ("connection refused", "could not connect", "connection failed", "timeout",
                                    "timed out", "could not translate host", "name or service not known",
                                    "connection reset", "server closed", "network")):
        kind = SourceUnavailable
    return kind(message, source=source.name, location=where)


def _first_line(exc: BaseException, secrets: Sequence[str]) -> str:
    text = str(exc).strip() or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else type(exc).__name__
    # psycopg's 'connection failed: connection to server at "h", port 5432 failed: FATAL:  ...'
    line = re.sub(r"^connection failed:\s*", "", line)
    line = re.sub(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed:\s*', "", line)
    line = re.sub(r"^(?:FATAL|ERROR):\s+", "", line)
    return line if len(line) <= 300 else line[:297] + "..."


def _looks_cancelled(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "statement timeout" in text or "interrupt" in text or "querycanceled" in text


# --- reading: row count and date ranges (check) ----------------------------------------


def describe(
    source: SourceConfig, date_columns: Iterable[str], tz: str = "UTC"
) -> tuple[SourceData, dict[str, tuple[Any, Any]]]:
    """Rows, columns and each date column's first and last value, from one cheap query."""
    conn = connect(source)
    try:
        table = _source_filtered(conn, source, tz)
        columns = [c for c in dict.fromkeys(date_columns) if c in table.columns]
        metrics = {"rows": table.count()}
        for i, column in enumerate(columns):
            metrics[f"first_{i}"] = table[column].min()
            metrics[f"last_{i}"] = table[column].max()
        got = conn.run(table.aggregate(**metrics)).iloc[0]
        spans = {c: (got[f"first_{i}"], got[f"last_{i}"]) for i, c in enumerate(columns)}
        data = SourceData(source.name, source.type, conn.where, None, datetime.now(UTC), pd.DataFrame(),
                          row_count=int(got["rows"]), table_columns=tuple(conn.table.columns))
        return data, spans
    finally:
        conn.close()


def _source_filtered(conn: Connection, source: SourceConfig, tz: str) -> Any:
    """The source's table as its KPIs and filters see it: float NaN and infinities as NULL, then
    the source's own filter."""
    table = conn.table if conn.name == "mysql" else _finite(conn.table)  # MySQL stores no NaN (nor has ISNAN)
    if not source.filter:
        return table
    try:
        condition = compile_filter(source.filter, table, tz=tz, backend=conn.name, key=f"sources.{source.name}.filter")
    except FilterCompileError as exc:
        raise SourceError(str(exc), source=source.name, location=conn.where) from None
    return table.filter(condition)


# --- reading: KPI values pushed down ----------------------------------------------------


@dataclass
class _Plan:
    """How one KPI is computed: its columns as Ibis expressions and where its numbers come from."""

    kpi: KPIConfig
    windows: set[Window]
    keep: Any  # the KPI's filter as a boolean expression (or None)
    value: Any  # the value column, cleaned (None for a row count)
    order: Any  # the date column, for first/last and the segments
    edges: DayEdges | None
    table: Any = None
    how: str = "segments"  # segments | windows | fetch
    why: str = ""  # for `fetch`: what the engine cannot do


def read_warehouse_sources(
    sources: Iterable[SourceConfig], kpis: Iterable[KPIConfig], plan: Mapping[str, WindowRecorder], tz: str
) -> dict[str, SourceData | SourceError]:
    """Every warehouse source's KPI values, or the `SourceError` that stopped that source only."""
    by_source: dict[str, list[KPIConfig]] = {}
    for kpi in kpis:
        if kpi.source is not None:
            by_source.setdefault(kpi.source, []).append(kpi)
    results: dict[str, SourceData | SourceError] = {}
    for source in sources:
        try:
            results[source.name] = read_pushdown(source, by_source.get(source.name, []), plan, tz)
        except SourceError as exc:
            results[source.name] = exc
    return results


def read_pushdown(
    source: SourceConfig, kpis: Sequence[KPIConfig], plan: Mapping[str, WindowRecorder], tz: str
) -> SourceData:
    """Each KPI's values for the windows the sync asks of it, computed by the engine."""
    conn = connect(source)
    try:
        return _pushdown(conn, source, kpis, plan, tz)
    finally:
        conn.close()


def _pushdown(
    conn: Connection, source: SourceConfig, kpis: Sequence[KPIConfig], plan: Mapping[str, WindowRecorder], tz: str
) -> SourceData:
    import ibis

    table = _source_filtered(conn, source, tz)
    available = list(table.columns)
    schema = table.schema()
    warnings: list[str] = []
    errors: dict[str, str] = {}
    plans: list[_Plan] = []
    for kpi in kpis:
        try:
            asked = plan.get(kpi.id)
            plans.append(_plan_kpi(kpi, asked.windows if asked else set(), table, schema, available, tz, conn.name))
        except (KPIDataError, FilterCompileError) as exc:
            errors[kpi.id] = str(exc)
    values: dict[str, Any] = {}
    through_found: dict[str, dict[date | None, date | None]] = {}
    queries = 0
    row_count = 0

    # Segments: one grouped query per date column for the decomposable aggregations.
    by_date: dict[str, list[_Plan]] = {}
    for p in plans:
        if p.how == "segments":
            by_date.setdefault(str(p.kpi.date_column), []).append(p)
    for date_column, group in by_date.items():
        for p in group:
            _check_compiles(p, table, conn.name, _partial_metrics(p, "k", p.keep))
        group = [p for p in group if p.how == "segments"]
        if not group:
            continue
        edges = group[0].edges
        assert edges is not None
        cuts = segments(w for p in group for w in p.windows)
        if not cuts:
            for p in group:
                values[p.kpi.id] = WindowValues(p.kpi.agg, window_values(p.kpi.agg, p.windows, {}))
            continue
        column = table[date_column]
        # Only the planned dates are read (a partitioned table prunes the rest); the plans are
        # rebuilt over that filtered relation, as Ibis wants each expression on its own table.
        span = table.filter(day_at_least(column, cuts[0][0], edges) & day_at_most(column, cuts[-1][1], edges))
        group = [_plan_kpi(p.kpi, p.windows, span, schema, available, tz, conn.name) for p in group]
        column = span[date_column]
        segment = ibis.cases(*[(day_at_least(column, lo, edges) & day_at_most(column, hi, edges), i)
                               for i, (lo, hi) in enumerate(cuts)], else_=ibis.null().cast("int64"))
        # How fresh each KPI on this date column is, where a segment ends on a day asked.
        fresh = [_plan_kpi(q.kpi, q.windows, span, schema, available, tz, conn.name) for q in plans
                 if q.how != "fetch" and q.edges is not None and str(q.kpi.date_column) == date_column
                 and plan.get(q.kpi.id)]
        flagged, keeps = _flagged(span, group + fresh)
        metrics: dict[str, Any] = {"rows__": flagged.count()}
        for i, p in enumerate(group):
            metrics.update(_partial_metrics(replace(p, table=flagged), f"k{i}_", keeps.get(p.kpi.id)))
        newest, chosen = _newest_metrics(fresh, keeps)
        metrics.update(newest)
        rows = conn.run(flagged.group_by(segment__=segment).aggregate(**metrics)).to_dict("records")
        queries += 1
        # The rows read: a query per date column reads the same table again, not more of its rows.
        row_count = max(row_count, int(sum(_number(r["rows__"]) or 0 for r in rows)))
        by_segment = {int(r["segment__"]): r for r in rows if _present(r["segment__"])}
        for i, p in enumerate(group):
            parts = {cuts[k]: _partial(p, f"k{i}_", r) for k, r in by_segment.items()}
            values[p.kpi.id] = WindowValues(p.kpi.agg, window_values(p.kpi.agg, p.windows, parts))
        last_day = {hi: k for k, (_, hi) in enumerate(cuts)}
        for q, name in zip(fresh, chosen, strict=True):
            for end in plan[q.kpi.id].ends:
                # Rows of the segment ending on `end` are the latest on or before it: when it
                # holds a value, that is the answer; else the query below looks further back.
                row = by_segment.get(last_day.get(end, -1)) if end is not None else None
                if row is not None and _present(row[name]):
                    through_found.setdefault(q.kpi.id, {})[end] = _day(row[name], tz)

    # Distinct counts: one query per date and value column (see `_distinct_counts`).
    by_pair: dict[tuple[str, str], list[_Plan]] = {}
    for p in plans:
        if p.how == "distinct":
            if any(w[0] is None or w[1] is None for w in p.windows):
                p.how = "windows"  # an undated window: the filtered COUNT(DISTINCT) below
            else:
                by_pair.setdefault((str(p.kpi.date_column), str(p.kpi.column)), []).append(p)
    for group in by_pair.values():
        counts = _distinct_counts(conn, table, group, schema, available, tz)
        if counts is None:  # the engine has no arrays to unnest
            for p in group:
                p.how = "windows"
            continue
        queries += 1
        values.update(counts)

    # Windows: one single-row query with a filtered aggregate per (KPI, window).
    windowed = [p for p in plans if p.how == "windows"]
    for p in windowed:
        _check_compiles(p, table, conn.name, _window_metrics(p, "k", None, p.keep))
    windowed = [p for p in windowed if p.how == "windows"]
    if windowed:
        metrics = {}
        names: dict[str, list[tuple[Window, str]]] = {}
        for i, p in enumerate(windowed):
            for j, window in enumerate(sorted(p.windows, key=_window_key)):
                keep = p.keep
                if window != (None, None):
                    inside = _in_window(p.order, window, p.edges)
                    keep = inside if keep is None else keep & inside
                prefix = f"k{i}_{j}_"
                metrics.update(_window_metrics(p, prefix, window, keep))
                names.setdefault(p.kpi.id, []).append((window, prefix))
        row = conn.run(table.aggregate(**metrics)).iloc[0]
        queries += 1
        for p in windowed:
            values[p.kpi.id] = WindowValues(
                p.kpi.agg, {window: _window_value(p, prefix, row) for window, prefix in names[p.kpi.id]})

    # Freshness: the newest dated row holding a value, up to each day the sync asks about.
    dated = [p for p in plans if p.how != "fetch" and p.edges is not None and plan.get(p.kpi.id)]
    asked = {p.kpi.id: {e for e in plan[p.kpi.id].ends if e not in through_found.get(p.kpi.id, {})} for p in dated}
    todo = [p for p in dated if asked[p.kpi.id]]
    if todo:
        for p, through in zip(todo, _freshness(conn, table, todo, asked, tz), strict=True):
            through_found.setdefault(p.kpi.id, {}).update(through)
        queries += 1
    for p in dated:
        values[p.kpi.id] = replace(values[p.kpi.id], through=through_found.get(p.kpi.id, {}))

    # Fetch: only this KPI's columns and dates, read by sheetsync's own parser.
    cell_warnings: list[str] = []  # each names its source and column already, as a sheet's do
    for p in plans:
        if p.how != "fetch":
            continue
        rows, skipped, fetched = _fetch(conn, table, p, source, tz)
        queries += 1
        row_count = max(row_count, fetched)  # the rows read: at least those a fetch brought
        values[p.kpi.id] = rows
        warnings.append(f"kpis.{p.kpi.id}: {p.why}, so its {fetched} values were fetched and computed here")
        cell_warnings.extend(skipped)
    data = SourceData(source.name, source.type, conn.where, None, datetime.now(UTC), pd.DataFrame(), warnings,
                      kpi_values=values, kpi_errors=errors, row_count=row_count, table_columns=tuple(available),
                      queries=queries, kpi_warnings=tuple(cell_warnings))
    return data


def _freshness(
    conn: Connection, table: Any, dated: list[_Plan], asked: Mapping[str, set[date | None]], tz: str
) -> list[dict[date | None, date | None]]:
    """Per KPI, the newest day holding a value on or before each day asked, from one grouped query.

    Rows are grouped by which of the asked days they fall before (per date column), with one
    filtered maximum per distinct (date column, value column, filter): KPIs that share those
    share the answer, and the engine computes one maximum per row instead of one per asked day.
    """
    import ibis

    days = sorted({d for p in dated for d in asked[p.kpi.id] if d is not None})
    bucket_of = {c: f"b{i}" for i, c in enumerate(dict.fromkeys(str(p.kpi.date_column) for p in dated))}
    keys: dict[str, Any] = {}
    for p in dated:
        name = bucket_of[str(p.kpi.date_column)]
        if name not in keys:
            keys[name] = ibis.cases(*[(day_at_most(p.order, d, p.edges), k) for k, d in enumerate(days)],
                                    else_=len(days)) if days else ibis.literal(0)
    flagged, keeps = _flagged(table, dated)
    metrics, chosen = _newest_metrics(dated, keeps)
    rows = conn.run(flagged.group_by(**keys).aggregate(**metrics)).to_dict("records")
    out = []
    for metric, p in zip(chosen, dated, strict=True):
        bucket = bucket_of[str(p.kpi.date_column)]
        through: dict[date | None, date | None] = {}
        for end in asked[p.kpi.id]:
            limit = len(days) if end is None else days.index(end)
            found = [r[metric] for r in rows if _present(r[bucket]) and int(r[bucket]) <= limit and _present(r[metric])]
            through[end] = _day(max(found), tz) if found else None
        out.append(through)
    return out


def _newest_metrics(dated: Sequence[_Plan], keeps: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The newest date holding a value, one maximum per distinct (date, value column, filter)."""
    metrics: dict[str, Any] = {}
    chosen: list[str] = []
    seen: dict[tuple[Any, ...], str] = {}
    for p in dated:
        key = (p.kpi.date_column, p.kpi.column if p.value is not None else None,
               p.kpi.agg in ("count", "count_distinct"), str(p.kpi.filter) if p.kpi.filter else None)
        if key not in seen:
            present = p.order.notnull() if p.value is None else p.value.notnull()
            if p.keep is not None:
                present = present & keeps[p.kpi.id]
            seen[key] = f"newest{len(seen)}__"
            metrics[seen[key]] = p.order.max(where=present)
        chosen.append(seen[key])
    return metrics, chosen


def _flagged(table: Any, group: Sequence[_Plan]) -> tuple[Any, dict[str, Any]]:
    """The table with each distinct KPI filter computed once per row, as a boolean column.

    Many KPIs share a filter, and each aggregate's FILTER clause would evaluate it again
    (text filters trim and compare every row): computed once, the aggregates only read it.
    """
    names: dict[str, str] = {}
    flags: dict[str, Any] = {}
    for p in group:
        if p.keep is not None and str(p.kpi.filter) not in names:
            names[str(p.kpi.filter)] = f"keep{len(names)}__"
            flags[names[str(p.kpi.filter)]] = p.keep
    if not flags:
        return table, {}
    flagged = table.mutate(**flags)
    return flagged, {p.kpi.id: flagged[names[str(p.kpi.filter)]] for p in group if p.keep is not None}


def _present(value: Any) -> bool:
    """Not NULL, NaN or NaT (pandas' NaT is also a datetime)."""
    return value is not None and (isinstance(value, str) or not pd.isna(value))


def _distinct_counts(
    conn: Connection, table: Any, group: list[_Plan], schema: Any, available: list[str], tz: str
) -> dict[str, WindowValues] | None:
    """Distinct counts of one column per window for KPIs sharing a date column, in two levels.

    First the distinct (date segment, value, which KPI filters hold) tuples, then each window's
    count of distinct values over them. Both are grouped aggregations, whose memory follows
    the number of distinct values, not of rows, and which DuckDB spills past its memory limit
    (a filtered COUNT(DISTINCT) per window, one hash table each, does neither). None when this
    engine cannot unnest an array: the caller falls back to one COUNT(DISTINCT) per window.
    """
    import ibis
    import ibis.common.exceptions as ibis_errors

    edges = group[0].edges
    assert edges is not None
    date_column = str(group[0].kpi.date_column)
    cuts = segments(w for p in group for w in p.windows)
    found: dict[str, dict[Window, float | None]] = {p.kpi.id: dict.fromkeys(p.windows, 0.0) for p in group}
    out = {p.kpi.id: WindowValues(p.kpi.agg, found[p.kpi.id]) for p in group}
    if not cuts:
        return out
    column = table[date_column]
    span = table.filter(day_at_least(column, cuts[0][0], edges) & day_at_most(column, cuts[-1][1], edges))
    group = [_plan_kpi(p.kpi, p.windows, span, schema, available, tz, conn.name) for p in group]
    column = span[date_column]
    fields: dict[str, Any] = {
        "s": ibis.cases(*[(day_at_least(column, lo, edges) & day_at_most(column, hi, edges), i)
                          for i, (lo, hi) in enumerate(cuts)], else_=ibis.null().cast("int64")),
        "v": group[0].value,
    }
    for i, p in enumerate(group):
        if p.keep is not None:
            fields[f"f{i}"] = p.keep.fill_null(False)
    wanted = group[0].value.notnull()
    if all(p.keep is not None for p in group):
        kept = fields["f0"]
        for i in range(1, len(group)):
            kept = kept | fields[f"f{i}"]
        wanted = wanted & kept
    pairs = span.filter(wanted).select(**fields).distinct()

    # Each (KPI, window) gets a code; a pair counts for the codes whose window holds its segment.
    codes: dict[int, tuple[str, Window]] = {}
    empty = ibis.literal([-1], type="array<int64>")  # no window (an empty array has no type in PostgreSQL)
    expanded = None
    for i, p in enumerate(group):
        per_segment: list[list[int]] = [[] for _ in cuts]
        for window in sorted(p.windows, key=_window_key):
            code = len(codes)
            codes[code] = (p.kpi.id, window)
            for k, (lo, hi) in enumerate(cuts):
                if window[0] <= lo and hi <= window[1]:  # type: ignore[operator]
                    per_segment[k].append(code)
        arrays = [(pairs.s == k, ibis.literal(inside, type="array<int64>")) for k, inside in enumerate(per_segment)
                  if inside]
        if not arrays:
            continue
        these = ibis.cases(*arrays, else_=empty)
        if p.keep is not None:
            these = ibis.ifelse(pairs[f"f{i}"], these, empty)
        expanded = these if expanded is None else expanded.concat(these)
    if expanded is None:
        return out
    both = pairs.select(code=expanded.unnest(), v=pairs.v)
    both = both.filter(both.code >= 0).distinct()
    query = both.group_by("code").aggregate(n=both.count())
    try:
        ibis.to_sql(query, dialect=conn.name)
    except (ibis_errors.OperationNotDefinedError, ibis_errors.UnsupportedOperationError,
            ibis_errors.TranslationError):
        return None
    for row in conn.run(query).to_dict("records"):
        kpi_id, window = codes[int(row["code"])]
        found[kpi_id][window] = float(_number(row["n"]) or 0)
    return out


def _window_key(window: Window) -> tuple[date, date]:
    return (window[0] or date.min, window[1] or date.max)


def _plan_kpi(
    kpi: KPIConfig, windows: set[Window], table: Any, schema: Any, available: list[str], tz: str, backend: str
) -> _Plan:
    for kind, column in (("column", kpi.column), ("date_column", kpi.date_column)):
        if column is not None and column not in available:
            raise _missing_column(kind, column, kpi, available)
    keep = None
    if kpi.filter:
        keep = compile_filter(kpi.filter, table, tz=tz, backend=backend, key=f"kpis.{kpi.id}.filter")
    edges = None
    order = None
    plan = _Plan(kpi, windows, keep, None, None, None, table)
    if kpi.date_column is not None:
        order = table[kpi.date_column]
        kind = time_kind(schema[kpi.date_column], backend)
        if kind is None:
            plan.how, plan.why = "fetch", f"date column {kpi.date_column!r} is {schema[kpi.date_column]}, not a date"
        else:
            edges = DayEdges(kind, tz)
    plan.order, plan.edges = order, edges
    if kpi.column is not None:
        dtype = schema[kpi.column]
        column = table[kpi.column]
        if kpi.agg in ("count", "count_distinct"):
            plan.value = column.strip().nullif("") if dtype.is_string() else column
        elif dtype.is_numeric() and not dtype.is_boolean():
            plan.value = column.cast("float64") if dtype.is_decimal() or dtype.is_integer() else column
        elif plan.how != "fetch":
            plan.how, plan.why = "fetch", f"column {kpi.column!r} is {dtype}, not a number"
    if plan.how == "fetch":
        return plan
    if kpi.agg == "count_distinct" and edges is not None:
        plan.how = "distinct"
    elif kpi.date_column is None or kpi.agg not in DECOMPOSABLE:
        plan.how = "windows"
    return plan


def _finite(table: Any) -> Any:
    """The table with NaN and infinities in its float columns as NULL: no number, as those
    cells are in a sheet, in every aggregate and filter alike.

    The engine's SUM over a NaN is NaN and its MAX is NaN (it sorts above every number, so
    `amount > 60` held for it): left in, one such row made its segment's sum no number (counted
    as 0) and its maximum a crash.
    """
    import ibis

    floats = [name for name, dtype in table.schema().items() if dtype.is_floating()]
    if not floats:
        return table
    return table.mutate(**{
        name: ibis.ifelse(table[name].isnan() | table[name].isinf(), ibis.null().cast(table[name].type()),
                          table[name])
        for name in floats
    })  # fmt: skip


def _check_compiles(p: _Plan, table: Any, backend: str, metrics: Mapping[str, Any]) -> None:
    """An aggregation this engine lacks (median on some) makes the KPI fetch its values instead."""
    import ibis
    import ibis.common.exceptions as ibis_errors

    try:
        ibis.to_sql(table.aggregate(**metrics), dialect=backend)
    except (ibis_errors.OperationNotDefinedError, ibis_errors.UnsupportedOperationError,
            ibis_errors.TranslationError) as exc:
        p.how, p.why = "fetch", f"{backend} cannot compute {p.kpi.agg} ({_first_line(exc, [])})"


def _in_window(order: Any, window: Window, edges: DayEdges | None) -> Any:
    start, end = window
    assert edges is not None and start is not None and end is not None
    return day_at_least(order, start, edges) & day_at_most(order, end, edges)


def _partial_metrics(p: _Plan, prefix: str, keep: Any) -> dict[str, Any]:
    """The per-segment aggregates `Partial` holds, for this KPI's aggregation only."""
    agg = p.kpi.agg
    out: dict[str, Any] = {}
    if agg == "count" and p.value is None:
        out[f"{prefix}values"] = p.order.count(where=keep) if p.order is not None else _count_rows(p.table, keep)
        return out
    value = p.value
    present = value.notnull() if keep is None else (keep & value.notnull())
    out[f"{prefix}values"] = value.count(where=keep)
    if agg in ("sum", "mean"):
        out[f"{prefix}rows"] = _count_rows(p.table, keep)
        out[f"{prefix}total"] = value.sum(where=keep)
    elif agg == "min":
        out[f"{prefix}low"] = value.min(where=keep)
    elif agg == "max":
        out[f"{prefix}high"] = value.max(where=keep)
    elif agg == "first":
        out[f"{prefix}fkey"] = p.order.min(where=present)
        out[f"{prefix}fval"] = value.argmin(p.order, where=present)
    elif agg == "last":
        out[f"{prefix}lkey"] = p.order.max(where=present)
        out[f"{prefix}lval"] = value.argmax(p.order, where=present)
    return out


def _count_rows(table: Any, keep: Any) -> Any:
    return table.count(where=keep) if keep is not None else table.count()


def _partial(p: _Plan, prefix: str, row: Mapping[str, Any]) -> Partial:
    def get(name: str) -> Any:
        value = row.get(prefix + name)
        return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value

    first = (get("fkey"), _number(get("fval"))) if get("fkey") is not None else None
    last = (get("lkey"), _number(get("lval"))) if get("lkey") is not None else None
    return Partial(
        rows=int(_number(get("rows")) or 0),
        values=int(_number(get("values")) or 0),
        total=_number(get("total")),
        low=_number(get("low")),
        high=_number(get("high")),
        first=first,  # type: ignore[arg-type]
        last=last,  # type: ignore[arg-type]
    )


def _window_metrics(p: _Plan, prefix: str, window: Window | None, keep: Any) -> dict[str, Any]:
    """Aggregates over one window (filtered by `keep`), for a single-row query."""
    import ibis

    agg = p.kpi.agg
    if agg == "median":
        # The median of the kept values, written without `where=`: Spark refuses a filtered percentile.
        chosen = p.value if keep is None else ibis.ifelse(keep, p.value, ibis.null().cast(p.value.type()))
        return {f"{prefix}median": chosen.median(), f"{prefix}values": p.value.count(where=keep)}
    if agg == "count_distinct":
        return {f"{prefix}distinct": p.value.nunique(where=keep)}
    if agg == "count" and p.value is None:
        return {f"{prefix}values": _count_rows(p.table, keep)}
    metrics = _partial_metrics(p, prefix, keep)
    return metrics


def _window_value(p: _Plan, prefix: str, row: Mapping[str, Any]) -> float | None:
    agg = p.kpi.agg
    if agg == "median":
        return _number(row[f"{prefix}median"]) if (_number(row[f"{prefix}values"]) or 0) > 0 else None
    if agg == "count_distinct":
        return float(_number(row[f"{prefix}distinct"]) or 0)
    from sheetsync.core.windows import combine

    return combine(agg, [_partial(p, prefix, row)])


def _day(value: Any, tz: str) -> date | None:
    """A date or timestamp from the engine as the project's calendar day."""
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(tz)
    return stamp.date()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _fetch(conn: Connection, table: Any, p: _Plan, source: SourceConfig, tz: str) -> tuple[Any, list[str], int]:
    """The KPI's own columns over its dates, computed locally as for a sheet."""
    kpi = p.kpi
    columns = list(dict.fromkeys(c for c in (kpi.date_column, kpi.column) if c is not None))
    chosen = table if p.keep is None else table.filter(p.keep)
    dated = [w for w in p.windows if w[0] is not None and w[1] is not None]
    if dated and p.edges is not None:
        first = min(w[0] for w in dated)  # type: ignore[type-var]
        last = max(w[1] for w in dated)  # type: ignore[type-var]
        chosen = chosen.filter(_in_window(p.order, (first, last), p.edges))
    frame = conn.run(chosen.select(*columns))
    local = replace(kpi, filter=None)
    rows, warnings = prepare_kpi_rows(frame.reset_index(drop=True), local, replace(source, filter=None), tz=tz)
    return rows, warnings, len(frame)
