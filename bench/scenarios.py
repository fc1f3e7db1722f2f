"""Two focused benchmarks beside the organisation sizes.

- ``python -m bench flat``: cost flat in KPIs per source. One 774,000-row CSV source read and
  computed with 1 filtered KPI, with 5 (one per aggregation: every column and filter the 40
  use) and with 40 (five aggregations over four filters): shared masks, shared date-sorted
  columns and row positions should keep 40 within 2x of one.
- ``python -m bench latency``: Google reads at real Google latency. The large organisation's
  200 spreadsheets served with 300 ms per request and a per-account quota of 300 a minute,
  read one at a time with one account (``parallel = 1``) and then in parallel over four
  service accounts; the target is 6x faster with zero 429 answers.

Each measured read runs in its own worker process, as in `bench.run`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.orgs import AS_OF, SourceSpec, data_dir, load_or_generate, make_rows, write_config
from bench.run import log, run_task
from tests.fake_google import FakeGoogle
from tests.fake_google.credentials import write_service_account

FLAT_ROWS = 774_000
FLAT_AGGS = (("sum", "Amount"), ("count", "Order ID"), ("count_distinct", "Customer"), ("mean", "Score"),
             ("median", "Amount"))
FLAT_FILTERS = ("Status == 'paid'", "Status == 'refunded'", "Channel == 'web' and Status == 'paid'",
                "Channel != 'spam'")


def _flat_config(path: Path, csv: Path, kpis: int) -> Path:
    lines = ["[project]", 'name = "Flat"', 'timezone = "UTC"', 'period = "2026-Q4"', 'state_dir = "state"', "",
             "[sources.orders]", 'type = "csv"', f"path = {json.dumps(str(csv))}", ""]
    for i in range(kpis):
        agg, column = FLAT_AGGS[i % len(FLAT_AGGS)]
        lines += [f"[kpis.k{i:02d}]", f'title = "KPI {i}"', 'source = "orders"', f"column = {json.dumps(column)}",
                  f'agg = "{agg}"', 'date_column = "Date"', f"filter = {json.dumps(FLAT_FILTERS[i % 4])}", ""]
    lines += ["[[objectives]]", 'id = "O1"', 'title = "Flat"', "[[objectives.key_results]]", 'id = "KR1"',
              'title = "KR"', 'kpi = "k00"', "target = 1", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def flat(kpi_counts: tuple[int, ...] = (1, 5, 40), repeat: int = 3) -> dict[str, Any]:
    """Read + compute seconds for the same source with each number of filtered KPIs."""
    folder = data_dir("flat")
    csv = folder / "orders.csv"
    if not csv.exists():
        log(f"[bench] flat: writing {FLAT_ROWS:,} rows")
        folder.mkdir(parents=True, exist_ok=True)
        frame = make_rows(SourceSpec("orders", "csv", 0, FLAT_ROWS), 17)
        frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
        frame.to_csv(csv, index=False)
    out: dict[str, Any] = {"rows": FLAT_ROWS, "runs": {}}
    for count in kpi_counts:
        run_dir = Path(tempfile.mkdtemp(prefix="sheetsync-bench-flat-"))
        try:
            config = _flat_config(run_dir / "config.toml", csv, count)
            (run_dir / "run.json").write_text(json.dumps({"dir": str(run_dir), "config": str(config),
                                                          "as_of": AS_OF.isoformat(), "clock": None}))
            best: dict[str, Any] | None = None
            for _ in range(repeat):
                got = run_task("sheetsync-sync", run_dir)
                if best is None or got["seconds"]["compute"] < best["seconds"]["compute"]:
                    best = got
            assert best is not None
            cpu = run_task("sheetsync-prepare-cpu", run_dir)["cpu_seconds"]
            out["runs"][count] = {"read": best["seconds"]["read"], "compute": best["seconds"]["compute"],
                                  "peak_kb": best["process_peak_kb"], "cpu": cpu}
            log(f"[bench] flat: {count} KPIs: compute {best['seconds']['compute']:.2f} s")
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    one, many = out["runs"][kpi_counts[0]], out["runs"][kpi_counts[-1]]
    out["ratio"] = many["compute"] / one["compute"]
    out["ratio_read_compute"] = (many["read"] + many["compute"]) / (one["read"] + one["compute"])
    out["ratio_cpu"] = many["cpu"] / one["cpu"]
    if len(kpi_counts) > 2:  # one KPI of each kind reads every column the 40 read: the KPIs' own cost
        every = out["runs"][kpi_counts[1]]
        out["ratio_same_columns"] = many["compute"] / every["compute"]
    return out


def latency(size: str = "large", seconds: float = 0.3, accounts: int = 4, per_minute: int = 300,
            parallel: int = 16) -> dict[str, Any]:
    """The size's Google Sheets read one at a time, then in parallel over `accounts` service accounts."""
    org = load_or_generate(size, log=log)
    run_dir = Path(tempfile.mkdtemp(prefix=f"sheetsync-bench-latency-{size}-"))
    server = FakeGoogle(latency=seconds)
    server.start()
    out: dict[str, Any] = {"size": size, "latency": seconds, "spreadsheets": len(org.spreadsheet_keys),
                           "accounts": accounts, "per_minute": per_minute, "parallel": parallel, "runs": {}}
    try:
        for key, tabs in org.sheets():
            server.add_spreadsheet(f"Bench {key[:6]}", tabs, spreadsheet_id=key)
        files = []
        for i in range(accounts):
            email = f"bench{i}@bench.iam.gserviceaccount.com"
            path = write_service_account(run_dir / f"sa{i}.json", server, email=email)
            path.chmod(0o600)
            files.append(path)
        plans = {"one at a time": ([files[0]], 1), f"parallel, {accounts} accounts": (files, parallel)}
        for label, (creds, workers) in plans.items():
            config = write_config(org, run_dir / "config.toml", api_url=server.url, credentials=creds,
                                  requests_per_minute=per_minute, parallel=workers)
            (run_dir / "run.json").write_text(json.dumps({"dir": str(run_dir), "config": str(config),
                                                          "as_of": AS_OF.isoformat(), "clock": None}))
            server.set_quota(per_minute, per_user=True)  # Google's per-user limit, each account apart
            server.reset_calls()
            server.max_in_flight = 0
            log(f"[bench] latency: {label} ...")
            started = time.perf_counter()
            got = run_task("sheetsync-google", run_dir)
            out["runs"][label] = {
                "seconds": got["seconds"]["read"], "process_seconds": time.perf_counter() - started,
                "refused": server.quota_refusals, "calls": server.call_counts(), "in_flight": server.max_in_flight,
                "by_account": server.calls_by_identity(), "failed": len(got.get("failed_sources", [])),
            }
            log(f"[bench] latency: {label}: {got['seconds']['read']:.1f} s, {server.quota_refusals} refused")
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    serial, fast = (out["runs"][k]["seconds"] for k in out["runs"])
    out["speedup"] = serial / fast
    return out


