"""One sheetsync at a time per project: an exclusive `flock` on a file in the state folder.

Why `flock` and not "the file exists": the kernel drops the lock when its process ends,
however it ends (a crash, SIGKILL, the machine's power), so a lock left behind by a
killed process needs no cleaning up; the next run simply takes it. The file itself
stays. What is written in it (pid, start time, command) only tells the next process
who it is waiting for.

Two locks use this: `run.lock`, held while a sync or digest runs (manual or scheduled,
so they never overlap), and `schedule.lock`, held for a scheduler's whole life (so a
project has one scheduler).

`flock` needs a local file system; on NFS some systems emulate it with `fcntl` locks
and some do not lock at all. Keep `state_dir` local. Where no lock can be taken (no
`fcntl` module, as on Windows, or a file system that refuses locks) taking one fails with
`LockUnavailable`: running unlocked could let two syncs write the same tracker and history.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sheetsync.errors import ExitCode, SheetsyncError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: taking a lock raises LockUnavailable
    fcntl = None  # type: ignore[assignment]

RUN_LOCK = "run.lock"
SCHEDULE_LOCK = "schedule.lock"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its holder wrote it."""

    pid: int | None
    since: str
    command: str

    def describe(self) -> str:
        parts = [f"pid {self.pid}" if self.pid else "", self.command, f"since {self.since}" if self.since else ""]
        return ", ".join(p for p in parts if p)


class LockBusy(SheetsyncError):
    """The lock is held by another process and we were told not to wait (or waited long enough)."""

    exit_code = ExitCode.BUSY

    def __init__(self, holder: Holder | None, what: str = "sheetsync", advice: str = "", **location: Any) -> None:
        self.holder = holder
        who = f" ({holder.describe()})" if holder and holder.describe() else ""
        super().__init__(f"another {what}{who} is running for this project" + (f"; {advice}" if advice else ""),
                         **location)


class LockUnavailable(SheetsyncError):
    """No lock can be taken here at all (not: someone else holds it)."""

    exit_code = ExitCode.FAILED

    def __init__(self, path: Path, reason: str, **location: Any) -> None:
        super().__init__(f"{path}: cannot take the project lock: {reason}", file=str(path), **location)


def _why(exc: OSError) -> str:
    """`describe_os_error`, loaded only on failure: `sheetsync --help` takes a lock's module, never pandas."""
    from connectors.atomic import describe_os_error

    return describe_os_error(exc)


class FileLock:
    """An exclusive, non-reentrant lock on `path`; `command` says who we are to those who wait."""

    def __init__(self, path: str | Path, command: str = "sheetsync") -> None:
        self.path = Path(path)
        self.command = command
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> Holder | None:
        """What the current holder wrote; None when nothing (or nothing readable) is there."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if not fields:
            return None
        pid = fields.get("pid", "")
        return Holder(int(pid) if pid.isdigit() else None, fields.get("since", ""), fields.get("command", ""))

    def _try(self, *, probe: bool = False) -> bool:
        assert self._file is None, f"{self.path} is already held by this process"
        if fcntl is None:
            raise LockUnavailable(
                self.path, "this system has no flock (sheetsync's locks need Linux, macOS or another Unix)"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # "a+": opening must never truncate what the holder wrote; the handle outlives this call.
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:  # a read-only or full state folder, a file where it should be
            raise LockUnavailable(self.path, _why(exc)) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except OSError as exc:  # ENOLCK, EOPNOTSUPP: a file system without locks (some NFS mounts)
            handle.close()
            raise LockUnavailable(
                self.path, f"{exc.strerror or exc}; keep state_dir on a local disk"
            ) from None
        if probe:  # only asked whether it is free: let go at once, leaving the file as it was
            handle.close()
            return True
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        try:
            handle.truncate(0)
            handle.write(f"pid={os.getpid()}\nsince={since}\ncommand={self.command}\n")
            handle.flush()
        except OSError as exc:  # the state disk is full: say so, and hold nothing
            with suppress(OSError):  # closing flushes the same bytes again
                handle.close()
            raise LockUnavailable(self.path, _why(exc)) from None
        self._file = handle
        return True

    def acquire(
        self,
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_wait: Callable[[Holder | None], None] | None = None,
        cancel: threading.Event | None = None,
        what: str = "sheetsync",
        advice: str = "",
    ) -> bool:
        """Take the lock. Returns False only if `cancel` was set while waiting.

        Without `wait` (or after `timeout` seconds) a held lock raises LockBusy, whose
        message names the holder. `on_wait` is called once, when waiting starts.
        """
        if self._try():
            return True
        if not wait:
            raise LockBusy(self.holder(), what, advice)
        if on_wait is not None:
            on_wait(self.holder())
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if cancel is not None:
                if cancel.wait(POLL_SECONDS):
                    return False
            else:
                time.sleep(POLL_SECONDS)
            if self._try():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                raise LockBusy(self.holder(), what, advice)

    def release(self) -> None:
        """Let go; the file is emptied first, so its content never names a finished process."""
        handle, self._file = self._file, None
        if handle is None:
            return
        with suppress(OSError):
            handle.truncate(0)
            handle.flush()
        handle.close()  # closing the last descriptor releases the flock

    def busy(self) -> Holder | None:
        """Who holds the lock right now, or None if it is free (checked by briefly taking it)."""
        if self.held:
            return self.holder()
        if self._try(probe=True):
            return None
        return self.holder() or Holder(None, "", "")

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def run_lock(state_dir: str | Path, command: str = "sheetsync") -> FileLock:
    """The lock every sync and digest holds while it runs."""
    return FileLock(Path(state_dir) / RUN_LOCK, command)


def schedule_lock(state_dir: str | Path) -> FileLock:
    """The lock a `sheetsync schedule` holds for as long as it runs."""
    return FileLock(Path(state_dir) / SCHEDULE_LOCK, "sheetsync schedule")
