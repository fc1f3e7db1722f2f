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

from sheetsync.core.checkins import CheckIn
from sheetsync.core.model import KeyResultConfig, StatusConfig

STATUSES = ("done", "on_track", "at_risk", "off_track", "no_data")
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
    stale: str | None = None  # why the KPI's data is stale (a source failed)
    note: str | None = None  # why a KR has no data when it is not the KPI's fault
    manual: bool = False  # its value comes from check-ins
    checkin: CheckIn | None = None  # the owner's latest check-in, as of the result's week


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
) -> KeyResultResult:
    start, target = resolve_start_target(kr, baseline)
    note = None
    if start is None or target is None:
        note = "no baseline: the KPI has no data for the previous period"
    direction = (
        infer_direction(start, target, kr.direction)
        if start is not None and target is not None
        else kr.direction or kpi_direction
    )
    if start is not None and target is not None and start == target and not kr.direction:
        direction = kpi_direction
    if current is None or start is None or target is None:
        progress = None
        status = "no_data"
    else:
        progress = compute_progress(current, start, target, direction)
        status = status_for(progress, expected, tolerances)
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
    )
