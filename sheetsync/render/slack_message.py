"""The week's summary as a Slack incoming-webhook message in Block Kit.

A header, the period and overall progress, what needs attention, the highlights, each
objective against the pace and a button to the tracker. Slack refuses a message over its
limits (50 blocks, 3,000 characters in a section's text, 150 in a header), so long lists
are summarised here ("… and 37 more") instead: the post never fails for being big.

Text from sheets and config is escaped for mrkdwn (`&`, `<`, `>`: what Slack's docs ask),
so a KR title can never become a link, a mention or `<!channel>`. Pure: content in, JSON-ready
dict out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sheetsync.core import display
from sheetsync.core.alerts import AlertEvent
from sheetsync.core.digest import DigestContent, objectives_needing_a_look_first

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
LIST_ITEMS = 10
"""Items per list before the rest are counted instead of listed."""

_ICONS = {"done": ":white_check_mark:", "on_track": ":large_green_circle:", "at_risk": ":large_yellow_circle:",
          "off_track": ":red_circle:", "no_data": ":white_circle:", "no_target": ":white_circle:"}


def escape(text: object, limit: int = 300) -> str:
    """Sheet or config text made safe for mrkdwn, on one line."""
    flat = display.one_line(text, limit)
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: object, limit: int) -> str:
    """Text for a plain_text object (not parsed by Slack), within its limit."""
    return display.one_line(text, limit)


def fit_lines(lines: Sequence[str], limit: int = MAX_SECTION, *, noun: str = "more") -> str:
    """Up to LIST_ITEMS lines, as many as fit in `limit` characters, then '… and N more'."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index
        after = len(f"\n… and {rest - 1} {noun}") if rest > 1 else 0
        if index >= LIST_ITEMS or used + len(line) + after > limit:
            out.append(f"… and {rest} {noun}")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(text, MAX_HEADER), "emoji": True}}


def digest_payload(content: DigestContent) -> dict[str, Any]:
    """The incoming-webhook body for one audience's weekly summary."""
    d = content
    counts = ", ".join(f"{n} {display.status_label(s)}" for s, n in d.status_counts.items() if n) or "no key results"
    change = f" ({display.points(d.overall_change)} since {d.previous_week})" if d.overall_change is not None else ""
    title = f"{d.project} OKRs{' · ' + d.team if d.team else ''} · {d.period_name} · week {d.week_number}"
    blocks: list[dict[str, Any]] = [
        header(title),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(
            f"As of {d.as_of.isoformat()} · {display.percent(d.expected)} of {d.period_name} elapsed", 3000)}]},
        section(f"*Overall progress: {display.percent(d.overall_progress)}*{escape(change)}\n"
                f"Key results: {escape(counts)}"),
    ]
    if d.stale_notes:
        blocks.append(section(":warning: " + fit_lines([escape(n, 500) for n in d.stale_notes], MAX_SECTION - 20)))
    attention = [f"• *{escape(i.label)}* {escape(i.title, 150)}"
                 f"{' (' + escape(i.ref) + ')' if i.ref and i.kind not in ('source', 'warning') else ''}: "
                 f"{escape(i.detail, 300)}" for i in d.needs_attention]
    blocks.append({"type": "divider"})
    blocks.append(section("*Needs attention*\n" + (fit_lines(attention, MAX_SECTION - 20) if attention
                                                   else escape(d.all_clear))))
    highlights = [f"• {escape(h.title, 150)} ({escape(h.kr_id)}) {escape(h.reason)}" for h in d.highlights]
    if highlights:
        blocks.append(section("*Highlights*\n" + fit_lines(highlights, MAX_SECTION - 20)))
    objectives = [f"{_ICONS.get(o.status, '')} *{escape(o.id)}* {escape(o.title, 150)}: "
                  f"{display.percent(o.progress)} ({display.status_label(o.status)})"
                  for o in objectives_needing_a_look_first(d)]
    if objectives:
        blocks.append(section(f"*Objectives* (expected by now: {display.percent(d.expected)})\n"
                              + fit_lines(objectives, MAX_SECTION - 60, noun="more objectives")))
    if d.tracker_url:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open the tracker"},
            "url": d.tracker_url[:3000], "action_id": "open_tracker"}]})
    return {"text": escape(d.subject, MAX_FALLBACK), "blocks": fit_blocks(blocks)}  # notifications read it as mrkdwn


def fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_BLOCKS, keeping the last (the button) when something must go."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 2], section(f"… {len(blocks) - MAX_BLOCKS + 1} more sections left out"), blocks[-1]]


def alert_payload(project: str, events: Sequence[AlertEvent], *, tracker_url: str | None = None) -> dict[str, Any]:
    """One message for the alerts of one sync."""
    started = sum(e.started for e in events)
    title = f"{project}: {started} new alert(s), {len(events) - started} cleared"
    lines = [f"{':rotating_light:' if e.started else ':white_check_mark:'} {escape(e.message, 500)}" for e in events]
    blocks = [header(title), section(fit_lines(lines, MAX_SECTION, noun="more alerts"))]
    if tracker_url:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open the tracker"},
            "url": tracker_url[:3000], "action_id": "open_tracker"}]})
    return {"text": escape(title, MAX_FALLBACK), "blocks": blocks}
