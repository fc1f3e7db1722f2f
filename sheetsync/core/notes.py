"""The one sentence every output gives an old number: why it is stale and, when carried, from which day.

The tracker's Note column and the JSON's `note` both say it in these words, so a value
carried from an earlier week reads the same wherever it is looked up.
"""

from __future__ import annotations

from datetime import date

from sheetsync.core.key_results import KeyResultResult
from sheetsync.core.kpis import KPIResult
from sheetsync.core.periods import day_text


def stale_note(stale: str, shown_from: date | None) -> str:
    """'stale: <why>; showing the value from 10 Nov 2026' (without the date when none is shown)."""
    return f"stale: {stale}" + (f"; showing the value from {day_text(shown_from)}" if shown_from else "")


def kr_stale_note(kr: KeyResultResult, as_of: date | None) -> str | None:
    """A stale KR's note; it names the day its figure is from when that is before `as_of`."""
    if not kr.stale:
        return None
    shown = kr.value_as_of is not None and as_of is not None and kr.value_as_of < as_of and kr.current is not None
    return stale_note(kr.stale, kr.value_as_of if shown else None)


def kpi_stale_note(k: KPIResult) -> str | None:
    """A stale KPI's note; it names the day of the last good value it carries."""
    if not k.stale:
        return None
    return stale_note(k.stale, k.value_as_of if k.carried else None)
