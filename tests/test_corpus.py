"""The bad-input corpus: every case in tests/corpus/ must fail (or warn) exactly as written.

Each case starts from a good run of tests/corpus/_base (tracker and history written),
breaks one thing, runs the CLI and checks: the exit code, the one-line message, that no
traceback reaches the user, that no output is half-written, and that when the run cannot
go on (exit 1 or 2) the last good tracker and history are untouched.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sheetsync.cli import main

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
DEFAULT_ARGS = ["sync", "--config", "config.toml", "--as-of", "2026-11-24"]


def load_case(name: str) -> dict:
    return tomllib.loads((CORPUS / name / "case.toml").read_text(encoding="utf-8"))


def digest_of(folder: Path) -> dict[str, str]:
    """What a user would lose: the tracker's bytes and the history's rows (its bytes when damaged)."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*.xlsx")):
        if path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    db = folder / ".sheetsync" / "history.sqlite"
    if db.is_dir():
        out["history"] = "a folder: " + ",".join(sorted(p.name for p in db.iterdir()))
    elif db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
                rows = [(t, conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()) for t in tables]
            out["history"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        except sqlite3.DatabaseError:
            out["history"] = "damaged: " + hashlib.sha256(db.read_bytes()).hexdigest()
    return out


def assert_whole(work: Path, name: str, case: dict) -> None:
    """Whatever the exit: every tracker is a whole workbook and the history is sound (or, when
    the case damaged it on purpose, kept exactly as it was)."""
    for path in work.rglob("*.xlsx"):
        if path.is_file() and "data" not in path.relative_to(work).parts:
            load_workbook(path, read_only=True).close()
    db = work / ".sheetsync" / "history.sqlite"
    if case.get("damaged_history"):
        return
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", name


def run(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, args, catch_exceptions=True)


@pytest.fixture(scope="session")
def good_run(tmp_path_factory) -> Path:
    """The base project after one good sync: the state every case starts from."""
    folder = tmp_path_factory.mktemp("corpus-base") / "project"
    shutil.copytree(CORPUS / "_base", folder)
    with pytest.MonkeyPatch.context() as mp:
        result = run(DEFAULT_ARGS, folder, mp)
    assert result.exit_code == 0, result.output
    return folder


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(name: str, good_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = load_case(name)
    work = tmp_path / "project"
    shutil.copytree(good_run, work)
    config = work / "config.toml"
    text = config.read_text(encoding="utf-8")
    for edit in case.get("replace", []):
        assert edit["old"] in text, f"{name}: the base config has no {edit['old']!r}"
        text = text.replace(edit["old"], edit["new"], 1)
    config.write_text(text, encoding="utf-8")
    for path in (CORPUS / name).rglob("*"):
        if path.is_file() and path.name != "case.toml":
            target = work / path.relative_to(CORPUS / name)
            if target.parent.is_file():  # e.g. a folder in place of the history file
                target.parent.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for link, points_to in case.get("symlinks", []):
        (work / link).parent.mkdir(parents=True, exist_ok=True)
        if not (work / points_to).exists() and (work / link).exists():  # the good file moves behind the link
            (work / points_to).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(work / link, work / points_to)
        (work / link).unlink(missing_ok=True)
        (work / link).symlink_to(work / points_to)
    for gone in case.get("remove", []):
        (work / gone).unlink()
    for variable, value in case.get("env", {}).items():
        monkeypatch.setenv(variable, value)
    before = digest_of(work)  # after the case's own files: a damaged history must stay as damaged

    result = run(case.get("args", DEFAULT_ARGS), work, monkeypatch)

    stderr = result.stderr
    assert result.exit_code == case["exit"], f"{name}: {result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{name}: {result.exception!r}"
    assert "Traceback" not in result.output
    shown = result.stdout if case.get("stream") == "stdout" else stderr
    assert case["message"] in shown, f"{name}: expected {case['message']!r} in:\n{shown}"
    for text_absent in case.get("absent", []):
        assert text_absent not in result.output, f"{name}: {text_absent!r} must not appear"
    for line in stderr.splitlines():
        assert len(line) < 600, f"{name}: a message line of {len(line)} characters"
    assert not list(work.rglob("*.tmp")), f"{name}: a temporary file was left behind"
    if case["exit"] in (1, 2):
        assert digest_of(work) == before, f"{name}: the last good tracker or history changed"
    assert_whole(work, name, case)
    for link, _ in case.get("symlinks", []):
        assert (work / link).is_symlink(), f"{name}: {link} is no longer a symlink"
    for pattern in case.get("exists", []):
        assert list(work.glob(pattern)), f"{name}: nothing matches {pattern}"


def test_corpus_is_big_enough_and_every_case_is_described():
    assert len(CASES) >= 100
    for name in CASES:
        case = load_case(name)
        assert case["description"] and case["family"] and "exit" in case, name
