"""Warehouse sources that fail: one line naming the source without the password, only that source's
numbers stale, a slow statement cancelled; what the engine cannot compute is said plainly."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest

from connectors.base import SourceUnavailable
from connectors.warehouse import connect
from sheetsync.config import load_config
from sheetsync.core.model import SourceConfig
from sheetsync.errors import ConfigError
from sheetsync.runtime.pipeline import sync
from tests.helpers import run_cli
from tests.warehouse_data import AS_OF, events, loaded_postgres, write_csv, write_duckdb

MIXED = """
[project]
name = "Mixed"
timezone = "Europe/Lisbon"
period = "2026-Q4"

[sources.sheet]
type = "csv"
path = "events.csv"

[sources.events]
type = "sql"
url_env = "EVENTS_URL"
{table}
timeout = {timeout}

[kpis.sheet_revenue]
source = "sheet"
column = "amount"
date_column = "ts"

[kpis.revenue]
source = "events"
column = "amount"
date_column = "ts"

[[objectives]]
id = "grow"

[[objectives.key_results]]
id = "revenue"
kpi = "revenue"
start = 0
target = 100000

[tracker]
path = "out/tracker.xlsx"
"""


@pytest.fixture(scope="module")
def frame():
    return events(600)


@pytest.fixture(scope="module")
def postgres(frame):
    with loaded_postgres(frame) as pg:
        yield pg


def project(folder: Path, frame, table: str = 'table = "analytics.events"', timeout: float = 30) -> Path:
    write_csv(frame, folder / "events.csv")
    (folder / "config.toml").write_text(MIXED.format(table=table, timeout=timeout))
    return folder / "config.toml"


def duckdb_project(folder: Path, sql: str, config: str) -> Path:
    """`folder/m.duckdb` made by `sql`, and `folder/config.toml` reading it; returns the config."""
    con = duckdb.connect(str(folder / "m.duckdb"))
    con.execute(sql)
    con.close()
    (folder / "config.toml").write_text(config)
    return folder / "config.toml"


def one_result(config: Path) -> dict:
    return sync(load_config(config), AS_OF).to_dict()


def kpi(result: dict, kpi_id: str) -> dict:
    return next(k for k in result["kpis"] if k["id"] == kpi_id)


def test_wrong_password_is_one_line_without_it_and_only_that_source_is_stale(postgres, frame, tmp_path):
    config = project(tmp_path, frame)
    secret = "not-the-password-42"
    env = {"EVENTS_URL": postgres.url("okr", secret)}
    done = run_cli("sync", "--config", str(config), "--as-of", AS_OF.isoformat(), "--json", "out.json",
                   cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 3, output  # finished, with stale numbers
    expected = (f"source 'events' (postgres://okr@127.0.0.1:{postgres.port}/postgres): "
                'password authentication failed for user "okr"')
    assert expected in output
    assert secret not in output
    result = json.loads((tmp_path / "out.json").read_text())
    assert secret not in json.dumps(result)
    assert kpi(result, "sheet_revenue")["value"] is not None and not kpi(result, "sheet_revenue")["stale"]
    assert kpi(result, "revenue")["value"] is None and kpi(result, "revenue")["stale"].startswith(expected)


def test_a_role_without_rights_gets_permission_denied(postgres, frame, tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTS_URL", postgres.url("okr", "okr-pass-1"))
    result = one_result(project(tmp_path, frame))
    (line,) = result["errors"]
    assert line == (f"source 'events' (postgres://okr@127.0.0.1:{postgres.port}/postgres): "
                    "permission denied for schema analytics")
    assert kpi(result, "sheet_revenue")["value"] is not None


def test_a_server_that_refuses_is_unavailable_at_once(frame, tmp_path, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("EVENTS_URL", f"postgresql://okr:hunter2@127.0.0.1:{port}/metrics?sslmode=disable")
    started = time.monotonic()
    result = sync(load_config(project(tmp_path, frame)), AS_OF)
    assert time.monotonic() - started < 20
    (source,) = [s for s in result.sources if s.name == "events"]
    assert source.status == "failed" and source.unavailable  # a later run may succeed
    assert source.error.startswith(f"source 'events' (postgresql://okr@127.0.0.1:{port}/metrics?sslmode=disable): ")
    assert "refused" in source.error and "hunter2" not in json.dumps(result.to_dict())


def test_a_slow_postgres_statement_is_cancelled_by_the_timeout(postgres, frame, tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTS_URL", postgres.url())
    slow = 'query = "SELECT * FROM analytics.events WHERE pg_sleep(30) IS NOT NULL"'
    started = time.monotonic()
    result = one_result(project(tmp_path, frame, slow, timeout=1))
    assert time.monotonic() - started < 15
    (line,) = result["errors"]
    assert line.endswith("its queries ran longer than the source's timeout (1 s) and were cancelled")
    assert kpi(result, "sheet_revenue")["value"] is not None


def test_the_timeout_bounds_all_of_a_postgres_sources_queries_together(postgres, frame, tmp_path, monkeypatch):
    """Each statement naps 0.4 s, well under the 1 s timeout; the source's several statements are not."""
    monkeypatch.setenv("EVENTS_URL", postgres.url())
    napping = ('query = "WITH nap AS MATERIALIZED (SELECT pg_sleep(0.4)) '
               'SELECT e.* FROM analytics.events e, nap"')
    config = project(tmp_path, frame, napping, timeout=1)
    with config.open("a") as extra:  # two more kinds of query: a distinct count and a median
        extra.write('\n[kpis.buyers]\nsource = "events"\ncolumn = "user_id"\nagg = "count_distinct"\n'
                    'date_column = "ts"\n\n[kpis.typical]\nsource = "events"\ncolumn = "amount"\n'
                    'agg = "median"\ndate_column = "ts"\n')
    started = time.monotonic()
    result = one_result(config)
    assert time.monotonic() - started < 15
    assert result["errors"] == [f"source 'events' (postgres://postgres@127.0.0.1:{postgres.port}/postgres): "
                                "its queries ran longer than the source's timeout (1 s) and were cancelled"]
    assert kpi(result, "revenue")["value"] is None and kpi(result, "sheet_revenue")["value"] is not None


