"""The collector around a run's bulk work (`sheetsync/runtime/collector.py`): a sync reads its
sources with cyclic collection paused, and the tracker's write and the digest's rendering run
with the run's older objects frozen, since full collections there walked every module, result
and config object the run holds. Both only meanwhile: afterwards the collector is as it was."""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors import xlsx_tracker
from sheetsync.config import load_config
from sheetsync.runtime import delivery
from sheetsync.runtime.jobs import run_digest, run_sync
from tests.helpers import copy_example, record_calls

AS_OF = date(2026, 11, 24)


def frozen_count(*_: Any, **__: Any) -> int:
    """How many objects the collector had frozen when the call was made."""
    return gc.get_freeze_count()


def test_the_tracker_is_written_and_the_digest_rendered_with_old_objects_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(copy_example(tmp_path))
    writes = record_calls(monkeypatch, xlsx_tracker, "staged_xlsx_tracker", frozen_count)
    renders = record_calls(monkeypatch, delivery, "render", frozen_count)
    outcome = run_sync(config, AS_OF)
    assert (tmp_path / "output" / "okr_tracker.xlsx").is_file()
    assert gc.get_freeze_count() == 0  # handed back
    digest = run_digest(config, AS_OF, result=outcome.result)
    assert [d.action for d in digest.deliveries] == ["written"]
    assert gc.get_freeze_count() == 0
    assert len(writes) == 1 and writes[0] > 1000  # the modules and results loaded before the write
    assert len(renders) == 1 and renders[0] > 1000


def test_a_sync_reads_its_sources_with_the_cyclic_collector_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A source's values arrive as lists that live until their frame is built: collections then
    # only walked them. The sync's own read (run_sync -> read_with -> read_sources) runs paused.
    from connectors import sources

    config = load_config(copy_example(tmp_path))
    enabled = record_calls(monkeypatch, sources, "read_csv_source", lambda *_: gc.isenabled())
    assert gc.isenabled()
    outcome = run_sync(config, AS_OF)
    assert outcome.result.sources and enabled and not any(enabled)
    assert gc.isenabled()  # on again after


def test_the_collector_is_left_off_when_it_was_off() -> None:
    from sheetsync.runtime.collector import collector_paused

    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_opening_the_tracker_to_write_it_spares_old_objects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `write_tracker` (a tracker written after the results exist) loads openpyxl while it holds them:
    # the full collections that import sets off walked them all. Opened with them frozen, as the write is.
    from sheetsync.runtime import jobs
    from sheetsync.runtime.history import History

    config = load_config(copy_example(tmp_path))
    result = run_sync(config, AS_OF).result
    opened = record_calls(monkeypatch, jobs, "open_tracker", frozen_count)
    writes = record_calls(monkeypatch, xlsx_tracker, "staged_xlsx_tracker", frozen_count)
    with History.for_state_dir(config.state_dir) as history:
        jobs.write_tracker(config, jobs.tracker_content(config, result, history))
    assert len(opened) == 1 and opened[0] > 1000
    assert len(writes) == 1 and writes[0] >= opened[0]  # the inner block kept the outer's objects frozen
    assert gc.get_freeze_count() == 0


def test_spared_blocks_nest() -> None:
    from sheetsync.runtime.collector import old_objects_spared

    with old_objects_spared():
        outer = gc.get_freeze_count()
        with old_objects_spared():
            assert gc.get_freeze_count() == outer  # nothing frozen again
        assert gc.get_freeze_count() == outer  # and nothing handed back before the outer block ends
    assert gc.get_freeze_count() == 0
