"""The PDF report: the week's digest content laid out on A4 landscape pages by WeasyPrint.

The report is HTML + CSS from a Jinja2 template (`templates/report.html.j2`), like the
email, so both say the same things in the same words (`sheetsync.core.display`).
WeasyPrint paginates: a first page with the period, overall progress, each objective
against the expected pace and the counts by status; then every key result grouped by
objective, and the KPI trends. Page numbers and the project and as-of date sit in the
page margins of every page (CSS `@page` margin boxes), and table headers repeat on each
page, so a 5,000-KR organisation gives a long but readable document rather than one
endless image. The text stays text: it can be searched, copied and read back by tests.

Nothing here reads sources or writes files: content in, PDF bytes out.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from sheetsync import resources
from sheetsync.core import display
from sheetsync.core.digest import DigestContent, KPIRow, KRLine, ObjectiveBlock
from sheetsync.errors import SheetsyncError
from sheetsync.render.email_message import MAX_TREND_CHARTS, bar_width, trend_charts
from sheetsync.render.template_cache import bytecode_cache

TEMPLATE = "report.html.j2"
SUMMARY_OBJECTIVES = 14
"""Objectives listed on the first page; with more, those furthest behind the pace (the rest follow)."""
TREND_POINTS = 5
"""Complete buckets spelled out per KPI in the trends table."""


class PDFRendererMissing(SheetsyncError):
    """WeasyPrint or the system libraries it needs (Pango) are not installed."""


@functools.cache
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        bytecode_cache=bytecode_cache(),
        autoescape=True,  # every title and owner came from config or a sheet
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        value=display.value,
        change=display.change,
        percent=display.percent,
        points=display.points,
        status_label=display.status_label,
        width=bar_width,
    )
    return env


def summary_objectives(objectives: Sequence[ObjectiveBlock], limit: int = SUMMARY_OBJECTIVES) -> list[ObjectiveBlock]:
    """The objectives on the first page: all of them when they fit, else those furthest behind the pace."""
    if len(objectives) <= limit:
        return list(objectives)

    def behind(o: ObjectiveBlock) -> float:
        return -1.0 if o.progress is None else o.progress - o.expected  # no data first: it needs a look too

    return sorted(objectives, key=behind)[:limit]


def trend_text(kpi: KPIRow, points: int = TREND_POINTS) -> str:
    """The last complete buckets as numbers, oldest first: '82% → 85% → 87%'."""
    complete = [v for v, done in zip(kpi.series, kpi.series_complete, strict=True) if done]
    shown = [display.value(v, kpi.unit) for v in complete[-points:]]
    return " → ".join(shown)


def checkin_lines(kr: KRLine) -> list[str]:
    """The owner's latest check-in, when the KR has one: 'check-in 2026-11-23 (Ana): at risk: waiting on legal'."""
    c = kr.checkin
    if c is None or c.empty:
        return []
    head = f"check-in {c.date.isoformat()}{f' ({display.one_line(c.by, 80)})' if c.by else ''}"
    parts = [display.status_label(c.confidence)] if c.confidence else []
    if c.value is not None:
        parts.append(f"value {display.value(c.value, kr.unit)}")
    if c.comment:
        parts.append(display.one_line(c.comment, limit=300))
    return [f"{head}: {': '.join(parts)}"]


def report_html(content: DigestContent, *, templates: Path | None = None) -> str:
    """The report as one HTML document (what WeasyPrint lays out), charts as data: URIs."""
    env = _environment(templates or resources.templates_dir())
    charts = {kpi_id: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
              for kpi_id, png in trend_charts(content)}
    shown = summary_objectives(content.objectives)
    return env.get_template(TEMPLATE).render(
        d=content,
        kr_total=sum(len(o.key_results) for o in content.objectives),
        summary_objectives=shown,
        more_objectives=len(content.objectives) - len(shown),
        charts=charts,
        chart_count=len(charts),
        chart_limit=MAX_TREND_CHARTS,
        trend=trend_text,
        checkins=checkin_lines,
    )


def _fetcher() -> Any:
    """The report embeds what it shows (charts are data: URIs): nothing may make the renderer fetch a URL."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 68 and later
    except ImportError:
        from weasyprint.urls import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"the PDF report loads nothing remote ({url[:60]!r})")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(content: DigestContent, *, templates: Path | None = None) -> bytes:
    """The report as PDF bytes; raises PDFRendererMissing when WeasyPrint cannot be loaded."""
    html = report_html(content, templates=templates)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango libraries are missing
        raise PDFRendererMissing(
            "the PDF report needs WeasyPrint and Pango (Debian/Ubuntu: apt install libpango-1.0-0 "
            f"libpangoft2-1.0-0 fonts-dejavu-core; macOS: brew install pango): {display.one_line(exc, 200)}"
        ) from None
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per layout step otherwise
    document = weasyprint.HTML(string=html, url_fetcher=_fetcher())
    return document.write_pdf()
