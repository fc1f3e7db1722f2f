"""The warehouse size: `python -m bench warehouse [--rows 100000000] [--small 10000000]`.

A DuckDB table of events (100 million rows by default) with 50 KPIs over it: sums, means,
counts, minima, maxima and distinct counts, filtered, over the quarter to date, the last
complete week and the last complete month, with their series and a previous-quarter
baseline. Each measurement runs in its own process, which reports its own peak RSS:

- the sync at the small and the full size (pushdown: peak memory must stay flat, within 10%),
  with its wall time and the number of queries the engine ran;
- the same KPIs done by loading the table into pandas and computing there, at the small size
  (loading the full size is not attempted: its memory is the small size's scaled by the rows).

Median is left out on purpose: an exact median holds every value of its window, in any engine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-18"
FLAT = 1.10  # full-size peak within 10% of the small size's

REGIONS = ("EU", "US", "APAC", "LATAM", "MEA")
CHANNELS = ("web", "app", "partner", "store")


def make_table(path: Path, rows: int, log: Any = print) -> None:
    """Events over mid-2026 (the previous quarter and this one), generated inside DuckDB."""
    import duckdb

    if path.exists():
        return
    log(f"[bench] warehouse: generating {rows:,} rows in {path}")
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    step = 183 * 86400 / rows  # seconds between events: July to December
    con.execute(f"""
        CREATE TABLE events AS SELECT
            TIMESTAMPTZ '2026-07-01 00:00:00+00' + to_microseconds(CAST(i * {step * 1e6:.3f} AS BIGINT)) AS ts,
            CAST(DATE '2026-07-01' + CAST(i * {step / 86400:.12f} AS INTEGER) AS DATE) AS day,
            CAST((i * 7919) % 100000 AS DOUBLE) / 100 AS amount,
            ['{"','".join(REGIONS)}'][1 + (i * 31) % {len(REGIONS)}] AS region,
            ['{"','".join(CHANNELS)}'][1 + (i * 17) % {len(CHANNELS)}] AS channel,
            CAST((i * 104729) % 20000 AS INTEGER) AS user_id,
            (i % 10) < 7 AS paid
        FROM range({rows}) t(i)
    """)
    con.close()
    tmp.rename(path)


def kpis() -> list[str]:
    """50 KPIs: six aggregations x windows x filters, all on the one table."""
    out = []
    aggs = (("sum", "amount"), ("mean", "amount"), ("count", None), ("min", "amount"), ("max", "amount"),
            ("count_distinct", "user_id"))
    shapes = (("to_date", "week", "ts"), ("latest", "week", "ts"), ("latest", "month", "day"))
    filters = [None, *(f"region == '{r}'" for r in REGIONS[:3]), "channel in ['web', 'app'] and paid",
               "amount > 500 or region == 'MEA'"]
    n = 0
    for flt in filters:
        for agg, column in aggs:
            for window, grain, date_column in shapes:
                if n == 50:
                    return out
                lines = [f"[kpis.k{n:02d}]", 'source = "events"', f'agg = "{agg}"', f'date_column = "{date_column}"',
                         f'window = "{window}"', f'grain = "{grain}"']
                if column:
                    lines.append(f'column = "{column}"')
                if flt:
                    lines.append(f'filter = "{flt}"')
                out.append("\n".join(lines))
                n += 1
    return out


def write_config(folder: Path, table: Path) -> Path:
    config = folder / "config.toml"
    config.write_text(f"""
[project]
name = "Warehouse bench"
timezone = "Europe/Lisbon"
period = "2026-Q4"

[sources.events]
type = "sql"
url = "duckdb:///{table}"
table = "events"
timeout = 3600

{chr(10).join(kpis())}

[[objectives]]
id = "grow"

[[objectives.key_results]]
id = "revenue"
kpi = "k00"
baseline = "previous_period"
change = "+10%"

