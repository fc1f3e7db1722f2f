"""Shared test helpers: run the real CLI in a subprocess, copy the example project, record calls."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def copy_example(target: Path, *, never_stale: bool = False) -> Path:
    """The shipped config.toml and data/ copied into `target`; returns the config path.

    `never_stale` sets `fresh_within = "never"` on every source, for tests that run "today"
    (the scheduler's) on the example's pinned sample data and are not about freshness.
    """
    shutil.copyfile(ROOT / "config.toml", target / "config.toml")
    shutil.copytree(ROOT / "data", target / "data")
    if never_stale:
        config = target / "config.toml"
        text = re.sub(r"^fresh_within = .*\n", "", config.read_text(), flags=re.M)
        config.write_text(re.sub(r"^(\[sources\.\w+\])$", '\\1\nfresh_within = "never"', text, flags=re.M))
    return target / "config.toml"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`python -m sheetsync ARGS` as a user would run it, capturing its output."""
    # PYTHONPATH makes the subprocess run this checkout's code, not an older installed copy.
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sheetsync", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def record_calls(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, note: Callable[..., Any] = lambda *args, **kw: args[0]
) -> list[Any]:
    """Wrap `owner.name` so each call first appends `note(*args, **kwargs)` (default: its first
    argument) to the list returned; every call still goes through to the real one."""
    seen: list[Any] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(note(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return seen
