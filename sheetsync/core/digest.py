"""What the Monday digest says, as plain data: built from a sync result and last week's snapshot.

Nothing here renders or sends. `build_digest` decides the facts (highlights, what needs
attention, each objective's key results with their change since last week, the KPI table,
the subject line) so the HTML and text templates only lay them out, and tests can check
the facts without parsing an email.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TypeVar

from sheetsync.core import checkins as ci
from sheetsync.core import display
from sheetsync.core.checkins import CheckIn
from sheetsync.core.key_results import STATUSES, KeyResultResult
from sheetsync.core.kpis import KPIResult
from sheetsync.core.model import DigestConfig, SubjectTemplate
from sheetsync.core.objectives import ObjectiveResult
from sheetsync.core.periods import Period, day_text
from sheetsync.core.results import SourceResult, SyncResult, compare_with
from sheetsync.core.snapshot import Snapshot, week_key

ALL = "all"
"""The audience name of the digest that covers every objective."""

_RANK = {status: rank for rank, status in enumerate(STATUSES)}  # done=0 ... no_data=4
_SEVERITY = {"off_track": 0, "at_risk": 1, "checkin": 2, "kpi": 3, "no_data": 4, "source": 5, "warning": 6}
MAX_WARNINGS_SHOWN = 3
MAX_NAMES_IN_NOTE = 10  # KPIs named in one stale note, then "and N more"
_HTTP = re.compile(r"^https?://[^\s\"'<>]+$")  # only web links become the tracker button


@dataclass(frozen=True)
class KRLine:
    """One key result as the digest shows it: its figures, this week's change and the owner's check-in."""

    id: str
    title: str
    owner: str
    unit: str
    direction: str
    start: float | None
    target: float | None
    current: float | None
    progress: float | None  # clamped to [0, 1]
    progress_raw: float | None
    expected: float
    status: str
    previous_status: str | None = None
    previous_current: float | None = None
    value_change: float | None = None  # current minus last week's, both measured (`compare_with`)
    progress_change: float | None = None
    change_unknown: str | None = None  # why there is no change: a carried figure ("no new data this week")
    stale: str | None = None
    note: str | None = None  # plain words for stakeholders: carried, old, or why there is no data
    grade: str | None = None
    kind: str = "committed"
    checkin: CheckIn | None = None  # the owner's latest check-in (confidence, comment), when there is one
    week: str = ""  # the digest's ISO week
    objective_owner: str = ""

    @property
    def responsible(self) -> str:
        """Who checks in: the KR's owner, else its objective's."""
        return self.owner or self.objective_owner

    @property
    def checked_in_this_week(self) -> bool:
        return self.checkin is not None and self.checkin.week == self.week

    @property
    def checkin_text(self) -> str | None:
        """What the owner said, as one line: 'Ana, at risk: supplier slipped to January'."""
        c = self.checkin
        if c is None:
            return None
        who = c.by or self.responsible or "owner"
        said = f"{who}, {ci.confidence_label(c.confidence).lower()}" if c.confidence else who
        if c.comment:
            said += f": {c.comment}"
        if c.value is not None:
            said += f" (value {display.value(c.value, self.unit)})"
        when = c.date.isoformat() if self.checked_in_this_week else f"{c.week}, {c.date.isoformat()}"
        return f"{said} · {when}"

    @property
    def disagreement(self) -> int:
        """Steps between this week's owner confidence and the computed status (2: owner says off track,
        data says on track, or the other way round)."""
        if not self.checked_in_this_week or self.checkin is None:
            return 0
        return ci.disagreement(self.checkin.confidence, self.status)

    @property
    def progress_shown(self) -> float | None:
        """Progress as people read it: past 100% when beaten, never below 0% when behind start."""
        if self.progress_raw is not None and self.progress_raw > 1:
            return self.progress_raw
        return self.progress

    @property
    def change_tone(self) -> str:
        """'good', 'bad' or 'flat': whether this week's progress went up or down."""
        return _tone(self.progress_change, "increase")

    @property
    def status_moved(self) -> int:
        """+1 when the status improved since last week, -1 when it slipped, 0 otherwise."""
        return _moved(self.previous_status, self.status)


