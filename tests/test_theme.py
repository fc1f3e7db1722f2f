"""One theme: a status reads and looks the same in the tracker, the Google Sheet, the digest and its charts."""

from __future__ import annotations

import io
import random
import re
from datetime import UTC, datetime

from openpyxl import load_workbook
from PIL import Image

from connectors.gsheet_plan import plan_tabs
from connectors.gsheet_styles import rgb
from connectors.tracker_layout import default_template
from sheetsync.core import display, theme
from sheetsync.core.digest import build_digest
from sheetsync.core.model import DigestConfig
from sheetsync.core.tracker import STATUS_LABELS, format_value, status_cell
from sheetsync.render import charts
from sheetsync.render.email_message import build_message, render
from tests.test_digest import kr, objective, result
from tests.test_gsheet_tracker import make_content


def _template_fills() -> dict[str, str]:
    """Label -> fill of the built-in template's status rules (on the Key Results tab)."""
    ws = load_workbook(default_template())["Key Results"]
    fills = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if rule.type == "cellIs" and rule.formula and rule.dxf is not None and rule.dxf.fill is not None:
                fills[rule.formula[0].strip('"')] = str(rule.dxf.fill.bgColor.rgb)[-6:].upper()
    return fills


def test_the_tracker_template_uses_the_theme() -> None:
    fills = _template_fills()
    for status in ("done", "on_track", "at_risk", "off_track", "no_data"):
        assert fills[theme.cell_label(status)] == theme.STATUS_COLORS[status].fill.upper(), status
    assert STATUS_LABELS == theme.CELL_LABELS
    assert status_cell("on_track").value == "On track"


def test_done_is_the_same_colour_in_the_tracker_the_sheet_and_the_digest() -> None:
    done = theme.STATUS_COLORS["done"]
    assert _template_fills()["Done"] == done.fill.upper()
    sheet_rules = [r for p in plan_tabs(make_content()) for r in p.rules if "booleanRule" in r]
    done_rule = next(r for r in sheet_rules
                     if r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] == "Done")  # fmt: skip
    assert done_rule["booleanRule"]["format"]["backgroundColor"] == rgb(done.fill)
    content = build_digest(result([objective("O1", [kr("A", "O1", 100, "done")])]), None, DigestConfig())
    html = render(content).html
    tag = re.search(r'<span class="tag s-done" style="([^"]*)"', html)
    assert tag is not None and f"background: #{done.fill};color: #{done.ink};" in tag.group(1)
    bar = re.search(r'<td class="fill-done"[^>]* style="([^"]*)"', html)
    assert bar is not None and f"background: #{done.strong};" in bar.group(1)  # the progress bar's fill
    build_message(render(content), sender="a@example.com", to=["b@example.com"], week=content.week,
                  audience="all", date=datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip


def _pixels(png: bytes) -> tuple[tuple[int, int], set[tuple[int, int, int]]]:
    with Image.open(io.BytesIO(png)) as image:
        rgb_image = image.convert("RGB")
        colours = rgb_image.getcolors(rgb_image.width * rgb_image.height) or []  # getdata() is deprecated
        return rgb_image.size, {colour for _, colour in colours}


def test_charts_draw_with_the_theme() -> None:
    png = charts.sparkline([1.0, 2.0, 3.0], status="done")
    assert png.startswith(b"\x89PNG")
    assert charts.INK == "#" + theme.INK
    size, colours = _pixels(png)
    assert size == (120 * charts.SCALE, 36 * charts.SCALE)
    assert _hex_rgb(theme.STATUS_COLORS["done"].strong) in colours  # the line, in the status's strong colour
    _, bars = _pixels(charts.objectives_overview([("O1 Grow", 0.5, "at_risk")], 0.4))
    assert {_hex_rgb(theme.STATUS_COLORS["at_risk"].strong), _hex_rgb(theme.TRACK)} <= bars


def _hex_rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[:2], 16), int(hex_colour[2:4], 16), int(hex_colour[4:], 16)


def test_a_long_objective_title_is_cut_to_fit_the_overview() -> None:
    png = charts.objectives_overview([("O1 " + "Wide title " * 6, 0.5, "on_track")], 0.4)
    with Image.open(io.BytesIO(png)) as image:
        left_edge = image.convert("L").crop((0, 0, 4, image.height))
        assert left_edge.getextrema() == (255, 255)  # nothing drawn up to the image's edge: no text cut off


def test_a_title_with_line_breaks_is_drawn_on_one_line() -> None:
    # A TOML title "Grow revenue\nand margin" made Pillow refuse the label and the digest fail.
    broken = charts.objectives_overview([("O2 Grow revenue\nand\tmargin", 0.5, "at_risk")], 0.4)
    plain = charts.objectives_overview([("O2 Grow revenue and margin", 0.5, "at_risk")], 0.4)
    assert broken == plain


def test_one_formatter_of_figures() -> None:
    for value, unit in ((0.8657, "%"), (-1200.0, "$"), (3.3236, "min"), (3.0, ""), (12_300.0, "€")):
        assert format_value(value, unit) == display.value(value, unit)
    assert format_value(None, "") == "–" and display.value(None) == "—"
    assert format_value(float("nan"), "%") == "–"


def _pillow_png(image: Image.Image, level: int = charts.PNG_LEVEL) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=level)
    return out.getvalue()


def test_charts_are_the_png_files_pillow_writes() -> None:
    """`charts._png` writes palette images itself: byte for byte Pillow's file, charts and otherwise."""
    drawn = [charts.sparkline([3.0, 1.0, 4.0, 1.5], target=2.0, status="at_risk"),
             charts.objectives_overview([("O1 Grow", 0.5, "at_risk"), ("O2 Keep", None, "no_data")], 0.4)]
    for png in drawn:
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            assert image.mode == "P"
            assert _pillow_png(image) == png
            with Image.open(io.BytesIO(_pillow_png(image, level=6))) as default:  # Pillow's default level
                assert default.tobytes() == image.tobytes() and default.getpalette() == image.getpalette()
    rng = random.Random(17)
    images = []
    for (width, height), colours, noisy in (((700, 400), 64, True), ((240, 72), 256, False), ((5, 3), 17, False),
                                            ((90, 20), 4, True), ((33, 7), 16, False)):  # fmt: skip
        image = Image.new("P", (width, height))
        image.putdata([rng.randrange(colours) if noisy else (x * 7 + y) % colours
                       for y in range(height) for x in range(width)])  # fmt: skip
        image.putpalette([rng.randrange(256) for _ in range(3 * colours)])
        images.append(image)
    assert len(charts._png(images[0])) > 2 * charts.IDAT_SIZE  # noise: its data spans several IDAT chunks
    for image in images:
        assert charts._png(image) == _pillow_png(image)
