"""A filter means the same on a CSV export and in a warehouse: every operator, call and domain.

One table is written as a CSV file, a DuckDB database and a PostgreSQL table; each filter
below becomes two KPIs of a config (a row count and a sum of a random weight, so the rows
chosen and not only how many must agree), and the whole config is synced through each source
as a user runs it. The CSV run interprets the filters over the frame
(sheetsync/core/expressions/filters.py), the others compile them to the engine's SQL
(connectors/ibis_filter.py). Every value and every error line must be the same.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sheetsync.config import load_config
from sheetsync.runtime.pipeline import sync
from tests.warehouse_data import AS_OF, Postgres, postgres_bin, postgres_server

ROWS = 240

# filter -> how many of the rows it keeps: "some" (neither none nor all of them), "none" or "all".
# A filter that keeps none or all on both sides would agree however broken, so each says which.
FILTERS: dict[str, str] = {
    # numbers: each comparison, a literal on either side, chains, column against column
    "amount > 10": "some",
    "amount >= 20.5": "some",
    "amount < 10": "some",
    "amount <= 0": "some",
    "amount == 20": "some",
    "amount != 20": "some",
    "10 < amount": "some",
    "-5 < amount": "some",
    "1 < qty < 4": "some",
    "qty <= 2 < amount": "some",
    "amount > qty": "some",
    "qty == 3.0": "some",
    "`unit price` >= 3": "some",
    # numbers against text literals: read as a number, a date's serial, or never equal
    "amount > '10'": "some",
    "amount == '$20'": "some",
    "amount == 'abc'": "none",
    "amount != 'abc'": "some",
    "qty < '2026-10-01'": "all",
    # arithmetic: x / 0 is missing, never an error; literal arithmetic is folded
    "amount + qty > 50": "some",
    "amount - 10 >= 0": "some",
    "amount * 2 > 100": "some",
    "amount / qty > 10": "some",
    "amount / 0 > 1": "none",
    "isna(amount / 0)": "all",
    "notna(amount / qty)": "some",
    "amount / (qty - qty) < 1": "none",
    "-amount < -50": "some",
    "+qty > 2": "some",
    "2 * 3 > qty + 3": "some",
    "1 / 4 < amount": "some",
    # text: a blank cell is missing, "N/A" is text, case and order count
    "region == 'EU'": "some",
    "region != 'EU'": "some",
    "region == 'eu'": "some",
    "region == 'N/A'": "some",
    "region == ''": "none",
    "region != ''": "some",
    "region < 'M'": "some",
    "'M' <= region": "some",
    "region >= plan": "some",
    "region != plan": "some",
    "'EU' == 'EU'": "all",
    "'a' > 'b'": "none",
    # dates and timestamps against date literals: by calendar day in the project's zone
    "day >= '2026-10-05'": "some",
    "day > '2026-10-05'": "some",
    "day <= '2026-10-05'": "some",
    "day < '2026-10-05'": "some",
    "day == '2026-10-05'": "some",
    "day != '2026-10-05'": "some",
    "'2026-10-03' <= day <= '2026-10-06'": "some",
    "'2026-10-05' < day": "some",
    "day in ['2026-10-05', '2026-10-07']": "some",
    "day not in ['2026-10-05', '2026-10-07']": "some",
    "day >= day": "some",
    "ts >= '2026-10-05'": "some",
    "ts > '2026-10-05'": "some",
    "ts <= '2026-10-05'": "some",
    "ts < '2026-10-05'": "some",
    "ts == '2026-10-05'": "some",
    "ts != '2026-10-05'": "some",
    "'2026-10-04' < ts < '2026-10-07'": "some",
    "'2026-10-01' < '2026-10-02'": "all",
    # true/false columns (one with blanks), true/false text, conditions as values
    "paid": "some",
    "not paid": "some",
    "~paid": "some",
    "paid == True": "some",
    "True == paid": "some",
    "paid != False": "some",
    "paid >= True": "some",
    "False < paid": "some",
    "paid == 'yes'": "some",
    "paid == 'no'": "some",
    "paid == 'maybe'": "none",
    "paid != 'maybe'": "all",
    "vip": "some",
    "not vip": "some",
    "vip == False": "some",
    "vip != True": "some",
    "isna(vip)": "some",
    "paid in [True]": "some",
    "paid == (amount > 10)": "some",
    "(amount > 10) == (qty > 2)": "some",
    "(amount > 10) != paid": "some",
    "(amount > 10) == 'yes'": "some",
    "True": "all",
    "False": "none",
    "False or paid": "some",
    "True and paid": "some",
    "region == 'EU' or True": "all",
    "paid and False": "none",
    # membership
    "region in ['EU', 'US']": "some",
    "region not in ['EU', 'US']": "some",
    "qty in [1, 2, 3]": "some",
    "qty not in [1, 2]": "some",
    "qty in (-1, 2)": "some",
    "amount in [10, '20']": "some",
    "region in []": "none",
    "region not in []": "some",
    "qty in ['abc']": "none",
    "qty not in ['abc']": "all",
    "lower(region) in ['eu', 'us']": "some",
    "1 < qty in [2, 3]": "some",
    "'EU' in ['EU', 'US']": "all",
    # the calls
    "isna(amount)": "some",
    "notna(amount)": "some",
    "isna(region)": "some",
    "notna(region)": "some",
    "isna(day)": "some",
    "notna(ts)": "all",
    "isna(lower(region))": "some",
    "isna('x')": "none",
    "notna(5)": "all",
    "contains(region, 'e')": "some",
    "contains(region, '/')": "some",
    "contains(plan, 'PRO')": "some",
    "startswith(plan, 'pro')": "some",
    "startswith(plan, 'Pro')": "some",
    "not contains(plan, 'a')": "some",
    "contains(lower(plan), 'pro')": "some",
    "contains('abc', 'B')": "all",
    "startswith('abc', 'B')": "none",
    "lower(plan) == 'pro'": "some",
    "lower('ABC') == 'abc'": "all",
    # and / or / not, with missing cells (Kleene: not of a missing comparison stays missing)
    "amount > 10 and region == 'EU'": "some",
    "amount > 10 & qty < 3": "some",
    "region == 'EU' | region == 'US'": "some",
    "amount > 50 or isna(region)": "some",
    "not (amount > 10)": "some",
    "not (amount > 10 or isna(region))": "some",
    "~(region == 'EU')": "some",
    "not (not paid and vip)": "some",
}

# Filters that cannot run: each side must fail that KPI with the same line.
FAILING: dict[str, str] = {
    "amount": "column 'amount' holds number, not true/false; compare it instead, e.g. 'amount' == ...",
    "region and paid": "column 'region' holds text, not true/false",
    "amount > 'many'": "cannot compare number with text 'many': amount > 'many'",
    "paid > 1": "cannot compare bool ('paid') with number (1): paid > 1",
    "paid == amount": "cannot compare bool ('paid') with number ('amount'): paid == amount",
    "paid + 1 > 1": "'paid' holds true/false, not number: paid + 1",
    "contains(amount, '1')": "'amount' is number, not text: contains(amount, '1')",
    "contains(5, '1')": "5 is number, not text: contains(5, '1')",
    "1 / 0 < amount": "division by zero: 1 / 0",
    "1e300 * 1e300 > amount": "result is too large: 1e300 * 1e300",
    # the columns, not the row numbers a CSV's frame keeps for messages (__row__)
    "amont > 1": "unknown column 'amont' (did you mean 'amount'?); available columns: 'w', 'amount', 'qty',"
                 " 'unit price', 'region', 'plan', 'day', 'ts' and 2 more",
}


def table(rows: int = ROWS, seed: int = 11) -> pd.DataFrame:
    """Every kind of column a filter compares, with the edge values each rule is about."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    # Instants at every hour of ten days: those after 23:00 UTC are the next day in Lisbon (UTC+1 until 25 October).
    hours, minutes = rng.integers(0, 24 * 10, rows), rng.integers(0, 60, rows)
    ts = [start + timedelta(hours=int(h), minutes=int(m)) for h, m in zip(hours, minutes, strict=True)]
    days = rng.integers(0, 10, rows)
    day = [None if d == 0 else date(2026, 10, 1) + timedelta(days=int(d)) for d in days]
    amount = rng.choice(np.array([-7.5, 0.0, 0.25, 3.0, 10.0, 10.5, 20.0, 20.5, 49.0, 75.25, 120.0]), rows)
    amount_missing = rng.random(rows) < 0.1
    regions = np.array(["EU", "US", "APAC", "N/A", "eu", ""], dtype=object)
    plans = np.array(["Pro", "pro-annual", "Basic", "Team", "PRO team"], dtype=object)
    vip = rng.choice(np.array([True, False, None], dtype=object), rows)
    return pd.DataFrame({
        "w": rng.integers(1, 1_000_000_000, rows),
        "amount": [None if m else float(a) for a, m in zip(amount, amount_missing, strict=True)],
        "qty": rng.integers(0, 6, rows),
        "unit price": np.round(rng.uniform(0, 6, rows), 2),
        "region": rng.choice(regions, rows),
        "plan": rng.choice(plans, rows),
        "day": day,
        "ts": pd.to_datetime(ts, utc=True),
        "paid": rng.random(rows) < 0.6,
        "vip": vip,
    })


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    out["ts"] = out["ts"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00")
    out["day"] = [d.isoformat() if d else "" for d in out["day"]]
    out.to_csv(path, index=False)


SQL_COLUMNS = ('w BIGINT, amount DOUBLE PRECISION, qty BIGINT, "unit price" DOUBLE PRECISION, region TEXT, '
               "plan TEXT, day DATE, ts TIMESTAMPTZ, paid BOOLEAN, vip BOOLEAN")


def write_duckdb(frame: pd.DataFrame, path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    data = frame.astype({"vip": "boolean"})  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"CREATE TABLE events ({SQL_COLUMNS.replace('DOUBLE PRECISION', 'DOUBLE')})")
    con.execute("INSERT INTO events SELECT * FROM data")
    con.close()


def load_postgres(pg: Postgres, frame: pd.DataFrame) -> None:
    with pg.connect() as con:
        con.execute(f"DROP TABLE IF EXISTS events; CREATE TABLE events ({SQL_COLUMNS})")
        with con.cursor().copy("COPY events FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row((int(row[0]), None if pd.isna(row[1]) else row[1], int(row[2]), row[3], row[4],
                                row[5], row[6], row[7].to_pydatetime(), bool(row[8]), row[9]))