@dataclass(frozen=True)
class ObjectiveBlock:
    """One objective with its key results, its progress against the expected pace and its change."""

    id: str
    title: str
    owner: str
    team: str
    parent: str
    progress: float | None
    status: str
    expected: float
    key_results: tuple[KRLine, ...]
    previous_progress: float | None = None
    more_key_results: int = 0  # left out of a bounded digest (`bounded`): they are in the tracker
    progress_change: float | None = None  # like with like: the KRs measured both weeks
    change_unknown: str | None = None  # why there is no change: its figures were carried
    measured: int = 0
    kr_count: int = 0

    @property
    def score(self) -> float | None:
        return self.progress


@dataclass(frozen=True)
class KPIRow:
    """One row of the KPI table: the value, its target and last week's, and the series for its chart."""

    id: str
    title: str
    unit: str
    direction: str
    value: float | None
    target: float | None
    previous: float | None
    status: str
    grain_label: str  # "week of 2026-11-16", "2026-11"
    series: tuple[float | None, ...] = ()
    series_complete: tuple[bool, ...] = ()
    stale: str | None = None  # why it is old, for ops (the tracker, the JSON and the log say it)
    note: str | None = None  # the same for stakeholders (`plain_kpi_note`): what the digest and the PDF show

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def change_tone(self) -> str:
        return _tone(self.change, self.direction)


@dataclass(frozen=True)
class Highlight:
    """A key result worth a mention: it reached its target or its status moved up since last week."""

    kr_id: str
    title: str
    objective: str
    status: str
    previous_status: str | None
    current: float | None
    unit: str

    @property
    def reason(self) -> str:
        if self.status == "done":
            return "reached its target"
        return f"moved up from {display.status_label(self.previous_status)} to {display.status_label(self.status)}"


@dataclass(frozen=True)
class AttentionItem:
    """Something that needs a look: a key result off track or at risk, a KPI, a source, a warning."""

    kind: str  # off_track | at_risk | kpi | no_data | source | warning
    ref: str  # KR id, KPI id or source name
    title: str
    detail: str
    status: str

    @property
    def label(self) -> str:
        return {
            "off_track": "Off track",
            "at_risk": "At risk",
            "kpi": "KPI",
            "no_data": "No data",
            "source": "Source",
            "warning": "Warning",
            "checkin": "Check-in",
        }[self.kind]


@dataclass(frozen=True)
class Omitted:
    """How much a bounded digest (`bounded`) leaves out of each list: all of it is in the tracker."""

    objectives: int = 0
    key_results: int = 0  # in the objectives left out and in those shown only in part
    highlights: int = 0
    attention: int = 0
    kpis: int = 0
    stale_notes: int = 0
    sources: int = 0
    missing_checkins: int = 0

    def __bool__(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class DigestContent:
    """Everything one digest says, as plain data: the templates only lay it out."""

    project: str
    audience: str  # "all" or a team name
    team: str | None
    subject: str
    as_of: date
    week: str  # ISO week key, 2026-W48
    period_name: str
    period_start: date
    period_end: date
    expected: float
    overall_progress: float | None
    previous_overall: float | None
    previous_week: str | None
    status_counts: dict[str, int]
    highlights: tuple[Highlight, ...]
    needs_attention: tuple[AttentionItem, ...]
    objectives: tuple[ObjectiveBlock, ...]
    kpis: tuple[KPIRow, ...]
    stale_notes: tuple[str, ...] = ()
    tracker_url: str | None = None
    tracker_name: str | None = None
    tracker_attached: bool = False
    sources: tuple[str, ...] = field(default=())
    omitted: Omitted = field(default_factory=lambda: Omitted())
    report_attached: bool = False  # the PDF report travels with the email ([digest] attach_pdf)
    checkins_on: bool = False  # owners check in: the digest lists those who have not this week
    missing_checkins: tuple[KRLine, ...] = ()  # key results with no check-in this week
    overall_change: float | None = None  # like with like: the mean of the objectives' changes
    new_period: bool = False  # the period's first week: nothing earlier in it to compare with
    closed: bool = False  # the period is over: this digest is its close-out

    @property
    def final_objectives(self) -> tuple[ObjectiveBlock, ...]:
        """Objectives with their final scores (the close-out), those with KRs of their own first."""
        return self.objectives

    @property
    def done(self) -> tuple[KRLine, ...]:
        return tuple(kr for o in self.objectives for kr in o.key_results if kr.status == "done")

    @property
    def missed(self) -> tuple[KRLine, ...]:
        return tuple(kr for o in self.objectives for kr in o.key_results if kr.status in ("missed", "no_data"))

    @property
    def all_clear(self) -> str:
        """What an empty "Needs attention" says: only what is true of this digest.

        Old numbers are named in the banner above and a closed period's misses in its
        close-out, neither in the attention list; the sentence must not deny them.
        """
        if self.closed and any(kr.status == "missed" for kr in self.missed):
            krs = "Nothing open: the period is over, and what it missed is in the close-out above"
        else:
            krs = "Nothing: every key result is on track"
        data = "the numbers that are old are named above" if self.stale_notes else "every number is up to date"
        return f"{krs}; {data}."

    @property
    def no_highlights(self) -> str:
        """What an empty Highlights says: since when nothing improved, or that the period ended so."""
        if self.previous_week:
            return f"No key result reached its target or moved up a status since {self.previous_week}."
        if self.closed:
            return f"No key result reached its target in {self.period_name}."
        return "No key result has reached its target yet; from next week this lists every status that improved."

    @property
    def week_number(self) -> int:
        return int(self.week.split("-W")[1])


def _tone(delta: float | None, direction: str) -> str:
    if delta is None or abs(delta) < 1e-12:
        return "flat"
    return "good" if (delta > 0) == (direction != "decrease") else "bad"


def _moved(before: str | None, after: str) -> int:
    if before is None or before == after or "no_data" in (before, after):
        return 0
    return 1 if _RANK[after] < _RANK[before] else -1


# --- building ---------------------------------------------------------------------------


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) address (the only links sheetsync puts in a button), else None."""
    return url if url and _HTTP.match(url) else None


def team_objectives(result: SyncResult, team: str) -> list[ObjectiveResult]:
    """A team's objectives: those whose `team` matches, ignoring case and spaces around it."""
    wanted = team.strip().casefold()
    return [o for o in result.objectives if o.team.strip().casefold() == wanted]


