"""Shared test helpers: run the real CLI in a subprocess, copy the example project."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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