def render_flat(out: dict[str, Any]) -> str:
    runs = out["runs"]
    lines = [f"flat in KPIs per source: one CSV source of {out['rows']:,} rows", ""]
    for count, r in runs.items():
        lines.append(f"  {count:>3} filtered KPIs: read {r['read']:.2f} s, compute {r['compute']:.2f} s, "
                     f"peak {r['peak_kb'] / 1024:,.0f} MiB; prepare + compute CPU {r['cpu'] * 1000:.0f} ms")
    met = out["ratio"] <= 2.0
    lines.append(f"  [{'met' if met else 'MISSED'}] 40 KPIs at most 2x one KPI (compute): {out['ratio']:.2f}x "
                 f"(read + compute {out['ratio_read_compute']:.2f}x; CPU {out['ratio_cpu']:.2f}x)")
    if "ratio_same_columns" in out:
        same = out["ratio_same_columns"]
        lines.append(f"  40 KPIs against 5 over the same columns and filters (compute): {same:.2f}x")
    return "\n".join(lines)


def render_latency(out: dict[str, Any]) -> str:
    lines = [f"Google reads at {out['latency'] * 1000:.0f} ms a request: {out['size']}, {out['spreadsheets']} "
             f"spreadsheets, quota {out['per_minute']} a minute per account", ""]
    for label, r in out["runs"].items():
        lines.append(f"  {label:<24}{r['seconds']:7.1f} s, {r['refused']} answers 429, at most {r['in_flight']} "
                     f"requests in flight, {r['failed']} sources failed")
    refused = sum(r["refused"] for r in out["runs"].values())
    met = out["speedup"] >= 6 and refused == 0
    lines.append(f"  [{'met' if met else 'MISSED'}] parallel at least 6x faster than one at a time, no 429: "
                 f"{out['speedup']:.1f}x, {refused} answers 429")
    return "\n".join(lines)
