"""The week's summary as an Adaptive Card for a Microsoft Teams workflow webhook.

Teams' Office 365 connectors are retired; a Workflows "post to a channel when a webhook
request is received" flow takes a message whose one attachment is an Adaptive Card (1.4
here, which every current Teams client renders). Text from sheets and config goes into
`TextRun`s of `RichTextBlock`s, which Adaptive Cards never parse as Markdown, so a title
cannot turn into a link or bold text; only our own labels use Markdown, in `TextBlock`s.
Lists are cut to a few items with "… and N more", keeping the card well under Teams'
28 KB message limit. Pure: content in, JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sheetsync.core import display
from sheetsync.core.alerts import AlertEvent
from sheetsync.core.digest import DigestContent, objectives_needing_a_look_first

CARD_VERSION = "1.4"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
LIST_ITEMS = 10
_COLORS = {"done": "Good", "on_track": "Good", "at_risk": "Warning", "off_track": "Attention"}


def text(value: object, limit: int = 300) -> str:
    """Sheet or config text for a TextRun: one line, and no `{{DATE(...)}}` template for the client to expand."""
    return display.one_line(value, limit).replace("{{", "{\u200b{")


def run(value: object, *, limit: int = 300, **style: Any) -> dict[str, Any]:
    """One TextRun. Teams shows a block's runs back to back, so a space that ends or starts the
    value ("Off track ", ": ") is kept as one space: `text` alone trimmed it ("Off trackReduce churn")."""
    raw, shown = str(value), text(value, limit)
    if shown:
        shown = (" " if raw[:1].isspace() else "") + shown + (" " if raw[-1:].isspace() else "")
    return {"type": "TextRun", "text": shown, **style}


def rich(*runs: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def label(markdown: str, **props: Any) -> dict[str, Any]:
    """Our own words (never sheet text), where Markdown is wanted."""
    return {"type": "TextBlock", "text": markdown, "wrap": True, **props}


def listed(items: Sequence[dict[str, Any]], noun: str = "more") -> list[dict[str, Any]]:
    shown = list(items[:LIST_ITEMS])
    if len(items) > LIST_ITEMS:
        shown.append(rich(run(f"… and {len(items) - LIST_ITEMS} {noun}", isSubtle=True)))
    return shown


def message(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return {"type": "message", "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}]}


def open_url(url: str | None) -> list[dict[str, Any]]:
    return [{"type": "Action.OpenUrl", "title": "Open the tracker", "url": url}] if url else []


def digest_payload(content: DigestContent) -> dict[str, Any]:
    """The webhook body for one audience's weekly summary."""
    d = content
    counts = ", ".join(f"{n} {display.status_label(s)}" for s, n in d.status_counts.items() if n) or "no key results"
    change = f" ({display.points(d.overall_change)} since {d.previous_week})" if d.overall_change is not None else ""
    title = f"{d.project} OKRs{' · ' + d.team if d.team else ''} · {d.period_name} · week {d.week_number}"
    body: list[dict[str, Any]] = [
        rich(run(title, limit=200, size="Large", weight="Bolder")),
        rich(run(f"As of {d.as_of.isoformat()} · {display.percent(d.expected)} of {d.period_name} elapsed",
                 isSubtle=True)),
        rich(run(f"Overall progress {display.percent(d.overall_progress)}", weight="Bolder"),
             run(f"{change} · key results: {counts}")),
    ]
    for note in d.stale_notes[:LIST_ITEMS]:
        body.append(rich(run(note, limit=500, color="Warning")))
    body.append(label("**Needs attention**", separator=True, spacing="Medium"))
    attention = [rich(run(f"{i.label} ", weight="Bolder", color=_COLORS.get(i.status, "Default")),
                      run(f"{i.title}{' (' + i.ref + ')' if i.ref and i.kind not in ('source', 'warning') else ''}: "
                          f"{i.detail}", limit=450))
                 for i in d.needs_attention]
    body += listed(attention) or [rich(run(d.all_clear))]
    if d.highlights:
        body.append(label("**Highlights**", spacing="Medium"))
        body += listed([rich(run(f"{h.title} ({h.kr_id}) {h.reason}", limit=300)) for h in d.highlights])
    if d.objectives:
        body.append(label(f"**Objectives** (expected by now: {display.percent(d.expected)})", spacing="Medium"))
        body += listed([rich(run(f"{o.id} ", weight="Bolder"), run(f"{o.title}: ", limit=150),
                             run(f"{display.percent(o.progress)} {display.status_label(o.status)}",
                                 color=_COLORS.get(o.status, "Default")))
                        for o in objectives_needing_a_look_first(d)], "more objectives")
    return message(body, open_url(d.tracker_url))


def alert_payload(project: str, events: Sequence[AlertEvent], *, tracker_url: str | None = None) -> dict[str, Any]:
    started = sum(e.started for e in events)
    body = [rich(run(f"{project}: {started} new alert(s), {len(events) - started} cleared", limit=200,
                     size="Medium", weight="Bolder"))]
    body += listed([rich(run("Alert: " if e.started else "Cleared: ", weight="Bolder",
                             color="Attention" if e.started else "Good"), run(e.message, limit=500))
                    for e in events], "more alerts")
    return message(body, open_url(tracker_url))
