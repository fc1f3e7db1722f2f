"""The warehouse size: `python -m bench warehouse [--rows 100000000] [--small 10000000]`.

A DuckDB table of events (100 million rows by default) with 50 KPIs over it: sums, means,
counts, minima, maxima and distinct counts, filtered, over the quarter to date, the last
complete week and the last complete month, with their series and a previous-quarter
baseline. Each measurement runs in its own process, which reports its own peak RSS:

- the sync at the small and the full size with the source's `memory_limit` (`--memory-limit`,
  64MB by default: pushdown must keep peak memory flat, within 10%), with its wall time and
  the number of queries the engine ran;
- the same sync with DuckDB's memory left at sheetsync's default (a quarter of RAM), whose
  block cache grows with the table (`--no-default` skips it);
- the same KPIs done by loading the table into pandas and computing there, at the small size
  (loading the full size is not attempted: its memory is the small size's scaled by the rows).

`--markdown BENCHMARKS.md` rewrites that file's warehouse section from the figures (`--from-json`
renders a saved `--json` run again without measuring). Median is left out on purpose: an exact
median holds every value of its window, in any engine.
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
MEMORY_LIMIT = "64MB"  # the bench source's DuckDB memory_limit: below what the small size's cache fills
SECTION = "## Warehouse"

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


def write_config(folder: Path, table: Path, memory_limit: str | None = None) -> Path:
    config = folder / "config.toml"
    limit = f'memory_limit = "{memory_limit}"' if memory_limit else "# memory_limit: sheetsync's default"
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
{limit}

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


def run(rows: int, small: int, data_root: Path, log: Any = print, memory_limit: str = MEMORY_LIMIT,
        default_too: bool = True, repeat: int = 1) -> dict[str, Any]:
    """Every measurement; with `repeat`, the syncs run again in turn and each keeps its best time
    (and its highest peak), as other work on the machine slows single runs."""
    data_root.mkdir(parents=True, exist_ok=True)
    import duckdb

    figures: dict[str, Any] = {"rows": rows, "small_rows": small, "kpis": 50, "memory_limit": memory_limit,
                               "duckdb": duckdb.__version__, "measured": time.strftime("%Y-%m-%d", time.gmtime()),
                               "repeat": repeat}
    for count in (small, rows):
        make_table(data_root / f"warehouse-{count}.duckdb", count, log)
    for round_ in range(repeat):
        for label, count in (("small", small), ("full", rows)):
            table = data_root / f"warehouse-{count}.duckdb"
            for kind, limit in (("", memory_limit), ("_default", None)):
                if kind and not default_too:
                    continue
                folder = data_root / f"warehouse-{count}{kind}"
                folder.mkdir(exist_ok=True)
                config = write_config(folder, table, limit)
                log(f"[bench] warehouse: sync over {count:,} rows, memory_limit {limit or 'default'} ...")
                got, key = measure("sync", config), f"sync_{label}{kind}"
                if key in figures:
                    got["peak_mib"] = max(got["peak_mib"], figures[key]["peak_mib"])
                    if figures[key]["seconds"] < got["seconds"]:
                        got = {**figures[key], "peak_mib": got["peak_mib"]}
                figures[key] = got
                if label == "small" and not kind and round_ == 0:
                    log(f"[bench] warehouse: pandas over {count:,} rows ...")
                    figures["pandas_small"] = measure("pandas", config)
    sync_small, sync_full, pandas = figures["sync_small"], figures["sync_full"], figures["pandas_small"]
    figures["same_numbers"] = all(_close(sync_small["kpis"][k], v) for k, v in pandas["kpis"].items())
    figures["memory_ratio"] = sync_full["peak_mib"] / sync_small["peak_mib"]
    figures["flat"] = figures["memory_ratio"] <= FLAT
    if default_too:
        figures["default_memory_ratio"] = figures["sync_full_default"]["peak_mib"] / figures["sync_small_default"][
            "peak_mib"]
        figures["same_numbers"] &= all(_close(figures["sync_full_default"]["kpis"][k], v)
                                       for k, v in sync_full["kpis"].items())
    figures["pandas_full_mib_estimate"] = pandas["frame_mib"] * rows / small  # the DataFrame alone
    return figures


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _rows(f: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(run, time, peak RSS, queries) for each measurement, in the order reported."""
    out = []
    for key, count, how in (("sync_small", "small_rows", f"memory_limit {f.get('memory_limit', MEMORY_LIMIT)}"),
                            ("sync_full", "rows", f"memory_limit {f.get('memory_limit', MEMORY_LIMIT)}"),
                            ("sync_small_default", "small_rows", "default memory"),
                            ("sync_full_default", "rows", "default memory")):
        if key in f:
            m = f[key]
            out.append((f"sync, {_short(f[count])} rows, {how}", f"{m['seconds']:.1f} s", f"{m['peak_mib']:,.0f} MiB",
                        str(m["queries"])))
    p = f["pandas_small"]
    out.append((f"pandas, {_short(f['small_rows'])} rows loaded, then the same KPIs", f"{p['seconds']:.1f} s",
                f"{p['peak_mib']:,.0f} MiB", str(p["queries"])))
    frame = f"the DataFrame alone: {f['pandas_full_mib_estimate']:,.0f} MiB"
    out.append((f"pandas, {_short(f['rows'])} rows", "not run", frame, ""))
    return out


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n:,}"


def _verdict(f: dict[str, Any]) -> str:
    return (f"peak memory, {f['rows']:,} vs {f['small_rows']:,} rows: {f['memory_ratio']:.2f}x "
            f"(target within {FLAT:.2f}x: {'met' if f['flat'] else 'MISSED'})")


