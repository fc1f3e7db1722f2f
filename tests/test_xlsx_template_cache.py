"""The tracker's template kept loaded between runs (`connectors.xlsx_template_cache`): the same file
written whether the template was loaded or kept, a changed template loaded anew, an unsafe
folder refused."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table
from PIL import Image

from connectors import tracker_layout, xlsx_template_cache, xlsx_tracker
from connectors.tracker_layout import default_template
from tests.helpers import record_calls
from tests.test_gsheet_tracker import make_content


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh system temporary folder, so the kept templates start empty."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    xlsx_template_cache.cache_dir.cache_clear()
    yield temp
    xlsx_template_cache.cache_dir.cache_clear()


def rich_template(path: Path) -> Path:
    """The built-in template with what pickling could lose: an Excel table, a comment, a link,
    a drop-down, an image and a row height of its own."""
    wb = load_workbook(default_template())
    ws = wb["Dashboard"]
    for row, values in enumerate([("Team", "Head"), ("North", "Ana"), ("South", "Bo")], start=30):
        for col, value in enumerate(values, start=20):
            ws.cell(row, col, value)
    ws.add_table(Table(displayName="Teams", ref="T30:U32"))
    ws["T34"].comment = Comment("kept", "author")
    ws["T35"].hyperlink = "https://example.com/okrs"
    ws["T35"].value = "OKR handbook"
    choice = DataValidation(type="list", formula1='"yes,no"')
    choice.add("T36")
    ws.add_data_validation(choice)
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "#1a7f37").save(picture, format="PNG")
    ws.add_image(SheetImage(io.BytesIO(picture.getvalue())), "W30")
    wb["KPIs"].row_dimensions[5].height = 33
    wb.save(path)
    return path


def parts(data: bytes) -> dict[str, bytes]:
    """Every part of an .xlsx but its timestamps."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"}


def write(content, template: Path, out: Path) -> dict[str, bytes]:
    xlsx_tracker.write_xlsx_tracker(content, out, template)
    return parts(out.read_bytes())


def test_the_tracker_is_the_same_whether_its_template_was_loaded_or_kept(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = rich_template(tmp_path / "rich.xlsx")
    content = make_content(n_krs=4)
    parsed = record_calls(monkeypatch, tracker_layout, "_parse")
    cold = write(content, template, tmp_path / "cold.xlsx")
    warm = write(content, template, tmp_path / "warm.xlsx")
    assert len(parsed) == 1  # the second write found the template kept
    with monkeypatch.context() as plain:
        plain.setattr(xlsx_template_cache, "cache_dir", lambda: None)
        uncached = write(content, template, tmp_path / "plain.xlsx")
    assert len(parsed) == 2
    assert cold == warm == uncached
    wb = load_workbook(tmp_path / "warm.xlsx")
    ws = wb["Dashboard"]
    assert ws.tables["Teams"].ref == "T30:U32" and ws["T34"].comment.text == "kept"
    assert ws["T35"].hyperlink.target == "https://example.com/okrs" and len(ws._images) == 1
    assert wb["KPIs"].row_dimensions[5].height == 33


def test_a_changed_template_is_loaded_anew(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = rich_template(tmp_path / "rich.xlsx")
    parsed = record_calls(monkeypatch, tracker_layout, "_parse")
    tracker_layout.load_template(template)
    wb = load_workbook(template)
    wb["Dashboard"]["T40"] = "restyled"
    wb.save(template)
    assert tracker_layout.load_template(template)["Dashboard"]["T40"].value == "restyled"
    assert tracker_layout.load_template(template)["Dashboard"]["T40"].value == "restyled"
    assert len(parsed) == 2
    assert len(list((cache / f"sheetsync-cache-{os.getuid()}").glob("tracker-template-*.pickle"))) == 2


def test_a_damaged_kept_template_is_loaded_and_replaced(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker_layout.load_template(None)
    (kept,) = (cache / f"sheetsync-cache-{os.getuid()}").glob("tracker-template-*.pickle")
    kept.write_bytes(kept.read_bytes()[:100])
    parsed = record_calls(monkeypatch, tracker_layout, "_parse")
    assert tracker_layout.load_template(None).sheetnames == load_workbook(default_template()).sheetnames
    assert len(parsed) == 1
    tracker_layout.load_template(None)
    assert len(parsed) == 1  # replaced by a whole copy


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="a POSIX folder's owner and mode")
def test_an_unsafe_folder_is_refused_and_a_loose_one_made_private(cache: Path, tmp_path: Path) -> None:
    folder = cache / f"sheetsync-cache-{os.getuid()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)  # planted by someone else: not followed
    assert xlsx_template_cache.cache_dir() is None
    folder.unlink()
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    xlsx_template_cache.cache_dir.cache_clear()
    assert xlsx_template_cache.cache_dir() == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
