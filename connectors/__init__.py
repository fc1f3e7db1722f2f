"""Connectors: everything that talks to files and services outside sheetsync.

Each source connector returns a `SourceData` (the rows plus where they came from) and
raises only `SourceError` subclasses, which carry that location too.
"""

from connectors.base import (
    SourceAccessDenied,
    SourceError,
    SourceFormatError,
    SourceNotFound,
    SourceUnavailable,
)
from sheetsync.core.sources import ROW_COLUMN, SourceData

__all__ = [
    "ROW_COLUMN",
    "SourceAccessDenied",
    "SourceData",
    "SourceError",
    "SourceFormatError",
    "SourceNotFound",
    "SourceUnavailable",
]
