"""Properties of the OKR arithmetic that must hold for any numbers, found by hypothesis."""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import strategies as st

from sheetsync.core.key_results import STATUSES, compute_progress, status_for
from sheetsync.core.model import StatusConfig

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
share = st.floats(min_value=0, max_value=1, allow_nan=False)
TOL = StatusConfig()


def direction_of(start: float, target: float) -> str:
    return "decrease" if target < start else "increase"


@given(finite, finite, finite)
def test_progress_is_clamped_into_unit_interval(current, start, target):
    progress = compute_progress(current, start, target, direction_of(start, target))
    assert 0.0 <= progress.clamped <= 1.0
    assert math.isfinite(progress.raw)
    if not progress.threshold:
        assert progress.clamped == min(max(progress.raw, 0.0), 1.0)


@given(finite, finite, finite, finite)
def test_progress_is_monotonic_in_current_towards_the_target(a, b, start, target):
    assume(start != target and abs(target - start) > 1e-6)
    low, high = sorted((a, b))
    direction = direction_of(start, target)
    p_low = compute_progress(low, start, target, direction).raw
    p_high = compute_progress(high, start, target, direction).raw
    if direction == "increase":
        assert p_low <= p_high + 1e-9
    else:
        assert p_low >= p_high - 1e-9


@given(finite, finite, finite)
def test_direction_symmetric(current, start, target):
    """Mirroring every number turns an increasing KR into a decreasing one with equal progress."""
    assume(start != target and abs(target - start) > 1e-6)
    up = compute_progress(current, start, target, direction_of(start, target))
    down = compute_progress(-current, -start, -target, direction_of(-start, -target))
    assert math.isclose(up.raw, down.raw, rel_tol=1e-9, abs_tol=1e-9)


@given(finite, finite)
def test_threshold_kr_is_met_or_not(current, level):
    up = compute_progress(current, level, level, "increase")
    down = compute_progress(current, level, level, "decrease")
    assert up.threshold and down.threshold
    assert up.clamped == (1.0 if current >= level else 0.0)
    assert down.clamped == (1.0 if current <= level else 0.0)


@given(share, share)
def test_status_is_one_of_the_known_and_worsens_as_progress_falls(progress, expected):
    status = status_for(progress, expected, TOL)
    assert status in STATUSES
    rank = {"done": 0, "on_track": 1, "at_risk": 2, "off_track": 3}
    lower = status_for(max(progress - 0.05, 0.0), expected, TOL)
    assert rank[lower] >= rank[status] or status == "done"


@given(share)
def test_being_on_pace_is_always_on_track(expected):
    assume(expected < 1)
    assert status_for(expected, expected, TOL) == "on_track"
