"""The PDF report job: `sheetsync report`, `[report] path` on every sync, `attach_pdf` in the digest.

The report says what the digest says (one `DigestContent`, built from the sync result
and last week's snapshot), laid out for print by `sheetsync.render.pdf_report`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from connectors.atomic import atomic_write_bytes
from sheetsync.core.digest import DigestContent, build_digest, team_objectives
from sheetsync.core.model import Config
from sheetsync.core.results import SyncResult
from sheetsync.core.snapshot import Snapshot, week_key
from sheetsync.errors import ConfigError
from sheetsync.runtime.history import HISTORY_FILE, History
from sheetsync.runtime.jobs import results_for
from sheetsync.runtime.pipeline import today

log = logging.getLogger("sheetsync.report")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class ReportOutcome:
    result: SyncResult
    path: Path
    size: int
    seconds: float

    @property
    def exit_code(self) -> int:
        """0 when every number is fresh; 3 when some sources or KPIs failed (the PDF says which)."""
        return 3 if self.result.errors else 0


def file_name(project: str, week: str, team: str | None = None) -> str:
    """`Acme-2026-W48.pdf`, `Acme-2026-W48-Sales.pdf`: safe in any file system and as an attachment name."""
    parts = [project, week, *([team] if team else [])]
    return "-".join(_UNSAFE.sub("_", p).strip("._") or "report" for p in parts) + ".pdf"


def report_content(
    config: Config, result: SyncResult, previous: Snapshot | None, *, team: str | None = None,
    tracker_url: str | None = None,
) -> DigestContent:
    from sheetsync.runtime.delivery import tracker_link

    return build_digest(result, previous, config.digest, team=team, tracker_url=tracker_url or tracker_link(config))


def render_report(content: DigestContent) -> bytes:
    from sheetsync.render.pdf_report import render_pdf  # WeasyPrint loads Pango: only when a PDF is made

    started = time.perf_counter()
    pdf = render_pdf(content)
    log.info("PDF report for %s: %d KB in %.1fs", content.audience, len(pdf) // 1024, time.perf_counter() - started)
    return pdf


def previous_snapshot(config: Config, as_of: date) -> Snapshot | None:
    """Last week's snapshot, without creating a history database where there is none."""
    path = config.state_dir / HISTORY_FILE
    if not path.exists():
        return None
    with History(path) as history:
        return history.previous(as_of)


def write_report(
    config: Config, result: SyncResult, path: str | Path, *, previous: Snapshot | None,
    team: str | None = None, tracker_url: str | None = None,
) -> int:
    """Render and write the report atomically (the last good PDF stays until the new one is whole)."""
    pdf = render_report(report_content(config, result, previous, team=team, tracker_url=tracker_url))
    atomic_write_bytes(path, pdf)
    return len(pdf)


def run_report(
    config: Config, as_of: date | None = None, *, out: str | Path | None = None, team: str | None = None,
) -> ReportOutcome:
    """`sheetsync report`: read the sources, compute, write the PDF; the tracker and history stay untouched.

    The numbers are the sync's: a KPI that cannot be computed shows its last good value from
    the history, as the tracker and the digest do, so the PDF never blanks a number they keep.
    """
    day = as_of or today(config)
    started = time.perf_counter()
    result = results_for(config, day)
    if team is not None and not team_objectives(result, team):
        teams = sorted({o.team for o in result.objectives if o.team})
        raise ConfigError(f"--team {team!r}: no objective has this team (teams: {', '.join(teams) or 'none'})")
    target = Path(out) if out is not None else (
        config.report.path if config.report.path and team is None
        else Path.cwd() / file_name(config.name, week_key(day), team)
    )
    size = write_report(config, result, target, previous=previous_snapshot(config, day), team=team)
    return ReportOutcome(result, target, size, time.perf_counter() - started)
