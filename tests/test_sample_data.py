"""The example never rots: `init` writes sample data for the current quarter, and the repo's
pinned example reads sensibly after its quarter (the close-out)."""

from __future__ import annotations

import email
import email.policy
import filecmp
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from sheetsync import resources
from sheetsync.config import load_config
from sheetsync.core.periods import parse_period
from sheetsync.runtime.jobs import run_sync
from sheetsync.runtime.sample_data import example_config_for, quarter_of, write_sample_data
from tests.helpers import ROOT, copy_example, run_cli


def test_init_then_run_today_reads_as_a_quarter_in_progress(tmp_path):
    proc = run_cli("init", "proj", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = run_cli("run", "--json", "r.json", cwd=tmp_path / "proj")
    assert run.returncode == 0, run.stderr  # fresh: no number is old
    results = json.loads((tmp_path / "proj" / "r.json").read_text())
    today = datetime.now(ZoneInfo("Europe/Lisbon")).date()
    assert results["period"]["name"] == quarter_of(today).name and results["period"]["closed"] is False
    assert all(k["stale"] is None for k in results["kpis"])
    assert all(kr["status"] != "no_data" for o in results["objectives"] for kr in o["key_results"])


@pytest.mark.parametrize("today", [date(2027, 1, 1), date(2027, 2, 16), date(2027, 3, 31), date(2026, 12, 1)])
def test_sample_data_for_any_day_is_fresh_and_in_progress(tmp_path, today):
    period = quarter_of(today)
    config_path = tmp_path / "config.toml"
    config_path.write_text(example_config_for(resources.example_config().read_text(), period))
    write_sample_data(tmp_path / "data", period, max(date.fromordinal(today.toordinal() - 1), period.start))
    config = load_config(config_path)
    assert config.period == period
    assert f'title = "Grow sales 30% over Q{period.previous().name[-1]}"' in config_path.read_text()
    outcome = run_sync(config, today)
    assert outcome.exit_code == 0, [(k.id, k.stale) for k in outcome.result.kpis if k.stale]
    assert not outcome.result.closed and 0 < outcome.result.expected < 1.01


def test_the_pinned_generator_is_the_repositorys_data(tmp_path):
    write_sample_data(tmp_path, parse_period("2026-Q4"), date(2026, 11, 23))
    for name in ("support.csv", "web.csv", "customers.csv", "products.csv"):
        assert filecmp.cmp(tmp_path / name, ROOT / "data" / name, shallow=False), name
    ours = list(load_workbook(tmp_path / "sales.xlsx")["Orders"].iter_rows(values_only=True))
    assert ours == list(load_workbook(ROOT / "data" / "sales.xlsx")["Orders"].iter_rows(values_only=True))


def test_the_pinned_example_after_its_quarter_is_a_close_out(tmp_path):
    copy_example(tmp_path)
    assert run_cli("sync", "--as-of", "2026-11-24", cwd=tmp_path).returncode == 0  # a week with good numbers
    proc = run_cli("run", "--as-of", "2027-01-05", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr  # its data stops on 23 Nov: stale, and it says so
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["period"]["closed"] is True and results["period"]["expected"] == 1.0
    krs = [kr for o in results["objectives"] for kr in o["key_results"]]
    assert {kr["status"] for kr in krs} <= {"done", "missed"}
    assert all(kr["score"] is not None for kr in krs)
    assert all(o["status"] in ("done", "missed") and o["score"] is not None for o in results["objectives"])
    assert next(k for k in results["kpis"] if k["id"] == "revenue")["window"]["end"] == "2026-12-31"
    message = email.message_from_bytes((tmp_path / "outbox" / "2027-W01-all.eml").read_bytes(),
                                       policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "CLOSE-OUT: 2026-Q4 ENDED 31 DEC 2026" in text
    o1 = next(o for o in results["objectives"] if o["id"] == "O1")
    assert f"O1 Enhance customer experience: final score {o1['score']:.2f}" in text
    assert "Missed: " in text and "2026-Q4 is over" in text
    banner = next(line for line in text.splitlines() if "no new data since 23 Nov 2026." in line)
    assert "Revenue" in banner and "Orders" in banner  # one sentence for the numbers that stopped together