def render(f: dict[str, Any]) -> str:
    s, p = f["sync_small"], f["pandas_small"]
    lines = [f"sheetsync benchmark: warehouse - one DuckDB table, {f['kpis']} KPIs, pushdown through Ibis", "",
             f"{'':44}{'time':>9}{'peak RSS':>14}{'queries':>9}"]
    lines += [f"{run:44}{t:>9}{peak:>14}{q:>9}" if peak.endswith(" MiB") and " " not in peak[:-4]
              else f"{run:44}{t:>9}  {peak}" for run, t, peak, q in _rows(f)]
    lines += ["", _verdict(f)]
    if "default_memory_ratio" in f:
        lines.append(f"with DuckDB's memory at the default: {f['default_memory_ratio']:.2f}x")
    same = "yes" if f["same_numbers"] else "NO"
    lines.append(f"at {f['small_rows']:,} rows pandas takes {p['seconds'] / s['seconds']:.1f}x the sync's time and "
                 f"{p['peak_mib'] / s['peak_mib']:.1f}x its memory; same numbers: {same}")
    return "\n".join(lines)


def render_markdown(f: dict[str, Any]) -> str:
    """BENCHMARKS.md's warehouse section: the figures of one run and what they mean."""
    full, default = f["sync_full"], f.get("sync_full_default")
    rows = "\n".join(f"| {run} | {t} | {peak} | {q} |" for run, t, peak, q in _rows(f))
    limit = f.get("memory_limit", MEMORY_LIMIT)
    slower = full["seconds"] / f["sync_small"]["seconds"]
    verdict, big, small = "met" if f["flat"] else "missed", _short(f["rows"]), _short(f["small_rows"])
    again = f" --repeat {f['repeat']}" if f.get("repeat", 1) > 1 else ""
    best = (f" Each sync ran {f['repeat']} times, in turn with the others: its best time and its highest peak."
            if again else "")
    text = f"""{SECTION}: {f['kpis']} KPIs over a {_short(f['rows'])}-row DuckDB table

*Generated by the command below ({f.get('measured', '')}, DuckDB
{f.get('duckdb', '')}); edit `bench/warehouse.py`, not this section.*

```console
$ python -m bench warehouse --rows {f['rows']} --small {f['small_rows']}{again} --markdown BENCHMARKS.md
```

One DuckDB table of events (timestamp with zone, date, amount, region, channel, user, paid),
{f['kpis']} KPIs over it (sum, mean, count, min, max and count_distinct; filtered; quarter to date,
last complete week and last complete month, with series and a previous-quarter baseline). Each
figure is its own process's wall time and peak RSS (VmHWM, which includes DuckDB's buffers), on a
2-core machine shared with other work, so compare the rows of one run with each other.{best}

| run | time | peak RSS | queries |
| --- | ---: | ---: | ---: |
{rows}

Same numbers from the engine and from pandas on all {f['kpis']} KPIs: {'yes' if f['same_numbers'] else '**NO**'}.

**Flat memory: target {verdict}.** With the source's `memory_limit = "{limit}"`, {big}
rows take {f['memory_ratio']:.2f}x the peak memory of {small} (target: within {FLAT - 1:.0%}), in {slower:.1f}x the
time for {f['rows'] // f['small_rows']}x the rows. What grows with the table is DuckDB's cache of the blocks it has
read, which it keeps up to its memory limit; the sync's own memory (a handful of rows per KPI)
does not. Distinct counts are two grouped aggregations (the distinct date segment, value and
filter tuples, then a count per window), whose memory follows the distinct values, not the rows,
and which DuckDB spills to disk past its limit; a filter shared by several KPIs is computed once
per row, and how fresh each KPI is comes with the grouped query of its date column."""
    if default is not None:
        text += f"""

With DuckDB's memory at sheetsync's default (a quarter of RAM, for aggregations that cannot
spill, such as an exact median) the cache is not bounded at these sizes: {f['default_memory_ratio']:.2f}x,
and {default['seconds']:.1f} s at {_short(f['rows'])} rows against {full['seconds']:.1f} s with the limit. Set
`memory_limit` on a large DuckDB or Parquet source to bound the sync's memory."""
    return text + "\n"


def write_markdown(path: Path, section: str) -> None:
    """Replace the warehouse section of BENCHMARKS.md (or append it), leaving the rest as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end:] if end >= 0 else "")
    path.write_text(text, encoding="utf-8")


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
    parser.add_argument("--memory-limit", default=MEMORY_LIMIT, help="the source's DuckDB memory_limit")
    parser.add_argument("--no-default", action="store_true", help="skip the runs at the default memory limit")
    parser.add_argument("--repeat", type=int, default=1, help="run each sync this many times, keeping the best")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="rewrite this file's warehouse section")
    parser.add_argument("--from-json", type=Path, metavar="PATH", help="render a saved --json run, measuring nothing")
    args = parser.parse_args(args_list)
    if args.from_json:
        figures = json.loads(args.from_json.read_text())
    else:
        figures = run(args.rows, args.small, args.data_dir, log=lambda m: print(m, file=sys.stderr, flush=True),
                      memory_limit=args.memory_limit, default_too=not args.no_default, repeat=args.repeat)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    if args.markdown:
        write_markdown(args.markdown, render_markdown(figures))
    return 0 if figures["flat"] and figures["same_numbers"] else 1


if __name__ == "__main__":
    sys.exit(main())
