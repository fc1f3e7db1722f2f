"""The real `sheetsync schedule` process: it runs the sync, writes the tracker, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import ROOT, copy_example, run_cli


def start(config: Path, *args: str) -> tuple[subprocess.Popen, Path, Path]:
    """`python -m sheetsync schedule` in the background, its output going to files we can poll."""
    out, err = config.parent / "stdout.txt", config.parent / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, as run_cli does
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sheetsync", "schedule", "--config", str(config), *args],
            cwd=config.parent, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
        )
    return proc, out, err


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, err: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"exited with {proc.returncode}: {err.read_text()}"
        assert time.monotonic() < deadline, err.read_text()
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_schedule_catches_up_writes_the_tracker_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = copy_example(tmp_path, never_stale=True)  # [schedule] monday 07:00 / 08:00; never ran: both run at start
    tracker = tmp_path / "output" / "okr_tracker.xlsx"
    proc, out, err = start(config)
    try:
        wait_for(lambda: "job=digest" in out.read_text(), proc, err)
        assert tracker.exists()
        second = run_cli("schedule", "--config", str(config), cwd=tmp_path)
        assert second.returncode == 4
        assert f"another sheetsync schedule (pid {proc.pid}, " in second.stderr
        listed = run_cli("schedule", "--list", "--config", str(config), cwd=tmp_path)
        assert f"scheduler: running (pid {proc.pid}, sheetsync schedule, since " in listed.stdout
    finally:
        code = stop(proc)
    assert code == 0, err.read_text()
    lines = out.read_text().splitlines()
    assert re.match(r"^\S+ event=start pid=\d+ tz=Europe/Lisbon next_sync=\S+ next_digest=\S+$", lines[0])
    assert re.match(r"^\S+ job=sync outcome=ok duration=\d+\.\ds exit=0 trigger=catch-up slot=\S+ data=fresh "
                    rf'detail="wrote {re.escape(str(tracker))}"$', lines[1]), lines[1]
    assert re.match(r"^\S+ job=digest outcome=ok .* data=fresh detail=\"wrote the 20\d\d-W\d\d digest", lines[2])
    assert lines[-1].endswith("event=stop signal=SIGTERM")
    assert list((tmp_path / "outbox").glob("*.eml"))
    assert "Traceback" not in err.read_text()


def test_schedule_runs_the_sync_on_time_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    config = copy_example(tmp_path, never_stale=True)
    config.write_text(re.sub(r"^sync = .*$", 'sync = "every 1 seconds"', config.read_text(), count=1, flags=re.M))
    tracker = tmp_path / "output" / "okr_tracker.xlsx"
    proc, out, err = start(config, "--no-catch-up")
    try:
        wait_for(lambda: "trigger=schedule" in out.read_text(), proc, err)
        assert tracker.exists()
    finally:
        started = time.monotonic()
        code = stop(proc)
    assert code == 0, err.read_text()
    assert time.monotonic() - started < 3
    lines = out.read_text().splitlines()
    assert "trigger=catch-up" not in out.read_text()
    assert all("job=sync outcome=ok" in line for line in lines[1:-1]) and len(lines) >= 3
    assert lines[-1].endswith("event=stop signal=SIGTERM")
