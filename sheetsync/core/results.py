"""The outcome of one sync, and its JSON form (`sheetsync sync --json`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sheetsync.core.checkins import CheckIn
from sheetsync.core.key_results import STATUSES, KeyResultResult
from sheetsync.core.kpis import KPIResult
from sheetsync.core.notes import kpi_stale_note, kr_stale_note
from sheetsync.core.objectives import ObjectiveResult, weighted_progress
from sheetsync.core.periods import Period
from sheetsync.core.snapshot import Snapshot, measured_in_week


@dataclass(frozen=True)
class SourceResult:
    name: str
    type: str
    location: str
    sheet: str | None
    rows: int
    fetched_at: datetime | None
    status: str  # ok | warning | failed
    warnings: tuple[str, ...] = ()
    error: str | None = None
    columns: tuple[str, ...] = ()
    unavailable: bool = False  # the service kept failing (quota, 5xx): a later run may succeed
    row: int | None = None  # the row the error is about, when it is about one


@dataclass(frozen=True)
class SyncResult:
    project: str
    as_of: date
    period: Period
    expected: float
    kpis: tuple[KPIResult, ...]
    objectives: tuple[ObjectiveResult, ...]
    sources: tuple[SourceResult, ...]
    errors: tuple[str, ...] = ()  # problems that left some numbers empty (exit code 3)
    warnings: tuple[str, ...] = field(default=())
    checkins: tuple[CheckIn, ...] = ()  # every check-in known (history and this sync's), for the history
    checkins_on: bool = False  # owners check in ([checkins] enabled): outputs list who has not
    previous_week: str | None = None  # the week changes compare with (None: none in this period)
    notices: tuple[str, ...] = ()  # plain sentences for stakeholders (the digest's banner)

    @property
    def closed(self) -> bool:
        """True once the as-of date is past the period's end: scores are final."""
        return self.as_of > self.period.end

    @property
    def stale(self) -> bool:
        """Whether any number is old: its source failed or its rows stopped arriving (exit code 3)."""
        return bool(self.errors) or any(k.stale for k in self.kpis)

    @property
    def key_results(self) -> list[KeyResultResult]:
        return [kr for objective in self.objectives for kr in objective.key_results]

    @property
    def overall_progress(self) -> float | None:
        values = [o.progress for o in self.objectives if o.progress is not None and not o.parent]
        return sum(values) / len(values) if values else None

    @property
    def overall_change(self) -> float | None:
        """The mean change of the top-level objectives, each like with like (see `compare_with`)."""
        values = [o.change for o in self.objectives if o.change is not None and not o.parent]
        return sum(values) / len(values) if values else None

    def status_counts(self) -> dict[str, int]:
        """KRs per status, best first; `missed` only once the period is over (or some are)."""
        counts = Counter(kr.status for kr in self.key_results)
        return {status: counts.get(status, 0) for status in STATUSES
                if status != "missed" or self.closed or counts.get(status)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "as_of": self.as_of.isoformat(),
            "period": {
                "name": self.period.name,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "expected": self.expected,
                "closed": self.closed,
            },
            "kpis": [_kpi(k) for k in self.kpis],
            "objectives": [_objective(o, self.as_of) for o in self.objectives],
            "sources": [_source(s) for s in self.sources],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


NO_NEW_DATA = "no new data this week"
NOT_MEASURED_LAST_WEEK = "not measured last week"
NOT_MEASURED_BOTH_WEEKS = "no key result measured both weeks"
"""Why a change is unknown though both weeks show a figure: one of the weeks carried it."""


def compare_with(result: SyncResult, previous: Snapshot | None) -> SyncResult:
    """`result` with each KR's and objective's change since `previous` (last week, same period).

    Changes are progress points, and only between figures measured in their own week
    (`measured_in_week`): a value carried from an earlier week, against a carried or a
    measured one, is no measured change, so its change is None and `change_unknown` says
    why. An objective compares like with like: the weighted progress of the KRs measured in
    both weeks, now and then, so a KR that lost (or gained) its data never moves it. No
    previous week in this period (its first week): every change is None.
    """
    if previous is None or previous.period != result.period.name:
        return replace(result, previous_week=None)
    now_day, then_day = min(result.as_of, result.period.end), min(previous.as_of, result.period.end)

    def compared(kr: KeyResultResult) -> KeyResultResult:
        before = previous.key_results.get(kr.id)
        if before is None or kr.current is None or (before.current is None and before.progress is None):
            return replace(kr, change=None, value_change=None, change_unknown=None)
        if not measured_in_week(kr.value_as_of, now_day):
            return replace(kr, change=None, value_change=None, change_unknown=NO_NEW_DATA)
        if not measured_in_week(before.value_as_of, then_day):
            return replace(kr, change=None, value_change=None, change_unknown=NOT_MEASURED_LAST_WEEK)
        change = None if kr.progress is None or before.progress is None else kr.progress - before.progress
        value_change = None if before.current is None else kr.current - before.current
        return replace(kr, change=change, value_change=value_change, change_unknown=None)

    objectives: dict[str, ObjectiveResult] = {}

    def objective(o: ObjectiveResult) -> ObjectiveResult:
        if o.id in objectives:
            return objectives[o.id]
        krs = tuple(compared(kr) for kr in o.key_results)
        if krs:
            both = [kr for kr in krs if kr.change is not None]
            now = weighted_progress([(kr.progress, kr.weight) for kr in both if kr.progress is not None])
            then = weighted_progress([(kr.progress - kr.change, kr.weight) for kr in both
                                      if kr.progress is not None and kr.change is not None])
            change = None if now is None or then is None else now - then
            unknown = [kr.change_unknown for kr in krs if kr.change_unknown]
        else:  # an aligning parent: the mean of its children's changes
            children = [objective(c) for c in result.objectives if c.parent == o.id]
            moved = [c.change for c in children if c.change is not None]
            change = sum(moved) / len(moved) if moved else None
            unknown = [c.change_unknown for c in children if c.change_unknown]
        why = None if change is not None or not unknown else (
            unknown[0] if len(set(unknown)) == 1 else NOT_MEASURED_BOTH_WEEKS)
        objectives[o.id] = replace(o, key_results=krs, change=change, change_unknown=why)
        return objectives[o.id]

    return replace(result, objectives=tuple(objective(o) for o in result.objectives), previous_week=previous.week)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _kpi(k: KPIResult) -> dict[str, Any]:
    return {
        "id": k.id,
        "title": k.title,
        "value": k.value,
        "unit": k.unit,
        "target": k.target,
        "direction": k.direction,
        "status": k.status,
        "previous": k.previous,
        "window": {"start": _iso(k.window_start), "end": _iso(k.window_end)},
        "stale": k.stale,
        "stale_sources": list(k.stale_sources),
        "data_through": _iso(k.data_through),
        "value_as_of": _iso(k.value_as_of),
        "change": k.change,
        "note": kpi_stale_note(k) or k.note,
        "series": [
            {"label": p.label, "start": _iso(p.start), "end": _iso(p.end), "value": p.value, "complete": p.complete}
            for p in k.series
        ],
    }


def _objective(o: ObjectiveResult, as_of: date) -> dict[str, Any]:
    return {
        "id": o.id,
        "title": o.title,
        "owner": o.owner,
        "team": o.team,
        "parent": o.parent or None,
        "progress": o.progress,
        "status": o.status,
        "score": o.score,
        "measured": o.measured,
        "kr_count": o.kr_count,
        "change": o.change,
        "key_results": [
            {
                "id": kr.id,
                "title": kr.title,
                "kpi": kr.kpi,
                "start": kr.start,
                "target": kr.target,
                "current": kr.current,
                "progress": kr.progress,
                "progress_raw": kr.progress_raw,
                "expected": kr.expected,
                "status": kr.status,
                "weight": kr.weight,
                "direction": kr.direction,
                "stale": kr.stale,
                "note": kr_stale_note(kr, as_of) or kr.note,  # the tracker's words for a stale figure
                "manual": kr.manual,
                "checkin": None if kr.checkin is None else kr.checkin.to_dict(),
                "score": kr.score,
                "kind": kr.kind,
                "grade": kr.grade,
                "value_as_of": _iso(kr.value_as_of),
                "change": kr.change,
            }
            for kr in o.key_results
        ],
    }


def _source(s: SourceResult) -> dict[str, Any]:
    return {
        "name": s.name,
        "type": s.type,
        "location": s.location,
        "sheet": s.sheet,
        "row": s.row,
        "rows": s.rows,
        "fetched_at": None if s.fetched_at is None else s.fetched_at.isoformat(timespec="seconds"),
        "status": s.status,
        "warnings": list(s.warnings),
        "error": s.error,
    }
