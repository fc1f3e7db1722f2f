"""Turn a `DigestContent` into an email: Jinja2 templates, inlined CSS, inline PNG charts.

Rendering is pure (content in, bytes and text out): nothing here opens a connection. The
message is multipart/alternative with a plain-text part and an HTML part whose charts are
multipart/related images referenced by Content-ID, so clients show them without loading
anything remote. Header values go through the email package (which refuses CR/LF) after
`display.one_line`, so a newline in a config value or a sheet can never start a header.
"""

from __future__ import annotations

import functools
import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path

import css_inline
import jinja2

from sheetsync import resources
from sheetsync.core import display, theme
from sheetsync.core.digest import DigestContent, bounded
from sheetsync.render import mail_policy
from sheetsync.render.template_cache import bytecode_cache

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
CID_DOMAIN = "sheetsync.core.digest"
WEEK_HEADER = "X-Sheetsync-Week"
AUDIENCE_HEADER = "X-Sheetsync-Audience"
MIME_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
}


@dataclass(frozen=True)
class InlineImage:
    """A chart the HTML shows inline, referenced by its Content-ID."""

    name: str  # e.g. kpi-csat, also the file name offered on save
    cid: str  # Content-ID without the angle brackets, as in the HTML's cid: links
    png: bytes


@dataclass(frozen=True)
class Rendered:
    """A rendered digest: both bodies and the images the HTML references by Content-ID."""

    subject: str
    text: str
    html: str
    images: tuple[InlineImage, ...] = ()


@functools.cache
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        bytecode_cache=bytecode_cache(),
        # Anything that came from a sheet or config is escaped in HTML; text stays text.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        value=display.value,
        change=display.change,
        percent=display.percent,
        points=display.points,
        score=display.score,
        status_label=display.status_label,
        width=bar_width,
        bar_segments=bar_segments,
        more=display.more,
    )
    return env


def bar_width(share: float | None) -> int:
    """A share as a whole percentage for a bar's width, within 0..100."""
    return 0 if share is None else max(0, min(100, round(share * 100)))


def bar_segments(progress: float | None, expected: float, status: str) -> list[tuple[str, int, str]]:
    """Table cells (class, width %, marker side) for a progress bar with the pace marked in it.

    Mail clients lay out tables but not overlays, so the pace marker is a border on the
    cell that starts at the expected pace ('right' on the last cell when that is 100%).
    """
    done, pace = bar_width(progress), bar_width(expected)
    fill = f"fill-{status}"
    cells = [(fill, min(done, pace)), (fill if done > pace else "bar-rest", abs(done - pace)),
             ("bar-rest", 100 - max(done, pace))]
    out: list[tuple[str, int, str]] = []
    for index, (cls, size) in enumerate(cells):
        if size > 0:
            out.append((cls, size, "left" if index > 0 and sum(c[1] for c in cells[:index]) == pace else ""))
    if not any(mark for *_, mark in out):
        cls, size, _ = out[-1]
        out[-1] = (cls, size, "right" if pace == 100 else "left" if pace == 0 else "")
    return out


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    # @media rules cannot be inlined; keep_at_rules leaves them in a <style> for clients that read it.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _cid(name: str) -> str:
    """A short unique Content-ID (a long one folds the header, which some clients mishandle)."""
    return f"{name}.{secrets.token_hex(6)}@{CID_DOMAIN}"


MAX_TREND_CHARTS = 40
"""Trend charts per digest. An organisation-wide digest of 5,000 KPIs would otherwise carry
5,000 images (a minute to draw, megabytes no mail client shows); KPIs that need attention
get theirs first, the rest keep their numbers without a chart."""

_ATTENTION = {"off_track": 0, "at_risk": 1}


