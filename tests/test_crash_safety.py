"""Kill a sync at random points, fill the disk, make the folder read-only: nothing is lost.

After every SIGKILL the tracker is a whole workbook (the old one or the new one, never a
half-written file), the history database passes SQLite's integrity check, and the next run
succeeds.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.helpers import ROOT, copy_example, run_cli

KILLS = 50


def start_sync(cwd: Path, as_of: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "sync", "--as-of", as_of],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def wait_for_line(proc: subprocess.Popen, marker: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"sync ended before {marker!r}")
    raise AssertionError(f"no {marker!r} within {timeout}s")


def assert_whole(project: Path) -> None:
    tracker = project / "output" / "okr_tracker.xlsx"
    assert zipfile.is_zipfile(tracker)
    book = load_workbook(tracker, read_only=True)
    assert "Key Results" in book.sheetnames
    book.close()
    with sqlite3.connect(project / ".sheetsync" / "history.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        weeks = [r[0] for r in db.execute("SELECT week FROM snapshots ORDER BY week")]
        # Each week's snapshot is all there or not there at all.
        for week in weeks:
            assert db.execute("SELECT COUNT(*) FROM kr_history WHERE week = ?", (week,)).fetchone()[0] == 6


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_the_tracker_or_history(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    copy_example(project, never_stale=True)  # 1 Dec: November's churn is not in the sample data
    first = run_cli("sync", "--as-of", "2026-11-17", cwd=project)
    assert first.returncode == 0, first.stderr
    # How long the sync itself takes, from its first log line to its exit.
    proc = start_sync(project, "2026-11-24")
    wait_for_line(proc, "sync: started")
    started = time.monotonic()
    assert proc.wait(timeout=60) == 0
    duration = time.monotonic() - started
    rng = random.Random(1234)
    killed_mid_run = 0
    for _ in range(KILLS):
        proc = start_sync(project, rng.choice(["2026-11-24", "2026-12-01"]))
        wait_for_line(proc, "sync: started")
        started = time.monotonic()
        try:
            proc.wait(timeout=rng.uniform(0, duration * 1.1))
        except subprocess.TimeoutExpired:
            killed_mid_run += 1
            proc.send_signal(signal.SIGKILL)
        else:
            # It finished first: the machine is less loaded than when the sync was timed (the
            # tests run in parallel), so the next kills are timed by this run's length.
            duration = time.monotonic() - started
        proc.wait(timeout=30)
        assert_whole(project)
    assert killed_mid_run >= KILLS // 2, f"only {killed_mid_run} kills landed mid-run"
    final = run_cli("sync", "--as-of", "2026-12-01", cwd=project)
    assert final.returncode == 0, final.stderr
    assert_whole(project)
    assert not list((project / "output").glob("*.tmp")), "a killed run's temporary file was not cleaned up"


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                        capture_output=True).returncode == 0
    return ok


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    if os.geteuid() != 0 or not shutil.which("mount") or not _mount_tmpfs(folder, "256k"):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_disk_full_is_a_clear_error_and_loses_nothing(small_disk, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    config = copy_example(project)
    config.write_text(config.read_text().replace('path = "output/okr_tracker.xlsx"', f'path = "{small_disk}/okr.xlsx"'))
    first = run_cli("sync", "--as-of", "2026-11-17", cwd=project)
    assert first.returncode == 0, first.stderr
    old = (small_disk / "okr.xlsx").read_bytes()
    filler = small_disk / "filler"
    with open(filler, "wb") as handle, contextlib.suppress(OSError):  # fill the disk
        handle.write(b"\0" * (1024 * 1024))
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=project)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"error: {small_disk}/okr.xlsx: cannot write: the disk is full"
    assert (small_disk / "okr.xlsx").read_bytes() == old
    assert not list(small_disk.glob(".okr.xlsx.*"))
    with sqlite3.connect(project / ".sheetsync" / "history.sqlite") as db:
        weeks = [r[0] for r in db.execute("SELECT week FROM snapshots")]
    assert weeks == ["2026-W47"], "the failed week must not be recorded"


def test_read_only_output_folder_is_a_clear_error(small_disk, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    config = copy_example(project)
    config.write_text(config.read_text().replace('path = "output/okr_tracker.xlsx"', f'path = "{small_disk}/okr.xlsx"'))
    assert run_cli("sync", "--as-of", "2026-11-17", cwd=project).returncode == 0
    old = (small_disk / "okr.xlsx").read_bytes()
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    proc = run_cli("sync", "--as-of", "2026-11-24", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {small_disk}/okr.xlsx: cannot write: ")
    assert "read-only" in proc.stderr
    assert (small_disk / "okr.xlsx").read_bytes() == old