[tracker]
path = "out/tracker.xlsx"
""")
    return config


# --- workers: one process per measurement ------------------------------------------------


def worker(mode: str, config_path: str) -> dict[str, Any]:
    from datetime import date

    from sheetsync.config import load_config
    from sheetsync.runtime.pipeline import compute, read_with

    config = load_config(config_path)
    as_of = date.fromisoformat(AS_OF)
    started = time.perf_counter()
    frame_mib = 0.0
    if mode == "sync":
        data = read_with(config, as_of=as_of)
        queries = sum(getattr(d, "queries", 0) for d in data.values())
    else:  # pandas: the whole table into a DataFrame, then sheetsync's own pandas path
        from dataclasses import replace
        from datetime import UTC, datetime

        import duckdb

        from sheetsync.core.sources import SourceData

        source = config.sources["events"]
        path = source.url.split("///", 1)[1]  # type: ignore[union-attr]
        frame = duckdb.connect(path, read_only=True).execute("SELECT * FROM events").df()
        queries = 1
        frame_mib = frame.memory_usage(deep=True).sum() / 2**20
        data = {"events": SourceData("events", "csv", path, None, datetime.now(UTC), frame)}
        config = replace(config, sources={"events": replace(source, type="csv", path=path)})
    loaded = time.perf_counter() - started
    result = compute(config, data, as_of)
    return {
        "seconds": time.perf_counter() - started,
        "read_seconds": loaded,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "queries": queries,
        "frame_mib": frame_mib,
        "errors": list(result.errors),
        "kpis": {k.id: k.value for k in result.kpis},
    }


def measure(mode: str, config: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "bench.warehouse", "--worker", mode, str(config)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench worker {mode} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(rows: int, small: int, data_root: Path, log: Any = print) -> dict[str, Any]:
    data_root.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"rows": rows, "small_rows": small, "kpis": 50}
    for label, count in (("small", small), ("full", rows)):
        table = data_root / f"warehouse-{count}.duckdb"
        make_table(table, count, log)
        folder = data_root / f"warehouse-{count}"
        folder.mkdir(exist_ok=True)
        config = write_config(folder, table)
        log(f"[bench] warehouse: sync over {count:,} rows ...")
        figures[f"sync_{label}"] = measure("sync", config)
        if label == "small":
            log(f"[bench] warehouse: pandas over {count:,} rows ...")
            figures["pandas_small"] = measure("pandas", config)
    sync_small, sync_full, pandas = figures["sync_small"], figures["sync_full"], figures["pandas_small"]
    figures["same_numbers"] = all(_close(sync_small["kpis"][k], v) for k, v in pandas["kpis"].items())
    figures["memory_ratio"] = sync_full["peak_mib"] / sync_small["peak_mib"]
    figures["flat"] = figures["memory_ratio"] <= FLAT
    figures["pandas_full_mib_estimate"] = pandas["frame_mib"] * rows / small  # the DataFrame alone
    return figures


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def render(f: dict[str, Any]) -> str:
    s, full, p = f["sync_small"], f["sync_full"], f["pandas_small"]
    lines = [
        f"sheetsync benchmark: warehouse - one DuckDB table, {f['kpis']} KPIs, pushdown through Ibis",
        "",
        f"{'':34}{'time':>9}{'peak RSS':>12}{'queries':>9}",
        f"{'sync, ' + format(f['small_rows'], ',') + ' rows':34}{s['seconds']:>8.1f}s{s['peak_mib']:>9.0f} MiB"
        f"{s['queries']:>9}",
        f"{'sync, ' + format(f['rows'], ',') + ' rows':34}{full['seconds']:>8.1f}s{full['peak_mib']:>9.0f} MiB"
        f"{full['queries']:>9}",
        f"{'pandas, ' + format(f['small_rows'], ',') + ' rows loaded':34}{p['seconds']:>8.1f}s"
        f"{p['peak_mib']:>9.0f} MiB{p['queries']:>9}",
        f"{'pandas, ' + format(f['rows'], ',') + ' rows (frame alone)':34}{'':>9}"
        f"{f['pandas_full_mib_estimate']:>9.0f} MiB",
        "",
        f"peak memory, {f['rows']:,} vs {f['small_rows']:,} rows: {f['memory_ratio']:.2f}x "
        f"(target within {FLAT:.2f}x: {'met' if f['flat'] else 'MISSED'})",
        f"at {f['small_rows']:,} rows pandas takes {p['seconds'] / s['seconds']:.1f}x the sync's time and "
        f"{p['peak_mib'] / s['peak_mib']:.1f}x its memory; same numbers: {'yes' if f['same_numbers'] else 'NO'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--worker"]:
        print(json.dumps(worker(args_list[1], args_list[2]), default=str))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench warehouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000, help="rows in the full-size table")
    parser.add_argument("--small", type=int, default=10_000_000, help="rows in the small table (and pandas side)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / ".data", help="where tables are cached")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args(args_list)
    figures = run(args.rows, args.small, args.data_dir, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return 0 if figures["flat"] and figures["same_numbers"] else 1


if __name__ == "__main__":
    sys.exit(main())