def trend_charts(content: DigestContent, limit: int | None = None) -> list[tuple[str, bytes]]:
    """(KPI id, PNG sparkline) for up to `limit` (MAX_TREND_CHARTS) KPIs with two complete buckets, attention first."""
    from sheetsync.render import charts  # Pillow: only imported when a chart is drawn

    limit = MAX_TREND_CHARTS if limit is None else limit
    drawable = []
    for kpi in content.kpis:
        complete = [v for v, done in zip(kpi.series, kpi.series_complete, strict=True) if done]
        if sum(v is not None for v in complete) >= 2:
            drawable.append((kpi, complete))
    drawable.sort(key=lambda item: _ATTENTION.get(item[0].status, 2))  # stable: table order within
    return [(kpi.id, charts.sparkline(complete, target=kpi.target, status=kpi.status))
            for kpi, complete in drawable[:limit]]


def render_charts(content: DigestContent) -> list[InlineImage]:
    """PNG charts for `content`: the objectives overview and trends for up to MAX_TREND_CHARTS KPIs."""
    from sheetsync.render import charts

    images = []
    if content.objectives:
        rows = [(f"{o.id} {o.title}", o.progress, o.status) for o in content.objectives]
        png = charts.objectives_overview(rows, content.expected)
        images.append(InlineImage("overview", _cid("overview"), png))
    for kpi_id, png in trend_charts(content):
        images.append(InlineImage(f"kpi-{kpi_id}", _cid(f"kpi-{kpi_id}"), png))
    return images


def render(content: DigestContent, *, templates: Path | None = None) -> Rendered:
    """Both bodies of the digest, the HTML with its CSS inlined for mail clients.

    The lists are `bounded` first: at any organisation size the email stays a few hundred KB
    and renders in well under two seconds; what it leaves out it counts, in the tracker.
    """
    env = _environment(templates or resources.templates_dir())
    content = bounded(content)
    images = render_charts(content)
    html = env.get_template(HTML_TEMPLATE).render(d=content, charts={i.name: i.cid for i in images}, theme=theme)
    text = env.get_template(TEXT_TEMPLATE).render(d=content)
    return Rendered(content.subject, text, _inliner().inline(html), tuple(images))


def parse_address(value: str) -> Address:
    """One address ('Name <a@b>' or 'a@b') as a header object; ValueError for anything else.

    A value holding a line break or several addresses is refused rather than reinterpreted,
    so text that reached the config or a sheet can never add a recipient.
    """
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{value!r} is not one email address (it contains a line break)")
    found = getaddresses([value])
    if len(found) != 1 or "@" not in found[0][1]:
        raise ValueError(f"{value!r} is not one email address")
    name, addr = found[0]
    return Address(display_name=display.one_line(name), addr_spec=addr)


def _addresses(values: Sequence[str]) -> list[Address]:
    return [parse_address(v) for v in values]


def build_message(
    rendered: Rendered,
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    week: str,
    audience: str,
    date: datetime,
    attachments: Sequence[Path] = (),
    documents: Sequence[tuple[str, bytes]] = (),
) -> EmailMessage:
    """The finished message; raises ValueError for an address the email package rejects."""
    msg = EmailMessage(policy=mail_policy.DEFAULT)
    senders = _addresses([sender])
    msg["Subject"] = display.one_line(rendered.subject)
    msg["From"] = senders
    if to:
        msg["To"] = _addresses(to)
    if cc:
        msg["Cc"] = _addresses(cc)
    msg["Date"] = format_datetime(date)
    domain = senders[0].domain if senders and senders[0].domain else "sheetsync.local"
    msg["Message-ID"] = make_msgid(domain=domain)  # no idstring: a longer id folds the header
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a bot
    msg[WEEK_HEADER] = week
    msg[AUDIENCE_HEADER] = display.one_line(audience)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    if rendered.images:
        html_part = msg.get_payload()[1]
        for image in rendered.images:
            html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>",
                                  filename=f"{image.name}.png", disposition="inline")
    for path in attachments:
        kind = MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    for name, data in documents:  # made in memory, e.g. the PDF report
        kind = MIME_TYPES.get(Path(name).suffix.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg
