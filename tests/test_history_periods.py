"""A week two OKR periods share keeps a snapshot of each.

A quarter's last run and the next quarter's first (after ops change `period` in config.toml)
often fall in one ISO week; when the history kept one snapshot a week, the new quarter's run
replaced the old quarter's final figures.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from sheetsync.core.periods import parse_period
from sheetsync.runtime.history import History
from tests.helpers import run_cli
from tests.test_digest import kpi, kr, objective, result
from tests.test_tracker_xlsx import table

Q3, Q4 = parse_period("2026-Q3"), parse_period("2026-Q4")


def synced(period, as_of: date, current: float, value: float):
    base = result([objective("O1", [kr("KR1", "O1", current, "on_track")])], [kpi("k1", value, "on_track")])
    return replace(base, period=period, as_of=as_of)


def test_two_periods_in_one_week_keep_a_snapshot_each(tmp_path: Path) -> None:
    with History(tmp_path / "history.sqlite") as history:
        history.record(synced(Q3, date(2026, 9, 30), 70, 0.7))
        history.record(synced(Q4, date(2026, 10, 2), 5, 0.1))
        history.record(synced(Q4, date(2026, 10, 3), 6, 0.2))  # a re-run replaces its own period's only
        assert history.weeks() == ["2026-W40"]
        assert history.snapshot("2026-W40", "2026-Q3").key_results["KR1"].current == 70
        assert history.snapshot("2026-W40", "2026-Q4").key_results["KR1"].current == 6
        assert [(r["period"], r["current"]) for r in history.kr_rows()] == [("2026-Q3", 70), ("2026-Q4", 6)]
        assert history.last_good("2026-Q3", date(2026, 10, 5)).kpis["k1"].value == 0.7
        assert history.last_good("2026-Q4", date(2026, 10, 5)).kpis["k1"].value == 0.2
        following = history.previous(date(2026, 10, 5), "2026-Q4")  # W41's "last week"
        assert following is not None and following.period == "2026-Q4" and following.key_results["KR1"].current == 6
        close_out = history.previous(date(2026, 10, 5), "2026-Q3")  # Q3's close-out run in W41
        assert close_out is not None and close_out.key_results["KR1"].current == 70


def test_a_history_kept_by_week_alone_is_rekeyed_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:  # the tables as the last release made them
        db.executescript("""
            CREATE TABLE snapshots (week TEXT PRIMARY KEY, as_of TEXT NOT NULL, period TEXT NOT NULL,
                expected REAL, overall_progress REAL, taken_at TEXT NOT NULL);
            CREATE TABLE kr_history (week TEXT NOT NULL, as_of TEXT NOT NULL, objective TEXT NOT NULL,
                kr_id TEXT NOT NULL, title TEXT, kpi TEXT, start REAL, target REAL, current REAL, progress REAL,
                progress_raw REAL, expected REAL, status TEXT NOT NULL, stale TEXT, value_as_of TEXT, grade TEXT,
                PRIMARY KEY (week, kr_id));
            CREATE TABLE kpi_history (week TEXT NOT NULL, as_of TEXT NOT NULL, kpi_id TEXT NOT NULL, title TEXT,
                value REAL, unit TEXT, target REAL, status TEXT NOT NULL, stale TEXT, data_through TEXT,
                value_as_of TEXT, PRIMARY KEY (week, kpi_id));
            CREATE TABLE objective_history (week TEXT NOT NULL, as_of TEXT NOT NULL, objective TEXT NOT NULL,
                progress REAL, status TEXT NOT NULL, PRIMARY KEY (week, objective));
            INSERT INTO snapshots VALUES ('2026-W40', '2026-09-30', '2026-Q3', 1.0, 0.7, '2026-09-30T09:00:00');
            INSERT INTO kr_history VALUES ('2026-W40', '2026-09-30', 'O1', 'KR1', 'KR', 'k1', 0, 100, 70, 0.7,
                0.7, 1.0, 'at_risk', NULL, NULL, NULL);
            INSERT INTO kpi_history VALUES ('2026-W40', '2026-09-30', 'k1', 'K1', 0.7, '%', 0.9, 'at_risk', NULL,
                '2026-09-30', NULL);
            INSERT INTO objective_history VALUES ('2026-W40', '2026-09-30', 'O1', 0.7, 'at_risk');
        """)
    with History(path) as history:
        old = history.snapshot("2026-W40", "2026-Q3")
        assert old is not None and old.key_results["KR1"].current == 70 and old.kpis["k1"].value == 0.7
        assert old.objectives == {"O1": (0.7, "at_risk")}
        history.record(synced(Q4, date(2026, 10, 2), 5, 0.1))
        assert [r["period"] for r in history.kpi_rows()] == ["2026-Q3", "2026-Q4"]
    with History(path) as history:  # opened again: nothing rebuilt twice, nothing lost
        assert history.snapshot("2026-W40", "2026-Q3").key_results["KR1"].current == 70


def test_the_tracker_keeps_the_old_quarters_last_run_beside_the_new_ones_first(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("Date,V\n2026-09-15,70\n2026-10-01,5\n", encoding="utf-8")
    config = """[project]
name = "Rollover"
period = "{period}"
[sources.a]
type = "csv"
path = "data/a.csv"
fresh_within = "never"
[kpis.v]
title = "V"
source = "a"
column = "V"
agg = "sum"
date_column = "Date"
[[objectives]]
id = "O1"
title = "Grow"
[[objectives.key_results]]
id = "KR1"
title = "Reach 100"
kpi = "v"
target = 100
"""
    for period, as_of in (("2026-Q3", "2026-09-30"), ("2026-Q4", "2026-10-02")):
        (tmp_path / "config.toml").write_text(config.format(period=period), encoding="utf-8")
        proc = run_cli("sync", "--as-of", as_of, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    header, rows = table(load_workbook(tmp_path / "output" / "okr_tracker.xlsx"), "history")
    krs = [dict(zip(header, row, strict=True)) for row in rows if row[header.index("Type")] == "Key result"]
    assert [(r["Week"], r["As of"].date(), r["Value"]) for r in krs] == [
        ("2026-W40", date(2026, 9, 30), 70), ("2026-W40", date(2026, 10, 2), 5)]
