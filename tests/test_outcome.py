"""Typed outcomes: the tracker's URL and the exit code are fields, never picked out of strings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from sheetsync import cli
from sheetsync.config import load_config
from sheetsync.core.digest import build_digest
from sheetsync.core.model import DigestConfig
from sheetsync.errors import ExitCode
from sheetsync.runtime import jobs
from sheetsync.runtime.jobs import SyncOutcome, run_sync
from sheetsync.runtime.pipeline import sync
from sheetsync.runtime.scheduler import Scheduler
from tests.fake_google import FakeGoogle, fixtures
from tests.helpers import copy_example
from tests.test_gsheet_e2e import gsheet_project, sales_rows

fake_google = fixtures.fake_google
AS_OF = date(2026, 11, 24)


def test_an_xlsx_tracker_has_no_url_and_the_exit_code_is_typed(tmp_path: Path) -> None:
    outcome = run_sync(load_config(copy_example(tmp_path)), AS_OF)
    assert outcome.tracker_url is None
    assert outcome.outputs and outcome.outputs[0].endswith("okr_tracker.xlsx")
    assert outcome.exit_code is ExitCode.OK


def test_a_google_sheet_tracker_reports_its_url(fake_google: FakeGoogle, tmp_path: Path, monkeypatch) -> None:
    sales_id = fake_google.add_spreadsheet("Sales", {"Orders": sales_rows()})
    tracker_id = fake_google.add_spreadsheet("Acme OKR tracker")
    gsheet_project(tmp_path, fake_google, sales_id, tracker_id)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    outcome = run_sync(load_config(tmp_path / "config.toml"), AS_OF)
    assert outcome.tracker_url == f"https://docs.google.com/spreadsheets/d/{tracker_id}/edit"
    assert outcome.tracker_url in outcome.outputs


def test_the_run_command_hands_the_digest_the_typed_url_and_ends_with_the_worst_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(copy_example(tmp_path))
    result = sync(config, AS_OF)
    got: dict[str, Any] = {}

    def fake_sync(_config: object, _as_of: object, *, json_path: object = None) -> SyncOutcome:
        # An output that looks like a link is not the tracker's URL: only the field says so.
        outcome = SyncOutcome(replace(result, errors=("source 'web' failed",)), ["https://example.com/x.json"])
        outcome.tracker_url = "https://docs.google.com/spreadsheets/d/abc/edit"
        return outcome

    def fake_digest(_config: object, _as_of: object, **options: Any) -> Any:
        got.update(options)
        return SimpleNamespace(exit_code=ExitCode.OK, deliveries=[])

    monkeypatch.setattr(jobs, "run_sync", fake_sync)
    monkeypatch.setattr(jobs, "run_digest", fake_digest)
    monkeypatch.chdir(tmp_path)
    ran = CliRunner().invoke(cli.main, ["run", "--config", "config.toml", "--as-of", "2026-11-24"])
    assert got["tracker_url"] == "https://docs.google.com/spreadsheets/d/abc/edit"
    assert ran.exit_code == ExitCode.STALE, ran.output


def test_the_scheduler_hands_the_digest_the_typed_url(tmp_path: Path) -> None:
    config = load_config(copy_example(tmp_path))
    seen: list[dict[str, Any]] = []

    def sync_job(_config: object) -> Any:
        return SimpleNamespace(exit_code=ExitCode.OK, result=SimpleNamespace(errors=()),
                               outputs=["https://not-the-tracker.example/"], tracker_url=None)

    def digest_job(_config: object, **options: Any) -> Any:
        seen.append(options)
        return SimpleNamespace(exit_code=ExitCode.OK, deliveries=[])

    scheduler = Scheduler(config, sync_job=sync_job, digest_job=digest_job, emit=lambda _line: None)
    scheduler.run_job("sync", "schedule")
    scheduler.run_job("digest", "schedule")
    assert seen and "tracker_url" not in seen[-1]  # a URL-looking output is not taken for the tracker


def test_the_digest_matches_kpis_to_failed_sources_by_name_not_by_message(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    (tmp_path / "data" / "web.csv").unlink()  # sessions, and the conversion_rate formula over it
    result = sync(load_config(path), AS_OF)
    rate = next(k for k in result.kpis if k.id == "conversion_rate")
    assert rate.stale_sources == ("web",) and rate.source is None
    sales = build_digest(result, None, DigestConfig(), team="Sales")  # its KRs use conversion_rate, not sessions
    assert "web" in sales.sources
    # Another reason text changes nothing: the link is the source's name, not the message.
    reworded = replace(result, kpis=tuple(replace(k, stale="gone") if k.stale else k for k in result.kpis))
    assert build_digest(reworded, None, DigestConfig(), team="Sales").sources == sales.sources
