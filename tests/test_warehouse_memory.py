"""Pushdown proof: under a memory limit too small to load the table into pandas, the sync completes
with the right numbers, because only aggregates come back from the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.helpers import ROOT

ROWS = 24_000_000
LIMIT_MB = 500  # the sync needs ~280 MB here; the table alone is ~480 MB as a DataFrame

CONFIG = """
[project]
name = "Big"
timezone = "Europe/Lisbon"
period = "2026-Q4"

[sources.events]
type = "sql"
url = "duckdb:///big.duckdb"
table = "events"

[kpis.revenue]
source = "events"
column = "amount"
date_column = "day"

[kpis.orders]
source = "events"
agg = "count"
date_column = "day"
window = "latest"

[kpis.regions]
source = "events"
column = "region"
agg = "count_distinct"
date_column = "day"
filter = "amount > 100"

[tracker]
path = "out/tracker.xlsx"
"""

CHILD = textwrap.dedent("""
    import json, resource, sys
    limit = {limit} * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    if sys.argv[1] == "pandas":
        import ibis
        try:
            frame = ibis.duckdb.connect("big.duckdb", read_only=True).table("events").execute()
            print(json.dumps({{"loaded": len(frame)}}))
        except MemoryError as exc:
            print(json.dumps({{"failed": type(exc).__name__}}))
        except Exception as exc:  # DuckDB's own OutOfMemoryException
            print(json.dumps({{"failed": type(exc).__name__ if "memory" in str(exc).lower() else repr(exc)}}))
    else:
        from datetime import date
        from sheetsync.config import load_config
        from sheetsync.runtime.pipeline import sync
        result = sync(load_config("config.toml"), date(2026, 11, 18))
        print(json.dumps({{"kpis": {{k.id: k.value for k in result.kpis}}, "errors": list(result.errors)}}))
""")


def child(folder: Path, mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD.format(limit=LIMIT_MB), mode], cwd=folder,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    con = duckdb.connect(str(folder / "big.duckdb"))
    con.execute(f"CREATE TABLE events AS SELECT DATE '2026-07-01' + (i // {ROWS // 180})::INT AS day, "
                f"(i % 997)::DOUBLE AS amount, (i % 7)::INT AS region FROM range({ROWS}) t(i)")
    con.close()
    (folder / "config.toml").write_text(CONFIG)
    return folder


def test_loading_the_table_into_pandas_does_not_fit_the_limit(big):
    assert "failed" in child(big, "pandas")


def test_the_sync_completes_under_the_same_limit_with_the_engines_numbers(big):
    got = child(big, "sync")
    assert got["errors"] == []
    con = duckdb.connect(str(big / "big.duckdb"), read_only=True)
    revenue, = con.execute("SELECT sum(amount) FROM events WHERE day BETWEEN '2026-10-01' AND '2026-11-18'").fetchone()
    orders, = con.execute("SELECT count(*) FROM events WHERE day BETWEEN '2026-11-09' AND '2026-11-15'").fetchone()
    regions, = con.execute("SELECT count(DISTINCT region) FROM events WHERE amount > 100 "
                           "AND day BETWEEN '2026-10-01' AND '2026-11-18'").fetchone()
    assert got["kpis"] == {"revenue": revenue, "orders": orders, "regions": regions}
