"""The embedded DuckDB's spill folders, and the sweep that removes those a killed process left.

DuckDB writes what a query needs beyond `memory_limit` into `temp_directory`: gigabytes, for a
distinct count over a large table. Each DuckDB connection gets a folder of its own, removed
when the source is closed. A process killed meanwhile (SIGKILL, the OOM killer, a power cut)
cannot remove it, so the next DuckDB source to open removes every abandoned one first.

Abandoned is decided as the project's run lock is (`sheetsync.runtime.lock`): each folder
holds `owner.lock`, on which its process keeps an exclusive `flock` for as long as it uses
the folder. The kernel drops that lock when the process ends, however it ends; a sweep that
can take the lock knows nobody uses the folder, and removes it while holding the lock. A
folder whose lock is held (another sync, a scheduler, a `sheetsync check` running now) is left
alone, and so is anything not named `sheetsync-duckdb-*`, not holding an `owner.lock`, not a
real folder (a symlink) or not owned by this user. The lock file gets its lock before its
name, so no sweep ever finds a folder of ours with a free `owner.lock` that is in use.

The folders live in `<state_dir>/scratch/` (`SourceConfig.scratch_dir`, set at load): on the
project's disk, not in a `/tmp` that many systems keep in memory (tmpfs), where spilling would
use the very memory `memory_limit` keeps free; and each project sweeps only its own. A source
made without a project (`scratch_dir` None) uses the system's temporary folder. Folders that
versions before the lock left in the temporary folder have no `owner.lock` and are never
touched: remove `sheetsync-duckdb-*` there by hand when no sheetsync is running.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: folders are made without a lock and never swept
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("sheetsync.warehouse")

PREFIX = "sheetsync-duckdb-"
OWNER_LOCK = "owner.lock"


class Scratch:
    """A spill folder this process holds: its `owner.lock` stays locked until `close`."""

    def __init__(self, path: Path, lock: IO[str] | None) -> None:
        self.path = path
        self._lock = lock

    def __str__(self) -> str:
        return str(self.path)

    def close(self) -> None:
        """Remove the folder, then let go of its lock (a sweep meanwhile finds it held, and waits its turn)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def folder_for(scratch_dir: Path | None) -> Path:
    """Where a source's spill folders go: the project's `<state_dir>/scratch`, else the system's temp folder."""
    return scratch_dir if scratch_dir is not None else Path(tempfile.gettempdir())


def make_scratch(base: Path) -> Scratch:
    """A new spill folder in `base`, locked by this process; abandoned ones there are removed first.

    Raises OSError when `base` cannot hold one (the caller names the source).
    """
    sweep(base)
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    if fcntl is None:
        return Scratch(path, None)
    try:
        # Locked under a name no sweep opens, then renamed (the lock stays with the file): a sweep
        # never sees an `owner.lock` that is free while this process is about to use the folder.
        pending = path / f"{OWNER_LOCK}.new"
        lock = open(pending, "w", encoding="utf-8")  # noqa: SIM115 - held open until close()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            since = datetime.now().astimezone().isoformat(timespec="seconds")
            lock.write(f"pid={os.getpid()}\nsince={since}\n")
            lock.flush()
            pending.rename(path / OWNER_LOCK)
        except BaseException:
            lock.close()
            raise
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return Scratch(path, lock)


def sweep(base: Path) -> list[Path]:
    """Remove the spill folders in `base` whose process has ended; returns those removed."""
    if fcntl is None:
        return []
    try:
        entries = list(os.scandir(base))
    except OSError:  # no such folder yet, or not readable: nothing of ours to remove
        return []
    removed = []
    uid = os.getuid()
    for entry in entries:
        try:
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False) \
                    or entry.stat(follow_symlinks=False).st_uid != uid:  # fmt: skip
                continue
        except OSError:  # gone meanwhile
            continue
        folder = Path(entry.path)
        if _remove_if_abandoned(folder):
            removed.append(folder)
    if removed:
        log.info("removed %d DuckDB spill folder(s) left by ended processes in %s", len(removed), base)
    return removed


def _remove_if_abandoned(folder: Path) -> bool:
    """Remove `folder` if its `owner.lock` can be taken: no process holds it any more."""
    assert fcntl is not None
    try:
        fd = os.open(folder / OWNER_LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # no lock file: not ours to judge (being made right now, or made before the lock)
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its process is alive (or this file system has no locks: then never removed)
            return False
        shutil.rmtree(folder, ignore_errors=True)  # with the lock held, so no second sweep races this one
        return not folder.exists()
    finally:
        with suppress(OSError):
            os.close(fd)
