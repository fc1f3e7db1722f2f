"""The check-in reminder an owner gets before the week ends: which key results still wait for a word.

Plain text and a small HTML part; key result titles come from config and are escaped.
"""

from __future__ import annotations

from html import escape

from sheetsync.core import display
from sheetsync.core.checkins import Reminder
from sheetsync.render.email_message import Rendered


def render_reminder(reminder: Reminder, *, project: str, week: str, where: str) -> Rendered:
    """The reminder for one owner; `where` says where to check in (the tracker's link or file, or a form)."""
    number = int(week.split("-W")[1])
    subject = display.one_line(f"{project} OKRs · your check-in for week {number}", limit=200)
    hello = f"Hi {display.one_line(reminder.name, 80)}," if reminder.name else "Hi,"
    count = len(reminder.key_results)
    intro = f"{'This key result has' if count == 1 else f'These {count} key results have'} no check-in for {week} yet:"
    items = [f"{kr_id} {display.one_line(title, 200)}" for kr_id, title in reminder.key_results]
    how = ("Give each a confidence (on track, at risk or off track), a sentence on why and, for a manual key "
           f"result, its current value: {where}.")  # fmt: skip
    sign = f"Sent by sheetsync for {project} · {week}"
    text = "\n".join([hello, "", intro, "", *(f"  - {item}" for item in items), "", how, "", "--", sign, ""])
    html = (
        "<!DOCTYPE html><html><body style=\"font-family: Arial, sans-serif; font-size: 14px; color: #1f2937;\">"
        f"<p>{escape(hello)}</p><p>{escape(intro)}</p><ul>"
        + "".join(f"<li>{escape(item)}</li>" for item in items)
        + f"</ul><p>{escape(how)}</p><p style=\"color: #6b7280; font-size: 12px;\">{escape(sign)}</p></body></html>"
    )
    return Rendered(subject, text, html)


__all__ = ["render_reminder"]
