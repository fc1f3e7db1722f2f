"""The outcome of one sync, and its JSON form (`sheetsync sync --json`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sheetsync.core.checkins import CheckIn
from sheetsync.core.key_results import STATUSES, KeyResultResult
from sheetsync.core.kpis import KPIResult
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import Period


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

    @property
    def key_results(self) -> list[KeyResultResult]:
        return [kr for objective in self.objectives for kr in objective.key_results]

    @property
    def overall_progress(self) -> float | None:
        values = [o.progress for o in self.objectives if o.progress is not None and not o.parent]
        return sum(values) / len(values) if values else None

    def status_counts(self) -> dict[str, int]:
        counts = Counter(kr.status for kr in self.key_results)
        return {status: counts.get(status, 0) for status in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "as_of": self.as_of.isoformat(),
            "period": {
                "name": self.period.name,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "expected": self.expected,
            },
            "kpis": [_kpi(k) for k in self.kpis],
            "objectives": [_objective(o) for o in self.objectives],
            "sources": [_source(s) for s in self.sources],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


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
        "series": [
            {"label": p.label, "start": _iso(p.start), "end": _iso(p.end), "value": p.value, "complete": p.complete}
            for p in k.series
        ],
    }


def _objective(o: ObjectiveResult) -> dict[str, Any]:
    return {
        "id": o.id,
        "title": o.title,
        "owner": o.owner,
        "team": o.team,
        "parent": o.parent or None,
        "progress": o.progress,
        "status": o.status,
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
                "note": kr.note,
                "manual": kr.manual,
                "checkin": None if kr.checkin is None else kr.checkin.to_dict(),
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
        "rows": s.rows,
        "fetched_at": None if s.fetched_at is None else s.fetched_at.isoformat(timespec="seconds"),
        "status": s.status,
        "warnings": list(s.warnings),
        "error": s.error,
    }