def build_digest(
    result: SyncResult,
    previous: Snapshot | None,
    config: DigestConfig,
    *,
    team: str | None = None,
    tracker_url: str | None = None,
    tracker_name: str | None = None,
    tracker_attached: bool = False,
) -> DigestContent:
    """The digest for everyone (team None) or for one team's objectives and their KPIs."""
    result = compare_with(result, previous)  # changes within this period only
    if result.previous_week is None:
        previous = None
    objectives = list(result.objectives) if team is None else team_objectives(result, team)
    kpi_ids = {kr.kpi for o in objectives for kr in o.key_results}
    kpis = [k for k in result.kpis if team is None or k.id in kpi_ids]
    by_id = {k.id: k for k in result.kpis}
    blocks = tuple(_objective_block(o, previous, week_key(result.as_of), by_id) for o in objectives)
    lines = [kr for block in blocks for kr in block.key_results]
    if team is None:
        overall = result.overall_progress
        before = previous.overall_progress if previous else None
        overall_change = result.overall_change
    else:
        overall = _mean([o.progress for o in objectives])
        before = _mean([previous.objectives.get(o.id, (None, ""))[0] for o in objectives]) if previous else None
        overall_change = _mean([o.change for o in objectives])
    sources = [s for s in result.sources if team is None or _feeds(s, kpis)]
    counts = {status: sum(1 for kr in lines if kr.status == status) for status in STATUSES}
    subject = render_subject(
        config.subject, result, team=team, overall=overall, append_team=team is not None
    )
    return DigestContent(
        project=result.project,
        audience=ALL if team is None else team,
        team=team,
        subject=subject,
        as_of=result.as_of,
        week=week_key(result.as_of),
        period_name=result.period.name,
        period_start=result.period.start,
        period_end=result.period.end,
        expected=result.expected,
        overall_progress=overall,
        previous_overall=before,
        previous_week=previous.week if previous else None,
        status_counts=counts,
        highlights=tuple(_highlights(lines, blocks, previous is not None)),
        needs_attention=tuple(_attention(blocks, kpis, sources, result, team is None)),
        objectives=blocks,
        kpis=tuple(_kpi_row(k, result.period) for k in kpis),
        stale_notes=(*result.notices, *_stale_notes(sources, kpis, lines)),
        tracker_url=tracker_url if tracker_url and _HTTP.match(tracker_url) else None,
        tracker_name=tracker_name,
        tracker_attached=tracker_attached,
        sources=tuple(s.name for s in sources),
        checkins_on=result.checkins_on,
        missing_checkins=tuple(kr for kr in lines if result.checkins_on and not kr.checked_in_this_week),
        overall_change=overall_change,
        new_period=previous is None and (result.as_of - result.period.start).days < 7,
        closed=result.closed,
    )


