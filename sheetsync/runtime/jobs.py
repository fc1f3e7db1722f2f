"""The jobs users run: a sync (read, compute, write outputs) and a digest.

The CLI and the scheduler both call these, so a scheduled run behaves exactly like a
manual one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from connectors.atomic import atomic_write_bytes
from connectors.base import SourceError
from sheetsync.core import checkins as ci
from sheetsync.core.model import Config
from sheetsync.core.results import SyncResult, compare_with
from sheetsync.core.snapshot import week_key
from sheetsync.core.sources import SourceData
from sheetsync.core.tracker import TrackerContent, build_tracker
from sheetsync.errors import ExitCode, SheetsyncError
from sheetsync.runtime.collector import collector_paused, old_objects_spared
from sheetsync.runtime.history import HISTORY_FILE, History
from sheetsync.runtime.pipeline import compute, read_with, stored_checkins, sync, today

if TYPE_CHECKING:
    from sheetsync.runtime.alerts import AlertsOutcome  # imported when alerts are on: their renderer, jinja2
    from sheetsync.runtime.delivery import DigestOutcome  # imported when a digest runs: jinja2, css-inline

log = logging.getLogger("sheetsync")


@dataclass
class SyncOutcome:
    result: SyncResult
    outputs: list[str] = field(default_factory=list)
    alerts: AlertsOutcome | None = None
    tracker_url: str | None = None  # the tracker's web address (a Google Sheet), for the digest and report

    @property
    def exit_code(self) -> ExitCode:
        """0 when every number is fresh; 3 when some are empty or old (a source failed or stopped);
        1 when an alert could not be delivered (it waits in the outbox for the next sync)."""
        if self.alerts is not None and self.alerts.pending:
            return ExitCode.FAILED
        return ExitCode.STALE if self.result.stale else ExitCode.OK


def write_json(result: SyncResult, path: str | Path) -> None:
    payload = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_bytes(path, payload.encode("utf-8"))


def tracker_content(
    config: Config, result: SyncResult, history: History, typed: Mapping[tuple[str, str], ci.TypedCells] | None = None
) -> TrackerContent:
    """The tracker for `result`, with history up to and including its week (and the Check-ins
    tab's rows sheetsync could not read as the owners `typed` them).

    Built with the cyclic garbage collector paused: a large tracker is hundreds of thousands of
    small cells, none of them in a cycle, and full collections over them were two thirds of the
    time (2 s of 3 at 5,000 key results); they are collected as usual once it is built.
    """
    with collector_paused():
        return build_tracker(
            result,
            kr_history=[dict(r) for r in history.kr_rows()],
            kpi_history=[dict(r) for r in history.kpi_rows()],
            previous=history.previous(result.as_of, result.period.name),
            generated_at=datetime.now(UTC),
            timezone=config.timezone,
            checkins_tab=config.checkins.from_tracker,
            typed_checkins=typed or {},
        )


class Tracker(Protocol):
    """The tracker of one sync: what its Check-ins tab held when opened, then the write."""

    checkins: ci.TabRows | None

    def write(self, content: TrackerContent) -> str: ...

    def staged(self, content: TrackerContent) -> AbstractContextManager[str]:
        """The write, undone where it can be if the block after it fails."""
        ...


@dataclass
class XlsxTracker:
    path: Path
    template: Path | None
    checkins: ci.TabRows | None = None

    def write(self, content: TrackerContent) -> str:
        with self.staged(content) as written:
            return written

    @contextmanager
    def staged(self, content: TrackerContent) -> Iterator[str]:
        """Written and put in place; the old file is put back if the block fails (`staged_write`)."""
        with ExitStack() as undone_on_error:
            with old_objects_spared():
                from connectors.xlsx_tracker import staged_xlsx_tracker

                path = undone_on_error.enter_context(staged_xlsx_tracker(content, self.path, self.template))
            yield str(path)


def open_tracker(config: Config) -> Tracker:
    """The tracker `[tracker]` names, with its Check-ins tab read back when owners type there.

    For a Google Sheet this is the one metadata request its write needs anyway; for an
    .xlsx file, a read of the file as Excel or LibreOffice last saved it.
    """
    if config.tracker.type == "gsheet":
        from connectors.gsheet_tracker import GSheetTracker  # needs Google's libraries

        return GSheetTracker.open(config, read_checkins=config.checkins.from_tracker)
    from connectors.xlsx_tracker import read_xlsx_checkins

    assert config.tracker.path is not None  # config gives it a default
    tab = read_xlsx_checkins(config.tracker.path) if config.checkins.from_tracker else None
    return XlsxTracker(config.tracker.path, config.tracker.template, tab)


def write_tracker(config: Config, content: TrackerContent) -> str:
    """Write the tracker where `[tracker]` says; returns its path or URL for the outputs list.

    Opening it loads its writer (openpyxl's hundred-odd modules) while the run holds its
    results: the older objects are spared meanwhile (`old_objects_spared`), as during the
    write, or the full collections those imports set off walk all of them (about 0.05 s at
    500 key results). `run_sync` opens the tracker before reading, when there is little to walk.
    """
    with old_objects_spared():
        return open_tracker(config).write(content)


def tab_checkins(
    config: Config, tab: ci.TabRows | None, known: list[ci.CheckIn], as_of: date
) -> tuple[list[ci.CheckIn], list[str], dict[tuple[str, str], ci.TypedCells]]:
    """History merged with what the Check-ins tab holds now, warnings about its rows, and the
    typed cells of the rows it could not read in full (written back as they were)."""
    if tab is None:
        return known, [], {}
    # A row with no Date is dated now, but never after the as-of day: a backfill of last week
    # must not date a check-in (and a manual value) later than the week it is run for.
    now = min(datetime.now(config.zone).replace(tzinfo=None), datetime.combine(as_of, time(23, 59, 59)))
    krs = {kr.id: kr.title for _, kr in config.key_results()}
    fresh, restated, warnings, typed = ci.read_tab(tab, krs, known, now=now, week=week_key(as_of), tz=config.timezone)
    return ci.merge(known, fresh, restated=restated, since=config.period.start), warnings, typed


def results_for(
    config: Config,
    as_of: date,
    history: History | None = None,
    *,
    data: Mapping[str, SourceData | SourceError] | None = None,
    checkins: Sequence[ci.CheckIn] | None = None,
    checkin_warnings: Sequence[str] = (),
) -> SyncResult:
    """Compute as of `as_of` with the history's last good values and last week's changes.

    `data` is the sources already read (else they are read here). Without `history`, the
    project's history file is read if there is one (and never created).
    """
    if history is None:
        if not (config.state_dir / HISTORY_FILE).exists():
            return compare_with(sync(config, as_of), None)
        with History.for_state_dir(config.state_dir) as own:
            return results_for(config, as_of, own, data=data, checkins=checkins, checkin_warnings=checkin_warnings)
    last_good = history.last_good(config.period.name, as_of)
    if data is None:
        result = sync(config, as_of, checkins=checkins, checkin_warnings=checkin_warnings, last_good=last_good)
    else:
        result = compute(config, data, as_of, checkins=() if checkins is None else checkins,
                         checkin_warnings=checkin_warnings, last_good=last_good)
    return compare_with(result, history.previous(as_of, config.period.name))


def run_sync(config: Config, as_of: date | None = None, *, json_path: str | Path | None = None) -> SyncOutcome:
    """Read, compute and write every output; raises OutputError when an output cannot be written.

    The tracker's Check-ins tab is read back after the sources and before anything is
    rewritten, so what owners typed is in this sync's results, history and new tracker.
    Whatever else failed, the tracker and the week's snapshot are written: a number that could
    not be computed shows its last good value from the history (marked stale), so a failed read
    never blanks a good number, and re-running a week after a failure keeps the good one.
    """
    day = as_of or today(config)
    data = read_with(config, as_of=day)
    tracker = open_tracker(config)  # one rule for every failure: a failing source never freezes it
    with History.for_state_dir(config.state_dir) as history:
        known = history.checkins() if config.checkins.enabled else []
        checkins, warnings, typed = tab_checkins(config, tracker.checkins, known, day)
        result = results_for(config, day, history, data=data, checkins=checkins, checkin_warnings=warnings)
        outcome = SyncOutcome(result)
        _log_sources(result)
        # The week's snapshot and the tracker succeed or fail together: a tracker that cannot
        # be written rolls the history back, so a re-run starts from the same state; and a
        # history that cannot commit (locked by a backup, a full disk) puts the old .xlsx back.
        with ExitStack() as undone_if_commit_fails, history.transaction():
            history.record(result)
            written = undone_if_commit_fails.enter_context(
                tracker.staged(tracker_content(config, result, history, typed)))
        outcome.outputs.append(written)
        if config.tracker.type == "gsheet":
            outcome.tracker_url = written
        if config.report.path:
            from sheetsync.runtime.report import write_report

            write_report(config, result, config.report.path,
                         previous=history.previous(result.as_of, config.period.name), tracker_url=outcome.tracker_url)
            outcome.outputs.append(str(config.report.path))
        if config.alerts.enabled:
            from sheetsync.runtime.alerts import run_alerts

            outcome.alerts = run_alerts(config, result, tracker_url=outcome.tracker_url, history=history)
    if json_path is not None:
        write_json(result, json_path)
        outcome.outputs.append(str(json_path))
    return outcome


def _log_sources(result: SyncResult) -> None:
    for source in result.sources:
        log.info(
            "source %s: %s, %d rows%s",
            source.name,
            source.status,
            source.rows,
            f" ({source.error})" if source.error else "",
        )
    for kpi in result.kpis:
        if kpi.stale:
            shown = f"showing the value from {kpi.value_as_of}" if kpi.carried else (
                "no value" if kpi.value is None else f"data through {kpi.data_through}")
            log.warning("kpi %s is stale: %s (%s)", kpi.id, kpi.stale, shown)


def run_digest(
    config: Config,
    as_of: date | None = None,
    *,
    result: SyncResult | None = None,
    dry_run: bool = False,
    force: bool = False,
    tracker_url: str | None = None,
) -> DigestOutcome:
    """This week's digests, once per ISO week and audience (see `sheetsync.runtime.delivery`).

    Without `result` it computes one (reading the sources, writing nothing) only when a
    digest is actually due. Delivery problems are in the outcome, not raised.
    """
    day = as_of or (result.as_of if result is not None else today(config))
    with old_objects_spared():
        from sheetsync.runtime.delivery import deliver_digests

        return deliver_digests(
            config, day, lambda: result if result is not None else _digest_result(config, day),
            dry_run=dry_run, force=force, tracker_url=tracker_url,
        )


def _digest_result(config: Config, day: date) -> SyncResult:
    """A digest's own result: the sources read now, and the check-ins as they are now (the Check-ins
    tab included, as the reminders count them), so an owner who checked in since the last sync is
    not listed as having not; a tab that cannot be read leaves the history's, with a warning."""
    try:
        checkins, warnings = current_checkins(config, day)
    except SheetsyncError as exc:
        log.warning("the tracker's Check-ins tab was not read: %s; the digest uses the check-ins of the last sync", exc)
        checkins, warnings = stored_checkins(config), []
    return results_for(config, day, checkins=checkins, checkin_warnings=warnings)


def current_checkins(config: Config, day: date) -> tuple[list[ci.CheckIn], list[str]]:
    """The history's check-ins and what the tracker's Check-ins tab holds now (read, never written)."""
    checkins = stored_checkins(config)
    if not config.checkins.from_tracker:
        return checkins, []
    checkins, warnings, _ = tab_checkins(config, open_tracker(config).checkins, checkins, day)
    return checkins, warnings


def run_reminders(
    config: Config, as_of: date | None = None, *, dry_run: bool = False, force: bool = False
) -> DigestOutcome:
    """Email each owner whose key results have no check-in this week (`[schedule] remind`), once a week.

    Check-ins count from the history and, when owners type into the tracker, from its
    Check-ins tab as it is now (read, never written): a check-in typed since the last sync
    spares its owner the reminder.
    """
    from sheetsync.runtime.delivery import deliver_reminders, tracker_link

    day = as_of or today(config)
    checkins, _ = current_checkins(config, day)
    reminders, nobody = ci.due_reminders(config.objectives, checkins, day)
    if nobody:
        log.warning("no reminder for %s: set owner_email on the key result or its objective", ", ".join(nobody))
    return deliver_reminders(config, day, reminders, where=_checkin_place(config, tracker_link(config)),
                             dry_run=dry_run, force=force)  # fmt: skip


def _checkin_place(config: Config, link: str | None) -> str:
    """Where owners check in, as the reminder tells them."""
    if config.checkins.source is not None:
        return f"add a row to {config.checkins.source!r} (the check-in form or sheet your team uses)"
    if link:
        return f"the Check-ins tab of the tracker, {link}"
    name = config.tracker.path.name if config.tracker.path else "okr_tracker.xlsx"
    return f"the Check-ins tab of the tracker, {name}"
