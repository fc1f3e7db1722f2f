"""A damaged or older history database (issue 13, family 6): named, migrated, repaired on request."""

from __future__ import annotations

import sqlite3

import pytest

from sheetsync.runtime.history import SCHEMA_VERSION, History, HistoryError, history_error, repair_history


def test_an_older_schema_is_migrated_and_its_rows_kept(tmp_path):
    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE kpi_history (week TEXT NOT NULL, as_of TEXT NOT NULL, kpi_id TEXT NOT NULL,"
                     " value REAL, status TEXT NOT NULL, PRIMARY KEY (week, kpi_id))")
        conn.execute("INSERT INTO kpi_history VALUES ('2026-W40', '2026-10-01', 'csat', 0.8, 'on_track')")
    with History(db) as history:
        rows = [dict(r) for r in history.kpi_rows()]
        assert rows[0]["value"] == 0.8 and rows[0]["stale"] is None and "unit" in rows[0]
        assert history.weeks() == []  # tables it never had now exist


def test_a_history_at_this_schema_opens_without_checking_it_again(tmp_path, monkeypatch):
    db = tmp_path / "history.sqlite"
    History(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    upgrades: list[History] = []
    monkeypatch.setattr(History, "_upgrade", lambda self: upgrades.append(self))
    History(db).close()
    assert upgrades == []
    with sqlite3.connect(db) as conn:  # as a file another sheetsync version wrote: checked again
        conn.execute("PRAGMA user_version = 1")
    History(db).close()
    assert len(upgrades) == 1


def test_damage_is_named_with_the_way_out_and_never_repaired_silently(tmp_path):
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(HistoryError, match=r"history\.sqlite: the history database is damaged.*history repair"):
        History(db)
    assert db.read_bytes() == b"garbage" * 1000
    message = repair_history(tmp_path)
    assert "moved aside to" in message
    (kept,) = tmp_path.glob("history.sqlite.damaged-*")
    assert kept.read_bytes() == b"garbage" * 1000
    with History(db) as history:
        assert history.weeks() == []
    assert "nothing to repair" in repair_history(tmp_path)


def test_disk_errors_say_what_to_do(tmp_path):
    path = tmp_path / "history.sqlite"
    full = history_error(path, sqlite3.OperationalError("database or disk is full"))
    assert str(full) == f"{path}: cannot write the history: the disk is full; free some space and run again"
    assert full.file == str(path) and full.exit_code == 1
    read_only = history_error(path, sqlite3.OperationalError("attempt to write a readonly database"))
    assert "read-only" in str(read_only)


def test_damage_found_while_reading_rows_is_named_and_repair_moves_it_aside(tmp_path):
    """A damaged page deep in the file: the header opens, the rows do not (a bad block, a bad restore)."""
    good = tmp_path / "good.sqlite"
    with History(good) as history:
        history.db.executemany("INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (f"KR{i}", "2026-W48", "2026-11-25T10:00:00", "on_track", "x" * 200, None, "Ana", "tracker", i)
            for i in range(400)])  # fmt: skip
    pages = good.stat().st_size // 4096
    db = tmp_path / "state" / "history.sqlite"
    db.parent.mkdir()
    repaired = 0
    for page in range(2, pages):
        damaged = bytearray(good.read_bytes())
        damaged[page * 4096 + 1000 : page * 4096 + 1600] = b"\xa5" * 600
        db.write_bytes(bytes(damaged))
        for kept in db.parent.glob("history.sqlite.damaged-*"):
            kept.unlink()
        try:
            with History(db) as history:
                history.checkins()
        except HistoryError as exc:  # never a bare sqlite3.DatabaseError
            assert str(exc).startswith(f"{db}: ") and "history repair" in str(exc), exc
        message = repair_history(db.parent)  # the way out works whatever the damage
        if "moved aside" in message:
            repaired += 1
            with History(db) as history:
                assert history.checkins() == []
    assert repaired > 0
