"""Key-result progress, score and status: the OKR arithmetic, as pure functions.

progress_raw = (current - start) / (target - start) serves increasing and decreasing
targets alike; `progress` is that clamped to [0, 1] and is what scores and statuses use,
while the raw figure is kept so a tracker can show 125%. A KR whose start equals its
target is a threshold: met (1) or not (0) by its direction.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from datetime import date

from sheetsync.core.checkins import CheckIn
from sheetsync.core.model import KeyResultConfig, ScoringConfig, StatusConfig

STATUSES = ("done", "on_track", "at_risk", "off_track", "missed", "no_data")
"""Every status, best first: the order used when sorting and counting."""


@dataclass(frozen=True)
class Progress:
    raw: float
    clamped: float
    threshold: bool


@dataclass(frozen=True)
class KeyResultResult:
    id: str
    title: str
    kpi: str | None  # None for a manual KR
    objective: str
    owner: str
    start: float | None
    target: float | None
    current: float | None
    progress: float | None
    progress_raw: float | None
    expected: float
    status: str
    weight: float
    direction: str
    unit: str = ""
    stale: str | None = None  # why the KPI's number is old (a source failed, rows stopped arriving)
    note: str | None = None  # why a KR has no data (the KPI's cause, or no baseline)
    manual: bool = False  # its value comes from check-ins
    checkin: CheckIn | None = None  # the owner's latest check-in, as of the result's week
    kind: str = "committed"  # committed | aspirational
    grade: str | None = None  # aspirational KRs: red | yellow | green
    value_as_of: date | None = None  # the date `current` is from
    change: float | None = None  # progress points since last week in this period (0.06 = +6 pts)
    value_change: float | None = None  # current minus last week's, when both weeks measured it
    change_unknown: str | None = None  # why there is no change though both weeks show a figure

    @property
    def score(self) -> float | None:
        """The KR's score: its progress clamped to 0.0-1.0 (Measure What Matters)."""
        return self.progress


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(max(value, low), high)


def infer_direction(start: float, target: float, declared: str | None) -> str:
    """The KR's direction: declared, else from start -> target, else 'increase'."""
    if declared:
        return declared
    return "decrease" if target < start else "increase"


def compute_progress(current: float, start: float, target: float, direction: str) -> Progress:
    if start == target:
        met = current >= target if direction == "increase" else current <= target
        return Progress(1.0 if met else 0.0, 1.0 if met else 0.0, True)
    raw = (current - start) / (target - start)
    if not math.isfinite(raw):  # start and target a hair apart: keep the sign, stay a number
        raw = math.copysign(sys.float_info.max, raw)
    return Progress(raw, clamp(raw), False)


def status_for(progress: Progress | float, expected: float, tolerances: StatusConfig) -> str:
    """done at 100%; otherwise how far progress trails the expected pace decides."""
    if isinstance(progress, Progress):
        if progress.threshold:
            return "on_track" if progress.clamped >= 1 else "off_track"
        if progress.raw >= 1:
            return "done"
        value = progress.clamped
    else:
        if progress >= 1:
            return "done"
        value = progress
    # Rounded so that 0.4 - 0.3 (0.10000000000000003) counts as the 0.10 it is.
    gap = round(expected - value, 9)
    if gap <= tolerances.on_track:
        return "on_track"
    if gap <= tolerances.at_risk:
        return "at_risk"
    return "off_track"


def resolve_start_target(kr: KeyResultConfig, baseline: float | None) -> tuple[float | None, float | None]:
    """Start and target after applying a baseline and a change ("+15%" of it, or "+5").

    `baseline` is the KR's baseline value already looked up (a number from config, or the
    KPI over the previous period); None when it has no data.
    """
    start = kr.start if kr.start is not None else (baseline if kr.baseline is not None else 0.0)
    target = kr.target
    if kr.change is not None:
        anchor = baseline if kr.baseline is not None else start
        if anchor is None:
            return start, None
        target = kr.change.target(anchor)
    return start, target


def grade_for(score: float, scoring: ScoringConfig) -> str:
    """Google's grading of an aspirational KR: red below 0.4, yellow to 0.7, green from 0.7."""
    if score >= scoring.green:
        return "green"
    return "yellow" if score >= scoring.yellow else "red"


def closed_status(progress: Progress, grade: str | None) -> str:
    """A KR's final status once its period is over: done or missed (aspirational: green is done)."""
    if grade is not None:
        return "done" if grade == "green" else "missed"
    return "done" if progress.raw >= 1 or (progress.threshold and progress.clamped >= 1) else "missed"


def evaluate_key_result(
    kr: KeyResultConfig,
    *,
    objective: str,
    current: float | None,
    baseline: float | None,
    expected: float,
    tolerances: StatusConfig,
    kpi_direction: str = "increase",
    unit: str = "",
    stale: str | None = None,
    value_as_of: date | None = None,
    cause: str | None = None,
    known: tuple[float | None, float | None] | None = None,
    closed: bool = False,
    scoring: ScoringConfig | None = None,
) -> KeyResultResult:
    """One KR's progress, score and status.

    `known` is the (start, target) last recorded for the KR, used when its baseline cannot be
    computed this run; `cause` is why its KPI has no value. Committed KRs are measured against
    the expected pace toward 1.0, aspirational ones toward their green grade. Once the period
    is `closed`, the status is final: done or missed.
    """
    scoring = scoring or ScoringConfig()
    start, target = resolve_start_target(kr, baseline)
    if (start is None or target is None) and known is not None and known[1] is not None:
        start, target = (known[0] if start is None else start), known[1]
    note = None
    if start is None or target is None:
        note = "no baseline: the KPI has no data for the previous period"
    elif current is None:
        note = cause
    direction = (
        infer_direction(start, target, kr.direction)
        if start is not None and target is not None
        else kr.direction or kpi_direction
    )
    if start is not None and target is not None and start == target and not kr.direction:
        direction = kpi_direction
    grade = None
    if current is None or start is None or target is None:
        progress = None
        status = "no_data"
    else:
        progress = compute_progress(current, start, target, direction)
        if kr.kind == "aspirational":
            grade = grade_for(progress.clamped, scoring)
        if closed:
            status = closed_status(progress, grade)
        else:
            pace = expected * scoring.green if kr.kind == "aspirational" else expected
            status = status_for(progress, pace, tolerances)
    return KeyResultResult(
        id=kr.id,
        title=kr.title,
        kpi=kr.kpi,
        objective=objective,
        owner=kr.owner,
        start=start,
        target=target,
        current=current,
        progress=None if progress is None else progress.clamped,
        progress_raw=None if progress is None else progress.raw,
        expected=expected,
        status=status,
        weight=kr.weight,
        direction=direction,
        unit=unit,
        stale=stale,
        note=note,
        manual=kr.manual,
        kind=kr.kind,
        grade=grade,
        value_as_of=value_as_of if current is not None else None,
    )
