"""What the OKR tracker shows, independent of where it is written.

Pure: a `SyncResult`, the history rows and last week's snapshot go in, a `TrackerContent`
comes out: tabs of tables whose cells carry a value and a semantic kind (percent, currency,
status...). The .xlsx writer and the Google Sheets writer both render this same content,
so which tabs, columns and kinds the tracker has is decided here, once; where it lands in
the template is `connectors.tracker_layout`'s decision, and how a status or a number looks
is the theme's (`sheetsync.core.theme`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sheetsync.core import checkins as ci
from sheetsync.core import display, theme
from sheetsync.core.display import CURRENCIES
from sheetsync.core.key_results import STATUSES, KeyResultResult
from sheetsync.core.kpis import KPIResult
from sheetsync.core.notes import kpi_stale_note, kr_stale_note
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import span
from sheetsync.core.results import SourceResult, SyncResult, compare_with
from sheetsync.core.snapshot import Snapshot, week_key

Kind = Literal["text", "number", "percent", "currency", "date", "datetime", "status"]

STATUS_LABELS = theme.CELL_LABELS
"""What people read for each machine status in a cell; conditional formats match these labels."""

TAB_NAMES = ("Dashboard", "Key Results", "Check-ins", "KPIs", "History", "Sources")
CHECKINS_TAB = "Check-ins"
SPARK = "▁▂▃▄▅▆▇█"
RECENT_BUCKETS = 8


@dataclass(frozen=True, slots=True)
class Cell:
    """One value and how to show it.

    `unit` is the currency symbol of a currency cell or the suffix of a number ("min");
    `status` keeps the machine value ("on_track") of a status cell whose `value` is its
    label; `signed` cells are changes, shown with a + when positive.
    """

    value: str | float | date | datetime | None
    kind: Kind = "text"
    unit: str = ""
    status: str | None = None
    signed: bool = False


_new_cell = object.__new__
_set_value, _set_kind, _set_unit, _set_status, _set_signed = (
    Cell.__dict__[name].__set__ for name in ("value", "kind", "unit", "status", "signed")  # its slots' own setters
)


def _cell(
    value: str | float | date | datetime | None, kind: Kind = "text", unit: str = "", status: str | None = None,
    signed: bool = False,
) -> Cell:
    """`Cell(value, kind, unit, status, signed)`, made by setting its slots directly, as this module's
    cell functions make theirs: the frozen dataclass's __init__ sets each field through
    `object.__setattr__`, twice the cost (1.1 against 0.6 µs; a medium tracker has 38,000 cells)."""
    cell = _new_cell(Cell)
    _set_value(cell, value)
    _set_kind(cell, kind)
    _set_unit(cell, unit)
    _set_status(cell, status)
    _set_signed(cell, signed)
    return cell


BLANK = Cell(None)
"""The empty cell, shared (cells are immutable): a fifth of a tracker's cells."""
# Cells every tracker repeats (blanks, statuses, confidences), made once and shared.
_NO_DATE = Cell(None, "date")
_NO_PERCENT = {False: Cell(None, "percent"), True: Cell(None, "percent", signed=True)}
_STATUS_CELLS = {status: Cell(label, "status", status=status) for status, label in theme.CELL_LABELS.items()}
_CONFIDENCE_CELLS = {c: Cell(label, "status", status=c) for c, label in ci.CONFIDENCE_LABELS.items()}


@dataclass(frozen=True)
class Table:
    """A header row and data rows, placed by default with its header at `anchor` (row, column).

    `key` names the table for writers: the .xlsx template marks where each table sits with
    a defined name `sheetsync_<key>`; `anchor` is the place used when it does not. A table
    with an empty header has no header row: its data starts at the anchor.
    """

    key: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    anchor: tuple[int, int] = (1, 1)
    choices: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (column offset, allowed values): a drop-down list

    @property
    def width(self) -> int:
        return max([len(self.header), *(len(r) for r in self.rows)], default=0)

    @property
    def first_data_row(self) -> int:
        return self.anchor[0] + (1 if self.header else 0)


@dataclass(frozen=True)
class Tab:
    """One worksheet: its tables, the main one (`header` and `rows`) first."""

    name: str
    tables: tuple[Table, ...]

    @property
    def main(self) -> Table:
        return self.tables[0]

    @property
    def header(self) -> tuple[str, ...]:
        return self.main.header

    @property
    def rows(self) -> tuple[tuple[Cell, ...], ...]:
        return self.main.rows

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(f"tab {self.name!r} has no table {key!r}")