def kpi_ids() -> dict[str, str]:
    return {text: f"f{i:03d}" for i, text in enumerate([*FILTERS, *FAILING])}


def config_text(source: str) -> str:
    out = ['[project]\nname = "Parity"\ntimezone = "Europe/Lisbon"\nperiod = "2026-Q4"\n',
           f"[sources.events]\n{source}\n"]
    for text, kpi_id in kpi_ids().items():
        quoted = json.dumps(text)  # a JSON string is a TOML basic string
        out.append(f'[kpis.{kpi_id}_rows]\nsource = "events"\nagg = "count"\nfilter = {quoted}\n')
        out.append(f'[kpis.{kpi_id}_w]\nsource = "events"\ncolumn = "w"\nfilter = {quoted}\n')
    return "\n".join(out)


def run(folder: Path, source: str) -> dict:
    (folder / "config.toml").write_text(config_text(source))
    return sync(load_config(folder / "config.toml"), AS_OF).to_dict()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return table()


@pytest.fixture(scope="module")
def csv_result(frame, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("csv")
    write_csv(frame, folder / "events.csv")
    return run(folder, 'type = "csv"\npath = "events.csv"')


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine_result(request, frame, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "duckdb":
        write_duckdb(frame, folder / "m.duckdb")
        return run(folder, 'type = "sql"\nurl = "duckdb:///m.duckdb"\ntable = "events"')
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server() as pg, pytest.MonkeyPatch.context() as env:
        load_postgres(pg, frame)
        env.setenv("PARITY_URL", pg.url())
        return run(folder, 'type = "sql"\nurl_env = "PARITY_URL"\ntable = "events"')


def values(result: dict) -> dict[str, float | None]:
    return {k["id"]: k["value"] for k in result["kpis"]}


def errors(result: dict) -> dict[str, str]:
    """Each failing KPI's line, by KPI id."""
    out = {}
    for line in result["errors"]:
        key = line.split(":", 1)[0]
        out[key.removeprefix("kpis.").removesuffix(".filter")] = line
    return out


@pytest.mark.parametrize("text", list(FILTERS))
def test_a_filter_keeps_the_same_rows_in_the_engine_as_in_a_csv(text, csv_result, engine_result):
    kpi_id = kpi_ids()[text]
    csv, engine = values(csv_result), values(engine_result)
    assert errors(csv_result).get(f"{kpi_id}_rows") is None and errors(engine_result).get(f"{kpi_id}_rows") is None
    rows, weight = f"{kpi_id}_rows", f"{kpi_id}_w"
    assert (engine[rows], engine[weight]) == (csv[rows], csv[weight]), text
    kept = {0: "none", ROWS: "all"}.get(int(csv[rows]), "some")
    assert kept == FILTERS[text], f"{text}: keeps {int(csv[rows])} of {ROWS} rows"


@pytest.mark.parametrize("text", list(FAILING))
def test_a_filter_that_cannot_run_fails_with_the_same_line_in_the_engine_as_in_a_csv(
    text, csv_result, engine_result
):
    kpi_id = kpi_ids()[text]
    csv, engine = errors(csv_result), errors(engine_result)
    for suffix in ("_rows", "_w"):
        line = csv.get(f"{kpi_id}{suffix}")
        assert line is not None and line.startswith(f"kpis.{kpi_id}{suffix}.filter: {FAILING[text]}"), line
        assert engine.get(f"{kpi_id}{suffix}") == line
    assert values(csv_result)[f"{kpi_id}_rows"] is None and values(engine_result)[f"{kpi_id}_rows"] is None


def test_every_kpi_is_accounted_for(csv_result, engine_result):
    """No KPI fails on either side but those listed as failing."""
    failing = {kpi_ids()[t] for t in FAILING}
    for result in (csv_result, engine_result):
        assert {k.rsplit("_", 1)[0] for k in errors(result)} == failing