def render_subject(
    template: SubjectTemplate, result: SyncResult, *, team: str | None, overall: float | None, append_team: bool
) -> str:
    """The subject from its template, on one line whatever the config or a sheet put in it."""
    iso = result.as_of.isocalendar()
    fields = {
        "project": result.project,
        "period": result.period.name,
        "week": str(iso.week),
        "iso_week": week_key(result.as_of),
        "as_of": result.as_of.isoformat(),
        "team": team or "",
        "progress": display.percent(overall),
        "elapsed": display.percent(result.expected),
    }
    subject = template.fill({k: display.one_line(v) for k, v in fields.items()})
    if append_team and team and "{team}" not in template.text:
        subject = f"{subject} · {team}"
    return display.one_line(subject, limit=200)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _feeds(source: SourceResult, kpis: Sequence[KPIResult]) -> bool:
    return any(k.source == source.name or source.name in k.stale_sources for k in kpis)


def plain_kpi_note(kpi: KPIResult) -> str | None:
    """Why a stale KPI's number is old, for stakeholders: no paths, hosts or error codes."""
    if not kpi.stale:
        return None
    if kpi.carried and kpi.value_as_of is not None:
        why = "this week's data could not be read" if kpi.failed else "no new data"
        return f"last good value, from {day_text(kpi.value_as_of)}: {why}"
    if kpi.value is not None and kpi.data_through is not None:
        return f"no new data since {day_text(kpi.data_through)}"
    return "its data could not be read this week" if kpi.data_through is None else (
        f"no data since {day_text(kpi.data_through)}")


def plain_note(kr: KeyResultResult, kpi: KPIResult | None) -> str | None:
    """What a stakeholder needs to know about a KR's number, with no paths or error codes."""
    if kpi is not None and kpi.stale:
        return plain_kpi_note(kpi)
    if kpi is None and kr.stale and kr.current is not None and kr.value_as_of is not None:  # a manual KR's
        return f"last check-in value, from {day_text(kr.value_as_of)}: none this week"
    if kr.current is None and kr.note:
        return f"no data: {kr.note}"
    return kr.note


def _kr_line(
    kr: KeyResultResult, previous: Snapshot | None, week: str = "", owner: str = "", kpi: KPIResult | None = None
) -> KRLine:
    before = previous.key_results.get(kr.id) if previous else None
    return KRLine(
        id=kr.id,
        title=kr.title,
        owner=kr.owner,
        unit=kr.unit,
        direction=kr.direction,
        start=kr.start,
        target=kr.target,
        current=kr.current,
        progress=kr.progress,
        progress_raw=kr.progress_raw,
        expected=kr.expected,
        status=kr.status,
        previous_status=before.status if before else None,
        previous_current=before.current if before else None,
        value_change=kr.value_change,
        progress_change=kr.change,
        change_unknown=kr.change_unknown,
        stale=kr.stale,
        note=plain_note(kr, kpi),
        grade=kr.grade,
        kind=kr.kind,
        checkin=kr.checkin,
        week=week,
        objective_owner=owner,
    )


def _objective_block(
    objective: ObjectiveResult, previous: Snapshot | None, week: str = "", kpis: dict[str, KPIResult] | None = None
) -> ObjectiveBlock:
    before = previous.objectives.get(objective.id) if previous else None
    return ObjectiveBlock(
        id=objective.id,
        title=objective.title,
        owner=objective.owner,
        team=objective.team,
        parent=objective.parent,
        progress=objective.progress,
        status=objective.status,
        expected=objective.expected,
        key_results=tuple(_kr_line(kr, previous, week, objective.owner, (kpis or {}).get(kr.kpi or ""))
                          for kr in objective.key_results),
        previous_progress=before[0] if before else None,
        progress_change=objective.change,
        change_unknown=objective.change_unknown,
        measured=objective.measured,
        kr_count=objective.kr_count,
    )


def window_label(start: date | None, end: date | None, period: Period) -> str:
    """What a KPI value covers, as people say it: '2026-Q4 to date', 'Oct 2026', '16 – 22 Nov'."""
    if start is None or end is None:
        return "all rows"
    if start.day == 1 and (end + timedelta(days=1)).day == 1 and (start.year, start.month) == (end.year, end.month):
        return f"{start:%b %Y}"
    if start == period.start and end != period.end:
        return f"{period.name} to date"
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.month == end.month:
        return f"{start.day} – {end.day} {end:%b}"
    return f"{start.day} {start:%b} – {end.day} {end:%b}"


