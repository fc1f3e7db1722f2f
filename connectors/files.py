"""Local files named by a source's `path`: one file, or a glob whose files are stacked."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

import pandas as pd

from connectors.base import SourceFormatError, SourceNotFound
from connectors.tabular import HeaderError
from sheetsync.core.model import SourceConfig


def matching_files(config: SourceConfig) -> list[str]:
    """The files a source's path names, sorted; a clear error when there are none."""
    assert config.path is not None
    if glob.has_magic(config.path):
        paths = sorted(p for p in glob.glob(config.path) if os.path.isfile(p))
        if not paths:
            raise SourceNotFound("no file matches this pattern", source=config.name, location=config.path)
        return paths
    if not os.path.exists(config.path):
        raise SourceNotFound("file not found", source=config.name, location=config.path)
    return [config.path]


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
    return frame, warnings, (config.path if len(paths) > 1 else paths[0])
