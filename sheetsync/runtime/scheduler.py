"""`sheetsync schedule`: the sync and the digest at their times, from one long-lived process.

The `schedule` library does the waiting. Each `[schedule]` entry becomes a library job
registered with `.at("07:00", <project time zone>)`, which needs pytz and keeps 07:00 at
07:00 local time on both sides of a DST switch. What the library leaves out on purpose
is added here:

- Catch-up. The library never runs a job it missed and remembers nothing across
  restarts. Each job's last start and last success are kept in the history database
  (`job_runs`); on start, a job whose latest slot passed with no successful run since
  runs once, however many slots it missed.
- One slot, one attempt. Two entries naming the same moment run the job once, and so
  does a library job that fires early (schedule 1.2.2 can fire an hour early the week
  after a DST switch, for a weekly job at a time the switch skipped).
- The digest follows the sync. If the latest sync has not succeeded, the digest job
  runs it once more first; if it fails again the digest still goes out and says
  which numbers are stale.
- One runner. Jobs run under `run.lock` (`sheetsync.runtime.lock`), so a manual `sheetsync run`
  and a scheduled one never overlap, and `schedule.lock` allows one scheduler per project.
- Failures. A job that raises is logged and recorded and the loop goes on. (Left to the
  library, the exception would escape `run_pending` and the job would never be
  rescheduled.)
- Signals. SIGTERM or SIGINT lets the job in progress finish, then the process exits 0;
  a second signal stops it at once.

Each job writes one logfmt line to stdout, e.g.
``2026-11-30T07:00:00+00:00 job=sync outcome=ok duration=1.2s exit=0 trigger=schedule``.
Outcomes: ok, stale (finished, but some numbers could not be refreshed: exit 3),
failed (a digest is waiting in the outbox: exit 1), error (the job raised: exit 1). A
failed run names the outbox files its undelivered messages wait in, comma-separated:
``pending=/srv/okr/outbox/pending/2026-W48-all.eml``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import schedule

from sheetsync.core.model import Config
from sheetsync.core.results import SyncResult
from sheetsync.core.schedule_spec import WEEKDAYS, AtTime, Every, Spec
from sheetsync.errors import ConfigError, SheetsyncError, exit_code_for
from sheetsync.runtime import jobs
from sheetsync.runtime.history import HISTORY_FILE, History
from sheetsync.runtime.lock import Holder, run_lock, schedule_lock

log = logging.getLogger("sheetsync.schedule")

JOBS = ("sync", "digest", "remind")  # in this order: at the same moment, the sync goes first
MAX_SLEEP = 1.0  # seconds: how long a signal or a changed wall clock can go unnoticed
RETRY_MINUTES = 15  # how often a digest or reminder left undelivered (SMTP, a webhook down) is tried again

SyncJob = Callable[[Config], Any]  # returns a jobs.SyncOutcome
DigestJob = Callable[..., Any]  # (config, *, result, [tracker_url]) -> a delivery.DigestOutcome


def logfmt(**fields: object) -> str:
    """key=value pairs; values with spaces, quotes or = are quoted, so `grep job=sync` and logfmt parsers work."""
    parts = []
    for key, value in fields.items():
        if value is None or value == "":
            continue
        text = str(value).replace("\n", " ")
        if not text or any(ch in text for ch in ' "=\\'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


@dataclass(frozen=True)
class JobRun:
    """What one run of a job did: the log line and the `job_runs` record."""

    job: str
    trigger: str  # schedule | catch-up | retry | digest (a sync the digest needed first)
    started: datetime  # UTC
    duration: float
    outcome: str  # ok | stale | failed | error
    exit_code: int
    slot: datetime | None = None
    detail: str = ""
    error: str = ""
    data: str = ""  # fresh | stale: whether every number was current
    pending: tuple[str, ...] = ()  # the outbox files undelivered messages wait in

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def line(self, tz: ZoneInfo) -> str:
        stamp = self.started.astimezone(tz).isoformat(timespec="seconds")
        slot = self.slot.astimezone(tz).isoformat(timespec="minutes") if self.slot else None
        return f"{stamp} " + logfmt(
            job=self.job, outcome=self.outcome, duration=f"{self.duration:.1f}s", exit=self.exit_code,
            trigger=self.trigger, slot=slot, data=self.data, pending=",".join(self.pending), error=self.error,
            detail=self.detail,
        )


def stale_kpis(result: Any) -> list[str]:
    """'revenue: no rows after 23 Nov' for each stale KPI of a result (any object with `kpis`)."""
    return [f"{k.id}: {k.stale}" for k in getattr(result, "kpis", ()) if getattr(k, "stale", None)]


def _print(line: str) -> None:
    print(line, flush=True)  # flushed per line: under systemd or docker stdout is a pipe


def _default_sync(config: Config) -> Any:
    return jobs.run_sync(config)


def _default_digest(config: Config, **options: Any) -> Any:
    return jobs.run_digest(config, **options)


def _default_remind(config: Config) -> Any:
    return jobs.run_reminders(config)


def library_jobs(library: schedule.Scheduler, spec: Spec, tz: str) -> list[schedule.Job]:
    """The `schedule` library jobs that fire on `spec`'s slots (one per weekday for "weekdays")."""
    if isinstance(spec, Every):
        return [getattr(library.every(spec.count), spec.unit + "s")]
    if len(spec.days) == 7:
        return [library.every().day.at(spec.at_text, tz)]
    return [getattr(library.every(), WEEKDAYS[day]).at(spec.at_text, tz) for day in spec.days]