def _kpi_row(kpi: KPIResult, period: Period) -> KPIRow:
    label = window_label(kpi.window_start, kpi.window_end, period)
    return KPIRow(
        id=kpi.id,
        title=kpi.title,
        unit=kpi.unit,
        direction=kpi.direction,
        value=kpi.value,
        target=kpi.target,
        previous=kpi.previous,
        status=kpi.status,
        grain_label=label,
        series=tuple(p.value for p in kpi.series),
        series_complete=tuple(p.complete for p in kpi.series),
        stale=kpi.stale,
        note=plain_kpi_note(kpi),
    )


def _highlights(lines: Sequence[KRLine], blocks: Sequence[ObjectiveBlock], have_previous: bool) -> list[Highlight]:
    """KRs that reached done or moved up a status; with no earlier digest, those already done."""
    objective_of = {kr.id: b.id for b in blocks for kr in b.key_results}
    out = []
    for kr in lines:
        reached_done = kr.status == "done" and kr.previous_status != "done"
        if (reached_done and (have_previous or kr.previous_status is None)) or kr.status_moved > 0:
            out.append(
                Highlight(kr.id, kr.title, objective_of[kr.id], kr.status, kr.previous_status, kr.current, kr.unit)
            )
    return sorted(out, key=lambda h: _RANK[h.status])


def _attention(
    blocks: Sequence[ObjectiveBlock],
    kpis: Sequence[KPIResult],
    sources: Sequence[SourceResult],
    result: SyncResult,
    everyone: bool,
) -> list[AttentionItem]:
    items: list[AttentionItem] = []
    for block in blocks:
        for kr in block.key_results:
            if kr.status in ("off_track", "at_risk"):
                detail = (
                    f"{display.value(kr.current, kr.unit)} toward {display.value(kr.target, kr.unit)}: "
                    f"{display.percent(kr.progress)} done, {display.percent(kr.expected)} expected by now"
                )
                if kr.status_moved < 0:
                    detail += f" (was {display.status_label(kr.previous_status)})"
                items.append(AttentionItem(kr.status, kr.id, kr.title, detail, kr.status))
            elif kr.status == "no_data":
                items.append(AttentionItem("no_data", kr.id, kr.title, kr.note or "no data this week", "no_data"))
            if kr.disagreement >= 2 and kr.checkin is not None:
                who = kr.checkin.by or kr.responsible or "the owner"
                detail = (f"{who} says {ci.confidence_label(kr.checkin.confidence).lower()}, the numbers say "
                          f"{display.status_label(kr.status)}")  # fmt: skip
                if kr.checkin.comment:
                    detail += f": {kr.checkin.comment}"
                items.append(AttentionItem("checkin", kr.id, kr.title, detail, "at_risk"))
    for kpi in kpis:
        if kpi.status in ("off_track", "at_risk"):
            limit = f"target {display.value(kpi.target, kpi.unit)}"
            if kpi.status == "off_track" and kpi.warn is not None:
                limit += f", warning level {display.value(kpi.warn, kpi.unit)}"
            items.append(AttentionItem(
                "kpi", kpi.id, kpi.title,
                f"{display.value(kpi.value, kpi.unit)} against {limit} ({display.status_label(kpi.status)})",
                kpi.status,
            ))
        elif kpi.status == "no_data" and not kpi.stale:
            items.append(AttentionItem("kpi", kpi.id, kpi.title, f"no data: {kpi.note or 'no value this week'}",
                                       "no_data"))
    # Sources that failed or warned, and cell-level warnings, are for ops (the log, `check`, the
    # tracker's Sources tab): stakeholders read in the banner which numbers are old, not why.
    return sorted(items, key=lambda item: _SEVERITY[item.kind])  # stable: config order within a kind


