"""Small PNG charts for the digest: KPI sparklines and the objectives-against-pace overview.

Mail clients show inline (Content-ID) images without loading anything remote, so charts
are drawn here as bytes. They are a few lines, bars and labels, drawn straight with Pillow
(already needed for the palette): a plotting library costs more to import (about half a
second, on every digest) than all the charts of a digest take to draw. A sparkline's slanted
line is drawn four times larger and scaled down, which smooths its edges (the overview's bars
and lines are upright: drawn at size, text smoothed by FreeType); each image is saved with a
small palette and stays a few KB. Status colours are the theme's
(`sheetsync.core.theme`), as in the tracker. The overview gets the objectives a bounded
digest shows (at most 20), never the whole organisation.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import struct
import zlib
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from sheetsync.core import theme

SCALE = 2
"""Pixels drawn per pixel shown, so charts stay sharp on high-density screens."""
POINT = SCALE * 100 / 72
"""Saved pixels per typographic point (line widths and font sizes are in points, 100 shown pixels an inch)."""

INK = "#" + theme.INK
MUTED = "#" + theme.MUTED
TRACK = "#" + theme.TRACK

FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
"""DejaVu Sans (Debian's fonts-dejavu-core), found where the system keeps fonts; without it,
Pillow's own font."""

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _color(status: str) -> str:
    """A status's strong colour (the theme's, shared with the tracker and the digest's bars)."""
    return theme.colors(status).css("strong")


@functools.cache
def _font(size: int, bold: bool = False) -> tuple[Font, int]:
    """A font `size` pixels high and the stroke that makes it bold (0 when the font is bold itself)."""
    try:
        return ImageFont.truetype(FONT_FILES[bold], size), 0
    except OSError:
        return ImageFont.load_default(size), (max(1, size // 22) if bold else 0)


class _Canvas:
    """A white image drawn in shown pixels (y down), saved `SCALE` times larger.

    `supersample`: drawn this many times larger than it is saved, then scaled down (anti-aliasing).
    """

    def __init__(self, width: int, height: int, supersample: int = 1) -> None:
        self.width, self.height, self.supersample = width, height, supersample
        self.k = SCALE * supersample  # drawn pixels per shown pixel
        self.colors: dict[str, None] = {}  # every colour drawn, set exactly in the saved palette
        self.image = Image.new("RGB", (round(width * self.k), round(height * self.k)), "white")
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return x * self.k, y * self.k

    def line(
        self,
        points: Sequence[tuple[float, float]],
        color: str,
        width_pt: float,
        *,
        dash: tuple[float, float] | None = None,
    ) -> None:
        """A polyline `width_pt` points wide with round joins and ends; `dash` is (on, off) in line widths."""
        self.colors[color] = None
        w = width_pt * POINT * self.supersample
        xy = [self._xy(x, y) for x, y in points]
        if dash is None:
            self.draw.line(xy, fill=color, width=max(1, round(w)), joint="curve")
            for x, y in (xy[0], xy[-1]):  # round caps
                self.draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=color)
            return
        on, off = dash[0] * w, dash[1] * w
        for (x0, y0), (x1, y1) in itertools.pairwise(xy):
            length = math.hypot(x1 - x0, y1 - y0)
            ux, uy = ((x1 - x0) / length, (y1 - y0) / length) if length else (0.0, 0.0)
            at = 0.0
            while at < length:
                end = min(at + on, length)
                self.draw.line(
                    [(x0 + ux * at, y0 + uy * at), (x0 + ux * end, y0 + uy * end)], fill=color, width=max(1, round(w))
                )
                at = end + off

    def dot(self, x: float, y: float, diameter_pt: float, color: str) -> None:
        self.colors[color] = None
        r = diameter_pt * POINT * self.supersample / 2
        cx, cy = self._xy(x, y)
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        self.colors[color] = None
        (a, b), (c, d) = self._xy(x0, y0), self._xy(x1, y1)
        self.draw.rectangle((a, b, max(a, c - 1), max(b, d - 1)), fill=color)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size_pt: float,
        color: str,
        *,
        anchor: str,
        bold: bool = False,
        fit: float | None = None,
    ) -> None:
        """`anchor` is Pillow's: 'rm' puts the text's right middle at (x, y), 'mt' its middle top.

        With `fit` (shown pixels), text wider than that is cut to fit, ending in "…". A chart's
        label is one line: a title's line breaks and tabs are spaces (Pillow's anchored text
        refuses several lines, and one broken title failed the whole digest).
        """
        text = " ".join(text.split())
        self.colors[color] = None
        font, stroke = _font(round(size_pt * POINT * self.supersample), bold)
        if fit is not None and font.getlength(text) > fit * self.k:
            while len(text) > 1 and font.getlength(text + "…") > fit * self.k:
                text = text[:-1]
            text = text.rstrip() + "…"
        self.draw.text(
            self._xy(x, y), text, fill=color, font=font, anchor=anchor, stroke_width=stroke, stroke_fill=color
        )

    def png(self) -> bytes:
        """Saved at `SCALE` pixels per shown pixel with an adaptive 64-colour palette.

        Fast octree takes a quarter of median cut's time for as small a file, but shifts a colour
        a little: each colour drawn is then set back exactly (a status is its theme colour to
        the bit). zlib's default level: `optimize` took seven times as long for a tenth off.
        """
        image = self.image
        if self.supersample > 1:  # the mean of each block: the anti-aliasing
            # `reduce` is that mean for a whole factor, in a sixth of `resize(BOX)`'s time
            # (which can differ from it by one level in a blended pixel).
            image = image.reduce(self.supersample)
        image = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        palette = image.getpalette() or []
        entries = list(zip(palette[0::3], palette[1::3], palette[2::3], strict=False))
        for color in ("#FFFFFF", *self.colors):
            exact = _rgb(color)
            nearest = _nearest(entries, exact)
            palette[3 * nearest : 3 * nearest + 3] = exact
        image.putpalette(palette)
        return _png(image)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_LEVEL = 3
"""zlib's level for the charts' pixels. At Pillow's default (6) deflating the 41 charts of a digest at
500 KPIs took 21 ms, at 3 8 ms, for files a fifth larger (56 to 69 KB of image data); the pixels are the same."""
IDAT_SIZE = 65536
"""Bytes of compressed image data per IDAT chunk: Pillow's block size (`ImageFile.MAXBLOCK`)."""


def _png(image: Image.Image) -> bytes:
    """A palette image as the PNG file Pillow's `save(compress_level=PNG_LEVEL)` writes for it, byte for byte.

    Written here with zlib: Pillow's PNG writer costs its plugin's import (with the modules it
    brings) and its `save` machinery on each chart, for a file that is a header, the palette and
    the rows deflated. As Pillow writes a palette image of more than 16 colours: a byte a pixel,
    every row unfiltered, zlib at `PNG_LEVEL` with 9 for `memLevel`, the data cut into
    IDAT chunks of Pillow's block size (`tests/test_theme.py` compares the two). With fewer
    colours Pillow packs the pixels and filters the rows: that file is Pillow's own.
    """
    width, height = image.size
    palette = image.getpalette() or []
    colors = min(len(palette) // 3, 256)
    plain = image.mode == "P" and image.palette is not None and image.palette.mode == "RGB" and not image.info
    if colors <= 16 or not plain:  # packed pixels, filtered rows (rare in a chart), or more than a palette
        out = io.BytesIO()
        out.name = "chart.png"  # the format from the name: only the PNG plugin loaded, not five
        image.save(out, compress_level=PNG_LEVEL)
        return out.getvalue()
    rows = image.tobytes()
    raw = b"".join(b"\x00" + rows[at : at + width] for at in range(0, width * height, width))
    deflate = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, 15, 9)
    data = deflate.compress(raw) + deflate.flush()
    block = max(IDAT_SIZE, width * 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8 bits a pixel, palette colour
    parts = [PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"PLTE", bytes(palette[: colors * 3]))]
    parts += [_chunk(b"IDAT", data[at : at + block]) for at in range(0, len(data), block)]
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


@functools.cache
def _rgb(color: str) -> tuple[int, int, int]:
    """'#RRGGBB' as (r, g, b)."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _nearest(entries: Sequence[tuple[int, int, int]], color: tuple[int, int, int]) -> int:
    """The index of the palette entry nearest `color` (squared RGB distance; the first of equals).

    One list of distances per colour: a key function called per entry (64 of them, for each
    colour of each chart) took ten times as long."""
    r, g, b = color
    distances = [(er - r) * (er - r) + (eg - g) * (eg - g) + (eb - b) * (eb - b) for er, eg, eb in entries]
    return distances.index(min(distances))


def sparkline(
    values: Sequence[float | None],
    *,
    target: float | None = None,
    status: str = "no_target",
    width: int = 120,
    height: int = 36,
) -> bytes:
    """A KPI's per-bucket values as a line, its target dashed, the latest point marked.

    Callers pass complete buckets only: a half-counted week would read as a collapse.
    """
    canvas = _Canvas(width, height, supersample=4)
    left, top, plot_w, plot_h = 0.04 * width, 0.14 * height, 0.88 * width, 0.72 * height
    color = _color(status if status in theme.STATUS_COLORS else "no_target")
    points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not points:
        middle = top + plot_h / 2
        canvas.line([(left, middle), (left + plot_w, middle)], TRACK, 2)
        return canvas.png()
    ys = [v for _, v in points]
    has_target = target is not None and math.isfinite(target)
    if has_target:
        ys.append(target)  # type: ignore[arg-type]  # finite, checked above
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.12 or abs(high) * 0.1 or 1.0
    y_low, y_high = low - pad, high + pad
    x_low, x_high = -0.4, max(len(values) - 1, 1) + 0.4

    def at(i: float, v: float) -> tuple[float, float]:
        return (left + (i - x_low) / (x_high - x_low) * plot_w, top + (y_high - v) / (y_high - y_low) * plot_h)

    if has_target:
        y = at(0, target)[1]  # type: ignore[arg-type]
        canvas.line([(left, y), (left + plot_w, y)], MUTED, 0.9, dash=(3, 2))
    canvas.line([at(i, v) for i, v in points], color, 1.6)
    canvas.dot(*at(*points[-1]), 3.2, color)
    return canvas.png()


def objectives_overview(rows: Sequence[tuple[str, float | None, str]], expected: float, *, width: int = 552) -> bytes:
    """One bar per objective (label, progress, status) against a line at the expected pace."""
    bar_h = 28
    count = max(len(rows), 1)
    height = 34 + bar_h * count
    canvas = _Canvas(width, height)
    left, right, top, bottom = 0.36 * width, 0.90 * width, 6.0, height - 24.0
    row_h = (bottom - top) / count  # each row's band; its bar is 0.56 of it, centred

    def x(share: float) -> float:
        return left + share * (right - left)

    for i, (label, progress, status) in enumerate(rows):
        middle = top + (i + 0.5) * row_h
        y0, y1 = middle - 0.28 * row_h, middle + 0.28 * row_h
        canvas.rect(x(0), y0, x(1), y1, TRACK)
        if progress is not None:
            canvas.rect(x(0), y0, x(max(min(progress, 1), 0.004)), y1, _color(status))
        shown = label if len(label) <= 32 else label[:31] + "…"
        canvas.text(x(-0.03), middle, shown, 8, INK, anchor="rm", fit=x(-0.03) - 6)
        canvas.text(
            x(1.02), middle, "—" if progress is None else f"{progress * 100:.0f}%", 8, INK, anchor="lm", bold=True
        )
    canvas.line([(x(expected), top), (x(expected), bottom)], INK, 1.1, dash=(2, 1.5))
    canvas.text(
        x(expected), bottom + 0.12 * 26 / bar_h * row_h, f"expected pace {expected * 100:.0f}%", 7, INK, anchor="mt"
    )
    return canvas.png()
