"""RELIABILITY.md's corpus table must match tests/corpus/ family by family."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_corpus_table_matches_the_corpus():
    counts = Counter(
        tomllib.loads((case / "case.toml").read_text(encoding="utf-8"))["family"]
        for case in (ROOT / "tests" / "corpus").iterdir()
        if case.is_dir() and not case.name.startswith("_")
    )
    text = (ROOT / "RELIABILITY.md").read_text(encoding="utf-8")
    section = text.split("## The bad-input corpus", 1)[1].split("\n## ", 1)[0]
    table = {m[1]: int(m[2]) for m in re.finditer(r"^\| (\w[\w-]*) \| (\d+) \|", section, re.MULTILINE)}
    assert table == dict(counts)


def test_every_test_file_named_in_the_document_exists():
    text = (ROOT / "RELIABILITY.md").read_text(encoding="utf-8")
    for name in set(re.findall(r"tests/(test_[\w*]+\.py)", text)):
        assert list((ROOT / "tests").glob(name)), f"RELIABILITY.md names tests/{name}, which does not exist"
