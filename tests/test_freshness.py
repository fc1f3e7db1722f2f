"""Numbers that stay true over time: freshness, last good values, changes within a period,
period close and scores, and why a number is missing. Pure: frames in, results out."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from sheetsync.config import parse_config
from sheetsync.core.model import Config
from sheetsync.core.results import SyncResult, compare_with
from sheetsync.core.snapshot import KRSnapshot, LastGood, LastGoodValues, Snapshot
from sheetsync.core.sources import ROW_COLUMN, SourceData
from sheetsync.errors import ConfigError
from sheetsync.runtime.history import History
from sheetsync.runtime.pipeline import compute

TUESDAY_1_DEC = date(2026, 12, 1)

CONFIG = """
[project]
period = "2026-Q4"

[sources.sales]
type = "csv"
path = "sales.csv"
{source_extra}

[kpis.revenue]
title = "Revenue"
source = "sales"
column = "Amount"
date_column = "Date"
{kpi_extra}

[kpis.weekly]
title = "Weekly revenue"
source = "sales"
column = "Amount"
date_column = "Date"
window = "latest"

[kpis.paid]
title = "Paid orders"
source = "sales"
column = "Amount"
agg = "count"
date_column = "Date"
filter = "Status == 'paid'"
window = "latest"

[kpis.per_order]
title = "Revenue per order"
formula = "weekly / paid"
window = "latest"

[[objectives]]
id = "O1"

[[objectives.key_results]]
id = "KR1"
kpi = "revenue"
start = 0
target = 1000
{kr_extra}

[[objectives.key_results]]
id = "KR2"
kpi = "weekly"
start = 0
target = 100
"""


def config(source_extra: str = "", kpi_extra: str = "", kr_extra: str = "", tail: str = "") -> Config:
    text = CONFIG.format(source_extra=source_extra, kpi_extra=kpi_extra, kr_extra=kr_extra) + tail
    return parse_config(tomllib.loads(text), Path("/tmp/freshness/config.toml"))


def rows(*items: tuple[str, float | str, str]) -> SourceData:
    frame = pd.DataFrame(list(items), columns=["Date", "Amount", "Status"], dtype=object)
    frame[ROW_COLUMN] = range(2, len(frame) + 2)
    return SourceData("sales", "csv", "sales.csv", None, datetime(2026, 12, 1), frame)


def daily(first: str, last: str, amount: float = 10.0) -> SourceData:
    days = pd.date_range(first, last, freq="D")
    return rows(*((d.date().isoformat(), amount, "paid") for d in days))


def kpi(result: SyncResult, kpi_id: str):
    return next(k for k in result.kpis if k.id == kpi_id)


def kr(result: SyncResult, kr_id: str):
    return next(k for k in result.key_results if k.id == kr_id)


# --- freshness --------------------------------------------------------------------------------


def test_a_weekly_kpi_with_rows_up_to_the_first_day_of_the_last_complete_week_is_fresh():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-23")}, TUESDAY_1_DEC)
    revenue = kpi(result, "revenue")
    assert revenue.data_through == date(2026, 11, 23)  # 23-29 Nov, the last complete week, has a row
    assert revenue.stale is None and revenue.value_as_of == TUESDAY_1_DEC
    assert kr(result, "KR1").stale is None
    assert not result.stale


def test_one_day_short_of_the_last_complete_week_is_stale_and_says_since_when():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-22")}, TUESDAY_1_DEC)
    revenue = kpi(result, "revenue")
    assert revenue.data_through == date(2026, 11, 22)
    assert revenue.stale == "no rows after 22 Nov"
    assert revenue.value == pytest.approx(10.0 * 53)  # the to-date value still stands, marked old
    assert revenue.value_as_of == date(2026, 11, 22)
    assert kr(result, "KR1").stale == "no rows after 22 Nov"  # its KR carries the mark
    assert result.stale  # exit code 3: finished with stale data
    weekly = kpi(result, "weekly")  # the week 23-29 Nov has no rows: no number, never a 0
    assert weekly.value is None and weekly.stale == "no rows after 22 Nov"
    assert kr(result, "KR2").status == "no_data"


def test_rows_with_a_date_but_no_value_do_not_count_as_data():
    data = rows(("2026-11-20", 10.0, "paid"), ("2026-11-24", "", "paid"))
    revenue = kpi(compute(config(), {"sales": data}, TUESDAY_1_DEC), "revenue")
    assert revenue.data_through == date(2026, 11, 20) and revenue.stale == "no rows after 20 Nov"


@pytest.mark.parametrize(("last", "stale"), [("2026-11-28", None), ("2026-11-27", "no rows after 27 Nov")])
def test_fresh_within_days_on_the_kpi(last, stale):
    result = compute(config(kpi_extra='fresh_within = "3 days"'), {"sales": daily("2026-10-01", last)},
                     TUESDAY_1_DEC)
    assert kpi(result, "revenue").stale == stale


def test_fresh_within_on_the_source_covers_its_kpis_and_a_kpi_can_override_it():
    cfg = config(source_extra='fresh_within = "2 weeks"', kpi_extra='fresh_within = "1 day"')
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-11-20")}, TUESDAY_1_DEC)
    assert kpi(result, "revenue").stale == "no rows after 20 Nov"  # its own 1 day
    assert kpi(result, "weekly").stale is None  # the source's two weeks; 11 days old
    never = config(kpi_extra='fresh_within = "never"')
    assert kpi(compute(never, {"sales": daily("2026-10-01", "2026-10-02")}, TUESDAY_1_DEC), "revenue").stale is None


def test_fresh_within_must_be_a_duration():
    with pytest.raises(ConfigError, match=r"kpis.revenue.fresh_within: expected a duration like \"3 days\""):
        config(kpi_extra='fresh_within = "soon"')


def test_a_formula_is_as_fresh_as_its_inputs():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-22")}, TUESDAY_1_DEC)
    per_order = kpi(result, "per_order")
    assert per_order.stale == "Paid orders, Weekly revenue: no rows after 22 Nov"  # every stale input, once
    assert per_order.data_through == date(2026, 11, 22)


TWO_SOURCES = """
[sources.refunds]
type = "csv"
path = "refunds.csv"

