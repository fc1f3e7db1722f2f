"""The installed package, as a new user gets it from `pip install .`.

Other tests run this checkout's code; this one runs the `sheetsync` command installed in
the environment from an empty folder, so the built-in example, its data and the templates
must come from inside the installed package. Skipped when no non-editable install is on
PATH (a developer's editable install); CI installs the project for real.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT


def installed_sheetsync() -> str | None:
    exe = shutil.which("sheetsync")
    if exe is None:
        return None
    where = "import sheetsync, pathlib; print(pathlib.Path(sheetsync.__file__).parent)"
    probe = subprocess.run(
        [Path(exe).parent / "python", "-c", where],
        capture_output=True, text=True, cwd="/", env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if probe.returncode != 0 or Path(probe.stdout.strip()).parent == ROOT:
        return None  # an editable install points back at this checkout
    return exe


def test_installed_command_runs_the_builtin_example_from_an_empty_folder(tmp_path):
    exe = installed_sheetsync()
    if exe is None:
        pytest.skip("no non-editable `sheetsync` install on PATH")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [exe, "run", "--example", "--as-of", "2026-11-24", "--json", "results.json"]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["project"] == "Acme" and len(results["objectives"]) == 3
    assert (tmp_path / "output" / "okr_tracker.xlsx").stat().st_size > 10_000  # from the bundled template
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    assert not (tmp_path / "config.toml").exists()  # the example was read from the package
