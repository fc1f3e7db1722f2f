"""The jobs users run: a sync (read, compute, write outputs) and a digest.

The CLI and the scheduler both call these, so a scheduled run behaves exactly like a
manual one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sheetsync.atomic import atomic_write_bytes
from sheetsync.config import Config
from sheetsync.pipeline import sync
from sheetsync.results import SyncResult

log = logging.getLogger("sheetsync")


@dataclass
class SyncOutcome:
    result: SyncResult
    outputs: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every source and KPI had data; 3 when some numbers are empty or stale."""
        return 3 if self.result.errors else 0


def write_json(result: SyncResult, path: str | Path) -> None:
    payload = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, payload.encode("utf-8"))


def run_sync(config: Config, as_of: date | None = None, *, json_path: str | Path | None = None) -> SyncOutcome:
    """Read, compute and write every output; raises OutputError when an output cannot be written."""
    result = sync(config, as_of)
    outcome = SyncOutcome(result)
    for source in result.sources:
        log.info(
            "source %s: %s, %d rows%s",
            source.name,
            source.status,
            source.rows,
            f" ({source.error})" if source.error else "",
        )
    if json_path is not None:
        write_json(result, json_path)
        outcome.outputs.append(str(json_path))
    return outcome
