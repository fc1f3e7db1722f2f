"""Local files named by a source's `path`: one file, or a glob whose files are stacked."""

from __future__ import annotations

import glob
import os
import stat
import threading
from collections.abc import Callable

import pandas as pd

from connectors.base import SourceFormatError, SourceNotFound, SourceUnavailable
from connectors.tabular import HeaderError
from sheetsync.core.model import SourceConfig

#: How long one file may take to open and read before its source fails (a named pipe with no
#: writer, a stuck network mount): the run goes on without it instead of hanging.
READ_TIMEOUT = 120.0


def read_bytes(config: SourceConfig, path: str, *, what: str = "file", timeout: float | None = None) -> bytes:
    """The whole file, read once (so its header and body are one version of it).

    Only regular files are read; the open and read happen in a helper thread so a file
    that never answers fails this source after `timeout` seconds (`READ_TIMEOUT`).
    """
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                outcome["error"] = SourceFormatError(f"is a folder, not a {what}", source=config.name, location=path)
                return
            if not stat.S_ISREG(info.st_mode):
                kind = "a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
                outcome["error"] = SourceFormatError(
                    f"is {kind}, not a regular {what}", source=config.name, location=path
                )
                return
            with open(path, "rb") as handle:
                outcome["data"] = handle.read()
        except FileNotFoundError:
            outcome["error"] = SourceNotFound("file not found", source=config.name, location=path)
        except OSError as exc:
            outcome["error"] = SourceNotFound(
                f"cannot open: {exc.strerror or exc}", source=config.name, location=path
            )

    limit = READ_TIMEOUT if timeout is None else timeout
    reader = threading.Thread(target=work, name=f"read {config.name}", daemon=True)
    reader.start()
    reader.join(limit)
    if reader.is_alive():  # the thread is left behind; it ends with the process
        raise SourceUnavailable(
            f"no answer after {limit:g} s (a stuck network mount or a pipe nobody writes?)",
            source=config.name, location=path,
        )
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["data"]  # type: ignore[return-value]


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
    frames: list[pd.DataFrame] = []
    warnings: list[str] = []
    for path in paths:
        try:
            frame, file_warnings = read_one(path)
        except HeaderError as exc:
            raise SourceFormatError(str(exc), source=config.name, location=path) from None
        prefix = f"{os.path.basename(path)}: " if len(paths) > 1 else ""
        warnings.extend(prefix + w for w in file_warnings)
        if frames and len(frame) and list(frame.columns) != list(frames[0].columns):
            differ = sorted(set(frame.columns) ^ set(frames[0].columns)) or "order"
            raise SourceFormatError(
                f"columns differ from {os.path.basename(paths[0])}: {differ}",
                source=config.name,
                location=path,
            )
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame, warnings, (str(config.path) if len(paths) > 1 else paths[0])
