"""A distributed engine for real: Spark in local mode through Ibis's PySpark backend, the whole
config giving the CSV's numbers (slow: it starts a JVM)."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.test_warehouse import assert_same, numbers, run
from tests.warehouse_data import events, write_csv, write_parquet

pytestmark = pytest.mark.slow


def test_spark_gives_the_csv_numbers(tmp_path, monkeypatch):
    pytest.importorskip("pyspark", reason='pip install "sheetsync[spark]"')
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    assert shutil.which("java"), "Spark needs a JRE (Debian default-jre-headless; .ci/run installs it)"
    frame = events()
    write_csv(frame, tmp_path / "events.csv")
    write_parquet(frame, tmp_path / "events.parquet")
    expected = run(tmp_path / "csv", f'type = "csv"\npath = "{tmp_path / "events.csv"}"')
    url = ("pyspark://?spark.master=local%5B2%5D&spark.ui.enabled=false&spark.sql.shuffle.partitions=2"
           "&spark.driver.bindAddress=127.0.0.1&spark.driver.host=127.0.0.1")
    query = f"SELECT * FROM parquet.`{tmp_path / 'events.parquet'}`"
    result = run(tmp_path / "spark", f'type = "sql"\nurl = "{url}"\nquery = "{query}"\ntimeout = 600')
    assert_same(numbers(result), numbers(expected))
    (source,) = result["sources"]
    assert source["status"] == "ok" and source["warnings"] == []


def test_a_spark_source_past_its_timeout_is_cancelled(tmp_path, monkeypatch):
    """The timer cancels Spark's running jobs when the source's budget is spent."""
    pytest.importorskip("pyspark", reason='pip install "sheetsync[spark]"')
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    write_parquet(events(200), tmp_path / "events.parquet")
    url = ("pyspark://?spark.master=local%5B2%5D&spark.ui.enabled=false&spark.sql.shuffle.partitions=2"
           "&spark.driver.bindAddress=127.0.0.1&spark.driver.host=127.0.0.1")
    endless = f"SELECT e.* FROM parquet.`{tmp_path / 'events.parquet'}` e CROSS JOIN range(100000000000) r"
    started = time.monotonic()
    result = run(tmp_path / "spark", f'type = "sql"\nurl = "{url}"\nquery = "{endless}"\ntimeout = 8')
    assert time.monotonic() - started < 90
    (line,) = {e for e in result["errors"] if e.startswith("source 'events'")}
    assert line.endswith("its queries ran longer than the source's timeout (8 s) and were cancelled")
