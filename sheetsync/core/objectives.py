"""Objective roll-ups: the weighted progress of their key results, and alignment trees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sheetsync.core.key_results import KeyResultResult, status_for
from sheetsync.core.model import ObjectiveConfig, StatusConfig


@dataclass(frozen=True)
class ObjectiveResult:
    id: str
    title: str
    owner: str
    team: str
    parent: str
    progress: float | None
    status: str
    key_results: tuple[KeyResultResult, ...]
    expected: float
    change: float | None = None  # progress points since last week, over the KRs measured both weeks
    change_unknown: str | None = None  # why there is no change though its KRs show figures both weeks

    @property
    def score(self) -> float | None:
        """The weighted mean of its KRs' scores: the final score once the period is over."""
        return self.progress

    @property
    def measured(self) -> int:
        """How many of its key results have a value (the rest are listed, not averaged)."""
        return sum(1 for kr in self.key_results if kr.progress is not None)

    @property
    def kr_count(self) -> int:
        return len(self.key_results)

    @property
    def no_data(self) -> tuple[KeyResultResult, ...]:
        return tuple(kr for kr in self.key_results if kr.progress is None)


def weighted_progress(items: Sequence[tuple[float, float]]) -> float | None:
    """Weighted mean of (progress, weight); plain mean when all weights are zero."""
    if not items:
        return None
    total = sum(weight for _, weight in items)
    if total <= 0:
        return sum(p for p, _ in items) / len(items)
    return sum(p * weight for p, weight in items) / total


def roll_up(
    objectives: Sequence[ObjectiveConfig],
    key_results: dict[str, list[KeyResultResult]],
    expected: float,
    tolerances: StatusConfig,
    *,
    closed: bool = False,
) -> list[ObjectiveResult]:
    """Objective progress from their KRs with data (no-data KRs are listed, not counted).

    An objective with no key results of its own takes the plain mean of its children's
    progress, so an aligning parent objective still shows how its teams are doing.
    """
    results: dict[str, ObjectiveResult] = {}

    def build(objective: ObjectiveConfig) -> ObjectiveResult:
        if objective.id in results:
            return results[objective.id]
        krs = tuple(key_results.get(objective.id, []))
        if krs:
            progress = weighted_progress([(kr.progress, kr.weight) for kr in krs if kr.progress is not None])
        else:
            children = [build(o) for o in objectives if o.parent == objective.id]
            progress = weighted_progress([(c.progress, 1.0) for c in children if c.progress is not None])
        if progress is None:
            status = "no_data"
        elif closed:  # the period is over: its score is final
            status = "done" if progress >= 1 else "missed"
        else:
            status = status_for(progress, expected, tolerances)
        results[objective.id] = ObjectiveResult(
            id=objective.id,
            title=objective.title,
            owner=objective.owner,
            team=objective.team,
            parent=objective.parent,
            progress=progress,
            status=status,
            key_results=krs,
            expected=expected,
        )
        return results[objective.id]

    return [build(objective) for objective in objectives]
