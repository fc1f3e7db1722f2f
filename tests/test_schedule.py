"""`sheetsync schedule` on a controlled clock: DST weeks, catch-up, restarts, the lock, failing jobs.

The clock is time-machine's; the jobs are stand-ins that record when they ran, except
where the real sync or digest is the point.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schedule
import time_machine
from click.testing import CliRunner

from connectors.atomic import OutputError
from sheetsync.cli import main
from sheetsync.config import load_config
from sheetsync.core.model import Config
from sheetsync.core.schedule_spec import AtTime, Every, ScheduleSpecError, parse_spec
from sheetsync.errors import ConfigError
from sheetsync.runtime.history import History
from sheetsync.runtime.lock import FileLock, LockBusy, run_lock, schedule_lock
from sheetsync.runtime.scheduler import Scheduler, describe, library_jobs, logfmt, serve
from tests.helpers import ROOT, copy_example, run_cli

LISBON = ZoneInfo("Europe/Lisbon")  # the example project's zone: WET (UTC+0) in winter, WEST (UTC+1) in summer


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def project(tmp_path: Path, sync: str = '"monday 07:00"', digest: str = '"monday 08:00"') -> Config:
    """The example project with its [schedule] replaced (its pinned data never stale: runs are "today")."""
    path = copy_example(tmp_path, never_stale=True)
    text = re.sub(r"^sync = .*$", f"sync = {sync}", path.read_text(), count=1, flags=re.M)
    text = re.sub(r"^digest = .*$", f"digest = {digest}", text, count=1, flags=re.M)
    path.write_text(text)
    return load_config(path)


class FakeJobs:
    """Stand-ins for jobs.run_sync / jobs.run_digest that note when they ran."""

    def __init__(self, sync_error: Exception | None = None, sync_code: int = 0) -> None:
        self.sync_error = sync_error
        self.sync_code = sync_code
        self.calls: list[tuple[str, datetime]] = []
        self.digest_results: list[Any] = []
        self.during_sync: Any = None

    def sync(self, config: Config) -> Any:
        self.calls.append(("sync", datetime.now(UTC)))
        if self.during_sync is not None:
            self.during_sync()
        if self.sync_error is not None:
            raise self.sync_error
        errors = ("source 'web' failed: file not found",) if self.sync_code == 3 else ()
        return SimpleNamespace(exit_code=self.sync_code, result=SimpleNamespace(errors=errors), outputs=["t.xlsx"])

    def digest(self, config: Config, *, result: Any = None, **options: Any) -> Any:
        self.calls.append(("digest", datetime.now(UTC)))
        self.digest_results.append(result)
        return SimpleNamespace(exit_code=0, deliveries=[])

    def runs(self, job: str) -> list[datetime]:
        return [when for name, when in self.calls if name == job]


def scheduler(config: Config, fake: FakeJobs, lines: list[str] | None = None) -> Scheduler:
    return Scheduler(config, sync_job=fake.sync, digest_job=fake.digest,
                     emit=(lines.append if lines is not None else lambda _line: None))


def succeeded(config: Config, job: str, when: datetime) -> None:
    with History.for_state_dir(config.state_dir) as history:
        history.record_job(job, ok=True, when=when)


# --- specs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "days", "at"), [
    ("monday 07:00", (0,), "07:00"),
    ("Monday at 7:00", (0,), "07:00"),
    ("every day 06:30", tuple(range(7)), "06:30"),
    ("daily 06:30", tuple(range(7)), "06:30"),
    ("weekdays 07:00", (0, 1, 2, 3, 4), "07:00"),
    ("every friday 17:45:30", (4,), "17:45:30"),
])
def test_time_of_day_specs(text: str, days: tuple[int, ...], at: str) -> None:
    spec = parse_spec(text)
    assert isinstance(spec, AtTime)
    assert (spec.days, spec.at_text) == (days, at)


@pytest.mark.parametrize(("text", "seconds"), [
    ("every 10 minutes", 600), ("every minute", 60), ("every 2 seconds", 2), ("every 3 hours", 10800),
])
def test_interval_specs(text: str, seconds: int) -> None:
    spec = parse_spec(text)
    assert isinstance(spec, Every)
    assert spec.interval == timedelta(seconds=seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("mondy 07:00", "'mondy' is not a day of the week, 'day' or 'weekdays' (did you mean 'monday'?)"),
    ("monday 7am", "'7am' is not a time of day like 07:00 (24-hour clock)"),
    ("monday 24:00", "'24:00' is not a time of day"),
    ("every monday", "is not a schedule: use e.g."),
    ("every 0 minutes", "the interval must be at least 1 minute"),
])
def test_bad_specs_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ScheduleSpecError, match=re.escape(message)):
        parse_spec(text)


def test_a_bad_spec_fails_when_the_config_loads_naming_the_entry(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(ConfigError) as raised:
        project(tmp_path / "a", sync='["monday 07:00", "tuesday 7:00pm"]')
    assert str(raised.value).startswith("config.toml: schedule.sync[1]: 'tuesday 7:00pm': ")
    with pytest.raises(ConfigError, match=r"^config.toml: schedule.digest: 'mondays' is not a schedule"):
        project(tmp_path / "b", digest='"mondays"')


# --- slots and DST -----------------------------------------------------------------------


def test_slots_keep_local_time_across_both_dst_switches() -> None:
    monday = parse_spec("monday 07:00")
    # Lisbon: clocks go 01:00 -> 02:00 on Sunday 2026-03-29 and 02:00 -> 01:00 on Sunday 2026-10-25.
    assert monday.next(utc(2026, 3, 28, 12), LISBON) == utc(2026, 3, 30, 6)  # 07:00 WEST
    assert monday.previous(utc(2026, 3, 30, 5, 59), LISBON) == utc(2026, 3, 23, 7)  # 07:00 WET
    assert monday.next(utc(2026, 10, 24, 12), LISBON) == utc(2026, 10, 26, 7)  # 07:00 WET
    assert monday.previous(utc(2026, 10, 26, 6, 59), LISBON) == utc(2026, 10, 19, 6)  # 07:00 WEST
    # A time the spring switch skips runs an hour later that day; a repeated one, at its first occurrence.
    assert parse_spec("sunday 01:30").next(utc(2026, 3, 29), LISBON).astimezone(LISBON).hour == 2
    assert parse_spec("sunday 01:30").next(utc(2026, 10, 25), LISBON) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize("text", ["monday 07:00", "every day 06:30", "weekdays 07:00"])
@pytest.mark.parametrize("start", [utc(2026, 3, 22), utc(2026, 10, 18)])
def test_the_schedule_library_agrees_with_our_slots_through_dst_weeks(text: str, start: datetime) -> None:
    spec = parse_spec(text)
    moment = start
    while moment < start + timedelta(days=10):
        with time_machine.travel(moment, tick=False):
            library = schedule.Scheduler()
            for job in library_jobs(library, spec, "Europe/Lisbon"):
                job.do(lambda: None)
            assert library.next_run is not None
            assert library.next_run.astimezone(UTC) == spec.next(moment, LISBON), moment  # next_run: naive local
        moment += timedelta(hours=3, minutes=20)


@pytest.mark.parametrize(("first", "second"), [
    (utc(2026, 3, 23, 7), utc(2026, 3, 30, 6)),  # spring: 07:00 WET, then 07:00 WEST
    (utc(2026, 10, 19, 6), utc(2026, 10, 26, 7)),  # autumn: 07:00 WEST, then 07:00 WET
], ids=["spring-forward", "fall-back"])
def test_monday_jobs_run_at_local_time_in_a_dst_week(tmp_path: Path, first: datetime, second: datetime) -> None:
    config = project(tmp_path)
    fake = FakeJobs()
    with time_machine.travel(first - timedelta(hours=1), tick=False) as clock:
        sched = scheduler(config, fake)
        for moment in (first - timedelta(seconds=1), first, first + timedelta(hours=1),
                       second - timedelta(hours=1), second - timedelta(seconds=1), second,
                       second + timedelta(hours=1) - timedelta(seconds=1), second + timedelta(hours=1)):
            clock.move_to(moment)
            sched.tick()
    assert fake.runs("sync") == [first, second]
    assert fake.runs("digest") == [first + timedelta(hours=1), second + timedelta(hours=1)]
    assert {when.astimezone(LISBON).strftime("%a %H:%M") for when in fake.runs("sync")} == {"Mon 07:00"}
    assert {when.astimezone(LISBON).strftime("%a %H:%M") for when in fake.runs("digest")} == {"Mon 08:00"}


def test_one_slot_one_run_even_when_the_library_fires_early(tmp_path: Path) -> None:
    # schedule 1.2.2 puts the next run of "sunday 01:30" an hour early (00:30 local) the week
    # after the spring switch; the slot check turns that call into a no-op.
    config = project(tmp_path, sync='"sunday 01:30"', digest="[]")
    fake = FakeJobs()
    with time_machine.travel(utc(2026, 3, 29), tick=False) as clock:
        sched = scheduler(config, fake)
        for moment in (utc(2026, 3, 29, 1, 30), utc(2026, 4, 4, 23, 30), utc(2026, 4, 5, 0, 30)):
            clock.move_to(moment)
            sched.tick()
    assert fake.runs("sync") == [utc(2026, 3, 29, 1, 30), utc(2026, 4, 5, 0, 30)]  # 02:30 and 01:30 WEST


def test_two_entries_for_the_same_moment_run_the_job_once(tmp_path: Path) -> None:
    config = project(tmp_path, sync='["monday 07:00", "every day 07:00"]')
    fake = FakeJobs()
    with time_machine.travel(utc(2026, 11, 30, 6, 59), tick=False) as clock:
        sched = scheduler(config, fake)
        clock.move_to(utc(2026, 11, 30, 7))
        sched.tick()
        clock.move_to(utc(2026, 12, 1, 7))
        sched.tick()
    assert fake.runs("sync") == [utc(2026, 11, 30, 7), utc(2026, 12, 1, 7)]


# --- catch-up and restarts ---------------------------------------------------------------


def test_catch_up_runs_a_missed_job_once_not_once_per_missed_slot(tmp_path: Path) -> None:
    config = project(tmp_path)
    succeeded(config, "sync", utc(2026, 11, 9, 7))
    succeeded(config, "digest", utc(2026, 11, 9, 8))
    lines: list[str] = []
    fake = FakeJobs()
    with time_machine.travel(utc(2026, 11, 25, 10), tick=False):  # down since; two Mondays missed
        sched = scheduler(config, fake, lines)
        sched.catch_up()
        sched.tick()
    assert [name for name, _ in fake.calls] == ["sync", "digest"]  # the digest used that sync: no second one
    assert fake.digest_results[0] is not None
    assert "job=sync outcome=ok" in lines[0] and "trigger=catch-up slot=2026-11-23T07:00+00:00" in lines[0]
    assert "job=digest outcome=ok" in lines[1] and "slot=2026-11-23T08:00+00:00" in lines[1]


def test_nothing_is_caught_up_when_nothing_was_missed(tmp_path: Path) -> None:
    config = project(tmp_path)
    succeeded(config, "sync", utc(2026, 11, 23, 7))
    succeeded(config, "digest", utc(2026, 11, 23, 8))
    fake = FakeJobs()
    with time_machine.travel(utc(2026, 11, 27, 10), tick=False):
        scheduler(config, fake).catch_up()
    assert fake.calls == []


def test_a_restart_right_after_a_run_does_not_run_it_again(tmp_path: Path) -> None:
    config = project(tmp_path)
    succeeded(config, "sync", utc(2026, 11, 23, 7))
    succeeded(config, "digest", utc(2026, 11, 23, 8))
    fake = FakeJobs()
    with time_machine.travel(utc(2026, 11, 30, 6, 59), tick=False) as clock:
        sched = scheduler(config, fake)
        clock.move_to(utc(2026, 11, 30, 7))
        sched.tick()
        for restart in (utc(2026, 11, 30, 7, 0, 30), utc(2026, 11, 30, 7, 59, 59)):
            clock.move_to(restart)
            sched = scheduler(config, fake)  # a new process: only the history database carries over
            sched.catch_up()
            sched.tick()
        clock.move_to(utc(2026, 11, 30, 8))
        sched.tick()
        clock.move_to(utc(2026, 11, 30, 8, 0, 1))
        restarted = scheduler(config, fake)
        restarted.catch_up()
        restarted.tick()
    assert fake.calls == [("sync", utc(2026, 11, 30, 7)), ("digest", utc(2026, 11, 30, 8))]


def test_a_failed_run_is_retried_once_on_restart(tmp_path: Path) -> None:
    config = project(tmp_path, digest="[]")
    fake = FakeJobs(sync_error=RuntimeError("sheet unreachable"))
    with time_machine.travel(utc(2026, 11, 30, 7), tick=False) as clock:
        scheduler(config, fake).catch_up()  # fails
        clock.move_to(utc(2026, 11, 30, 7, 10))
        fake.sync_error = None
        scheduler(config, fake).catch_up()  # retried, succeeds
        clock.move_to(utc(2026, 11, 30, 7, 20))
        scheduler(config, fake).catch_up()  # nothing left to do
    assert fake.runs("sync") == [utc(2026, 11, 30, 7), utc(2026, 11, 30, 7, 10)]


def test_no_catch_up_leaves_missed_slots_to_the_next_time(tmp_path: Path) -> None:
    config = project(tmp_path)  # never ran: both jobs are due
    fake = FakeJobs()
    lines: list[str] = []
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))

    def emit(line: str) -> None:
        lines.append(line)
        if "event=start" in line:  # the handlers are in place: the SIGTERM cannot kill pytest
            timer.start()

    assert Scheduler(config, sync_job=fake.sync, digest_job=fake.digest, emit=emit).run(catch_up=False) == 0
    timer.join()
    assert fake.calls == []
    assert "event=start" in lines[0] and "next_sync=" in lines[0] and lines[1].endswith("event=stop signal=SIGTERM")


def test_list_from_the_command_line(tmp_path: Path) -> None:
    config = project(tmp_path)
    proc = run_cli("schedule", "--list", "--config", str(config.path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Acme: times in Europe/Lisbon, now ")
    assert re.match(r"sync +monday 07:00 +next Mon \d{4}-\d\d-\d\d 07:00 WES?T +last success never; due at start",
                    lines[1]), lines[1]
    assert lines[-1] == "scheduler: not running"


def test_list_shows_next_runs_last_success_and_what_catch_up_will_do(tmp_path: Path) -> None:
    config = project(tmp_path, sync='["monday 07:00", "thursday 07:00"]')
    succeeded(config, "sync", utc(2026, 11, 23, 7))
    with History.for_state_dir(config.state_dir) as history:
        history.record_job("digest", ok=False, detail="SMTP refused", when=utc(2026, 11, 23, 8), outcome="failed")
    lines = describe(config, now=utc(2026, 11, 27, 12))
    assert lines == [
        "Acme: times in Europe/Lisbon, now Fri 2026-11-27 12:00 WET",
        "sync    monday 07:00 + thursday 07:00  next Mon 2026-11-30 07:00 WET  last success Mon 2026-11-23 07:00 WET; "
        "due at start (missed Thu 2026-11-26 07:00 WET: runs once on catch-up)",
        "digest  monday 08:00                   next Mon 2026-11-30 08:00 WET  last success never; "
        "last run failed: SMTP refused; due at start (never ran: runs once on catch-up)",
        "scheduler: not running",
    ]


# --- the digest follows the sync ---------------------------------------------------------


def test_the_digest_runs_the_sync_first_when_this_weeks_sync_did_not_succeed(tmp_path: Path) -> None:
    config = project(tmp_path)
    fake = FakeJobs(sync_code=3)  # a source failed at 07:00
    lines: list[str] = []
    with time_machine.travel(utc(2026, 11, 30, 6, 59), tick=False) as clock:
        sched = scheduler(config, fake, lines)
        clock.move_to(utc(2026, 11, 30, 7))
        sched.tick()
        clock.move_to(utc(2026, 11, 30, 8))
        sched.tick()
    assert fake.calls == [("sync", utc(2026, 11, 30, 7)), ("sync", utc(2026, 11, 30, 8)),
                          ("digest", utc(2026, 11, 30, 8))]
    assert "job=sync outcome=stale duration=0.0s exit=3 trigger=digest" in lines[1]
    assert 'detail="source \'web\' failed: file not found"' in lines[1]
    assert "job=digest outcome=ok" in lines[2] and "data=stale" in lines[2]
    assert fake.digest_results[0].errors  # the digest got the stale result, and names what failed


def test_when_the_sync_fails_the_digest_still_goes_out_and_says_the_tracker_is_stale(tmp_path: Path) -> None:
    config = project(tmp_path)
    fake = FakeJobs(sync_error=OutputError("cannot write output/okr_tracker.xlsx: disk full"))
    lines: list[str] = []
    sched = Scheduler(config, sync_job=fake.sync, emit=lines.append)  # the real digest
    run = sched.run_job("digest", "schedule")
    assert run is not None and run.outcome == "ok", lines
    assert "job=sync outcome=error" in lines[0] and 'error="OutputError: cannot write' in lines[0]
    assert "data=stale" in lines[1]
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "The scheduled sync failed, so the tracker was not updated" in " ".join(text.split())
    assert "disk full" not in text  # the error is for ops: it is in the scheduler's log line
    assert "the tracker was not updated this week" in " ".join(text.split())


# --- failing jobs and signals ------------------------------------------------------------


def test_a_failing_job_is_logged_and_the_schedule_goes_on(tmp_path: Path) -> None:
    config = project(tmp_path, digest="[]")
    fake = FakeJobs(sync_error=RuntimeError("boom"))
    lines: list[str] = []
    with time_machine.travel(utc(2026, 11, 30, 6, 59), tick=False) as clock:
        sched = scheduler(config, fake, lines)
        clock.move_to(utc(2026, 11, 30, 7, 0, 0))
        sched.tick()  # raises inside: logged, recorded, rescheduled
        clock.move_to(utc(2026, 12, 7, 7))
        sched.tick()
    assert fake.runs("sync") == [utc(2026, 11, 30, 7), utc(2026, 12, 7, 7)]
    assert lines[0] == ('2026-11-30T07:00:00+00:00 job=sync outcome=error duration=0.0s exit=1 trigger=schedule '
                        'slot=2026-11-30T07:00+00:00 error="RuntimeError: boom"')
    with History.for_state_dir(config.state_dir) as history:
        row = history.last_job_run("sync")
    assert (row["outcome"], row["detail"], row["last_success"]) == ("error", "RuntimeError: boom", None)


def test_sigterm_lets_the_job_in_progress_finish_then_exits_0(tmp_path: Path) -> None:
    config = project(tmp_path)
    fake = FakeJobs(sync_error=RuntimeError("first sync fails"))
    lines: list[str] = []
    sched = scheduler(config, fake, lines)

    def stop_during_the_digests_sync() -> None:
        if len(fake.runs("sync")) == 2:  # catch-up sync (raised) and the digest's retry: the loop went on
            fake.sync_error = None
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # the handler runs here; the job carries on

    fake.during_sync = stop_during_the_digests_sync
    assert sched.run() == 0
    assert [name for name, _ in fake.calls] == ["sync", "sync", "digest"]  # the digest in progress finished
    assert "job=sync outcome=error" in lines[1] and "job=sync outcome=ok" in lines[2]
    assert "job=digest outcome=ok" in lines[3]
    assert lines[-1].endswith("event=stop signal=SIGTERM") and len(lines) == 5
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    sched = scheduler(project(tmp_path), FakeJobs())
    with sched.signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert sched.stop_requested.is_set() and sched.stop_reason == "SIGINT"
        with pytest.raises(KeyboardInterrupt):  # the CLI turns it into "interrupted", exit 130
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)


def test_log_lines_are_logfmt() -> None:
    assert logfmt(job="sync", outcome="ok", exit=0, error='Bad "x" = y', empty="", none=None) == (
        'job=sync outcome=ok exit=0 error="Bad \\"x\\" = y"'
    )


# --- the lock ----------------------------------------------------------------------------

HOLDER = """
import sys, time
from sheetsync.runtime.lock import FileLock
lock = FileLock(sys.argv[1], "sheetsync holder-test")  # kept: a collected FileLock closes its file
lock.acquire(wait=False)
print("locked", flush=True)
time.sleep(60)
"""


@contextmanager
def held_by_another_process(path: Path) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def test_a_lock_held_by_another_process_names_it_and_no_wait_exits_4(tmp_path: Path) -> None:
    config = project(tmp_path)
    with held_by_another_process(config.state_dir / "run.lock") as holder:
        with pytest.raises(LockBusy, match=rf"^another sheetsync \(pid {holder.pid}, sheetsync holder-test, since "):
            run_lock(config.state_dir).acquire(wait=False)
        waited = []
        with pytest.raises(LockBusy):
            run_lock(config.state_dir).acquire(timeout=0.5, on_wait=waited.append)
        assert [h.pid for h in waited] == [holder.pid]
        proc = run_cli("run", "--no-wait", "--config", str(config.path), cwd=tmp_path)
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: another sheetsync (pid {holder.pid}, sheetsync holder-test, since {waited[0].since}) is running "
        "for this project; try again when it has finished, or leave out --no-wait to wait"
    )
    assert not (tmp_path / "output" / "okr_tracker.xlsx").exists()


def test_a_stale_lock_from_a_killed_process_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "state" / "run.lock"
    with held_by_another_process(path) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        assert f"pid={holder.pid}" in path.read_text()  # what it wrote is still there...
        lock = FileLock(path, "sheetsync test")
        assert lock.acquire(wait=False)  # ...but the kernel released its lock when it died
    assert lock.holder() is not None and lock.holder().pid == os.getpid()
    lock.release()
    assert path.read_text() == ""


def test_a_manual_run_waits_for_a_scheduled_one(tmp_path: Path) -> None:
    config = project(tmp_path)
    lock = run_lock(config.state_dir, "sheetsync schedule")
    lock.acquire()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err = tmp_path / "stderr.txt"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "sheetsync", "sync", "--config", str(config.path)],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 20
        while "waiting…" not in err.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"another sheetsync (pid {os.getpid()}, sheetsync schedule, since " in err.read_text()
        assert proc.poll() is None and not (tmp_path / "output" / "okr_tracker.xlsx").exists()
    finally:
        lock.release()
    assert proc.wait(20) == 0, err.read_text()
    assert (tmp_path / "output" / "okr_tracker.xlsx").exists()


def test_a_scheduled_job_waits_for_a_manual_run(tmp_path: Path) -> None:
    config = project(tmp_path)
    fake = FakeJobs()
    lines: list[str] = []
    sched = scheduler(config, fake, lines)
    manual = run_lock(config.state_dir, "sheetsync run")
    manual.acquire()
    worker = threading.Thread(target=sched.run_job, args=("sync", "schedule"))
    worker.start()
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.calls == [] and "job=sync event=waiting" in lines[0] and "sheetsync run" in lines[0]
    manual.release()
    worker.join(5)
    assert [name for name, _ in fake.calls] == ["sync"]


def test_a_second_scheduler_exits_4_with_a_clear_message(tmp_path: Path) -> None:
    config = project(tmp_path)
    with held_by_another_process(config.state_dir / "schedule.lock") as holder:
        with pytest.raises(LockBusy, match=rf"another sheetsync schedule \(pid {holder.pid}, "):
            serve(config)
        result = CliRunner().invoke(main, ["schedule", "--config", str(config.path)])
        assert result.exit_code == 4
        assert "is running for this project; stop it first, or use --wait to take over when it stops" in result.output
        assert f"scheduler: running (pid {holder.pid}, " in describe(config)[-1]
    assert schedule_lock(config.state_dir).busy() is None


def test_no_flock_on_this_system_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fcntl (Windows) a run must not go ahead unlocked: it says why and exits 1."""
    from sheetsync.runtime import lock as lock_module

    monkeypatch.setattr(lock_module, "fcntl", None)
    with pytest.raises(lock_module.LockUnavailable, match=r"run\.lock: cannot take the project lock: .*no flock"):
        run_lock(tmp_path / "state").acquire(wait=False)
    with pytest.raises(lock_module.LockUnavailable):
        FileLock(tmp_path / "state" / "schedule.lock").busy()
    assert lock_module.LockUnavailable(tmp_path, "x").exit_code == 1