@dataclass(frozen=True)
class DashboardFacts:
    """The headline numbers, for writers that place them themselves (and the digest)."""

    project: str
    period: str
    period_start: date
    period_end: date
    as_of: date
    week: str
    expected: float
    overall_progress: float | None
    overall_change: float | None
    previous_week: str | None
    status_counts: dict[str, int]
    generated_at: datetime | None = None


@dataclass(frozen=True)
class ChartSpec:
    """A chart over a table's columns (0-based within the table), for writers that draw it."""

    tab: str
    table: str
    title: str
    categories: int
    values: tuple[int, ...]
    anchor: tuple[int, int]


@dataclass(frozen=True)
class TrackerContent:
    tabs: tuple[Tab, ...]
    dashboard: DashboardFacts
    charts: tuple[ChartSpec, ...] = ()

    def tab(self, name: str) -> Tab:
        for tab in self.tabs:
            if tab.name == name:
                return tab
        raise KeyError(f"the tracker has no tab {name!r}")


# --- cells -------------------------------------------------------------------------------


def finite(value: float | None) -> float | None:
    """None for missing, NaN and infinite numbers: no spreadsheet stores those."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def text(value: object) -> Cell:
    if value is None or value == "":
        return BLANK
    return _cell(value if type(value) is str else str(value))


def status_cell(status: str | None) -> Cell:
    if not status:
        return BLANK
    found = _STATUS_CELLS.get(status)
    return found if found is not None else _cell(theme.cell_label(status), "status", status=status)


def percent(value: float | None, *, signed: bool = False) -> Cell:
    value = finite(value)
    return _NO_PERCENT[signed] if value is None else _cell(value, "percent", signed=signed)


def points(share: float | None) -> Cell:
    """A change of a share (progress, a % KPI) in percentage points: 0.061 -> "+6.1 pts"."""
    value = finite(share)
    return _cell(None if value is None else round(value * 100, 6), "number", "pts", None, True)


def count(value: int | float | None) -> Cell:
    return _cell(finite(value), "number")


def measure(value: float | None, unit: str, *, signed: bool = False) -> Cell:
    """A KPI or KR figure in its KPI's unit: %, money, or a number with a suffix."""
    value = finite(value)
    if unit == "%":
        return percent(value, signed=signed)
    if unit in CURRENCIES:
        return _cell(value, "currency", unit, None, signed)
    return _cell(value, "number", unit, None, signed)


def day(value: date | None) -> Cell:
    return _NO_DATE if value is None else _cell(value, "date")


def moment(value: datetime | None, timezone: str) -> Cell:
    return _cell(None if value is None else local(value, timezone), "datetime")


def local(value: datetime, timezone: str) -> datetime:
    """A naive wall-clock time in the project's zone (spreadsheets have no time zones)."""
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return value.replace(microsecond=0)


def number_format(cell: Cell) -> str | None:
    """The spreadsheet number format for a cell's kind (Excel and Google Sheets share it).

    None for text and status cells. Money shows cents only below 1,000; plain numbers
    show up to two decimals only when they have any.
    """
    kind = cell.kind
    if kind == "text" or kind == "status":  # most of a tracker's cells: answered first
        return None
    if kind == "percent":
        body = theme.PERCENT_FORMAT
    elif kind == "currency":
        whole = isinstance(cell.value, float) and (abs(cell.value) >= 1000 or cell.value.is_integer())
        body = theme.money_format(cell.unit, cents=not whole)
    elif kind == "number":
        whole = not isinstance(cell.value, float) or cell.value.is_integer()
        body = theme.INTEGER_FORMAT if whole else theme.DECIMAL_FORMAT
        if cell.unit:
            body += '" ' + cell.unit.replace('"', "") + '"'
    elif kind == "date":
        return theme.DATE_FORMAT
    elif kind == "datetime":
        return theme.DATETIME_FORMAT
    else:
        return None
    return theme.signed_format(body) if cell.signed else body


def format_value(value: float | None, unit: str) -> str:
    """A figure as short text for the Recent column, worded as the digest words it
    (`display.value`): 86.6% · $12,300 · 3.32 min · 1,234; an en dash when missing."""
    return display.value(finite(value), unit, missing="–")


def sparkline(values: Sequence[float | None]) -> str:
    """Unicode bars, oldest first; a gap (·) where a bucket has no value."""
    present = [v for v in (finite(v) for v in values) if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    out = []
    for raw in values:
        v = finite(raw)
        if v is None:
            out.append("·")
        elif high == low:
            out.append(SPARK[3])
        else:
            out.append(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))])
    return "".join(out)