def _stale_notes(sources: Sequence[SourceResult], kpis: Sequence[KPIResult], lines: Sequence[KRLine]) -> list[str]:
    """One plain sentence per kind of old number, and since when, naming the KPIs it covers.

    Stakeholders read facts ("Revenue: no new data since 23 Nov 2026"; "Orders and Conversion
    rate: could not be refreshed; showing the values from 10 Nov 2026"); why a source failed,
    with its file path or HTTP error, is for ops (the log, `check`, the tracker's Sources tab).
    """
    groups: dict[tuple[str, date | None], list[str]] = {}
    for k in kpis:
        if not k.stale:
            continue
        if k.carried and k.value_as_of is not None:
            key = ("could not be refreshed" if k.failed else "no new data", k.value_as_of)
        elif k.data_through is not None:
            key = ("no new data since", k.data_through)
        else:
            key = ("could not be refreshed, and there is no earlier value to show", None)
        groups.setdefault(key, []).append(k.title)
    notes = []
    for (phrase, day), titles in groups.items():
        if len(titles) > MAX_NAMES_IN_NOTE:
            names = f"{', '.join(titles[:MAX_NAMES_IN_NOTE])}, and {len(titles) - MAX_NAMES_IN_NOTE} more"
        else:
            names = titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
        if day is None:
            notes.append(f"{names}: {phrase}.")
        elif phrase == "no new data since":
            notes.append(f"{names}: no new data since {day_text(day)}.")
        else:
            values = "value" if len(titles) == 1 else "values"
            notes.append(f"{names}: {phrase}; showing the {values} from {day_text(day)}.")
    return notes


# --- bounded at any organisation size ---------------------------------------------------


@dataclass(frozen=True)
class DigestLimits:
    """The most an email digest lists of each kind; what is left out is counted and in the tracker.

    An organisation of 10,000 key results must still get a readable email of a few hundred
    KB that renders in well under two seconds, not 30 MB of HTML and a 56,000-pixel image.
    """

    objectives: int = 20  # objectives in the overview chart and in the detailed list
    key_results: int = 100  # key results in the detailed list, across all objectives shown
    highlights: int = 20
    attention: int = 40
    kpis: int = 50
    stale_notes: int = 10
    sources: int = 10
    missing_checkins: int = 50  # key results listed as having no check-in this week


_NEEDS_LOOK = {"off_track": 0, "at_risk": 1, "no_data": 2}
T = TypeVar("T")


def _first_needing_a_look(items: Sequence[T], status: Callable[[T], str], limit: int) -> tuple[T, ...]:
    """All of `items` when they fit; else those off track, at risk or without data first (stable)."""
    if len(items) <= limit:
        return tuple(items)
    return tuple(sorted(items, key=lambda item: _NEEDS_LOOK.get(status(item), 3))[:limit])


def objectives_needing_a_look_first(content: DigestContent) -> list[ObjectiveBlock]:
    """The objectives, those off track, at risk or without data first (stable): what a chat post
    lists, since its size limit cuts the end of the list."""
    return sorted(content.objectives, key=lambda o: _NEEDS_LOOK.get(o.status, 3))


def bounded(content: DigestContent, limits: DigestLimits | None = None) -> DigestContent:
    """`content` with every list capped by `limits`, and `omitted` saying how much each lost.

    What needs attention stays: objectives and key results off track, at risk or without data
    come first, the attention list is already ordered by severity. Counts by status, overall
    progress and the subject still cover everything. A digest within the limits is unchanged.
    """
    limits = limits or DigestLimits()
    objectives = _first_needing_a_look(content.objectives, lambda o: o.status, limits.objectives)
    budget = limits.key_results
    blocks = []
    for block in objectives:
        krs = _first_needing_a_look(block.key_results, lambda kr: kr.status, max(budget, 0))
        budget -= len(krs)
        blocks.append(replace(block, key_results=krs, more_key_results=len(block.key_results) - len(krs)))
    total_krs = sum(len(o.key_results) for o in content.objectives)
    shown_krs = sum(len(b.key_results) for b in blocks)
    kpis = _first_needing_a_look(content.kpis, lambda k: k.status, limits.kpis)
    omitted = Omitted(
        objectives=len(content.objectives) - len(blocks),
        key_results=total_krs - shown_krs,
        highlights=max(len(content.highlights) - limits.highlights, 0),
        attention=max(len(content.needs_attention) - limits.attention, 0),
        kpis=len(content.kpis) - len(kpis),
        stale_notes=max(len(content.stale_notes) - limits.stale_notes, 0),
        sources=max(len(content.sources) - limits.sources, 0),
        missing_checkins=max(len(content.missing_checkins) - limits.missing_checkins, 0),
    )
    if not omitted:
        return content
    return replace(
        content,
        objectives=tuple(blocks),
        highlights=content.highlights[: limits.highlights],
        needs_attention=content.needs_attention[: limits.attention],
        kpis=kpis,
        stale_notes=content.stale_notes[: limits.stale_notes],
        sources=content.sources[: limits.sources],
        missing_checkins=content.missing_checkins[: limits.missing_checkins],
        omitted=omitted,
    )