def test_a_file_system_that_refuses_locks_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from sheetsync.runtime import lock as lock_module

    def refuse(*_: object) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock_module.fcntl, "flock", refuse)
    lock = run_lock(tmp_path / "state")
    with pytest.raises(lock_module.LockUnavailable, match="No locks available; keep state_dir on a local disk"):
        lock.acquire()
    assert not lock.held


def test_the_cli_reports_a_lock_it_cannot_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from sheetsync import cli
    from sheetsync.runtime import lock as lock_module

    config = project(tmp_path)
    monkeypatch.setattr(lock_module, "fcntl", None)
    result = CliRunner().invoke(cli.main, ["sync", "--config", str(config.path)])
    assert result.exit_code == 1
    assert "cannot take the project lock" in result.output and "unexpected" not in result.output
    assert not (tmp_path / "output" / "okr_tracker.xlsx").exists()


def test_a_digest_left_undelivered_is_tried_again_until_it_goes_out(tmp_path: Path) -> None:
    """SMTP down at Monday 08:00: the queued digest goes out once the server is back, not next week."""
    config = project(tmp_path)
    fake = FakeJobs()
    answers = iter([1, 1, 0])

    def digest(config: Config, *, result: Any = None, **options: Any) -> Any:
        fake.calls.append(("digest", datetime.now(UTC)))
        code = next(answers)
        return SimpleNamespace(exit_code=code, deliveries=[],
                               pending_files=["outbox/pending/2026-W49-all.eml"] if code else [])

    lines: list[str] = []
    with time_machine.travel(utc(2026, 11, 30, 6, 59), tick=False) as clock:
        sched = Scheduler(config, sync_job=fake.sync, digest_job=digest, emit=lines.append)
        for minute in (0, 60, 75, 90, 105, 120):  # 07:00 sync, 08:00 digest, then every 15 minutes
            clock.move_to(utc(2026, 11, 30, 7) + timedelta(minutes=minute))
            sched.tick()
    assert fake.runs("digest") == [utc(2026, 11, 30, 8), utc(2026, 11, 30, 8, 15), utc(2026, 11, 30, 8, 30)]
    assert [re.search(r"trigger=(\w+)", line)[1] for line in lines if "job=digest" in line] == [
        "schedule", "retry", "retry"]  # fmt: skip
    assert "outcome=ok" in [line for line in lines if "job=digest" in line][-1]
