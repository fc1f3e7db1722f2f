"""Each command imports what it uses and nothing more: a short-lived `sheetsync` process pays
for every library it loads (pandas alone is about a second), so what a run does not need must
stay unloaded. Each probe runs the CLI in a fresh interpreter and lists what it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, copy_example

AS_OF = "2026-11-24"
NETWORK = ("smtplib", "ssl", "urllib.request", "http.client")  # the SMTP and webhook clients' libraries


def loaded_by(args: list[str], watched: tuple[str, ...], cwd: Path = ROOT) -> tuple[list[str], int]:
    """(the modules of `watched` that `sheetsync ARGS` imported, its exit code), in a new interpreter."""
    probe = (
        "import json, sys\n"
        "from sheetsync.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "else:\n"
        "    code = 0\n"
        f"print(json.dumps([[m for m in {watched!r} if m in sys.modules], code]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    loaded, code = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded, code


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["digest", "--help"], ["--version"]])
def test_help_and_version_do_not_import_pandas(args: list[str]) -> None:
    loaded, code = loaded_by(args, ("pandas", "numpy", "pyarrow", "openpyxl", "jinja2", "sheetsync.config"))
    assert code == 0
    assert loaded == []


def test_a_digest_without_smtp_or_chat_loads_no_network_client(tmp_path: Path) -> None:
    config = copy_example(tmp_path)  # no smtp_host, no [digest.slack] or [digest.teams]: written to the outbox
    # Pillow's image plugins: the charts are written as PNG by `sheetsync.render.charts` itself
    plugins = ("PIL.JpegImagePlugin", "PIL.GifImagePlugin", "PIL.BmpImagePlugin", "PIL.PngImagePlugin")
    loaded, code = loaded_by(["digest", "--config", str(config), "--as-of", AS_OF],
                             (*NETWORK, *plugins, "sheetsync.render.reminder"), tmp_path)
    assert code == 0
    assert list((tmp_path / "outbox").glob("*.eml"))  # the digest was made
    assert loaded == []


def test_a_sync_loads_no_mail_or_template_library(tmp_path: Path) -> None:
    config = copy_example(tmp_path)  # no alerts, no [report]: nothing to mail, nothing to template
    loaded, code = loaded_by(["sync", "--config", str(config), "--as-of", AS_OF], (*NETWORK, "jinja2"), tmp_path)
    assert code in (0, 3)
    assert (tmp_path / "output" / "okr_tracker.xlsx").is_file()
    assert loaded == []