def test_a_slow_duckdb_statement_is_cancelled_by_the_timeout(frame, tmp_path, monkeypatch):
    write_duckdb(frame, tmp_path / "m.duckdb")
    monkeypatch.setenv("EVENTS_URL", "duckdb:///m.duckdb")
    slow = 'query = "SELECT e.* FROM analytics.events e, range(1000000000) r"'
    started = time.monotonic()
    result = one_result(project(tmp_path, frame, slow, timeout=0.5))
    assert time.monotonic() - started < 15
    (line,) = result["errors"]
    assert line == ("source 'events' (duckdb:///m.duckdb): "
                    "its queries ran longer than the source's timeout (0.5 s) and were cancelled")


def test_the_timeout_bounds_all_of_a_duckdb_sources_queries_together(frame, tmp_path):
    """Three statements of 0.4 s each, under a 1 s timeout for the source: the third is cut off."""
    write_duckdb(frame, tmp_path / "m.duckdb")
    source = SourceConfig(name="events", type="sql", url="duckdb:///m.duckdb", table="analytics.events",
                          root=str(tmp_path), timeout=1.0)
    conn = connect(source)
    try:
        conn.backend.con.create_function("nap", _nap, ["DOUBLE"], "DOUBLE", side_effects=True)
        started = time.monotonic()
        conn.deadline = started + source.timeout  # the budget from here (opening the source took some of it)
        done = 0
        with pytest.raises(SourceUnavailable, match="its queries ran longer than the source's timeout"):
            for _ in range(5):
                conn.run(conn.backend.sql("SELECT nap(0.4) AS slept"))
                done += 1
        assert 2 <= done <= 3  # the third ends past the deadline: cancelled, or refused the next
        assert time.monotonic() - started < 2.5
    finally:
        conn.close()


def test_a_cancel_the_engine_missed_is_sent_again_until_the_statement_stops(tmp_path):
    """A cancel that lands before DuckDB has begun the statement is a no-op (on a busy machine the
    client can still be preparing it): the first is dropped here, and the next one must stop it."""
    source = SourceConfig(name="events", type="sql", url="duckdb:///m.duckdb", table="analytics.events",
                          root=str(tmp_path), timeout=0.5)
    write_duckdb(events(), tmp_path / "m.duckdb")
    conn = connect(source)
    cancels: list[float] = []
    real_cancel = conn._cancel

    def first_one_missed() -> None:
        cancels.append(time.monotonic())
        if len(cancels) > 1:
            real_cancel()

    conn._cancel = first_one_missed  # type: ignore[method-assign]
    try:
        started = time.monotonic()
        conn.deadline = started + source.timeout
        with pytest.raises(SourceUnavailable, match="its queries ran longer than the source's timeout"):
            conn.run(conn.backend.sql("SELECT sum(r % 7) AS s FROM range(3000000000) t(r)"))  # ~15 s uncancelled
        assert len(cancels) >= 2
        assert time.monotonic() - started < 5
    finally:
        conn.close()


def _nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_an_unset_url_variable_and_a_missing_file_are_one_line(frame, tmp_path, monkeypatch):
    monkeypatch.delenv("EVENTS_URL", raising=False)
    result = one_result(project(tmp_path, frame))
    assert result["errors"] == ["source 'events' ($EVENTS_URL): environment variable EVENTS_URL is not set "
                                "(it should hold the connection URL)"]
    monkeypatch.setenv("EVENTS_URL", "duckdb:///missing.duckdb")
    result = one_result(project(tmp_path, frame))
    assert result["errors"] == ["source 'events' (duckdb:///missing.duckdb): no such DuckDB database file"]


