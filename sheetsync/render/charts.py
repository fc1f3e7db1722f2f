"""Small PNG charts for the digest: KPI sparklines and the objectives-against-pace overview.

Mail clients show inline (Content-ID) images without loading anything remote, so charts
are drawn here as bytes. Figures use matplotlib's object API with the Agg canvas (no
pyplot, no global state, no display) and are saved with a small palette: each stays a
few KB. Status colours are the theme's (`sheetsync.core.theme`), as in the tracker. The
overview gets the objectives a bounded digest shows (at most 20), never the whole organisation.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from sheetsync.core import theme

SCALE = 2
"""Pixels drawn per pixel shown, so charts stay sharp on high-density screens."""

INK = "#" + theme.INK
MUTED = "#" + theme.MUTED
TRACK = "#" + theme.TRACK


def _color(status: str) -> str:
    """A status's strong colour (the theme's, shared with the tracker and the digest's bars)."""
    return theme.colors(status).css("strong")


def _png(figure: Figure) -> bytes:
    """Agg-render `figure` and save it with an adaptive 64-colour palette (about 3x smaller)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").quantize(colors=64).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _figure(width: int, height: int) -> Figure:
    return Figure(figsize=(width / 100, height / 100), dpi=100 * SCALE, facecolor="white")


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
    figure = _figure(width, height)
    axes = figure.add_axes((0.04, 0.14, 0.88, 0.72))
    axes.set_axis_off()
    color = _color(status if status in theme.STATUS_COLORS else "no_target")
    points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not points:
        axes.plot([0, 1], [0, 0], color=TRACK, linewidth=2)
        return _png(figure)
    axes.plot(*zip(*points, strict=True), color=color, linewidth=1.6, solid_capstyle="round")
    ys = [v for _, v in points]
    if target is not None and math.isfinite(target):
        axes.axhline(target, color=MUTED, linewidth=0.9, linestyle=(0, (3, 2)))
        ys.append(target)
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.12 or abs(high) * 0.1 or 1.0
    axes.set_ylim(low - pad, high + pad)
    axes.set_xlim(-0.4, max(len(values) - 1, 1) + 0.4)
    axes.plot([points[-1][0]], [points[-1][1]], marker="o", markersize=3.2, color=color)
    return _png(figure)


def objectives_overview(
    rows: Sequence[tuple[str, float | None, str]], expected: float, *, width: int = 552
) -> bytes:
    """One bar per objective (label, progress, status) against a line at the expected pace."""
    bar_h = 28
    height = 34 + bar_h * max(len(rows), 1)
    figure = _figure(width, height)
    left, right = 0.36, 0.90
    axes = figure.add_axes((left, 24 / height, right - left, (height - 30) / height))
    axes.set_xlim(0, 1)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_axis_off()
    for i, (label, progress, status) in enumerate(rows):
        axes.barh(i, 1, height=0.56, color=TRACK, linewidth=0)
        if progress is not None:
            axes.barh(i, max(min(progress, 1), 0.004), height=0.56,
                      color=_color(status), linewidth=0)
        shown = label if len(label) <= 32 else label[:31] + "…"
        axes.text(-0.03, i, shown, ha="right", va="center", fontsize=8, color=INK)
        axes.text(1.02, i, "—" if progress is None else f"{progress * 100:.0f}%", ha="left", va="center",
                  fontsize=8, color=INK, fontweight="bold")
    axes.axvline(expected, color=INK, linewidth=1.1, linestyle=(0, (2, 1.5)))
    axes.text(expected, len(rows) - 0.5 + 0.12 * 26 / bar_h, f"expected pace {expected * 100:.0f}%",
              ha="center", va="top", fontsize=7, color=INK)
    return _png(figure)
