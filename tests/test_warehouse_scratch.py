"""A DuckDB spill folder left by a killed process is removed by the next read; one in use never is.

Real processes: one opens the project's DuckDB source and runs a query that spills past its
memory_limit, and is SIGKILLed while DuckDB's spill files are in its folder; another holds a
source open. Then `sheetsync sync` runs, as a user or the scheduler would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.scratch import OWNER_LOCK, PREFIX, make_scratch, sweep
from tests.helpers import ROOT, run_cli
from tests.warehouse_data import AS_OF, config_text, events, write_duckdb

SOURCE = 'type = "sql"\nurl = "duckdb:///m.duckdb?threads=1"\ntable = "analytics.events"\nmemory_limit = "64MB"'
# A distinct over 20 million rows needs far more than 64 MB: DuckDB spills within a second.
SPILL = "SELECT count(*) FROM (SELECT DISTINCT i % 20000000 AS k, i * 7 AS v FROM range(20000000) t(i))"
HOLD = f"""
import sys
from connectors import warehouse
from sheetsync.config import load_config

conn = warehouse.connect(load_config(sys.argv[1]).sources["events"])
print(conn.scratch.path, flush=True)
if sys.argv[2] == "spill":
    conn.backend.con.execute({SPILL!r}).fetchone()
    print("finished", flush=True)
else:
    sys.stdin.readline()
    conn.close()
    print("closed", flush=True)
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    write_duckdb(events(), tmp_path / "m.duckdb")
    (tmp_path / "config.toml").write_text(config_text(SOURCE))
    return tmp_path


def holder(project: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    """A process with the project's DuckDB source open; returns it and its scratch folder."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(project / "config.toml"), mode], cwd=project, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, Path(line)


@pytest.fixture()
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def spill_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith("duckdb_temp_storage")]


def test_a_killed_syncs_spill_folder_is_removed_by_the_next_read_and_a_live_ones_is_kept(
    project: Path, processes: list[subprocess.Popen[str]]
) -> None:
    scratch = project / ".sheetsync" / "scratch"  # the project's state folder, not the system's /tmp
    live, kept = holder(project, "hold")  # first: opening a source sweeps too; the sweep after the kill is the sync's
    processes.append(live)
    killed, left = holder(project, "spill")
    processes.append(killed)
    assert left.parent == scratch and left.name.startswith(PREFIX)
    deadline = time.monotonic() + 60
    while not spill_files(left):  # mid-query: DuckDB's spill files are in the folder
        assert killed.poll() is None and time.monotonic() < deadline, "the query never spilled"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert spill_files(left) and (left / OWNER_LOCK).is_file()  # what a killed process leaves behind

    not_ours = scratch / f"{PREFIX}no-lock"  # no owner.lock: not made by this sheetsync, never judged
    not_ours.mkdir()
    (not_ours / "data.tmp").write_bytes(b"x")
    other = scratch / "other-folder"  # a free owner.lock, but not our name
    other.mkdir()
    (other / OWNER_LOCK).touch()
    elsewhere = project / "elsewhere"  # a link to a folder with a free lock: the link is not our folder
    elsewhere.mkdir()
    (elsewhere / OWNER_LOCK).touch()
    (scratch / f"{PREFIX}link").symlink_to(elsewhere, target_is_directory=True)

    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF.isoformat(), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert not left.exists()  # the killed process's folder, spill files and all
    assert kept.is_dir() and (kept / OWNER_LOCK).is_file()  # the live process's folder
    assert not_ours.is_dir() and other.is_dir() and (elsewhere / OWNER_LOCK).is_file()
    assert (scratch / f"{PREFIX}link").is_symlink()
    assert "removed 1 DuckDB spill folder(s) left by ended processes" in proc.stderr
    assert sorted(p.name for p in scratch.iterdir()) == sorted([kept.name, not_ours.name, other.name,
                                                                f"{PREFIX}link"])  # the sync's own is gone too

    assert live.stdin is not None and live.stdout is not None
    live.stdin.write("\n")
    live.stdin.flush()
    assert live.stdout.readline().strip() == "closed" and live.wait(timeout=30) == 0
    assert not kept.exists()  # closed: removed by its own process


def test_a_folder_is_locked_before_a_sweep_can_see_its_lock(tmp_path: Path) -> None:
    """In this process too: a held folder survives a sweep; once closed it is gone, and the sweep finds nothing."""
    scratch = make_scratch(tmp_path)
    assert sweep(tmp_path) == [] and scratch.path.is_dir()
    assert [p.name for p in scratch.path.iterdir()] == [OWNER_LOCK]  # no `owner.lock.new` left over
    scratch.close()
    assert not scratch.path.exists() and sweep(tmp_path) == []