class Scheduler:
    """The jobs of one project on the `schedule` library, with catch-up, the run lock and signals.

    `sync_job` and `digest_job` default to `jobs.run_sync` and `jobs.run_digest`; `emit`
    receives each log line (default: stdout).
    """

    def __init__(
        self,
        config: Config,
        *,
        sync_job: SyncJob | None = None,
        digest_job: DigestJob | None = None,
        remind_job: DigestJob | None = None,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.tz = config.zone
        self.specs: dict[str, list[Spec]] = {
            job: list(getattr(config.schedule, job)) for job in JOBS if job != "remind" or config.schedule.remind
        }  # reminders only when [schedule] remind asks for them
        if not any(self.specs.values()):
            raise ConfigError(f"{config.path.name}: schedule: sync and digest are both empty: nothing to schedule",
                              file=config.path.name, key="schedule")
        self.sync_job = sync_job or _default_sync
        self.digest_job = digest_job or _default_digest
        self.remind_job = remind_job or _default_remind
        self.emit = emit or _print
        self.stop_requested = threading.Event()
        self.stop_reason = ""
        self.lock = run_lock(config.state_dir, "sheetsync schedule")
        self._attempted: dict[str, datetime] = {}
        self._undelivered: set[str] = set()  # delivery jobs whose last run left a message pending
        self._last_sync: tuple[datetime, SyncResult, str | None] | None = None  # this process's last good sync
        self._signals_installed = False
        self.library = schedule.Scheduler()
        self._intervals: list[schedule.Job] = []
        for job in self.specs:
            for spec in self.specs[job]:
                self._register(job, spec)
        self.library.every(RETRY_MINUTES).minutes.do(self._retry_undelivered)

    def _register(self, job: str, spec: Spec) -> None:
        for library_job in library_jobs(self.library, spec, self.config.timezone):
            library_job.do(self._on_time, job, spec)
            if isinstance(spec, Every):
                self._intervals.append(library_job)

    def _restart_intervals(self) -> None:
        """Count "every N minutes" from now, after the catch-up, rather than from before it."""
        for library_job in self._intervals:
            self.library.cancel_job(library_job)
        self._intervals.clear()
        for job in self.specs:
            for spec in self.specs[job]:
                if isinstance(spec, Every):
                    self._register(job, spec)

    # --- when ----------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def missed(self, job: str, now: datetime, last_success: datetime | None) -> datetime | None:
        """The latest slot of `job` at or before `now` that no run since `last_success` covers, if any."""
        tz = self.tz
        due = [s.due_since(last_success, now, tz) for s in self.specs[job] if not s.covered(last_success, now, tz)]
        return max(due, default=None)

    def next_run(self, job: str, now: datetime) -> datetime | None:
        return min((spec.next(now, self.tz) for spec in self.specs[job]), default=None)

    def last_success(self, job: str) -> datetime | None:
        with History.for_state_dir(self.config.state_dir) as history:
            return history.last_success(job)

    # --- the loop ------------------------------------------------------------------

    def run(self, *, catch_up: bool = True) -> int:
        """Catch up, then run jobs at their times until a signal; returns the exit code (0)."""
        with self.signals():
            now = self.now()
            nexts = {f"next_{job}": _local(self.next_run(job, now), self.tz) for job in self.specs}
            self.emit(self._line(event="start", pid=os.getpid(), tz=self.config.timezone, **nexts))
            if catch_up and self.catch_up():
                self._restart_intervals()
            while not self.stop_requested.is_set():
                self.library.run_pending()
                idle = self.library.idle_seconds
                self.stop_requested.wait(MAX_SLEEP if idle is None else min(max(idle, 0.0), MAX_SLEEP))
            self.emit(self._line(event="stop", signal=self.stop_reason))
        return 0

    def tick(self) -> None:
        """One pass of the loop without the wait: for tests that move the clock themselves."""
        self.library.run_pending()

    def catch_up(self) -> list[JobRun]:
        """Run once each job whose latest slot passed without a successful run (sync first)."""
        runs = []
        for job in self.specs:
            if self.stop_requested.is_set():
                break
            slot = self.missed(job, self.now(), self.last_success(job))
            if slot is not None and (run := self.run_job(job, "catch-up", slot)) is not None:
                runs.append(run)
        return runs

    def _on_time(self, job: str, spec: Spec) -> None:
        """What the library calls at a slot. It must not raise: the library would not reschedule the job."""
        if self.stop_requested.is_set():
            return
        now = self.now()
        if spec.covered(self._attempted.get(job), now, self.tz):
            log.debug("%s: the %s slot already had its run", job, spec.text)
            return
        try:
            self.run_job(job, "schedule", spec.previous(now, self.tz) if isinstance(spec, AtTime) else None)
        except Exception as exc:  # the job's own errors are handled in run_job; this is e.g. an unwritable lock
            log.error("%s: could not run: %s", job, exc, exc_info=exc)

    def _retry_undelivered(self) -> None:
        """A digest or reminder the last run could not deliver, tried again (trigger=retry) until it
        goes out: left to the next slot, Monday's digest would be superseded by the next week's
        and never sent. Like `_on_time`, it must not raise."""
        for job in sorted(self._undelivered):
            if self.stop_requested.is_set():
                return
            try:
                self.run_job(job, "retry")
            except Exception as exc:
                log.error("%s: could not run: %s", job, exc, exc_info=exc)

    # --- jobs ----------------------------------------------------------------------

    def run_job(self, job: str, trigger: str, slot: datetime | None = None) -> JobRun | None:
        """Run `job` under the run lock; None if a stop was asked for while waiting for the lock."""

        def waiting(holder: Holder | None) -> None:
            who = holder.describe() if holder else "another sheetsync"
            self.emit(self._line(job=job, event="waiting", holder=who))

        if not self.lock.acquire(cancel=self.stop_requested, on_wait=waiting):
            return None
        try:
            if job == "remind":
                return self._remind(trigger, slot)
            return self._sync(trigger, slot)[0] if job == "sync" else self._digest(trigger, slot)
        finally:
            self.lock.release()

    def _sync(self, trigger: str, slot: datetime | None) -> tuple[JobRun, Any]:
        started, clock = self._start("sync", trigger)
        outcome = None
        try:
            outcome = self.sync_job(self.config)
        except Exception as exc:  # a long-running scheduler outlives any one failed run: recorded, logged, next slot
            run = self._failed("sync", trigger, slot, started, clock, exc)
        else:
            code = outcome.exit_code
            outputs = [str(o) for o in getattr(outcome, "outputs", [])]
            alerts = getattr(outcome, "alerts", None)
            if code == 0:
                detail = f"wrote {', '.join(outputs)}" if outputs else ""
            elif code == 1 and alerts is not None:  # an alert waits in the outbox for the next sync
                detail = "; ".join(alerts.pending)
            else:  # 3: the sources or KPIs that failed or stopped, whose numbers are now marked stale
                detail = "; ".join(getattr(outcome.result, "errors", ()) or stale_kpis(outcome.result))
            label = "ok" if code == 0 else "failed" if code == 1 else "stale"
            data = "stale" if getattr(outcome.result, "stale", False) else "fresh"
            run = JobRun("sync", trigger, started, time.monotonic() - clock, label, code, slot, detail, data=data,
                         pending=_pending_files(alerts))
        self._last_sync = (started, outcome.result, _link(outcome)) if run.ok and outcome is not None else None
        self._finish(run)
        return run, outcome

    def _digest(self, trigger: str, slot: datetime | None) -> JobRun:
        started, clock = self._start("digest", trigger)
        try:
            result, link, data = self._digest_data(started)
            options: dict[str, Any] = {"result": result}
            if link:
                options["tracker_url"] = link
            outcome = self.digest_job(self.config, **options)
        except Exception as exc:  # as for the sync: one failed digest must not stop the scheduler
            run = self._failed("digest", trigger, slot, started, clock, exc)
        else:
            code = outcome.exit_code
            detail = "; ".join(d.describe() for d in getattr(outcome, "deliveries", []))
            run = JobRun("digest", trigger, started, time.monotonic() - clock, "ok" if code == 0 else "failed", code,
                         slot, detail, data=data, pending=_pending_files(outcome))
        self._finish(run)
        return run

    def _digest_data(self, now: datetime) -> tuple[SyncResult | None, str | None, str]:
        """The numbers for the digest: this week's sync, run again first if it has not succeeded.

        Returns (result, tracker link, "fresh" | "stale"); a None result lets the digest
        read the sources itself.
        """
        if not self.specs["sync"]:
            return None, None, ""
        if self.missed("sync", now, self.last_success("sync")) is None:
            last = self._last_sync
            if last is not None and self.missed("sync", now, last[0]) is None:
                return last[1], last[2], "fresh"
            return None, None, "fresh"
        run, outcome = self._sync("digest", None)
        if outcome is not None:
            return outcome.result, _link(outcome), "fresh" if run.ok else "stale"
        return self._stale_result(run), None, "stale"

    def _stale_result(self, failed: JobRun) -> SyncResult | None:
        """Numbers read afresh for a digest whose sync failed, with a warning that the tracker is behind."""
        try:
            result = jobs.results_for(self.config, self.now().astimezone(self.tz).date())
        except Exception as exc:  # best effort only: the digest job reads the sources itself and reports why
            log.error("digest: cannot read the sources either: %s", exc)
            return None  # the digest job reads them itself, and reports the error
        last = self.last_success("sync")
        since = f"the sync of {_local(last, self.tz, '%a %Y-%m-%d %H:%M %Z')}" if last else "no successful sync yet"
        # Stakeholders read that the tracker is behind; the error itself is in the log line above.
        note = f"The scheduled sync failed, so the tracker was not updated this week: it still shows {since}."
        return dataclasses.replace(result, notices=(*result.notices, note))

    def _remind(self, trigger: str, slot: datetime | None) -> JobRun:
        started, clock = self._start("remind", trigger)
        try:
            outcome = self.remind_job(self.config)
        except Exception as exc:
            run = self._failed("remind", trigger, slot, started, clock, exc)
        else:
            code = outcome.exit_code
            detail = "; ".join(d.describe() for d in getattr(outcome, "deliveries", []))
            run = JobRun("remind", trigger, started, time.monotonic() - clock, "ok" if code == 0 else "failed", code,
                         slot, detail, pending=_pending_files(outcome))  # fmt: skip
        self._finish(run)
        return run

    def _start(self, job: str, trigger: str) -> tuple[datetime, float]:
        started = self.now()
        self._attempted[job] = started
        log.info("%s: started (%s)", job, trigger)
        return started, time.monotonic()

    def _failed(
        self, job: str, trigger: str, slot: datetime | None, started: datetime, clock: float, exc: Exception
    ) -> JobRun:
        if not isinstance(exc, SheetsyncError):  # known failures are one line; others get a traceback
            log.error("%s raised", job, exc_info=exc)
        return JobRun(job, trigger, started, time.monotonic() - clock, "error", exit_code_for(exc), slot,
                      error=f"{type(exc).__name__}: {exc}")

    def _finish(self, run: JobRun) -> None:
        if run.job in ("digest", "remind"):
            if run.outcome == "failed" and run.pending:
                self._undelivered.add(run.job)
            else:
                self._undelivered.discard(run.job)
        try:
            with History.for_state_dir(self.config.state_dir) as history:
                history.record_job(run.job, ok=run.ok, detail=run.error or run.detail, when=run.started,
                                   outcome=run.outcome)
        except Exception as exc:  # the run happened; not being able to note it must not stop the scheduler
            log.error("%s: could not record the run in %s: %s", run.job, HISTORY_FILE, exc)
        self.emit(run.line(self.tz))

    def _line(self, **fields: object) -> str:
        return f"{self.now().astimezone(self.tz).isoformat(timespec='seconds')} {logfmt(**fields)}"

    # --- signals -------------------------------------------------------------------

    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT ask for a stop (the job in progress finishes); a second one stops at once."""
        if self._signals_installed or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self._signals_installed = True
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._signals_installed = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self.stop_requested.is_set():
            raise KeyboardInterrupt(name)
        self.stop_reason = name
        self.stop_requested.set()
        # os.write, not print or logging: a signal handler must not re-enter a buffered stream.
        message = f"sheetsync schedule: {name}: stopping after the job in progress (again to stop at once)\n"
        with suppress(OSError, ValueError):
            os.write(sys.stderr.fileno(), message.encode())


def _pending_files(outcome: Any) -> tuple[str, ...]:
    """The outbox files a digest's, a reminder run's or a sync's alerts' undelivered messages wait in."""
    return tuple(getattr(outcome, "pending_files", ()))


def _link(outcome: Any) -> str | None:
    """The tracker's web address a sync reported (a Google Sheet), for the digest's button."""
    return getattr(outcome, "tracker_url", None)


def _local(moment: datetime | None, tz: ZoneInfo, fmt: str | None = None) -> str | None:
    if moment is None:
        return None
    local = moment.astimezone(tz)
    return local.strftime(fmt) if fmt else local.isoformat(timespec="minutes")


def serve(
    config: Config, *, catch_up: bool = True, wait: bool = False, emit: Callable[[str], None] | None = None
) -> int:
    """`sheetsync schedule`: hold `schedule.lock` and run the scheduler until a signal.

    Raises LockBusy when another scheduler runs for this project, unless `wait`.
    """
    scheduler = Scheduler(config, emit=emit)
    lock = schedule_lock(config.state_dir)
    with scheduler.signals():  # a signal while waiting for another scheduler ends the wait cleanly
        if not lock.acquire(
            wait=wait,
            cancel=scheduler.stop_requested,
            on_wait=lambda holder: scheduler.emit(scheduler._line(event="waiting", holder=_who(holder))),
            what="sheetsync schedule",
            advice="stop it first, or use --wait to take over when it stops",
        ):
            return 0
        try:
            return scheduler.run(catch_up=catch_up)
        finally:
            lock.release()


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(holder: Holder | None) -> str:
    return holder.describe() if holder else "another sheetsync schedule"


def describe(config: Config, now: datetime | None = None) -> list[str]:
    """`sheetsync schedule --list`: each job's times, next run, last success and any catch-up due."""
    scheduler = Scheduler(config, emit=lambda _line: None)
    now = now or scheduler.now()
    tz = scheduler.tz
    fmt = "%a %Y-%m-%d %H:%M %Z"
    rows: dict[str, sqlite3.Row | None] = {}
    if (config.state_dir / HISTORY_FILE).exists():
        with History.for_state_dir(config.state_dir) as history:
            rows = {job: history.last_job_run(job) for job in scheduler.specs}
    lines = [f"{config.name}: times in {config.timezone}, now {_local(now, tz, fmt)}"]
    width = max(len(" + ".join(s.text for s in specs)) for specs in scheduler.specs.values())
    for job, specs in scheduler.specs.items():
        if not specs:
            lines.append(f"{job:<7} (not scheduled)")
            continue
        row = rows.get(job)
        last_ok = datetime.fromisoformat(row["last_success"]) if row and row["last_success"] else None
        line = (f"{job:<7} {' + '.join(s.text for s in specs):<{width}}"
                f"  next {_local(scheduler.next_run(job, now), tz, fmt)}"
                f"  last success {_local(last_ok, tz, fmt) if last_ok else 'never'}")
        if row and row["outcome"] != "ok":
            line += f"; last run {row['outcome']}: {_shorten(row['detail'] or '')}"
        missed = scheduler.missed(job, now, last_ok)
        if missed is not None:
            when = _local(missed, tz, fmt) if last_ok else "never ran"
            line += f"; due at start ({'missed ' if last_ok else ''}{when}: runs once on catch-up)"
        lines.append(line)
    holder = schedule_lock(config.state_dir).busy() if config.state_dir.exists() else None
    lines.append(f"scheduler: running ({holder.describe()})" if holder else "scheduler: not running")
    return lines

