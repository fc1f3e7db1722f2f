"""Local files named by a source's `path`: one file, or a glob whose files are stacked."""

from __future__ import annotations

import glob
import os
import queue
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.base import SourceFormatError, SourceNotFound, SourceUnavailable
from connectors.tabular import HeaderError
from sheetsync.core.model import SourceConfig
from sheetsync.core.sources import FILE_COLUMN, ROW_COLUMN

#: How long one file may take to open and read before its source fails (a named pipe with no
#: writer, a stuck network mount): the run goes on without it instead of hanging.
READ_TIMEOUT = 120.0


def read_bytes(config: SourceConfig, path: str, *, what: str = "file", timeout: float | None = None) -> bytes:
    """The whole file, read once (so its header and body are one version of it).

    Only regular files are read; the open and read happen on a reader thread so a file
    that never answers fails this source after `timeout` seconds (`READ_TIMEOUT`).
    """
    def work() -> bytes:
        try:
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                raise SourceFormatError(f"is a folder, not a {what}", source=config.name, location=path)
            if not stat.S_ISREG(info.st_mode):
                kind = "a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
                raise SourceFormatError(f"is {kind}, not a regular {what}", source=config.name, location=path)
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise SourceNotFound("file not found", source=config.name, location=path) from None
        except OSError as exc:
            raise SourceNotFound(f"cannot open: {exc.strerror or exc}", source=config.name, location=path) from None

    limit = READ_TIMEOUT if timeout is None else timeout
    try:
        return _on_reader(work, limit)
    except TimeoutError:
        raise SourceUnavailable(
            f"no answer after {limit:g} s (a stuck network mount or a pipe nobody writes?)",
            source=config.name, location=path,
        ) from None


class _Reader(threading.Thread):
    """A thread that opens and reads files for the sources, kept for the next file.

    Starting a thread per file cost about half a millisecond (more while other reading
    threads hold Python's lock): a tenth of a second over a thousand files. A reader
    stuck in a read is never given another file: the next one gets a fresh thread.
    """

    def __init__(self) -> None:
        super().__init__(name="sheetsync file reader", daemon=True)  # a stuck one ends with the process
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:  # abandoned while stuck in a read that has now ended
                return
            try:
                job.result = job.work()
            except BaseException as exc:  # raised to the caller; this thread serves the next file
                job.error = exc
            finally:
                job.done.set()


@dataclass
class _Job:
    work: Callable[[], bytes]
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes = b""
    error: BaseException | None = None


_idle: list[_Reader] = []
_idle_lock = threading.Lock()
os.register_at_fork(after_in_child=_idle.clear)  # a forked child has none of these threads


def _on_reader(work: Callable[[], bytes], limit: float) -> bytes:
    """`work()` run on a reader thread; TimeoutError if it has not finished after `limit` seconds."""
    with _idle_lock:
        reader = _idle.pop() if _idle else None
    reader = reader or _Reader()
    job = _Job(work)
    reader.jobs.put(job)
    if not job.done.wait(limit):
        reader.jobs.put(None)  # abandoned: it ends once `work` returns, if ever
        raise TimeoutError
    with _idle_lock:
        _idle.append(reader)
    if job.error is not None:
        raise job.error
    return job.result


def matching_files(config: SourceConfig) -> list[str]:
    """The files a source's path names, sorted; a clear error when there are none."""
    assert config.path is not None
    pattern = str(config.path)  # a glob is text to `glob`, whose matches are the paths read
    if glob.has_magic(pattern):
        paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        if not paths:
            raise SourceNotFound("no file matches this pattern", source=config.name, location=pattern)
        return paths
    if not config.path.exists():
        raise SourceNotFound("file not found", source=config.name, location=pattern)
    return [pattern]


def read_files(
    config: SourceConfig, read_one: Callable[[str], tuple[pd.DataFrame, list[str]]]
) -> tuple[pd.DataFrame, list[str], str]:
    """Read every matching file and stack them; all must share the same columns.

    Returns the frame, the warnings (prefixed by file name when there are several files)
    and the location to report (the glob, or the single file).
    """
    paths = matching_files(config)
    names = file_names(paths)
    frames: list[pd.DataFrame] = []
    warnings: list[str] = []
    for path, name in zip(paths, names, strict=True):
        try:
            frame, file_warnings = read_one(path)
        except HeaderError as exc:
            raise SourceFormatError(str(exc), source=config.name, location=path) from None
        prefix = f"{name}: " if len(paths) > 1 else ""
        warnings.extend(prefix + w for w in file_warnings)
        if frames and len(frame) and list(frame.columns) != list(frames[0].columns):
            differ = sorted(set(frame.columns) ^ set(frames[0].columns)) or "order"
            raise SourceFormatError(
                f"columns differ from {os.path.basename(paths[0])}: {differ}",
                source=config.name,
                location=path,
            )
        frames.append(frame)
    if len(frames) == 1:
        return frames[0], warnings, paths[0]
    frame = pd.concat(_same_kinds(frames), ignore_index=True)
    if ROW_COLUMN in frame.columns:  # each file numbers its own rows: say whose row a message means
        frame[FILE_COLUMN] = pd.Categorical.from_codes(
            np.repeat(np.arange(len(frames)), [len(f) for f in frames]), categories=pd.Index(names, dtype=object))
    return frame, warnings, str(config.path)


def _same_kinds(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The files' frames with each column of one kind: a column typed as numbers in one file
    and as text in another (`123` there, `A-1` here) is text in every file.

    Stacked as they were, the number 123 and the text "123" were two customers in a distinct
    count, though a filter `Customer == 123` took them for one.
    """
    mixed = [
        column for column in frames[0].columns
        if len({_is_number(f[column]) for f in frames if len(f) and f[column].notna().any()}) > 1
    ]  # fmt: skip
    if not mixed:
        return frames
    return [f.assign(**{c: _as_text(f[c]) for c in mixed if _is_number(f[c])}) for f in frames]


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _as_text(values: pd.Series) -> pd.Series:
    """Numbers as the text a sheet shows for them: `123`, not `123.0`; missing stays missing."""
    def shown(v: float) -> object:
        return None if pd.isna(v) else str(int(v)) if float(v).is_integer() else repr(float(v))

    return pd.Series([shown(v) for v in values.tolist()], index=values.index, dtype=object)


def file_names(paths: list[str]) -> list[str]:
    """Each path as messages name it: its file name, or its path below the files' common folder
    when two share a name (a `data/*/sales.csv` glob)."""
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) == len(names) or len(paths) < 2:
        return names
    root = os.path.commonpath([os.path.abspath(p) for p in paths])
    return [os.path.relpath(os.path.abspath(p), root) for p in paths]
