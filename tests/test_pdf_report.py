"""The PDF report: what it says (read back with pdftotext and pypdf), its pages, and where it goes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from sheetsync.core import display
from sheetsync.core.digest import build_digest
from sheetsync.core.model import DigestConfig
from sheetsync.render.pdf_report import render_pdf, summary_objectives
from tests.helpers import copy_example, run_cli
from tests.test_digest import AS_OF, kpi, kr, objective, result

AS_OF_TEXT = "2026-11-24"
A4_LANDSCAPE = (841.89, 595.28)  # points


def pdf_text(path: Path) -> str:
    """The text as pdftotext reads it (content order), whitespace collapsed: cells wrap inside tables."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext is missing: install poppler-utils (.ci/run does)")
    out = subprocess.run([exe, "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> tuple[Path, dict]:
    """The shipped example: its results JSON and the PDF `sheetsync report` writes for the same day."""
    work = tmp_path_factory.mktemp("report")
    copy_example(work)
    proc = run_cli("sync", "--config", "config.toml", "--as-of", AS_OF_TEXT, "--json", "results.json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", "--config", "config.toml", "--as-of", AS_OF_TEXT, "--out", "week.pdf", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "week.pdf" in proc.stdout
    return work / "week.pdf", json.loads((work / "results.json").read_text())


def test_the_pdf_holds_every_objective_key_result_and_number_of_the_json(example) -> None:
    path, results = example
    text = pdf_text(path)
    units = {k["id"]: k["unit"] for k in results["kpis"]}
    expected: list[str] = [results["project"], results["period"]["name"], AS_OF_TEXT,
                           display.percent(results["period"]["expected"])]
    for o in results["objectives"]:
        expected += [f"{o['id']} {o['title']}", display.percent(o["progress"]), o["owner"], o["team"]]
        for k in o["key_results"]:
            unit = units[k["kpi"]]
            shown = k["progress_raw"] if k["progress_raw"] is not None and k["progress_raw"] > 1 else k["progress"]
            expected += [f"{k['id']} {k['title']}", display.percent(shown),
                         f"{display.value(k['current'], unit)} / {display.value(k['target'], unit)}",
                         display.status_label(k["status"]).upper()]
    for k in results["kpis"]:
        expected += [k["title"], display.value(k["value"], k["unit"])]
        if k["target"] is not None:
            expected.append(display.value(k["target"], k["unit"]))
        if k["previous"] is not None:
            expected.append(display.change(k["value"] - k["previous"], k["unit"]))
        complete = [p["value"] for p in k["series"] if p["complete"]]
        if complete:
            expected.append(" → ".join(display.value(v, k["unit"]) for v in complete[-5:]))
    missing = [item for item in expected if item not in text]
    assert not missing, f"not in the PDF: {missing}"


def test_every_page_is_a4_landscape_with_its_number_the_project_and_the_as_of_date(example) -> None:
    path, _ = example
    reader = PdfReader(path)
    pages = len(reader.pages)
    assert pages >= 3  # summary, key results, KPI trends
    for number, page in enumerate(reader.pages, start=1):
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE, abs=0.5)
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in text
        assert "Acme · OKR report" in text
        assert f"as of {AS_OF_TEXT}" in text
    first = " ".join(reader.pages[0].extract_text().split())
    assert "Objectives against the expected pace" in first and "overall progress" in first
    assert "Key results by objective" not in first  # the key results start on a page of their own


def test_text_from_sheets_stays_text_and_nothing_remote_is_loaded(tmp_path) -> None:
    hostile = '<img src="http://127.0.0.1:9/x.png"> </td></tr> & {{ 7*7 }} <script>alert(1)</script>'
    content = result([objective("O1", [kr("O1-KR1", "O1", 40, "at_risk", title=hostile)], title="Q&A <b>bold</b>")],
                     [kpi("k1", 0.8, "off_track", title="Rate <i>x</i>")])
    pdf = render_pdf(build_digest(content, None, DigestConfig()))
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert hostile in text
    assert "Q&A <b>bold</b>" in text and "Rate <i>x</i>" in text


def test_the_first_page_lists_the_objectives_furthest_behind_when_there_are_many() -> None:
    blocks = []
    for index in range(30):
        progress = index / 40
        blocks.append(objective(f"O{index}", [kr(f"O{index}-KR1", f"O{index}", progress * 100, "on_track")]))
    content = build_digest(result(blocks), None, DigestConfig())
    shown = summary_objectives(content.objectives)
    assert [o.id for o in shown] == [f"O{i}" for i in range(14)]
    assert len(summary_objectives(content.objectives[:5])) == 5


def test_sync_writes_the_report_path_and_the_digest_attaches_the_pdf(tmp_path) -> None:
    config = copy_example(tmp_path)
    text = config.read_text().replace("[digest]\n", "[report]\npath = \"output/okr_report.pdf\"\n\n[digest]\n"
                                      "attach_pdf = true\n", 1)
    config.write_text(text)
    proc = run_cli("run", "--config", "config.toml", "--as-of", AS_OF_TEXT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "output" / "okr_report.pdf"
    assert f"wrote {report}" in proc.stdout
    assert "Acme OKRs" in pdf_text(report)
    eml = tmp_path / "outbox" / "2026-W48-all.eml"
    message = BytesParser(policy=policy.default).parse(eml.open("rb"))
    attached = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert [part.get_filename() for part in attached] == ["Acme-2026-W48.pdf"]
    copy = tmp_path / "attached.pdf"
    copy.write_bytes(attached[0].get_content())
    assert "Key results by objective" in pdf_text(copy)
    assert "The PDF report" in message.get_body(("plain",)).get_content()


def test_a_report_for_a_team_holds_only_its_objectives_and_an_unknown_team_is_a_usage_error(tmp_path) -> None:
    copy_example(tmp_path)
    proc = run_cli("report", "--as-of", AS_OF_TEXT, "--team", "sales", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = pdf_text(tmp_path / "Acme-2026-W48-sales.pdf")
    assert "O2 Grow revenue" in text and "O1 Enhance customer experience" not in text
    proc = run_cli("report", "--as-of", AS_OF_TEXT, "--team", "Nobody", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--team 'Nobody': no objective has this team (teams: Product, Sales, Support)" in proc.stderr


def test_report_path_must_name_a_pdf(tmp_path) -> None:
    config = copy_example(tmp_path)
    config.write_text(config.read_text() + '\n[report]\npath = "output/report.xlsx"\n')
    proc = run_cli("report", "--as-of", AS_OF_TEXT, cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(r"report\.path: expected a \.pdf file name, got 'output/report\.xlsx'", proc.stderr)


def test_stale_numbers_say_so_in_the_pdf(tmp_path) -> None:
    blocks = [objective("O1", [replace(kr("O1-KR1", "O1", None, "no_data"), stale="source 's1' failed: gone")])]
    pdf = render_pdf(build_digest(result(blocks), None, DigestConfig()))
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    assert "source 's1' failed: gone" in pdf_text(path)
    assert AS_OF.isoformat() in pdf_text(path)


def test_an_owners_check_in_shows_under_its_key_result(tmp_path) -> None:
    from datetime import datetime

    from sheetsync.core.checkins import CheckIn

    checkin = CheckIn("O1-KR1", "2026-W48", datetime(2026, 11, 23, 9, 30), confidence="at_risk",
                      comment="waiting on <legal> & finance", by="Ana")
    blocks = [objective("O1", [replace(kr("O1-KR1", "O1", 40, "at_risk"), checkin=checkin)])]
    path = tmp_path / "r.pdf"
    path.write_bytes(render_pdf(build_digest(result(blocks), None, DigestConfig())))
    assert "check-in 2026-11-23 (Ana): at risk: waiting on <legal> & finance" in pdf_text(path)


def test_a_report_after_a_failed_read_shows_the_last_good_value_as_the_digest_does(tmp_path) -> None:
    """`sheetsync report` in a week whose workbook vanished: the synced week's numbers, dated, never blanks."""
    copy_example(tmp_path)
    proc = run_cli("sync", "--as-of", "2026-11-17", "--json", "good.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    revenue = next(k for k in json.loads((tmp_path / "good.json").read_text())["kpis"] if k["id"] == "revenue")
    (tmp_path / "data" / "sales.xlsx").unlink()
    proc = run_cli("report", "--as-of", AS_OF_TEXT, "--out", "week.pdf", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    text = pdf_text(tmp_path / "week.pdf")
    assert "no earlier value to show" not in text
    assert "could not be refreshed; showing the values from 17 Nov 2026" in text
    assert display.value(revenue["value"], "$") in text
    flat = " ".join(text.split())  # each row says it as the digest does, without the file or its error
    assert "last good value, from 17 Nov 2026: this week's data could not be read" in flat
    assert "sales.xlsx" not in flat and "file not found" not in flat


def test_a_key_results_change_this_week_is_in_progress_points_as_in_the_digest(tmp_path) -> None:
    copy_example(tmp_path)
    for day in ("2026-11-17", AS_OF_TEXT):
        proc = run_cli("sync", "--config", "config.toml", "--as-of", day, "--json", "results.json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", "--config", "config.toml", "--as-of", AS_OF_TEXT, "--out", "week.pdf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = pdf_text(tmp_path / "week.pdf")
    results = json.loads((tmp_path / "results.json").read_text())
    units = {k["id"]: k["unit"] for k in results["kpis"]}
    changed = [k for o in results["objectives"] for k in o["key_results"] if k["change"] is not None]
    assert changed
    for k in changed:  # right after the row's current / target
        unit = units[k["kpi"]]
        row = f"{display.value(k['current'], unit)} / {display.value(k['target'], unit)} {display.points(k['change'])}"
        assert row in text, (k["id"], row)
