"""`python -m bench warehouse`: its report and BENCHMARKS.md section; at a toy size (slow), the
same numbers as pandas."""

from __future__ import annotations

import pytest

from bench.warehouse import SECTION, kpis, render, render_markdown, run, write_markdown


def test_fifty_kpis():
    assert len(kpis()) == 50


def figures_of(small: float, full: float) -> dict:
    sync = {"seconds": 2.0, "read_seconds": 1.5, "queries": 4, "frame_mib": 0.0, "errors": [], "kpis": {}}
    return {"rows": 100_000_000, "small_rows": 10_000_000, "kpis": 50, "memory_limit": "64MB", "duckdb": "1.5",
            "measured": "2026-12-01", "same_numbers": True, "memory_ratio": full / small, "flat": full / small <= 1.1,
            "sync_small": {**sync, "peak_mib": small}, "sync_full": {**sync, "seconds": 9.0, "peak_mib": full},
            "pandas_small": {**sync, "seconds": 20.0, "peak_mib": 3000.0, "queries": 1, "frame_mib": 500.0},
            "pandas_full_mib_estimate": 5000.0}


def test_the_benchmarks_section_is_rewritten_from_the_figures_and_the_rest_kept(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\n## Before\n\nkept\n\n{SECTION}: old\n\nstale 9.9 s\n\n## After\n\nkept too\n")
    write_markdown(doc, render_markdown(figures_of(250.0, 270.0)))
    text = doc.read_text()
    assert "stale 9.9 s" not in text and text.count(SECTION) == 1
    assert text.index("## Before") < text.index(SECTION) < text.index("## After") and "kept too" in text
    assert "| sync, 100M rows, memory_limit 64MB | 9.0 s | 270 MiB | 4 |" in text
    assert "**Flat memory: target met.**" in text and "1.08x the peak memory" in text
    write_markdown(doc, render_markdown(figures_of(250.0, 600.0)))
    assert "**Flat memory: target missed.**" in doc.read_text()
    assert "(target within 1.10x: MISSED)" in render(figures_of(250.0, 600.0))


@pytest.mark.slow
def test_warehouse_bench_runs_end_to_end(tmp_path):
    figures = run(400_000, 200_000, tmp_path, log=lambda _: None, default_too=False)
    assert figures["same_numbers"]  # the pushdown and pandas agree on all 50 KPIs
    assert figures["sync_full"]["queries"] == figures["sync_small"]["queries"] <= 5
    assert figures["sync_full"]["errors"] == []
    report = render(figures)
    assert "peak memory, 400,000 vs 200,000 rows" in report and "same numbers: yes" in report
