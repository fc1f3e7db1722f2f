"""How sheetsync shows a status and a number, wherever it shows them.

The tracker (cells, its template's conditional formats, the Google Sheet), the digest (its
tags and progress bars) and the charts all take their status words, colours and number
formats from here, so "done" reads and looks the same in a cell, an email and a chart. Pure
data: no I/O, so the core and every renderer can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS_LABELS = {
    "done": "done",
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "missed": "missed",
    "no_data": "no data",
    "no_target": "no target",
    "ok": "ok",
    "warning": "warning",
    "failed": "failed",
}
"""What people read for each machine status, in running text (the digest, messages)."""

CELL_LABELS = {status: "OK" if status == "ok" else label.capitalize() for status, label in STATUS_LABELS.items()}
"""The same words as a spreadsheet cell shows them ("On track"); the template's rules match these."""


@dataclass(frozen=True)
class StatusColors:
    """Hex RGB (no '#') for one status: a pale `fill` with `ink` text on it, and a `strong`
    colour for bars and chart lines on white."""

    fill: str
    ink: str
    strong: str

    def css(self, name: str) -> str:
        """The colour as CSS: `css('ink')` -> '#4C3D9E'."""
        return "#" + str(getattr(self, name))


STATUS_COLORS = {
    "done": StatusColors("E4E1FB", "4C3D9E", "6E56CF"),  # purple: finished, apart from on track
    "on_track": StatusColors("DDF3E4", "1E6B3A", "2DA44E"),  # green
    "at_risk": StatusColors("FDF0D2", "8A5A00", "D4A72C"),  # amber
    "off_track": StatusColors("FBE0DE", "9B2C2C", "D1242F"),  # red
    "missed": StatusColors("F3D3D0", "7A1F1F", "A40E26"),  # dark red: the period ended short of it
    "no_data": StatusColors("EEF0F3", "6B7280", "AFB8C1"),  # grey
    "no_target": StatusColors("F5F6F8", "8A93A0", "0B5CAD"),  # a KPI with nothing to reach: a neutral blue line
    "ok": StatusColors("DDF3E4", "1E6B3A", "2DA44E"),
    "warning": StatusColors("FDF0D2", "8A5A00", "D4A72C"),
    "failed": StatusColors("FBE0DE", "9B2C2C", "D1242F"),
}
"""Every status's colours. The built-in tracker template is generated from these
(`scripts/make_tracker_template.py`), the digest's CSS and the charts read them directly."""

INK = "24292F"  # text and the expected-pace line in charts
MUTED = "8C959F"  # secondary lines (a KPI's target)
TRACK = "E6E9ED"  # the empty part of a progress bar

PERCENT_FORMAT = "0.0%"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0#"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
"""Spreadsheet number formats (Excel and Google Sheets read the same patterns)."""


def money_format(symbol: str, *, cents: bool) -> str:
    """'"$"#,##0' or '"$"#,##0.00': the symbol quoted, so any currency sign is shown as written."""
    return f'"{symbol}"#,##0' + (".00" if cents else "")


def signed_format(body: str) -> str:
    """A change: '+' before a rise, '-' before a fall, nothing before zero."""
    return f"+{body};-{body};{body}"


def status_label(status: str | None) -> str:
    """A status in running text: 'on track'; '—' when there is none."""
    return STATUS_LABELS.get(status or "", status or "—")


def cell_label(status: str) -> str:
    """A status as a cell shows it: 'On track' (an unknown one reads as its words, capitalised)."""
    return CELL_LABELS.get(status, status.replace("_", " ").capitalize())


def colors(status: str | None) -> StatusColors:
    """The colours of `status`; a status without its own (or none) gets no-data grey."""
    return STATUS_COLORS.get(status or "", STATUS_COLORS["no_data"])


__all__ = [
    "CELL_LABELS",
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "DECIMAL_FORMAT",
    "INK",
    "INTEGER_FORMAT",
    "MUTED",
    "PERCENT_FORMAT",
    "STATUS_COLORS",
    "STATUS_LABELS",
    "TRACK",
    "StatusColors",
    "cell_label",
    "colors",
    "money_format",
    "signed_format",
    "status_label",
]
