"""One events table written as CSV, Parquet, DuckDB and PostgreSQL, and a config over it.

The config asks every aggregation over every window and grain, with filters in sheetsync's
own language, formulas and a previous-period baseline, so that the equivalence tests run
the whole config against each engine and compare every number with the CSV run's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = date(2026, 11, 18)  # a Wednesday in Q4 2026, after the end of summer time in Lisbon

AGGS = ("sum", "mean", "median", "min", "max", "count", "count_distinct", "first", "last")


def events(rows: int = 2400, seed: int = 7) -> pd.DataFrame:
    """Events from mid-June to late December 2026: the previous quarter, this one, and after as-of."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 6, 15, tzinfo=UTC).timestamp()
    end = datetime(2026, 12, 20, tzinfo=UTC).timestamp()
    seconds = np.sort(rng.choice(np.arange(int(start), int(end)), size=rows, replace=False))
    # Many events near midnight UTC, where Lisbon's day (UTC+1 in summer) differs from UTC's.
    near_midnight = rng.random(rows) < 0.3
    seconds = np.where(near_midnight, (seconds // 86400) * 86400 + 86400 - rng.integers(1, 5400, rows), seconds)
    seconds = np.unique(seconds)
    ts = pd.to_datetime(seconds, unit="s", utc=True)
    n = len(ts)
    amount = np.round(rng.gamma(2.0, 40.0, n), 2)
    amount_missing = rng.random(n) < 0.06
    regions = rng.choice(np.array(["EU", "US", "APAC", "N/A"], dtype=object), n, p=[0.4, 0.35, 0.2, 0.05])
    plans = rng.choice(np.array(["Pro", "pro-annual", "Basic", "Team"], dtype=object), n)
    return pd.DataFrame({
        "ts": ts,
        "day": [t.date() for t in ts.tz_convert("Europe/Lisbon")],
        "amount": pd.array(np.where(amount_missing, np.nan, amount), dtype="Float64"),
        "region": pd.array(regions, dtype=object),
        "plan": pd.array(plans, dtype=object),
        "user_id": rng.integers(1, 400, n),
        "paid": rng.random(n) < 0.7,
    }).astype({"amount": "Float64"})


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    out["ts"] = out["ts"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
    out["day"] = [d.isoformat() for d in out["day"]]
    out.to_csv(path, index=False)


def arrow_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing amounts as real NULLs (not NaN) in every engine."""
    out = frame.copy()
    out["amount"] = out["amount"].astype(object).where(out["amount"].notna(), None)
    return out


def write_duckdb(frame: pd.DataFrame, path: Path, table: str = "events") -> None:
    import duckdb

    con = duckdb.connect(str(path))
    data = arrow_ready(frame)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"CREATE SCHEMA IF NOT EXISTS analytics; CREATE TABLE analytics.{table} AS "
                "SELECT ts, day, CAST(amount AS DOUBLE) AS amount, region, plan, user_id, paid FROM data")
    con.close()


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = arrow_ready(frame)
    table = pa.Table.from_pandas(data, preserve_index=False).cast(pa.schema([
        ("ts", pa.timestamp("us", tz="UTC")), ("day", pa.date32()), ("amount", pa.float64()),
        ("region", pa.string()), ("plan", pa.string()), ("user_id", pa.int64()), ("paid", pa.bool_()),
    ]))
    pq.write_table(table, path)


def _kpis() -> str:
    out = []
    filters = {
        "sum": "region in ['EU', 'US'] and amount > 10",
        "mean": "contains(plan, 'PRO')",
        "median": "paid",
        "min": "not (region == 'US')",
        "max": "day >= '2026-10-05' or isna(region)",
        "count": "startswith(plan, 'pro') | amount / 2 > 60",
        "count_distinct": "region != 'APAC'",
        "first": "amount >= 20",
        "last": "notna(amount) and user_id < 300",
    }
    for agg in AGGS:
        column = "" if agg == "count" else f'column = "{"user_id" if agg == "count_distinct" else "amount"}"\n'
        out.append(f'[kpis.{agg}_week]\nsource = "events"\n{column}agg = "{agg}"\ndate_column = "ts"\n'
                   f'window = "to_date"\ngrain = "week"\n')
        out.append(f'[kpis.{agg}_month]\nsource = "events"\n{column}agg = "{agg}"\ndate_column = "ts"\n'
                   f'window = "latest"\ngrain = "month"\nfilter = "{filters[agg]}"\n')
        if agg not in ("first", "last"):
            out.append(f'[kpis.{agg}_days]\nsource = "events"\n{column}agg = "{agg}"\ndate_column = "day"\n'
                       f'window = "latest"\ngrain = "week"\n')
            out.append(f'[kpis.{agg}_all]\nsource = "events"\n{column}agg = "{agg}"\nfilter = "{filters[agg]}"\n')
    out.append('[kpis.ticket]\nformula = "sum_week / count_week"\ngrain = "month"\n')
    # Over two `latest` KPIs, to date: its inputs are asked for a window of the formula's own.
    out.append('[kpis.to_date_ratio]\nformula = "sum_days / count_days"\n')
    return "\n".join(out)


def config_text(source: str) -> str:
    """The whole config; `source` is the body of `[sources.events]`."""
    return f"""
[project]
name = "Warehouse"
timezone = "Europe/Lisbon"
period = "2026-Q4"

[sources.events]
{source}

{_kpis()}

[[objectives]]
id = "grow"
title = "Grow revenue"

[[objectives.key_results]]
id = "revenue"
kpi = "sum_week"
baseline = "previous_period"
change = "+10%"

[[objectives.key_results]]
id = "ticket"
kpi = "ticket"
start = 50
target = 90

[tracker]
path = "out/tracker.xlsx"
"""


# --- a throwaway PostgreSQL server -----------------------------------------------------------


@dataclass
class Postgres:
    """A server started from the Debian package in a temporary folder, on a loopback port."""

    host: str
    port: int
    password: str

    def url(self, user: str = "postgres", password: str | None = None, database: str = "postgres") -> str:
        secret = self.password if password is None else password
        return f"postgres://{user}:{secret}@{self.host}:{self.port}/{database}"

    def connect(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user="postgres", password=self.password,
                               dbname="postgres", autocommit=True)


def postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """initdb + pg_ctl in a temporary folder; as `nobody` when run as root (postgres refuses root)."""
    bindir = postgres_bin()
    assert bindir is not None, "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
    folder = Path(tempfile.mkdtemp(prefix="sheetsync-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
        run_as = ["runuser", "-u", "nobody", "--"]
    password = "pg-" + os.urandom(6).hex()
    (folder / "pw").write_text(password)
    if run_as:
        shutil.chown(folder / "pw", "nobody")
    data = folder / "data"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(folder / "pw"),
                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                   check=True, capture_output=True)
    for attempt in range(5):
        port = _free_port()
        started = subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
             "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off", "start"],
            capture_output=True, text=True)
        if started.returncode == 0:
            break
        time.sleep(0.2 * attempt)
    else:
        raise RuntimeError(f"PostgreSQL did not start: {(folder / 'log').read_text()[-2000:]}")
    try:
        yield Postgres("127.0.0.1", port, password)
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def load_postgres(pg: Postgres, frame: pd.DataFrame) -> None:
    """The events table in schema `analytics`, with a reader role that may not read it."""
    with pg.connect() as con:
        con.execute("DROP SCHEMA IF EXISTS analytics CASCADE; CREATE SCHEMA analytics")
        con.execute("CREATE TABLE analytics.events (ts timestamptz, day date, amount double precision, "
                    "region text, plan text, user_id bigint, paid boolean)")
        with con.cursor().copy("COPY analytics.events FROM STDIN") as copy:
            for row in arrow_ready(frame).itertuples(index=False):
                copy.write_row((row.ts.to_pydatetime(), row.day, row.amount, row.region, row.plan,
                                int(row.user_id), bool(row.paid)))
        con.execute("DROP ROLE IF EXISTS okr; CREATE ROLE okr LOGIN PASSWORD 'okr-pass-1'")


@contextmanager
def loaded_postgres(frame: pd.DataFrame) -> Iterator[Postgres]:
    """A server holding `frame` as analytics.events, for a test module's fixture.

    Without PostgreSQL the tests skip on a developer's machine, but fail under CI, where
    .ci/run installs it: a warehouse test must never pass there by not running.
    """
    import pytest

    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run should have installed the postgresql package")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server() as pg:
        load_postgres(pg, frame)
        yield pg


def later(days: int) -> date:
    return AS_OF + timedelta(days=days)