def change(now: float | None, before: float | None) -> float | None:
    now, before = finite(now), finite(before)
    return None if now is None or before is None else now - before


# --- tabs ----------------------------------------------------------------------------------

KR_HEADER = (
    "Objective", "Key result", "Title", "Owner", "KPI", "Start", "Target", "Current", "Progress",
    "Expected", "Status", "Change since last week", "Weight", "Updated", "Note", "Confidence", "Check-in",
    "Checked in", "Score", "Grade",
)
KPI_HEADER = (
    "KPI", "Title", "Value", "Unit", "Target", "Status", "Previous", "Change", "Trend", "Recent",
    "Window", "Source", "Note",
)
HISTORY_HEADER = (
    "Week", "As of", "Type", "ID", "Title", "Objective", "KPI", "Value", "Progress", "Expected", "Status",
    "Confidence", "Comment",
)
CHECKIN_HEADER = ci.TAB_HEADER
"""The Check-ins tab: sheetsync fills the first columns, owners the last four (see `checkins.TAB_COLUMNS`)."""
SOURCE_HEADER = ("Source", "Type", "Location", "Sheet", "Rows", "Fetched at", "Status", "Warnings", "Error")
OBJECTIVE_HEADER = (
    "Objective", "Title", "Owner", "Team", "Progress", "Expected", "Status", "Change since last week",
    "Key results", "Aligns to", "Score",
)
FACTS_HEADER = ("At a glance", "")
COUNTS_HEADER = ("Key results by status", "Count", "Share")

TITLE_ANCHOR = (1, 1)
FACTS_ANCHOR = (4, 1)
COUNTS_ANCHOR = (4, 4)
OBJECTIVES_ANCHOR = (15, 1)
CHART_ANCHOR = (3, 8)


def kr_note(kr: KeyResultResult, as_of: date | None = None) -> str | None:
    """Why a KR's numbers look the way they do: stale data, no data, no baseline, past its target."""
    if kr.stale:
        return kr_stale_note(kr, as_of)
    if kr.note:
        return f"no data: {kr.note}" if kr.current is None and not kr.note.startswith("no baseline") else kr.note
    raw = finite(kr.progress_raw)
    if raw is not None and raw > 1:
        return f"past its target: {raw:.0%} of the way"
    if raw is not None and raw < 0:
        return f"behind its start: {raw:.0%}"
    return None


def kpi_note(k: KPIResult) -> str | None:
    """Stale (and since when), carried from an earlier week, or why there is no value."""
    if k.stale:
        return kpi_stale_note(k)
    if k.value is None and k.note:
        return f"no data: {k.note}"
    return None


def kr_rows(
    result: SyncResult, previous: Snapshot | None, units: Mapping[str, str], updated: Mapping[str, date]
) -> tuple[tuple[Cell, ...], ...]:
    owners = {o.id: o.owner for o in result.objectives}
    rows = []
    for kr in result.key_results:
        unit = units.get(kr.kpi, kr.unit)
        rows.append((
            text(kr.objective), text(kr.id), text(kr.title), text(kr.owner or owners.get(kr.objective)),
            text(kr.kpi or ("manual" if kr.manual else None)), measure(kr.start, unit), measure(kr.target, unit),
            measure(kr.current, unit),
            percent(kr.progress), percent(kr.expected), status_cell(kr.status), points(kr.change),
            count(kr.weight), day(updated.get(kr.kpi or "") or kr.value_as_of), text(kr_note(kr, result.as_of)),
            *checkin_cells(kr.checkin), score_cell(kr.score), grade_cell(kr.grade),
        ))
    return tuple(rows)


def confidence_cell(confidence: str | None) -> Cell:
    """An owner's confidence, coloured like the status it names."""
    if not confidence:
        return BLANK
    found = _CONFIDENCE_CELLS.get(confidence)
    return found if found is not None else _cell(ci.confidence_label(confidence), "status", status=confidence)


def score_cell(score: float | None) -> Cell:
    """A score on the 0.0-1.0 scale (0.61): the clamped progress, final once the period is over."""
    value = finite(score)
    return _cell(None if value is None else round(value, 6), "number")


def grade_cell(grade: str | None) -> Cell:
    """An aspirational KR's grade: Red, Yellow or Green (blank for committed KRs)."""
    return BLANK if grade is None else _cell(grade.capitalize())


