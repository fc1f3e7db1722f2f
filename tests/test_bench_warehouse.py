"""`python -m bench warehouse` at a toy size: its report, the same numbers as pandas, flat memory."""

from __future__ import annotations

from bench.warehouse import kpis, render, run


def test_fifty_kpis():
    assert len(kpis()) == 50


def test_warehouse_bench_runs_end_to_end(tmp_path):
    figures = run(400_000, 200_000, tmp_path, log=lambda _: None)
    assert figures["same_numbers"]  # the pushdown and pandas agree on all 50 KPIs
    assert figures["sync_full"]["queries"] == figures["sync_small"]["queries"] <= 4
    assert figures["sync_full"]["errors"] == []
    report = render(figures)
    assert "peak memory, 400,000 vs 200,000 rows" in report and "same numbers: yes" in report
