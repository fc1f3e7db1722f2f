"""The house's layers hold: the core stays pure, and imports only ever point inward."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO_LIBRARIES = (
    "gspread", "google.auth", "google.oauth2", "openpyxl", "python_calamine", "sqlite3", "smtplib",
    "jinja2", "PIL", "css_inline", "fastexcel", "duckdb", "ibis", "requests",
)


def test_importing_the_core_loads_no_io_library() -> None:
    """A fresh interpreter imports every core module and reports which I/O libraries came along."""
    probe = (
        "import importlib, json, pkgutil, sys\n"
        "import sheetsync.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'sheetsync.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(json.dumps([m for m in {IO_LIBRARIES!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == []


def test_layer_contracts_are_kept() -> None:
    """`lint-imports` checks the contracts in pyproject.toml: CLI > runtime > render|connectors|config > core."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is missing: install the test extras (pip install '.[test]')")
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
