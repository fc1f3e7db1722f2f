"""SQL and Parquet sources: the whole config run on CSV, DuckDB, Parquet and PostgreSQL gives the
same numbers; errors are one line without the password; a slow statement is cancelled."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from sheetsync.config import load_config
from sheetsync.runtime.pipeline import sync
from tests.warehouse_data import (
    AS_OF,
    arrow_ready,
    config_text,
    events,
    loaded_postgres,
    write_csv,
    write_duckdb,
    write_parquet,
)


@pytest.fixture(scope="module")
def frame():
    return events()


@pytest.fixture(scope="module")
def postgres(frame):
    """One PostgreSQL server for this module's tests, loaded once."""
    with loaded_postgres(frame) as pg:
        yield pg


def run(folder: Path, source: str, env: dict[str, str] | None = None, monkeypatch: Any = None) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(config_text(source))
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return sync(load_config(folder / "config.toml"), AS_OF).to_dict()


def numbers(result: dict) -> dict:
    """What the numbers are, without where they were read from."""
    return {"kpis": result["kpis"], "objectives": result["objectives"], "errors": result["errors"]}


def assert_same(left: Any, right: Any, path: str = "") -> None:
    if isinstance(left, dict):
        assert isinstance(right, dict) and left.keys() == right.keys(), path
        for key in left:
            assert_same(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list):
        assert isinstance(right, list) and len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {left} != {right}"
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"


@pytest.fixture(scope="module")
def csv_result(frame, tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    write_csv(frame, folder / "events.csv")
    result = run(folder, 'type = "csv"\npath = "events.csv"')
    assert result["errors"] == []
    return result


def test_csv_run_covers_every_aggregation_with_data(csv_result):
    kpis = {k["id"]: k for k in csv_result["kpis"]}
    assert len(kpis) == 9 * 2 + 7 * 2 + 2
    for kpi_id, kpi in kpis.items():
        assert kpi["value"] is not None, kpi_id
    revenue = next(kr for o in csv_result["objectives"] for kr in o["key_results"] if kr["id"] == "revenue")
    assert revenue["start"] is not None  # the previous quarter's sum, a baseline window of its own


def test_duckdb_table_gives_the_csv_numbers(frame, tmp_path, csv_result):
    (tmp_path / "data").mkdir()
    write_duckdb(frame, tmp_path / "data" / "metrics.duckdb")
    result = run(tmp_path, 'type = "sql"\nurl = "duckdb:///data/metrics.duckdb"\ntable = "analytics.events"')
    assert_same(numbers(result), numbers(csv_result))
    (source,) = result["sources"]
    assert source["status"] == "ok" and source["location"] == "duckdb:///data/metrics.duckdb"
    assert source["warnings"] == []  # every KPI pushed down: none fell back to fetching values
    # The rows its queries read: KPIs on two date columns read the same rows twice, not twice the rows.
    assert 0 < source["rows"] <= len(frame)


def test_duckdb_query_with_an_absolute_path_gives_the_csv_numbers(frame, tmp_path, csv_result):
    write_duckdb(frame, tmp_path / "metrics.duckdb")
    url = f"duckdb:///{tmp_path / 'metrics.duckdb'}"  # four slashes: an absolute path
    result = run(tmp_path / "elsewhere", f'type = "sql"\nurl = "{url}"\n'
                 'query = "SELECT * FROM analytics.events WHERE ts IS NOT NULL"')
    assert_same(numbers(result), numbers(csv_result))


def test_nan_and_infinity_in_a_float_column_are_no_number_as_blank_cells_are(frame, tmp_path, csv_result):
    """One NaN made the engine's sum of its segment NaN (counted as 0) and its max no number (a crash)."""
    import duckdb

    (tmp_path / "data").mkdir()
    con = duckdb.connect(str(tmp_path / "data" / "metrics.duckdb"))
    data = arrow_ready(frame)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE SCHEMA analytics; CREATE TABLE analytics.events AS SELECT ts, day, CASE WHEN amount IS NULL "
                "THEN CASE WHEN user_id % 2 = 0 THEN 'NaN'::DOUBLE ELSE '-Infinity'::DOUBLE END "
                "ELSE CAST(amount AS DOUBLE) END AS amount, region, plan, user_id, paid FROM data")
    assert con.execute("SELECT count(*) FROM analytics.events WHERE isnan(amount)").fetchone()[0] > 10
    con.close()
    result = run(tmp_path, 'type = "sql"\nurl = "duckdb:///data/metrics.duckdb"\ntable = "analytics.events"')
    assert_same(numbers(result), numbers(csv_result))


