"""The OKR arithmetic, pinned to the rules in the README."""

import pytest

from sheetsync.core.key_results import compute_progress, evaluate_key_result, resolve_start_target, status_for
from sheetsync.core.model import KeyResultConfig, ObjectiveConfig, StatusConfig
from sheetsync.core.objectives import roll_up, weighted_progress

TOL = StatusConfig()


def kr(**kw):
    base = {"id": "KR", "title": "t", "kpi": "k"}
    base.update(kw)
    return KeyResultConfig(**base)


def evaluate(config, current, expected=0.5, baseline=None, kpi_direction="increase"):
    return evaluate_key_result(
        config,
        objective="O",
        current=current,
        baseline=baseline,
        expected=expected,
        tolerances=TOL,
        kpi_direction=kpi_direction,
    )


def test_increasing_progress():
    result = evaluate(kr(start=0.8, target=0.9), 0.85)
    assert result.progress_raw == pytest.approx(0.5)
    assert result.progress == pytest.approx(0.5)
    assert result.direction == "increase"


def test_decreasing_kr_uses_same_formula():
    # response time 5 -> 2 minutes, now 3.5: half way.
    result = evaluate(kr(start=5, target=2), 3.5)
    assert result.progress == pytest.approx(0.5)
    assert result.direction == "decrease"
    worse = evaluate(kr(start=5, target=2), 6)
    assert worse.progress_raw == pytest.approx(-1 / 3)
    assert worse.progress == 0.0


def test_raw_progress_is_kept_beyond_100_percent():
    result = evaluate(kr(start=0, target=100), 125)
    assert result.progress_raw == pytest.approx(1.25)
    assert result.progress == 1.0
    assert result.status == "done"


def test_done_at_exactly_target():
    assert evaluate(kr(start=0, target=2), 2).status == "done"


@pytest.mark.parametrize(
    ("progress", "expected", "status"),
    [
        (0.5, 0.5, "on_track"),
        (0.4, 0.5, "on_track"),  # gap 0.10 is on track (<=)
        (0.3, 0.4, "on_track"),  # 0.4-0.3 is 0.10000000000000003 in floats
        (0.39, 0.5, "at_risk"),
        (0.25, 0.5, "at_risk"),  # gap 0.25 is at risk (<=)
        (0.24, 0.5, "off_track"),
        (0.9, 0.5, "on_track"),  # ahead of pace
        (0.0, 0.0, "on_track"),
    ],
)
def test_status_bands(progress, expected, status):
    assert status_for(progress, expected, TOL) == status


def test_status_tolerances_are_configurable():
    strict = StatusConfig(on_track=0.0, at_risk=0.05)
    assert status_for(0.45, 0.5, strict) == "at_risk"
    assert status_for(0.40, 0.5, strict) == "off_track"


def test_threshold_kr_met_and_not_met():
    met = evaluate(kr(start=0.95, target=0.95, direction="increase"), 0.97)
    assert (met.progress, met.status) == (1.0, "on_track")
    missed = evaluate(kr(start=0.95, target=0.95, direction="increase"), 0.90)
    assert (missed.progress, missed.status) == (0.0, "off_track")
    low_is_good = evaluate(kr(start=3, target=3, direction="decrease"), 2)
    assert (low_is_good.progress, low_is_good.status) == (1.0, "on_track")
    progress = compute_progress(3, 3, 3, "increase")
    assert progress.threshold and progress.raw == 1.0


def test_zero_is_a_value_not_missing():
    result = evaluate(kr(start=0, target=2), 0.0)
    assert result.status != "no_data"
    assert result.progress == 0.0
    assert result.current == 0.0


def test_no_data():
    result = evaluate(kr(start=0, target=2), None)
    assert result.status == "no_data"
    assert result.progress is None


def test_relative_and_absolute_changes():
    assert resolve_start_target(kr(baseline=100.0, change="+15%"), 100.0) == (100.0, pytest.approx(115.0))
    assert resolve_start_target(kr(baseline=100.0, change="-15%"), 100.0) == (100.0, pytest.approx(85.0))
    assert resolve_start_target(kr(baseline=100.0, change="+5"), 100.0) == (100.0, 105.0)
    # start defaults to the baseline, else 0
    assert resolve_start_target(kr(target=10.0), None) == (0.0, 10.0)
    # an explicit start wins over the baseline; the change still applies to the baseline
    assert resolve_start_target(kr(start=0.0, baseline="previous_period", change="+30%"), 200.0) == (
        0.0,
        pytest.approx(260.0),
    )
    # a change with no baseline applies to the start
    assert resolve_start_target(kr(start=50.0, change="+10%"), None) == (50.0, pytest.approx(55.0))


def test_previous_period_baseline_without_data_is_no_data():
    result = evaluate(kr(baseline="previous_period", change="+30%"), 10.0, baseline=None)
    assert result.status == "no_data"
    assert "baseline" in result.note


def test_objective_progress_is_weighted_and_skips_no_data():
    objective = ObjectiveConfig(id="O", title="o")
    results = [
        evaluate(kr(id="a", start=0, target=1, weight=2), 0.5),
        evaluate(kr(id="b", start=0, target=1, weight=1), 1.0),
        evaluate(kr(id="c", start=0, target=1, weight=5), None),
    ]
    (rolled,) = roll_up([objective], {"O": results}, 0.5, TOL)
    assert rolled.progress == pytest.approx((0.5 * 2 + 1.0) / 3)
    assert [k.id for k in rolled.no_data] == ["c"]
    assert rolled.status == "on_track"


def test_objective_without_key_results_rolls_up_children():
    parent = ObjectiveConfig(id="P", title="p")
    child_a = ObjectiveConfig(id="A", title="a", parent="P")
    child_b = ObjectiveConfig(id="B", title="b", parent="P")
    results = {
        "A": [evaluate(kr(id="a", start=0, target=1), 0.2)],
        "B": [evaluate(kr(id="b", start=0, target=1), 0.6)],
    }
    rolled = {o.id: o for o in roll_up([parent, child_a, child_b], results, 0.6, TOL)}
    assert rolled["P"].progress == pytest.approx(0.4)
    assert rolled["P"].status == "at_risk"


def test_weighted_progress_edge_cases():
    assert weighted_progress([]) is None
    assert weighted_progress([(0.2, 0), (0.4, 0)]) == pytest.approx(0.3)
