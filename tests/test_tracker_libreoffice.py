"""The tracker opens in LibreOffice: converted headless to PDF and to one CSV per tab.

A workbook LibreOffice cannot parse fails to convert, or converts without our values; so
the CSVs are checked against the results too. Each run uses a private LibreOffice profile,
so it neither needs nor disturbs a user's LibreOffice.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from sheetsync.config import load_config
from sheetsync.core.tracker import STATUS_LABELS
from sheetsync.runtime.jobs import run_sync
from tests.helpers import copy_example

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# Field separator 44 (,), text delimiter 34 ("), UTF-8 (76), start at row 1, ..., and
# the last token -1: one CSV file per sheet (LibreOffice 7.2 and later).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: apt-get install "
                       "libreoffice-calc-nogui, as .ci/run does"),
]


def convert(source: Path, target: str, outdir: Path, profile: Path) -> subprocess.CompletedProcess:
    assert SOFFICE is not None
    return subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def tracker(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("libreoffice")
    config = load_config(copy_example(work))
    run_sync(config, date(2026, 11, 17))
    outcome = run_sync(config, date(2026, 11, 24))  # a second week: history and changes filled in
    return Path(outcome.outputs[0]), outcome.result.to_dict()


def test_converts_to_pdf(tracker, tmp_path):
    path, _ = tracker
    proc = convert(path, "pdf", tmp_path / "out", tmp_path / "profile")
    pdf = tmp_path / "out" / "okr_tracker.pdf"
    assert proc.returncode == 0, proc.stderr
    assert pdf.exists(), f"no PDF: {proc.stdout}\n{proc.stderr}"
    assert pdf.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_every_tab_reads_back_in_libreoffice(tracker, tmp_path):
    path, results = tracker
    out = tmp_path / "out"
    proc = convert(path, CSV_FILTER, out, tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr

    def sheet(name: str) -> list[list[str]]:
        with open(out / f"okr_tracker-{name}.csv", encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))

    dashboard = sheet("Dashboard")
    assert dashboard[0][0] == "Acme OKRs · 2026-Q4"
    titles = {row[1] for row in dashboard if row}
    assert {o["title"] for o in results["objectives"]} <= titles

    rows = sheet("Key Results")
    assert rows[0][:3] == ["Objective", "Key result", "Title"]
    got = {row[1]: row for row in rows[1:]}
    krs = [k for o in results["objectives"] for k in o["key_results"]]
    assert set(got) == {k["id"] for k in krs}
    for kr in krs:
        assert got[kr["id"]][10] == STATUS_LABELS[kr["status"]]
        assert float(got[kr["id"]][8].rstrip("%")) / 100 == pytest.approx(kr["progress"], abs=1e-9)

    kpis = {row[0] for row in sheet("KPIs")[1:]}
    assert kpis == {k["id"] for k in results["kpis"]}
    history = sheet("History")[1:]
    assert len(history) == 2 * (len(krs) + len(results["kpis"]))
    sources = {row[0]: row[6] for row in sheet("Sources")[1:]}
    assert sources == {s["name"]: STATUS_LABELS[s["status"]] for s in results["sources"]}