def test_parquet_files_give_the_csv_numbers(frame, tmp_path, csv_result):
    half = len(frame) // 2
    (tmp_path / "parts").mkdir()
    write_parquet(frame.iloc[:half], tmp_path / "parts" / "a.parquet")
    write_parquet(frame.iloc[half:], tmp_path / "parts" / "b.parquet")
    result = run(tmp_path, 'type = "parquet"\npath = "parts/*.parquet"')
    assert_same(numbers(result), numbers(csv_result))


def test_postgres_table_gives_the_csv_numbers(postgres, tmp_path, csv_result, monkeypatch):
    result = run(tmp_path, 'type = "sql"\nurl_env = "EVENTS_URL"\ntable = "analytics.events"',
                 {"EVENTS_URL": postgres.url()}, monkeypatch)
    assert_same(numbers(result), numbers(csv_result))
    (source,) = result["sources"]
    assert postgres.password not in str(result)
    assert source["warnings"] == []
    assert source["location"] == f"postgres://postgres@127.0.0.1:{postgres.port}/postgres"


def test_naive_timestamps_are_the_projects_local_time(frame, tmp_path, csv_result):
    """A TIMESTAMP without zone holds wall-clock time: bucketed as the CSV's naive text is."""
    import duckdb

    local = frame.copy()
    local["ts"] = local["ts"].dt.tz_convert("Europe/Lisbon").dt.tz_localize(None)
    folder = tmp_path / "csv"
    folder.mkdir()
    naive_csv = local.copy()
    naive_csv["ts"] = naive_csv["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    naive_csv.to_csv(folder / "events.csv", index=False)
    expected = run(folder, 'type = "csv"\npath = "events.csv"')
    con = duckdb.connect(str(tmp_path / "naive.duckdb"))
    data = local.astype({"amount": "float64"})  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE TABLE events AS SELECT CAST(ts AS TIMESTAMP) AS ts, day, amount, region, plan, user_id, paid "
                "FROM data")
    con.close()
    result = run(tmp_path / "db", f'type = "sql"\nurl = "duckdb:///{tmp_path / "naive.duckdb"}"\ntable = "events"')
    assert_same(numbers(result), numbers(expected))
    assert numbers(expected) == numbers(csv_result)  # the same instants, read as local time


STALE = """
[project]
timezone = "Europe/Lisbon"
period = "2026-Q4"

[sources.events]
{source}

[kpis.old_sum]
source = "events"
column = "amount"
date_column = "ts"
filter = "day <= '2026-11-04'"

[kpis.old_buyers]
source = "events"
column = "user_id"
agg = "count_distinct"
date_column = "ts"
window = "latest"
grain = "week"
filter = "day <= '2026-11-04'"

[kpis.old_orders]
source = "events"
agg = "count"
date_column = "day"
window = "latest"
grain = "month"
filter = "day <= '2026-10-20' and region == 'EU'"

[tracker]
path = "out/tracker.xlsx"
"""


def test_data_that_stopped_early_gives_the_csv_freshness(frame, tmp_path):
    """The segment ending on a day asked holds no value: the engine looks further back, as a CSV does."""
    results = []
    for name, source in (("csv", 'type = "csv"\npath = "events.csv"'),
                         ("db", 'type = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "analytics.events"')):
        folder = tmp_path / name
        folder.mkdir()
        write_csv(frame, folder / "events.csv")
        write_duckdb(frame, folder / "m.duckdb")
        (folder / "config.toml").write_text(STALE.format(source=source))
        results.append(sync(load_config(folder / "config.toml"), AS_OF).to_dict())
    csv, db = results
    # (the note on a window without values explains the filter on a CSV only: the engine counts no rows)
    fields = ("value", "previous", "series", "data_through", "stale", "value_as_of")
    assert_same([{f: k[f] for f in fields} for k in db["kpis"]], [{f: k[f] for f in fields} for k in csv["kpis"]])
    through = {k["id"]: k["data_through"] for k in csv["kpis"]}
    assert through["old_sum"] <= "2026-11-04" and through["old_orders"] <= "2026-10-20"