def checkin_cells(checkin: ci.CheckIn | None) -> tuple[Cell, Cell, Cell]:
    """Confidence, comment and date of a KR's latest check-in (blank without one)."""
    if checkin is None:
        return BLANK, BLANK, _NO_DATE
    return confidence_cell(checkin.confidence), text(checkin.comment), day(checkin.date)


def checkin_rows(
    result: SyncResult, owners: Mapping[str, str], units: Mapping[str, str],
    typed: Mapping[tuple[str, str], ci.TypedCells] | None = None,
) -> tuple[tuple[Cell, ...], ...]:
    """A row per KR for the as-of week: what sheetsync knows, then the owner's cells.

    The owner's cells hold this week's check-in from the tab when there is one (so a re-run
    shows what was typed), or, for a row with a cell that could not be read, the cells exactly
    as typed (`typed`: an unreadable date or confidence stays for its owner to mend, with the
    warning, instead of turning blank); "Last check-in" is the one before this week, for context.
    A KR checked in on several rows this week (its row copied) keeps every row, the one that
    counts last: the tab restates the week on every read, so a row left out would be withdrawn.
    """
    week = week_key(result.as_of)
    mine = ci.by_kr(c for c in ci.in_period(result.checkins, result.period)
                    if c.origin == ci.TRACKER_ORIGIN and c.week == week)  # fmt: skip
    before = ci.by_kr(c for c in ci.in_period(result.checkins, result.period) if c.week < week)
    rows = []
    for kr in result.key_results:
        unit = units.get(kr.kpi or "", kr.unit)
        earlier = ci.latest(before.get(kr.id, ()), kr.id, result.as_of)
        known = (
            text(week), text(kr.objective), text(kr.id), text(kr.title), text(kr.owner or owners.get(kr.objective)),
            status_cell(kr.status), measure(kr.current, unit), text(describe_checkin(earlier, unit)),
        )
        kept = typed.get((kr.id, week)) if typed else None
        owner_cells: list[tuple[Cell, ...]] = []
        for now in sorted(mine.get(kr.id, ()), key=ci.checkin_order):
            if kept is not None and kept.row is not None and now.row == kept.row:
                continue  # that row is written as typed, below
            owner_cells.append((
                _cell(ci.confidence_label(now.confidence) if now.confidence else None),
                text(now.comment), measure(now.value, unit), day(now.date),
            ))
        if kept is not None:
            owner_cells.append(tuple(as_typed(v, unit) for v in (kept.confidence, kept.comment, kept.value, kept.when)))
        empty = (_cell(None), text(None), measure(None, unit), day(None))
        rows.extend((*known, *cells) for cells in owner_cells or [empty])
    return tuple(rows)


