"""The email for the alerts of one sync: a short text part and a plain HTML part.

Each alert is one line already written by `sheetsync.core.alerts`; here it is only escaped
for HTML and wrapped, so the email and the chat posts say the same thing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sheetsync.core import display
from sheetsync.core.alerts import AlertEvent
from sheetsync.render import mail_policy
from sheetsync.render.email_message import parse_address

ALERT_HEADER = "X-Sheetsync-Alerts"


def subject(project: str, as_of: date, events: Sequence[AlertEvent]) -> str:
    started = sum(e.started for e in events)
    parts = [f"{started} new alert{'s' if started != 1 else ''}"] if started else []
    if len(events) - started:
        parts.append(f"{len(events) - started} cleared")
    return display.one_line(f"{project} OKR alerts: {', '.join(parts)} · {as_of.isoformat()}", limit=200)


def build_alert_message(
    project: str, as_of: date, events: Sequence[AlertEvent], *, sender: str, to: Sequence[str], when: datetime,
    tracker_url: str | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=mail_policy.DEFAULT)
    senders = [parse_address(sender)]
    msg["Subject"] = subject(project, as_of, events)
    msg["From"] = senders
    msg["To"] = [parse_address(a) for a in to]
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=senders[0].domain or "sheetsync.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg[ALERT_HEADER] = str(len(events))
    lines = [f"{'ALERT' if e.started else 'CLEARED'}: {e.message}" for e in events]
    footer = f"Sent by sheetsync for {project} after the sync of {as_of.isoformat()}."
    link = f"\nTracker: {tracker_url}\n" if tracker_url else ""
    msg.set_content("\n".join(lines) + "\n" + link + "\n--\n" + footer + "\n")
    items = "".join(
        f'<li style="margin: 0 0 6px 0;"><strong style="color: {"#b42318" if e.started else "#1a7f37"};">'
        f'{"Alert" if e.started else "Cleared"}:</strong> {html.escape(e.message)}</li>' for e in events
    )
    button = (f'<p><a href="{html.escape(tracker_url, quote=True)}" style="color: #0b5cad;">Open the tracker</a></p>'
              if tracker_url else "")
    msg.add_alternative(
        f'<!DOCTYPE html><html><body style="font-family: Arial, sans-serif; font-size: 14px; color: #24292f;">'
        f'<h2 style="font-size: 17px;">{html.escape(msg["Subject"])}</h2><ul>{items}</ul>{button}'
        f'<p style="color: #57606a; font-size: 12px;">{html.escape(footer)}</p></body></html>',
        subtype="html",
    )
    return msg
