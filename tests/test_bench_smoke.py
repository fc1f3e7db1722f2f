"""The benchmark harness itself, run end to end at its small size (no timing assertions).

`python -m bench small` must keep working as the code under it changes: every stage is
measured on both sides, sheetsync and the hand-written script agree on every KPI, and
sheetsync's Google API calls stay at the minimum.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.run import STAGES, render_report, run_size, summarise


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    data = tmp_path_factory.mktemp("bench-data")
    result = run_size("small", data_root=Path(data))
    return result, summarise(result)


def test_report_has_every_stage_on_both_sides(small: tuple[dict[str, Any], dict[str, Any]]) -> None:
    result, summary = small
    for side in ("sheetsync", "baseline"):
        figures = summary[side]
        assert set(STAGES) <= set(figures["stages"]), side
        for stage in STAGES:
            assert figures["stages"][stage]["seconds"] > 0
            assert figures["stages"][stage]["peak_kb"] > 0
        assert figures["rows"] == 10_000
    assert summary["floor"]["seconds"] > 0
    report = render_report(result, summary)
    for stage in STAGES:
        assert stage in report
    assert "rows/s" in report and "floor" in report


def test_sheetsync_and_the_script_agree(small: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, summary = small
    same, total = summary["kpi_agreement"]
    assert (same, total) == (10, 10)
    assert summary["kr_agreement"] == (10, 10)
    assert not small[0]["tasks"]["sheetsync-sync"]["failed_sources"]


def test_google_api_calls_at_the_minimum(small: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """One values:batchGet per spreadsheet and nothing else (an .xlsx tracker writes nothing to Google)."""
    result, summary = small
    assert result["minimum_calls"] == 1
    assert summary["sheetsync"]["calls"] == {"oauth.token": 1, "values.batchGet": 1}
    assert summary["sheetsync"]["api_calls"] == result["minimum_calls"]


NO_TEST_EXTRAS = """
import sys
for name in ("pytest", "_pytest", "hypothesis", "aiosmtpd", "time_machine"):
    sys.modules[name] = None  # as if only `pip install .` had run: importing them fails
import tempfile
from pathlib import Path

import bench.baseline, bench.orgs, bench.workers  # noqa: E401
from bench.run import FakeGoogle, write_service_account  # what run_size starts the Google reads with

with FakeGoogle() as server:
    path = write_service_account(Path(tempfile.mkdtemp()) / "sa.json", server)
    print("ok", path.is_file())
"""


def test_the_bench_needs_none_of_the_test_extras() -> None:
    """`python -m bench` runs with the plain install: its fake Google server imports no pytest."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", NO_TEST_EXTRAS], cwd=root, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok True"


def test_the_polars_peer_agrees_when_installed(small: tuple[dict[str, Any], dict[str, Any]]) -> None:
    pytest.importorskip("polars")
    pytest.importorskip("fastexcel")
    result, summary = small
    assert summary["polars_agreement"] == (10, 10)
    assert set(summary["polars"]["stages"]) == {"read", "compute"}
    assert "polars" in render_report(result, summary)


def test_flat_scenario_config_is_valid(tmp_path: Path) -> None:
    from bench.scenarios import _flat_config
    from sheetsync.config import load_config

    config = load_config(_flat_config(tmp_path / "config.toml", tmp_path / "orders.csv", 40))
    assert len(config.kpis) == 40 and all(k.filter is not None for k in config.kpis.values())
    assert len({k.filter.text for k in config.kpis.values() if k.filter}) == 4


def test_flat_cpu_worker_prepares_and_computes_the_flat_kpis(tmp_path: Path) -> None:
    from bench import workers
    from bench.orgs import AS_OF, SourceSpec, make_rows
    from bench.scenarios import _flat_config

    frame = make_rows(SourceSpec("orders", "csv", 0, 2_000), 17)
    frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
    frame.to_csv(tmp_path / "orders.csv", index=False)
    run = {"config": str(_flat_config(tmp_path / "config.toml", tmp_path / "orders.csv", 5)),
           "as_of": AS_OF.isoformat()}
    out: dict[str, Any] = {}
    workers.sheetsync_prepare_cpu(run, workers.Stages(), out, rounds=2)
    assert 0 < out["cpu_seconds"] < 60


def test_the_report_says_whether_large_met_its_absolute_targets_in_the_run_it_quotes() -> None:
    from bench.report import _large_standing
    from bench.run import GIB

    def sizes(seconds: float, peak_gib: float) -> dict[str, Any]:
        ours = {"total_seconds": seconds, "peak_kb": peak_gib * GIB}
        summary = {"sheetsync": ours, "baseline": {"total_seconds": 80.0}}
        return {"large": {"summary": summary}}

    assert _large_standing(sizes(17.4, 0.7)).startswith("(met: 17.4 s and 0.70 GiB")
    assert _large_standing(sizes(22.1, 0.7)).startswith("(the time missed, the memory met: 22.1 s")
    both = _large_standing(sizes(22.1, 1.2))
    assert both.startswith("(missed: 22.1 s and 1.20 GiB") and "80.0 s in the same run" in both
    assert "not measured" in _large_standing({})


def test_the_sync_target_compares_what_a_sync_does_and_the_run_target_adds_the_digest() -> None:
    """Issue 17: the whole sync (not the digest) beats the script at every size; at medium the
    whole run, digest included, is at most a quarter of the script's."""
    from bench.run import check_targets

    def side(**seconds: float) -> dict[str, Any]:
        stages = {name.replace("_", " "): {"seconds": s, "peak_kb": 1} for name, s in seconds.items()}
        return {"stages": stages, "total_seconds": sum(seconds.values()), "skipped_seconds": 0.0,
                "sync_seconds": sum(s for name, s in seconds.items() if name != "digest"), "peak_kb": 1,
                "read_compute_seconds": seconds["read"] + seconds["compute"], "api_calls": 1, "calls": {}}

    ours = side(config=0.01, read=0.10, compute=0.02, write_tracker=0.12, digest=0.13)
    script = side(read=0.09, compute=0.06, write_tracker=0.12, digest=0.02)
    result = {"size": "small", "tasks": {}, "minimum_calls": 1, "quota": None}
    targets = {what: (met, measured) for what, met, measured in
               check_targets(result, {"sheetsync": ours, "baseline": script})}
    met, measured = targets["whole sync faster than the pandas script"]
    assert met and measured.startswith("0.25 s vs 0.27 s") and "with the digest 0.38 s vs 0.29 s" in measured
    slower = side(config=0.01, read=0.10, compute=0.02, write_tracker=0.16, digest=0.01)
    assert not dict((w, m) for w, m, _ in check_targets(result, {"sheetsync": slower, "baseline": script}))[
        "whole sync faster than the pandas script"]
    medium = {**result, "size": "medium", "minimum_calls": 1}
    quarter = dict((w, m) for w, m, _ in check_targets(medium, {"sheetsync": ours, "baseline": side(
        read=0.5, compute=0.5, write_tracker=0.3, digest=0.2)}))
    assert quarter["whole sync faster than the pandas script"]
    assert not quarter["whole run at most 0.25x the pandas script's"]  # 0.38 s against 1.5 s