def as_typed(value: object, unit: str) -> Cell:
    """A cell an owner typed, written back as it was read: text as text, a number or a date as one."""
    if isinstance(value, datetime):
        return _cell(value, "date" if value.time() == time() else "datetime")
    if isinstance(value, date):
        return day(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return measure(float(value), unit)
    return text(value)


def describe_checkin(checkin: ci.CheckIn | None, unit: str = "") -> str | None:
    """'2026-W47 · At risk · supplier slipped to January · value 3' (None without one)."""
    if checkin is None:
        return None
    parts = [checkin.week, ci.confidence_label(checkin.confidence) or None, checkin.comment,
             None if checkin.value is None else f"value {format_value(checkin.value, unit)}"]  # fmt: skip
    return " · ".join(p for p in parts if p)


def kpi_rows(result: SyncResult) -> tuple[tuple[Cell, ...], ...]:
    rows = []
    for k in result.kpis:
        recent = [p for p in k.series if p.complete][-RECENT_BUCKETS:]
        rows.append((
            text(k.id), text(k.title), measure(k.value, k.unit), text(k.unit), measure(k.target, k.unit),
            status_cell(k.status), measure(k.previous, k.unit),
            points(k.change) if k.unit == "%" else measure(k.change, k.unit, signed=True),
            text(sparkline([p.value for p in recent])),
            text(" · ".join(f"{_short_label(p.label)} {format_value(p.value, k.unit)}" for p in recent[-4:])),
            text(span(k.window_start, k.window_end)), text(k.source or "formula"),
            text(kpi_note(k)),
        ))
    return tuple(rows)


def _short_label(label: str) -> str:
    """'2026-W47' -> 'W47', '2026-11' -> 'Nov': enough inside one period."""
    if "-W" in label:
        return label.split("-", 1)[1]
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit():
        return date(int(label[:4]), int(label[5:]), 1).strftime("%b")
    return label


def history_rows(
    kr_history: Iterable[Mapping[str, Any]],
    kpi_history: Iterable[Mapping[str, Any]],
    units: Mapping[str, str],
    checkins: Iterable[ci.CheckIn] = (),
) -> tuple[tuple[Cell, ...], ...]:
    """One row per KR and per KPI per week, oldest week first (the DB keeps one snapshot a week and
    period: a week two periods share has both, each under its own as-of date).

    A KR's row carries the check-in that counted for its week (the latest of that week).
    """
    week_checkins = ci.latest_per_week(checkins)
    krs = [(r["week"], r["as_of"], 0, r["objective"], r["kr_id"], r) for r in kr_history]
    kpis = [(r["week"], r["as_of"], 1, "", r["kpi_id"], r) for r in kpi_history]
    rows = []
    for _week, _as_of, kind, _objective, _id, r in sorted(krs + kpis, key=lambda item: item[:5]):
        as_of = date.fromisoformat(r["as_of"])
        if kind == 0:
            unit = units.get(r["kpi"] or "", "")
            rows.append((
                text(r["week"]), day(as_of), text("Key result"), text(r["kr_id"]), text(r["title"]),
                text(r["objective"]), text(r["kpi"]), measure(r["current"], unit), percent(r["progress"]),
                percent(r["expected"]), status_cell(r["status"]),
                *_history_checkin(week_checkins.get((r["kr_id"], r["week"]))),
            ))
        else:
            unit = r["unit"] or ""
            rows.append((
                text(r["week"]), day(as_of), text("KPI"), text(r["kpi_id"]), text(r["title"]), text(None),
                text(r["kpi_id"]), measure(r["value"], unit), _NO_PERCENT[False], _NO_PERCENT[False],
                status_cell(r["status"]), BLANK, BLANK,
            ))
    return tuple(rows)


def _history_checkin(checkin: ci.CheckIn | None) -> tuple[Cell, Cell]:
    if checkin is None:
        return BLANK, BLANK
    return confidence_cell(checkin.confidence), text(checkin.comment)


def source_rows(sources: Sequence[SourceResult], timezone: str) -> tuple[tuple[Cell, ...], ...]:
    return tuple(
        (
            text(s.name), text(s.type), text(s.location), text(s.sheet), count(s.rows),
            moment(s.fetched_at, timezone), status_cell(s.status), text("\n".join(s.warnings) or None),
            text(s.error),
        )
        for s in sources
    )


def objective_rows(
    objectives: Sequence[ObjectiveResult], previous: Snapshot | None
) -> tuple[tuple[Cell, ...], ...]:
    rows = []
    for o in objectives:
        measured = f"{o.measured} of {o.kr_count} measured" if o.kr_count else None
        rows.append((
            text(o.id), text(o.title), text(o.owner), text(o.team), percent(o.progress), percent(o.expected),
            status_cell(o.status), points(o.change), text(measured),
            text(o.parent or None), score_cell(o.score),
        ))
    return tuple(rows)


def dashboard_facts(
    result: SyncResult, previous: Snapshot | None, generated_at: datetime | None
) -> DashboardFacts:
    return DashboardFacts(
        project=result.project,
        period=result.period.name,
        period_start=result.period.start,
        period_end=result.period.end,
        as_of=result.as_of,
        week=week_key(result.as_of),
        expected=result.expected,
        overall_progress=finite(result.overall_progress),
        overall_change=result.overall_change,
        previous_week=previous.week if previous else None,
        status_counts=result.status_counts(),
        generated_at=generated_at,
    )


def dashboard_tab(
    result: SyncResult, facts: DashboardFacts, previous: Snapshot | None, timezone: str
) -> Tab:
    total = sum(facts.status_counts.values())
    title = Table("title", (), (
        (text(f"{facts.project} OKRs · {facts.period}"),),
        (text(f"As of {facts.as_of:%A} {facts.as_of.day} {facts.as_of:%B %Y} · week {facts.week}"
              + (f" · compared with {facts.previous_week}" if facts.previous_week else "")),),
    ), TITLE_ANCHOR)
    glance = Table("facts", FACTS_HEADER, (
        (text("Period"), text(f"{facts.period} ({span(facts.period_start, facts.period_end)})")),
        (text("As of"), day(facts.as_of)),
        (text("Period elapsed"), percent(facts.expected)),
        (text("Overall progress"), percent(facts.overall_progress)),
        (text("Change since last week"), points(facts.overall_change)),
        (text("Objectives"), count(len(result.objectives))),
        (text("Key results"), count(total)),
        (text("Updated"), moment(facts.generated_at, timezone)),
    ), FACTS_ANCHOR)
    counts = Table("status_counts", COUNTS_HEADER, tuple(
        (status_cell(s), count(n), percent(n / total if total else None))
        for s, n in facts.status_counts.items()
    ), COUNTS_ANCHOR)
    objectives = Table("objectives", OBJECTIVE_HEADER, objective_rows(result.objectives, previous), OBJECTIVES_ANCHOR)
    return Tab("Dashboard", (objectives, title, glance, counts))


def units_by_kpi(result: SyncResult, kpi_history: Iterable[Mapping[str, Any]] = ()) -> dict[str, str]:
    """Each KPI's unit: today's config first, else the unit history recorded for it."""
    units = {r["kpi_id"]: r["unit"] or "" for r in kpi_history}
    units.update({k.id: k.unit for k in result.kpis})
    return units


def _updated(kpis: Sequence[KPIResult], as_of: date) -> dict[str, date]:
    """The day each KPI's figure is from: its newest row (`data_through`), or the day a carried
    value was good; never the run date for data that stopped arriving."""
    out = {}
    for k in kpis:
        day = k.value_as_of if k.carried else k.data_through
        if day is None and k.window_end is not None and k.value is not None and not k.stale:
            day = k.window_end  # a formula over undated inputs: the end of the window it covers
        if day is not None:
            out[k.id] = min(day, as_of)
    return out


def build_tracker(
    result: SyncResult,
    *,
    kr_history: Sequence[Mapping[str, Any]] = (),
    kpi_history: Sequence[Mapping[str, Any]] = (),
    previous: Snapshot | None = None,
    generated_at: datetime | None = None,
    timezone: str = "UTC",
    checkins_tab: bool = True,
    typed_checkins: Mapping[tuple[str, str], ci.TypedCells] | None = None,
) -> TrackerContent:
    """Every tab of the tracker.

    `kr_history`/`kpi_history` are the history DB's rows (this week's included), `previous`
    is last week's snapshot (`History.previous(as_of)`): "change since last week" comes
    from it. `generated_at` is shown as the Updated time, in `timezone`. `checkins_tab`
    adds the Check-ins tab owners type into (when check-ins come from the tracker itself);
    `typed_checkins` are its rows sheetsync could not read in full, shown as typed.
    """
    if generated_at is not None and generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    stamp = None if generated_at is None else local(generated_at, timezone)
    result = compare_with(result, previous)  # changes within this period only, like with like
    if result.previous_week is None:
        previous = None
    facts = dashboard_facts(result, previous, stamp)
    units = units_by_kpi(result, kpi_history)
    owners = {o.id: o.owner for o in result.objectives}
    checkins = Tab(CHECKINS_TAB, (Table(
        "checkins", CHECKIN_HEADER, checkin_rows(result, owners, units, typed_checkins or {}),
        choices=((CHECKIN_HEADER.index("Confidence"), tuple(ci.CONFIDENCE_LABELS.values())),),
    ),))  # fmt: skip
    tabs = (
        dashboard_tab(result, facts, previous, timezone),
        Tab("Key Results", (Table("key_results", KR_HEADER, kr_rows(
            result, previous, units, _updated(result.kpis, result.as_of))),)),
        *((checkins,) if checkins_tab else ()),
        Tab("KPIs", (Table("kpis", KPI_HEADER, kpi_rows(result)),)),
        Tab("History", (Table("history", HISTORY_HEADER, history_rows(
            kr_history, kpi_history, units, result.checkins)),)),
        Tab("Sources", (Table("sources", SOURCE_HEADER, source_rows(result.sources, timezone)),)),
    )
    chart = ChartSpec("Dashboard", "objectives", "Objective progress", categories=1, values=(4, 5),
                      anchor=CHART_ANCHOR)
    return TrackerContent(tabs, facts, (chart,))


__all__ = [
    "CHECKINS_TAB",
    "CHECKIN_HEADER",
    "STATUSES",
    "STATUS_LABELS",
    "TAB_NAMES",
    "Cell",
    "ChartSpec",
    "DashboardFacts",
    "Kind",
    "Tab",
    "Table",
    "TrackerContent",
    "build_tracker",
    "format_value",
    "number_format",
    "sparkline",
]
