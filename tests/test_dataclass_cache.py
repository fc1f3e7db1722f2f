"""The dataclass methods kept between runs (`sheetsync.dataclass_cache`): the same classes, compiled once."""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sheetsync import dataclass_cache
from sheetsync.dataclass_cache import MethodCache

pytestmark = pytest.mark.skipif(not dataclass_cache.SUPPORTED, reason="this Python compiles a class's methods at once")


def _make(cache: object, monkeypatch: pytest.MonkeyPatch) -> type:
    """A frozen dataclass made with `cache` standing in for `exec` in `dataclasses`."""
    monkeypatch.setattr(dataclasses, "exec", cache, raising=False)

    @dataclasses.dataclass(frozen=True)
    class Line:
        id: str
        progress: float | None = None
        tags: tuple[str, ...] = ()

    monkeypatch.setattr(dataclasses, "exec", builtins.exec, raising=False)
    return Line


def test_methods_come_from_the_kept_file_and_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _make(builtins.exec, monkeypatch)
    first = MethodCache(tmp_path / "methods.marshal")
    made = _make(first, monkeypatch)
    assert first.compiled >= 6  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    first.save()
    second = MethodCache(tmp_path / "methods.marshal")
    again = _make(second, monkeypatch)
    assert second.compiled == 0  # every method from the file
    for cls in (made, again):
        for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
            ours, theirs = getattr(cls, name), getattr(reference, name)
            assert ours.__code__.co_code == theirs.__code__.co_code
            assert ours.__annotations__ == theirs.__annotations__  # not turned into text by this module's future import
        line = cls("kr1", 0.5)
        assert repr(line) == repr(reference("kr1", 0.5)).replace(reference.__qualname__, cls.__qualname__)
        assert line == cls("kr1", 0.5) and hash(line) == hash(cls("kr1", 0.5)) and line != cls("kr2")
        with pytest.raises(dataclasses.FrozenInstanceError):
            line.id = "kr2"  # type: ignore[misc]


def test_an_unreadable_file_is_compiled_anew_and_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tmp_path / "methods.marshal"
    kept.write_bytes(b"\x00not marshal")
    cache = MethodCache(kept)
    made = _make(cache, monkeypatch)
    assert cache.compiled >= 6 and made("a") == made("a")
    cache.save()
    assert MethodCache(kept)._read()  # a readable file now


def test_without_a_folder_every_method_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = MethodCache(None)
    made = _make(cache, monkeypatch)
    cache.save()  # nothing to write to: no error
    assert cache.compiled >= 6 and made("a").id == "a"


def test_a_second_run_compiles_none_of_sheetsyncs_methods(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its own kept file
    code = ("import json, dataclasses, sheetsync.core.model, sheetsync.core.digest\n"
            "from sheetsync import dataclass_cache\n"
            "c = dataclass_cache._installed\nprint(json.dumps([c.compiled, dataclasses.exec is c]))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                      check=True).stdout) for _ in range(2)]  # fmt: skip
    assert runs[0][0] > 100 and runs[0][1]  # the first run compiles them all (model and digest: ~30 classes)
    assert runs[1] == [0, True]
    assert list((tmp_path / f"sheetsync-cache-{os.getuid()}").glob("dataclass-methods-*.marshal"))