def test_a_missing_table_names_it(frame, tmp_path, monkeypatch):
    write_duckdb(frame, tmp_path / "m.duckdb")
    monkeypatch.setenv("EVENTS_URL", "duckdb:///m.duckdb")
    result = one_result(project(tmp_path, frame, 'table = "analytics.evnts"'))
    (line,) = result["errors"]
    assert line.startswith("source 'events' (duckdb:///m.duckdb): table ") and "evnts' not found" in line
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    con.execute("DROP TABLE analytics.events")  # a table that was there and was dropped: the same line
    con.close()
    result = one_result(project(tmp_path, frame, 'table = "analytics.events"'))
    assert result["errors"][0].startswith("source 'events' (duckdb:///m.duckdb): table 'events' not found")


def test_a_backend_not_installed_names_the_extra(frame, tmp_path, monkeypatch):
    pytest.importorskip("ibis")
    try:
        import snowflake.connector  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the snowflake driver is installed here")
    monkeypatch.setenv("EVENTS_URL", "snowflake://okr:pw@acct/db/schema")
    result = one_result(project(tmp_path, frame))
    (line,) = result["errors"]
    assert line.startswith("source 'events' (snowflake://okr@acct/db/schema): the snowflake backend is not installed")
    assert line.endswith('pip install "sheetsync[snowflake]"')


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('type = "sql"\nurl = "postgres://okr:pw@db/metrics"\ntable = "t"',
         "sources.events.url: passwords do not belong in config"),
        ('type = "sql"\nurl = "postgress://okr@db/metrics"\ntable = "t"',
         "sources.events.url: unknown database 'postgress' (did you mean 'postgres'?)"),
        ('type = "sql"\nurl = "duckdb:///m.duckdb"', "sources.events.table: is required"),
        ('type = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "t"\nquery = "SELECT 1"',
         "sources.events.query: give either table or query, not both"),
        ('type = "sql"\nurl = "duckdb:///m.duckdb"\nquery = "DELETE FROM t"', "sources.events.query: must be a SELECT"),
        ('type = "sql"\ntable = "t"', "sources.events.url: is required"),
        ('type = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "t"\ntimeout = 0', "sources.events.timeout: must be more"),
        ('type = "parquet"', "sources.events.path: is required for parquet sources"),
        ('type = "parquet"\npath = "e.parquet"\nmemory_limit = "lots"',
         "sources.events.memory_limit: expected an amount of memory like \"512MB\""),
        ('type = "sql"\nurl = "postgres://okr@db/metrics"\ntable = "t"\nmemory_limit = "1GB"',
         "sources.events.memory_limit: applies to DuckDB (the embedded engine) only"),
    ],
)
def test_config_errors_name_the_key(tmp_path, source, message):
    (tmp_path / "config.toml").write_text(
        f'[project]\nperiod = "2026-Q4"\n[sources.events]\n{source}\n[kpis.k]\nsource = "events"\nagg = "count"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config.toml")
    assert message in str(info.value)


def test_first_without_a_date_column_is_a_config_error_on_a_table(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[project]\nperiod = "2026-Q4"\n[sources.events]\ntype = "parquet"\npath = "e.parquet"\n'
        '[kpis.k]\nsource = "events"\ncolumn = "amount"\nagg = "first"\n')
    with pytest.raises(ConfigError, match=r"kpis\.k\.date_column: is required for agg = 'first' on a parquet source"):
        load_config(tmp_path / "config.toml")


def test_a_filter_the_engine_cannot_run_fails_that_kpi_naming_its_key(tmp_path, monkeypatch):
    duckdb_project(
        tmp_path, "CREATE TABLE t AS SELECT DATE '2026-10-05' AS day, '1,200' AS amount_text, 5.0 AS amount",
        '[project]\nperiod = "2026-Q4"\n[sources.events]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "t"\n'
        '[kpis.bad]\nsource = "events"\ncolumn = "amount"\ndate_column = "day"\nfilter = "amount_text > 1000"\n'
        '[kpis.good]\nsource = "events"\ncolumn = "amount"\ndate_column = "day"\n')
    result = sync(load_config(tmp_path / "config.toml"), AS_OF).to_dict()
    (line,) = result["errors"]
    assert line.startswith("kpis.bad.filter: column 'amount_text' is text in the table")
    assert next(k for k in result["kpis"] if k["id"] == "good")["value"] == 5.0


def test_numbers_stored_as_text_are_fetched_and_parsed_with_a_note(tmp_path):
    duckdb_project(
        tmp_path, "CREATE TABLE t AS SELECT * FROM (VALUES (DATE '2026-10-05', '$1,200.50'), "
        "(DATE '2026-10-06', 'N/A'), (DATE '2026-10-07', '300'), (DATE '2026-10-08', 'abc')) v(day, amount)",
        '[project]\nperiod = "2026-Q4"\n[sources.events]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "t"\n'
        '[kpis.revenue]\nsource = "events"\ncolumn = "amount"\ndate_column = "day"\n')
    result = sync(load_config(tmp_path / "config.toml"), AS_OF).to_dict()
    assert result["kpis"][0]["value"] == 1500.5
    (source,) = result["sources"]
    assert any("column 'amount' is string, not a number, so its 4 values were fetched" in w
               for w in source["warnings"])
    skipped = [w for w in source["warnings"] if "'abc' is not a number" in w]
    assert len(skipped) == 1 and skipped[0].startswith("source 'events', column 'amount', row ")  # named once
    assert source["rows"] == 4  # the rows read, not 0


def test_check_shows_each_tables_rows_and_date_range(frame, tmp_path):
    write_duckdb(frame, tmp_path / "m.duckdb")
    (tmp_path / "config.toml").write_text(
        '[project]\nperiod = "2026-Q4"\n[sources.events]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\n'
        'table = "analytics.events"\n[kpis.revenue]\nsource = "events"\ncolumn = "amount"\ndate_column = "ts"\n'
        '[kpis.typo]\nsource = "events"\ncolumn = "amuont"\n[tracker]\npath = "out/t.xlsx"\n')
    done = run_cli("check", "--config", "config.toml", cwd=tmp_path)
    first, last = frame["ts"].min(), frame["ts"].max()
    line = f"✓ source 'events' (duckdb:///m.duckdb): {len(frame)} rows, ts from {first} to {last}, columns: 'ts', 'day'"
    assert line in done.stdout, done.stdout + done.stderr
    assert "✓ kpi 'revenue': computed by the engine" in done.stdout
    assert "✗ kpis.typo: source 'events' has no column 'amuont' (did you mean 'amount'?)" in done.stdout
    assert done.returncode == 1


def test_check_on_a_healthy_table_judges_freshness_on_the_engines_values_and_exits_0(tmp_path):
    """`check` as a health probe: the KPIs the engine computes are fresh or stale as in a sync."""
    duckdb_project(
        tmp_path, "CREATE TABLE sales AS SELECT DATE '2026-09-01' + INTERVAL (i) DAY AS day, 10.0 AS amount "
        "FROM range(92) t(i)",  # 1 Sep .. 1 Dec
        '[project]\nperiod = "2026-Q4"\n[sources.s]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "sales"\n'
        '[kpis.revenue]\nsource = "s"\ncolumn = "amount"\ndate_column = "day"\n[tracker]\npath = "out/t.xlsx"\n')
    done = run_cli("check", "--config", "config.toml", "--as-of", "2026-12-01", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "day from 2026-09-01 to 2026-12-01," in done.stdout  # a DATE column's days, without a time
    assert "✓ kpi 'revenue': computed by the engine" in done.stdout
    assert "✓ source 's': newest row dated 2026-12-01" in done.stdout and "stale" not in done.stdout
    late = run_cli("check", "--config", "config.toml", "--as-of", "2026-12-15", cwd=tmp_path)
    assert late.returncode == 3 and "stale: revenue (no rows after 1 Dec)" in late.stdout, late.stdout


def test_check_shows_a_zoned_range_in_the_projects_zone_and_an_empty_table_as_0_rows(tmp_path):
    duckdb_project(
        tmp_path, "SET TimeZone = 'UTC'; CREATE TABLE sales AS SELECT TIMESTAMPTZ '2026-11-10 03:00:00+00' AS ts, "
        "10.0 AS amount; CREATE TABLE empty (ts TIMESTAMPTZ, amount DOUBLE)",
        '[project]\nperiod = "2026-Q4"\ntimezone = "America/Los_Angeles"\n'
        '[sources.s]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "sales"\n'
        '[sources.e]\ntype = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "empty"\n'
        '[kpis.revenue]\nsource = "s"\ncolumn = "amount"\ndate_column = "ts"\n'
        '[kpis.none]\nsource = "e"\ncolumn = "amount"\ndate_column = "ts"\n[tracker]\npath = "out/t.xlsx"\n')
    done = run_cli("check", "--config", "config.toml", "--as-of", "2026-11-12", cwd=tmp_path)
    assert "unexpected" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "1 row, ts from 2026-11-09 19:00:00-08:00 to 2026-11-09 19:00:00-08:00," in done.stdout, done.stdout
    assert "✓ source 'e' (duckdb:///m.duckdb): 0 rows, columns: 'ts', 'amount'" in done.stdout, done.stdout