[kpis.refunded]
title = "Refunds"
source = "refunds"
column = "Amount"
date_column = "Date"
window = "latest"

[kpis.net]
title = "Net revenue"
formula = "weekly - refunded"
window = "latest"
"""


def test_a_formula_names_each_input_that_is_old_not_only_the_first():
    refunds = dataclasses.replace(daily("2026-10-01", "2026-11-18", amount=1.0), name="refunds", location="refunds.csv")
    data = {"sales": daily("2026-10-01", "2026-11-22"), "refunds": refunds}
    net = kpi(compute(config(tail=TWO_SOURCES), data, TUESDAY_1_DEC), "net")
    assert net.stale == "Refunds: no rows after 18 Nov; Weekly revenue: no rows after 22 Nov"
    fresh_sales = {"sales": daily("2026-10-01", "2026-11-30"), "refunds": refunds}
    assert kpi(compute(config(tail=TWO_SOURCES), fresh_sales, TUESDAY_1_DEC), "net").stale == (
        "Refunds: no rows after 18 Nov")


def test_a_formula_over_two_failed_sources_says_both_failures():
    result = compute(config(tail=TWO_SOURCES), {"sales": failed("sales"), "refunds": failed("refunds")},
                     TUESDAY_1_DEC, last_good=LastGoodValues({}, {}))
    net = kpi(result, "net")
    assert net.stale is not None and "/srv/sales.csv" in net.stale and "/srv/refunds.csv" in net.stale
    assert net.stale_sources == ("refunds", "sales")


def test_after_the_period_its_last_day_is_the_window_end_and_the_freshness_mark():
    result = compute(config(), {"sales": daily("2026-10-01", "2027-01-20")}, date(2027, 1, 20))
    revenue = kpi(result, "revenue")
    assert revenue.window_end == date(2026, 12, 31)
    assert revenue.value == pytest.approx(10.0 * 92)  # Q4 only: January's rows never count
    assert revenue.data_through == date(2026, 12, 31) and revenue.stale is None
    assert kpi(result, "weekly").window_end == date(2026, 12, 27)  # the period's last complete week


# --- last good values ---------------------------------------------------------------------------


def failed(name: str = "sales") -> Exception:
    from connectors.base import SourceNotFound

    return SourceNotFound("file not found", source=name, location=f"/srv/{name}.csv")


def test_a_failed_source_shows_the_last_good_value_marked_stale_with_its_date():
    good = LastGoodValues({"revenue": LastGood(640.0, date(2026, 11, 24))}, {})
    result = compute(config(), {"sales": failed()}, TUESDAY_1_DEC, last_good=good)
    revenue = kpi(result, "revenue")
    assert revenue.value == 640.0 and revenue.carried
    assert revenue.value_as_of == date(2026, 11, 24)
    assert "file not found" in revenue.stale
    assert revenue.change is None  # a carried value has no change of its own
    kr1 = kr(result, "KR1")
    assert kr1.current == 640.0 and kr1.progress == pytest.approx(0.64)
    assert kr1.value_as_of == date(2026, 11, 24) and kr1.stale == revenue.stale
    assert result.to_dict()["kpis"][0]["value_as_of"] == "2026-11-24"


def test_a_number_that_never_had_a_good_value_stays_no_data_and_says_why():
    result = compute(config(), {"sales": failed()}, TUESDAY_1_DEC, last_good=LastGoodValues({}, {}))
    kr1 = kr(result, "KR1")
    assert kr1.status == "no_data" and kr1.current is None and kr1.value_as_of is None
    assert kr1.note is not None and "file not found" in kr1.note


def test_a_source_that_stopped_arriving_carries_its_last_good_weekly_value():
    good = LastGoodValues({"weekly": LastGood(70.0, date(2026, 11, 24))}, {})
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-22")}, TUESDAY_1_DEC, last_good=good)
    weekly = kpi(result, "weekly")
    assert weekly.value == 70.0 and weekly.carried and weekly.value_as_of == date(2026, 11, 24)
    assert weekly.stale == "no rows after 22 Nov"


def test_a_formula_over_a_stopped_sources_empty_week_is_no_number_and_no_division_by_zero():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-22")}, TUESDAY_1_DEC)
    per_order = kpi(result, "per_order")  # weekly / paid over 23-29 Nov, when no rows came
    assert per_order.value is None and per_order.stale and "no rows after 22 Nov" in per_order.stale
    assert not any("division by zero" in w for w in result.warnings), result.warnings


def test_the_weeks_after_a_stopped_sources_last_row_are_no_number_in_the_trend():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-20")}, date(2026, 11, 30))
    for kpi_id in ("weekly", "revenue"):
        points = {p.start: p.value for p in kpi(result, kpi_id).series}
        assert points[date(2026, 11, 16)] is not None  # the week with the last rows (Friday 20 Nov)
        assert points[date(2026, 11, 23)] is None and points[date(2026, 11, 30)] is None, (kpi_id, points)
    # A source still arriving may have a quiet week: a sum of nothing there is 0.
    fresh = compute(config(), {"sales": rows(("2026-11-02", 10.0, "paid"), ("2026-11-20", 10.0, "paid"),
                                             ("2026-11-29", 10.0, "paid"))}, date(2026, 11, 30))  # fmt: skip
    assert {p.start: p.value for p in kpi(fresh, "weekly").series}[date(2026, 11, 9)] == 0


def test_a_baseline_that_cannot_be_computed_while_its_source_is_down_is_the_last_known_one():
    text = CONFIG.format(source_extra="", kpi_extra="", kr_extra="").replace(
        'id = "KR1"\nkpi = "revenue"\nstart = 0\ntarget = 1000',
        'id = "KR1"\nkpi = "revenue"\nbaseline = "previous_period"\nstart = 0\nchange = "+30%"')
    cfg = parse_config(tomllib.loads(text), Path("/tmp/freshness/config.toml"))
    good = LastGoodValues({"revenue": LastGood(500.0, date(2026, 11, 24))}, {"KR1": (0.0, 1300.0)})
    kr1 = kr(compute(cfg, {"sales": failed()}, TUESDAY_1_DEC, last_good=good), "KR1")
    assert kr1.target == 1300.0 and kr1.progress == pytest.approx(500 / 1300)


def test_the_history_keeps_the_good_number_when_a_week_is_re_run_after_a_failure(tmp_path):
    cfg = config()
    with History(tmp_path / "history.sqlite") as history:
        good = compute(cfg, {"sales": daily("2026-10-01", "2026-11-30")}, TUESDAY_1_DEC)
        history.record(good)
        again = compute(cfg, {"sales": failed()}, date(2026, 12, 2),
                        last_good=history.last_good("2026-Q4", date(2026, 12, 2)))
        history.record(again)  # the same ISO week, re-run after the source failed
        revenue = kpi(again, "revenue")
        assert revenue.value == kpi(good, "revenue").value and revenue.value_as_of == TUESDAY_1_DEC
        assert "file not found" in revenue.stale  # and it says the refresh failed
        (row,) = [r for r in history.kpi_rows() if r["kpi_id"] == "revenue"]
        assert row["value"] == kpi(good, "revenue").value and row["value_as_of"] == "2026-12-01"


def test_a_carried_latest_value_keeps_the_window_it_was_measured_over_through_later_weeks(tmp_path):
    cfg = config()
    with History(tmp_path / "history.sqlite") as history:
        good = compute(cfg, {"sales": daily("2026-10-01", "2026-11-24")}, date(2026, 11, 24))  # W48: 16-22 Nov
        history.record(good)
        measured = kpi(good, "weekly")
        for as_of in (TUESDAY_1_DEC, date(2026, 12, 8)):  # the source fails two weeks running
            later = compute(cfg, {"sales": failed()}, as_of, last_good=history.last_good("2026-Q4", as_of))
            history.record(later)
            weekly = kpi(later, "weekly")
            assert weekly.carried and weekly.value == measured.value
            assert (weekly.window_start, weekly.window_end) == (date(2026, 11, 16), date(2026, 11, 22))
            revenue = kpi(later, "revenue")  # to date: through the day it was measured, not this run's
            assert (revenue.window_start, revenue.window_end) == (date(2026, 10, 1), date(2026, 11, 24))


def test_a_failed_re_run_in_the_same_week_keeps_the_window_its_value_was_measured_over(tmp_path):
    cfg = config()
    with History(tmp_path / "history.sqlite") as history:
        history.record(compute(cfg, {"sales": daily("2026-10-01", "2026-11-23")}, date(2026, 11, 23)))  # Monday
        for as_of in (date(2026, 11, 25), date(2026, 11, 30)):  # Wednesday's re-run replaces W48's row; then W49
            later = compute(cfg, {"sales": failed()}, as_of, last_good=history.last_good("2026-Q4", as_of))
            history.record(later)
            revenue = kpi(later, "revenue")
            assert revenue.carried and revenue.value_as_of == date(2026, 11, 23)
            assert (revenue.window_start, revenue.window_end) == (date(2026, 10, 1), date(2026, 11, 23))


def test_a_value_a_backfill_measured_is_carried_over_an_older_one_later_weeks_carried(tmp_path):
    cfg = config()
    with History(tmp_path / "history.sqlite") as history:
        history.record(compute(cfg, {"sales": daily("2026-10-01", "2026-11-23")}, date(2026, 11, 23)))
        for as_of in (date(2026, 11, 30), date(2026, 12, 7)):  # the source fails: 23 Nov's value carried
            history.record(compute(cfg, {"sales": failed()}, as_of, last_good=history.last_good("2026-Q4", as_of)))
        backfill = compute(cfg, {"sales": daily("2026-10-01", "2026-11-30")}, date(2026, 11, 30))  # mended: W49 again
        history.record(backfill)
        later = compute(cfg, {"sales": failed()}, date(2026, 12, 14),
                        last_good=history.last_good("2026-Q4", date(2026, 12, 14)))
        revenue = kpi(later, "revenue")
        assert revenue.value == kpi(backfill, "revenue").value and revenue.value_as_of == date(2026, 11, 30)
        assert (revenue.window_start, revenue.window_end) == (date(2026, 10, 1), date(2026, 11, 30))


def test_a_failed_read_keeps_the_trend_measured_before_it_and_leaves_the_weeks_since_blank(tmp_path):
    cfg = config()
    with History(tmp_path / "history.sqlite") as history:
        good = compute(cfg, {"sales": daily("2026-10-01", "2026-11-24")}, date(2026, 11, 24))
        history.record(good)
        measured = {(p.start, p.end): p.value for p in kpi(good, "weekly").series if p.complete}
        assert len(measured) == 8 and all(v is not None for v in measured.values())  # W40 .. W47
        for as_of in (TUESDAY_1_DEC, date(2026, 12, 8)):  # the source fails two weeks running
            later = compute(cfg, {"sales": failed()}, as_of, last_good=history.last_good("2026-Q4", as_of))
            history.record(later)
            for kpi_id in ("weekly", "revenue", "per_order"):  # a formula's trend too
                series = kpi(later, kpi_id).series
                kept = {(p.start, p.end): p.value for p in kpi(good, kpi_id).series if p.complete}
                for point in series:
                    if (point.start, point.end) in kept:
                        assert point.value == kept[(point.start, point.end)], (kpi_id, point)
                    else:  # measured by no run: W48 onwards
                        assert point.value is None and point.start >= date(2026, 11, 23), (kpi_id, point)
        # A backfill of an earlier week does not replace the newer trend kept for later failures.
        history.record(compute(cfg, {"sales": daily("2026-10-01", "2026-11-03")}, date(2026, 11, 3)))
        kept = history.last_good("2026-Q4", TUESDAY_1_DEC).kpis["weekly"].series
        assert {(a, b) for a, b, _ in kept} == set(measured)
        # And nothing measured after a run's as-of date is shown in it.
        early = history.last_good("2026-Q4", date(2026, 11, 3)).kpis["weekly"].series
        assert early and all(b <= date(2026, 11, 3) for _, b, _ in early)


def test_last_good_values_never_come_from_another_period_or_a_later_day(tmp_path):
    q3 = parse_config(tomllib.loads(CONFIG.format(source_extra="", kpi_extra="", kr_extra="").replace(
        '"2026-Q4"', '"2026-Q3"')), Path("/tmp/freshness/config.toml"))
    with History(tmp_path / "history.sqlite") as history:
        history.record(compute(q3, {"sales": daily("2026-07-01", "2026-09-29")}, date(2026, 9, 29)))
        history.record(compute(config(), {"sales": daily("2026-10-01", "2026-11-17")}, date(2026, 11, 17)))
        assert history.last_good("2026-Q4", date(2026, 10, 6)).kpis == {}
        assert history.last_good("2026-Q4", date(2026, 11, 24)).kpis["revenue"].as_of == date(2026, 11, 17)


# --- changes within a period --------------------------------------------------------------------


def snapshot(week: str, period: str, progress: dict[str, float | None]) -> Snapshot:
    krs = {k: KRSnapshot(k, "O1", None, p, "on_track") for k, p in progress.items()}
    return Snapshot(week, date(2026, 11, 24), period, None, krs, {}, {})


def test_the_first_week_of_a_period_has_no_change():
    result = compute(config(), {"sales": daily("2026-09-01", "2026-10-06")}, date(2026, 10, 6))
    compared = compare_with(result, snapshot("2026-W40", "2026-Q3", {"KR1": 0.95, "KR2": 0.9}))
    assert compared.previous_week is None
    assert all(k.change is None for k in compared.key_results)
    assert compared.objectives[0].change is None


def test_changes_are_progress_points_and_an_objective_compares_like_with_like():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-30")}, TUESDAY_1_DEC)
    kr1, kr2 = kr(result, "KR1"), kr(result, "KR2")
    assert kr1.progress == pytest.approx(0.61) and kr2.progress == pytest.approx(0.7)
    # Last week KR2 had no data: the objective's change is KR1's alone, never moved by KR2 joining.
    compared = compare_with(result, snapshot("2026-W48", "2026-Q4", {"KR1": 0.55, "KR2": None}))
    assert kr(compared, "KR1").change == pytest.approx(0.06)
    assert kr(compared, "KR2").change is None
    o1 = compared.objectives[0]
    assert o1.change == pytest.approx(0.06)
    assert (o1.measured, o1.kr_count) == (2, 2)
    out = compared.to_dict()["objectives"][0]
    assert out["change"] == pytest.approx(0.06) and out["measured"] == 2 and out["kr_count"] == 2


def test_a_kr_losing_its_data_never_moves_its_objective():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-22")}, TUESDAY_1_DEC)
    assert kr(result, "KR2").progress is None  # its week has no rows
    compared = compare_with(result, snapshot("2026-W48", "2026-Q4", {"KR1": 0.53, "KR2": 0.1}))
    o1 = compared.objectives[0]
    assert o1.measured == 1 and o1.kr_count == 2
    # Not +43 pts from dropping KR2, and not ±0 from KR1 either: its rows stopped on 22 Nov, so it
    # has no new data this week and no measured change.
    assert kr(compared, "KR1").change is None and o1.change is None
    assert o1.change_unknown == "no new data this week"


def test_kpi_change_is_in_its_own_unit_bucket_to_bucket():
    data = daily("2026-09-01", "2026-12-01")
    first_week = compute(config(), {"sales": data}, date(2026, 10, 6))
    assert kpi(first_week, "revenue").previous is None  # to date: nothing before the period's start
    assert kpi(first_week, "weekly").change == pytest.approx(0.0)  # a KPI's own week before, any period
    later = kpi(compute(config(), {"sales": data}, TUESDAY_1_DEC), "weekly")
    assert later.change == pytest.approx(0.0) and later.previous == pytest.approx(70.0)


# --- scores and period close --------------------------------------------------------------------


def test_every_kr_has_a_score_and_committed_krs_have_no_grade():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-11-30")}, TUESDAY_1_DEC)
    kr1 = kr(result, "KR1")
    assert kr1.score == pytest.approx(0.61) and kr1.kind == "committed" and kr1.grade is None
    assert result.to_dict()["objectives"][0]["key_results"][0]["score"] == pytest.approx(0.61)


@pytest.mark.parametrize(("score", "grade"), [(0.39, "red"), (0.41, "yellow"), (0.69, "yellow"), (0.71, "green")])
def test_aspirational_krs_are_graded_on_googles_scale(score, grade):
    cfg = config(kr_extra='kind = "aspirational"')
    amount = score * 1000 / 92  # Q4 has 92 days
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-12-31", amount)}, date(2026, 12, 31))
    kr1 = kr(result, "KR1")
    assert kr1.kind == "aspirational" and kr1.grade == grade
    assert result.to_dict()["objectives"][0]["key_results"][0]["grade"] == grade


def test_grade_edges_are_inclusive():
    from sheetsync.core.key_results import grade_for
    from sheetsync.core.model import ScoringConfig

    scale = ScoringConfig()
    assert [grade_for(x, scale) for x in (0.0, 0.3999, 0.4, 0.6999, 0.7, 1.0)] == [
        "red", "red", "yellow", "yellow", "green", "green"]


def test_aspirational_thresholds_come_from_scoring():
    cfg = config(kr_extra='kind = "aspirational"', tail="\n[scoring]\nyellow = 0.3\ngreen = 0.5\n")
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-12-31", 6.0)}, date(2026, 12, 31))
    assert kr(result, "KR1").grade == "green"  # 0.552


def test_the_day_after_the_period_ends_committed_krs_are_done_or_missed():
    data = daily("2026-10-01", "2026-12-31", 12.0)  # 1,104 of 1,000: done
    result = compute(config(), {"sales": data}, date(2027, 1, 1))
    assert result.closed and result.to_dict()["period"]["closed"] is True
    assert kr(result, "KR1").status == "done"
    assert kr(result, "KR2").status == "missed"  # 84 in 21-27 Dec, the last complete week, of 100
    short = compute(config(), {"sales": daily("2026-10-01", "2026-12-31", 5.0)}, date(2027, 1, 1))
    assert kr(short, "KR1").status == "missed"
    o1 = short.objectives[0]
    assert o1.status == "missed" and o1.score == pytest.approx((0.46 + 0.35) / 2)
    assert "missed" in short.status_counts()


def test_on_the_last_day_of_the_period_it_is_not_yet_closed():
    result = compute(config(), {"sales": daily("2026-10-01", "2026-12-31", 5.0)}, date(2026, 12, 31))
    assert not result.closed and kr(result, "KR1").status == "off_track"


def test_after_the_period_aspirational_krs_are_done_when_green():
    cfg = config(kr_extra='kind = "aspirational"')
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-12-31", 8.0)}, date(2027, 1, 5))
    kr1 = kr(result, "KR1")
    assert kr1.grade == "green" and kr1.status == "done"  # 0.736
    yellow = compute(cfg, {"sales": daily("2026-10-01", "2026-12-31", 5.0)}, date(2027, 1, 5))
    assert kr(yellow, "KR1").grade == "yellow" and kr(yellow, "KR1").status == "missed"


def test_while_open_aspirational_krs_are_paced_toward_green():
    cfg = config(kr_extra='kind = "aspirational"')
    # 1 Dec: 67% of Q4 elapsed. Committed pace wants 0.67; aspirational 0.67 * 0.7 = 0.47.
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-11-30", 7.0)}, TUESDAY_1_DEC)
    assert kr(result, "KR1").progress == pytest.approx(0.427) and kr(result, "KR1").status == "on_track"
    committed = compute(config(), {"sales": daily("2026-10-01", "2026-11-30", 7.0)}, TUESDAY_1_DEC)
    assert kr(committed, "KR1").status == "at_risk"


# --- no data explained ---------------------------------------------------------------------------


def test_no_rows_in_the_window_names_the_window():
    data = rows(("2026-11-10", 10.0, "paid"))
    text = CONFIG.format(source_extra='fresh_within = "never"', kpi_extra="", kr_extra="")
    text = text.replace('window = "latest"\n', 'window = "latest"\nagg = "mean"\n', 1)
    cfg = parse_config(tomllib.loads(text), Path("/tmp/freshness/config.toml"))
    kr2 = kr(compute(cfg, {"sales": data}, TUESDAY_1_DEC), "KR2")
    assert kr2.note == "no rows dated 23–29 Nov 2026"


def test_every_value_missing_in_the_window():
    data = rows(("2026-11-24", "", "paid"), ("2026-11-25", "N/A", "paid"), ("2026-11-10", 5.0, "paid"))
    cfg = config(source_extra='fresh_within = "never"')
    kr2 = kr(compute(cfg, {"sales": data}, TUESDAY_1_DEC), "KR2")
    assert kr2.note == "every 'Amount' value dated 23–29 Nov 2026 is missing (2 rows)"


def test_a_filter_that_matched_no_rows_says_how_many_rows_there_were():
    text = CONFIG.format(source_extra='fresh_within = "never"', kpi_extra="", kr_extra="").replace(
        'id = "KR2"\nkpi = "weekly"', 'id = "KR2"\nkpi = "paid"')
    cfg = parse_config(tomllib.loads(text), Path("/tmp/freshness/config.toml"))
    data = rows(("2026-11-24", 5.0, "refunded"), ("2026-11-25", 5.0, "refunded"), ("2026-11-26", 5.0, "void"))
    result = compute(cfg, {"sales": data}, TUESDAY_1_DEC)
    assert kpi(result, "paid").value == 0.0  # a count of nothing is a real 0 ...
    per_order = kr(compute(cfg, {"sales": data}, TUESDAY_1_DEC), "KR2")
    assert per_order.current == 0.0
    weekly = parse_config(tomllib.loads(text.replace('agg = "count"', 'agg = "mean"')),
                          Path("/tmp/freshness/config.toml"))
    kr2 = kr(compute(weekly, {"sales": data}, TUESDAY_1_DEC), "KR2")
    assert kr2.note == "the filter Status == 'paid' matched none of the 3 rows dated 23–29 Nov 2026"


def test_a_failed_source_is_the_cause():
    kr2 = kr(compute(config(), {"sales": failed()}, TUESDAY_1_DEC), "KR2")
    assert kr2.note == "source 'sales' (/srv/sales.csv): file not found"


def test_the_tracker_shows_scores_grades_and_points():
    from sheetsync.core.tracker import KR_HEADER, OBJECTIVE_HEADER, build_tracker

    cfg = config(kr_extra='kind = "aspirational"')
    result = compute(cfg, {"sales": daily("2026-10-01", "2026-11-30")}, TUESDAY_1_DEC)
    content = build_tracker(result, previous=snapshot("2026-W48", "2026-Q4", {"KR1": 0.55, "KR2": None}))
    rows = {r[1].value: dict(zip(KR_HEADER, r, strict=True)) for r in content.tab("Key Results").rows}
    assert rows["KR1"]["Score"].value == pytest.approx(0.61) and rows["KR1"]["Grade"].value == "Yellow"
    assert rows["KR1"]["Change since last week"].value == pytest.approx(6.0)  # +6 pts
    assert rows["KR1"]["Change since last week"].unit == "pts"
    assert rows["KR2"]["Grade"].value is None  # committed
    (objective,) = content.tab("Dashboard").rows
    cells = dict(zip(OBJECTIVE_HEADER, objective, strict=True))
    assert cells["Score"].value == pytest.approx((0.61 + 0.7) / 2)
    assert cells["Key results"].value == "2 of 2 measured"
    assert cells["Change since last week"].value == pytest.approx(6.0)  # KR1 alone was measured both weeks


def test_rows_whose_every_value_is_blank_are_named_as_such_not_as_no_rows():
    blank = rows(("2026-11-16", None, "paid"), ("2026-11-17", None, "paid"))
    revenue = kpi(compute(config(), {"sales": blank}, date(2026, 11, 24)), "revenue")
    assert revenue.value is None and revenue.stale == "no row with a value up to 24 Nov 2026"
