"""The typed configuration: what `config.toml` says, after `sheetsync.config` has checked it.

Plain frozen dataclasses, so the core computes from values that are already valid and never
re-reads the file. Values written in a small language of their own (filters, formulas,
changes, schedule entries), spreadsheet URLs and web links are held parsed, and paths are
`pathlib.Path`s already resolved against the config's folder, so nothing parses them again at
run time and a value that passed `check` cannot fail later. Built from code, such a field also
takes its text, parsed once on construction: `KPIConfig(..., filter="Region == 'EU'")` is the
same as the line in config.toml.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sheetsync.core.expressions import Filter, Formula, parse_filter, parse_formula
from sheetsync.core.parsed_text import ParsedText
from sheetsync.core.periods import Period
from sheetsync.core.schedule_spec import Spec, parse_spec
from sheetsync.core.sheet_range import SheetRange, parse_range
from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ConfigError

SOURCE_TYPES = ("csv", "xlsx", "gsheet", "sql", "parquet")
WAREHOUSE_TYPES = ("sql", "parquet")  # read through Ibis, the KPI math pushed down to the engine
AGGS = ("sum", "mean", "median", "min", "max", "count", "count_distinct", "first", "last")
WINDOWS = ("to_date", "latest")
DIRECTIONS = ("increase", "decrease")
TRACKER_TYPES = ("xlsx", "gsheet")
SECURITY = ("starttls", "ssl", "none")
SUBJECT_FIELDS = ("project", "period", "week", "iso_week", "as_of", "team", "progress", "elapsed")
DEFAULT_SUBJECT = "{project} OKRs · {period} · week {week}"
KR_KINDS = ("committed", "aspirational")



def _as_paths(config: Any, *names: str) -> None:
    """Hold path fields given as text (by code, not the config reader) as `Path`s."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, str):
            object.__setattr__(config, name, Path(value))
        elif isinstance(value, tuple):
            object.__setattr__(config, name, tuple(Path(v) if isinstance(v, str) else v for v in value))


def _parse_text(config: Any, name: str, parse: Callable[[str], Any], key: str | None = None) -> None:
    """Replace a field given as text (by code, not the config reader) with its parsed value.

    `key` is the field's dotted key in config.toml, put before a parse error's message.
    """
    value = getattr(config, name)
    if isinstance(value, str):
        try:
            parsed = parse(value)
        except ConfigError as exc:
            if key is None:
                raise
            raise ConfigError(f"{key}: {exc}", key=key) from None
        object.__setattr__(config, name, parsed)


_CHANGE_RE = re.compile(r"^\s*(?P<sign>[+-])\s*(?P<num>\d+(?:\.\d+)?)\s*(?P<pct>%)?\s*$")


@dataclass(frozen=True, eq=False)
class Change(ParsedText):
    """A key result's target written as a change from its baseline: "+15%" of it, or "+5"."""

    text: str
    amount: float  # 0.15 for "+15%", -5.0 for "-5"
    relative: bool

    def target(self, anchor: float) -> float:
        """The baseline moved by the change, to 12 significant digits: 111 up 10% is 122.1 in the
        tracker's cells and the JSON, not the 122.10000000000001 that 111 * 1.1 makes."""
        moved = anchor * (1 + self.amount) if self.relative else anchor + self.amount
        return float(f"{moved:.12g}") if math.isfinite(moved) else moved


def parse_change(text: str) -> Change:
    """'+15%' -> 15% up from the baseline; '-5' -> 5 down. Raises ConfigError otherwise."""
    match = _CHANGE_RE.match(text)
    if not match:
        raise ConfigError(f'{text!r} is not a change: use e.g. "+15%", "-15%" or "+5"')
    amount = float(match["num"]) * (-1 if match["sign"] == "-" else 1)
    return Change(text, amount / 100, True) if match["pct"] else Change(text, amount, False)


@dataclass(frozen=True, eq=False)
class SubjectTemplate(ParsedText):
    """The digest's subject line, e.g. "{project} OKRs · {period} · week {week}", checked once.

    Every placeholder is one of SUBJECT_FIELDS and the template was tried with text in each,
    so `fill` cannot fail on Monday morning.
    """

    text: str
    fields: frozenset[str]

    def fill(self, values: Mapping[str, str]) -> str:
        return self.text.format(**{name: values.get(name, "") for name in SUBJECT_FIELDS})


def parse_subject(text: str) -> SubjectTemplate:
    """A subject template whose placeholders are known and fillable; raises ConfigError otherwise."""
    try:
        parts = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"bad template {text!r}: {exc}") from None
    for name, spec in parts:
        if name not in SUBJECT_FIELDS:
            raise ConfigError(
                f"unknown placeholder {{{name}}}{did_you_mean(name, SUBJECT_FIELDS)}; use {', '.join(SUBJECT_FIELDS)}"
            )
        if spec and re.search(r"\d{4}", spec):
            raise ConfigError(f"placeholder {{{name}:{spec}}} asks for a width beyond a subject line")
    # Every field is filled with text (see core.digest.render_subject): a spec such as
    # {week:d} or a conversion such as {project!z} fails here, not on Monday morning.
    try:
        text.format(**dict.fromkeys(SUBJECT_FIELDS, "text"))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigError(f"bad template {text!r}: {exc} (every placeholder is filled with text)") from None
    return SubjectTemplate(text, frozenset(name for name, _ in parts))


SHEETS_URL = "https://docs.google.com/spreadsheets/d/{key}"
_SHEET_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_SHEET_URL_KEY_RE = re.compile(r"/spreadsheets/(?:u/\d+/)?d/(?P<key>[A-Za-z0-9_-]+)")


@dataclass(frozen=True, eq=False)
class SpreadsheetRef(ParsedText):
    """A Google Sheet named in config by its URL or bare key: the key and, from ``#gid=``, a tab id."""

    text: str
    key: str
    gid: int | None = None

    @property
    def url(self) -> str:
        """The spreadsheet's address, the same for every way of naming it (messages, the JSON)."""
        return SHEETS_URL.format(key=self.key)

    @property
    def link(self) -> str:
        """Where a person opens it: the URL as configured (tab and all), else its edit page."""
        return self.text if "://" in self.text else f"{self.url}/edit"


def parse_spreadsheet(value: str) -> SpreadsheetRef:
    """A spreadsheet URL (``https://docs.google.com/spreadsheets/d/<key>/edit#gid=0``) or bare key.

    Raises ConfigError with a message for the user when it is neither.
    """
    text = value.strip()
    if not text:
        raise ConfigError("spreadsheet is empty: give the spreadsheet's URL or key")
    if _SHEET_KEY_RE.match(text):
        return SpreadsheetRef(text, text)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{text!r} is neither a spreadsheet key nor a Google Sheets URL")
    if "/spreadsheets/d/e/" in parts.path:
        raise ConfigError(
            "a 'Publish to the web' link cannot be read through the Sheets API: use the URL of the "
            "spreadsheet itself (https://docs.google.com/spreadsheets/d/<key>/edit)"
        )
    match = _SHEET_URL_KEY_RE.search(parts.path)
    if not match:
        raise ConfigError(
            f"{text!r} is not a Google Sheets URL (expected https://docs.google.com/spreadsheets/d/<key>)"
        )
    gid: int | None = None
    for part in (parts.fragment, parts.query):
        found = parse_qs(part).get("gid")
        if found and found[0].isdigit():
            gid = int(found[0])
            break
    return SpreadsheetRef(text, match["key"], gid)


_WEB_URL_RE = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class WebLink(ParsedText):
    """An http(s) address people open from a message, e.g. ``digest.tracker_url``."""

    text: str


def parse_web_link(value: str) -> WebLink:
    """An http(s) URL with a host; raises ConfigError otherwise (a ``javascript:`` link never gets in)."""
    text = value.strip()
    if not _WEB_URL_RE.match(text) or not urlsplit(text).netloc:
        raise ConfigError(f"expected an http(s) URL such as \"https://docs.google.com/...\", got {value!r}")
    return WebLink(text)


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    path: Path | None = None  # csv/xlsx/parquet: absolute path, or a glob
    sheet: str | None = None  # xlsx
    spreadsheet: SpreadsheetRef | None = None  # gsheet: from its URL or key
    worksheet: str | None = None  # gsheet
    range: SheetRange | None = None  # gsheet: an A1 range, with or without its tab
    rename: Mapping[str, str] = field(default_factory=dict)
    filter: Filter | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    header_row: int = 1
    dayfirst: bool | None = None  # None: decided per date column from its values
    incremental: bool = True  # gsheet: reuse the last values while Drive says the file is unchanged
    fresh_within: float | None = None  # days of slack for every KPI of this source (see KPIConfig)
    url: str | None = None  # sql: connection URL (SQLAlchemy form); never shown with its password
    url_env: str | None = None  # sql: environment variable holding the URL
    table: str | None = None  # sql: table name, optionally schema-qualified
    query: str | None = None  # sql: a SELECT the KPIs treat as a table
    root: Path | None = None  # sql: the config file's folder, for relative duckdb:/// paths
    timeout: float = 300.0  # sql/parquet: seconds all of the source's queries together may take
    memory_limit: str | None = None  # duckdb/parquet: the embedded engine's memory ("1GB"); None: a quarter of RAM
    scratch_dir: Path | None = None  # duckdb/parquet: where spill folders go (<state_dir>/scratch); None: system temp

    @property
    def is_warehouse(self) -> bool:
        """Read through Ibis with the KPI aggregation pushed down to the engine."""
        return self.type in WAREHOUSE_TYPES

    def __post_init__(self) -> None:
        _parse_text(self, "filter", parse_filter)
        _parse_text(self, "spreadsheet", parse_spreadsheet, f"sources.{self.name}.spreadsheet")
        _parse_text(self, "range", parse_range, f"sources.{self.name}.range")
        _as_paths(self, "path", "root", "scratch_dir")


@dataclass(frozen=True)
class KPIConfig:
    id: str
    title: str
    source: str | None = None
    column: str | None = None
    agg: str = "sum"
    date_column: str | None = None
    filter: Filter | None = None
    window: str = "to_date"
    grain: str = "week"
    unit: str = ""
    direction: str = "increase"
    target: float | None = None
    warn: float | None = None
    formula: Formula | None = None
    fresh_within: float | None = None
    """Days its newest row may lag the as-of date; None: its last complete grain bucket must have
    rows; infinity ("never"): never stale."""

    def __post_init__(self) -> None:
        _parse_text(self, "filter", parse_filter)
        _parse_text(self, "formula", parse_formula)


@dataclass(frozen=True)
class KeyResultConfig:
    id: str
    title: str
    kpi: str | None  # None for a manual KR, whose value comes from check-ins
    start: float | None = None
    target: float | None = None
    baseline: float | str | None = None  # number or "previous_period"
    change: Change | None = None  # "+15%", "-15%", "+5"
    weight: float = 1.0
    direction: str | None = None
    owner: str = ""
    manual: bool = False  # the current value is the latest check-in's Value
    unit: str = ""  # a manual KR's unit (a KPI-backed KR takes its KPI's)
    owner_email: str = ""  # where check-in reminders go (else the objective's)
    kind: str = "committed"  # committed: expected to reach 1.0; aspirational: graded on [scoring]

    def __post_init__(self) -> None:
        _parse_text(self, "change", parse_change)


@dataclass(frozen=True)
class ObjectiveConfig:
    id: str
    title: str
    owner: str = ""
    owner_email: str = ""
    team: str = ""
    parent: str = ""
    key_results: tuple[KeyResultConfig, ...] = ()


@dataclass(frozen=True)
class StatusConfig:
    """How far progress may trail the expected pace before a KR is at risk / off track."""

    on_track: float = 0.10
    at_risk: float = 0.25


@dataclass(frozen=True)
class ScoringConfig:
    """Grades of aspirational KRs (Google's scale): red below `yellow`, green from `green`."""

    yellow: float = 0.4
    green: float = 0.7


@dataclass(frozen=True)
class TrackerConfig:
    type: str = "xlsx"
    path: Path | None = None
    template: Path | None = None
    spreadsheet: SpreadsheetRef | None = None
    create: str | None = None
    share: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _parse_text(self, "spreadsheet", parse_spreadsheet, "tracker.spreadsheet")
        _as_paths(self, "path", "template")


@dataclass(frozen=True)
class GoogleConfig:
    credentials: Path | None = None  # the first (or only) credentials file
    api_url: str | None = None
    retry_seconds: float = 120.0  # per request: how long 429/5xx retries may go on before giving up
    extra_credentials: tuple[Path, ...] = ()  # more service accounts: spreadsheets are spread across all
    requests_per_minute: int = 60  # per credential: Google's per-user read quota
    parallel: int = 8  # spreadsheets read at once
    full_read_days: float = 7.0  # incremental reads: re-read every spreadsheet at least this often

    @property
    def accounts(self) -> tuple[Path | None, ...]:
        """Every credentials file, in config order (None: GOOGLE_APPLICATION_CREDENTIALS)."""
        return (self.credentials, *self.extra_credentials)

    def __post_init__(self) -> None:
        _as_paths(self, "credentials", "extra_credentials")


@dataclass(frozen=True)
class ChatConfig:
    """`[digest.slack]` / `[digest.msteams]`: a webhook whose URL is in an environment variable.

    The URL is the credential (anyone holding it can post), so config only names the variable.
    """

    channel: str  # slack | msteams
    webhook_env: str


@dataclass(frozen=True)
class TeamDigestConfig:
    team: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    slack: ChatConfig | None = None
    msteams: ChatConfig | None = None

    @property
    def chats(self) -> tuple[ChatConfig, ...]:
        return tuple(c for c in (self.slack, self.msteams) if c is not None)


@dataclass(frozen=True)
class DigestConfig:
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    sender: str = "sheetsync@localhost"
    subject: SubjectTemplate = field(default_factory=lambda: parse_subject(DEFAULT_SUBJECT))
    smtp_host: str | None = None
    smtp_port: int | None = None
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout: float = 30.0
    outbox: Path = Path("outbox")
    attach_tracker: bool = False
    attach_pdf: bool = False  # the PDF report (sheetsync.render.pdf_report) attached to each digest
    tracker_url: WebLink | None = None
    teams: tuple[TeamDigestConfig, ...] = ()
    retries: int = 3  # delivery attempts before a digest is kept in outbox/pending
    retry_wait: float = 5.0  # seconds before the second attempt, doubling after
    slack: ChatConfig | None = None
    msteams: ChatConfig | None = None

    @property
    def chats(self) -> tuple[ChatConfig, ...]:
        return tuple(c for c in (self.slack, self.msteams) if c is not None)

    def __post_init__(self) -> None:
        _parse_text(self, "subject", parse_subject)
        _parse_text(self, "tracker_url", parse_web_link, "digest.tracker_url")
        _as_paths(self, "outbox")


@dataclass(frozen=True)
class AlertsConfig:
    """`[alerts]`: conditions checked on every sync, alerted once when they start and once when they clear."""

    kr_status_worse: bool = False  # a key result moves down a status (on track -> at risk -> off track)
    kpi_crossed: bool = False  # a KPI crosses its target or warning level, either way
    source_failed_runs: int = 0  # a source failed on this many syncs in a row (0: off)
    to: tuple[str, ...] = ()  # default: the digest's recipients
    chat: bool = False  # also post to the digest's Slack / Teams channels

    @property
    def enabled(self) -> bool:
        return self.kr_status_worse or self.kpi_crossed or self.source_failed_runs > 0


@dataclass(frozen=True)
class ReportConfig:
    """`[report]`: where every sync also writes the PDF report (None: only `sheetsync report` makes one)."""

    path: Path | None = None

    def __post_init__(self) -> None:
        _as_paths(self, "path")


DEFAULT_SCHEDULE: dict[str, tuple[str, ...]] = {"sync": ("monday 07:00",), "digest": ("monday 08:00",), "remind": ()}
"""When each job runs when `[schedule]` does not say, as it would be written there."""


@dataclass(frozen=True)
class ScheduleConfig:
    sync: tuple[Spec, ...] = field(default_factory=lambda: tuple(map(parse_spec, DEFAULT_SCHEDULE["sync"])))
    digest: tuple[Spec, ...] = field(default_factory=lambda: tuple(map(parse_spec, DEFAULT_SCHEDULE["digest"])))
    remind: tuple[Spec, ...] = ()  # check-in reminders, e.g. "friday 15:00"

    def __post_init__(self) -> None:
        for job in ("sync", "digest", "remind"):
            specs = getattr(self, job)
            object.__setattr__(self, job, tuple(parse_spec(s) if isinstance(s, str) else s for s in specs))


@dataclass(frozen=True)
class CheckinsConfig:
    """Where owners' check-ins come from: the tracker's Check-ins tab, or a source's rows."""

    enabled: bool = True
    source: str | None = None  # None: the tracker's own Check-ins tab
    kr: str = "Key result"
    date: str = "Date"
    confidence: str = "Confidence"
    comment: str = "Comment"
    value: str = "Value"
    by: str = "By"

    @property
    def from_tracker(self) -> bool:
        """True when the tracker gets a Check-ins tab and sheetsync reads it back."""
        return self.enabled and self.source is None


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    timezone: str
    period: Period
    state_dir: Path
    sources: Mapping[str, SourceConfig]
    kpis: Mapping[str, KPIConfig]
    objectives: tuple[ObjectiveConfig, ...]
    status: StatusConfig = StatusConfig()
    scoring: ScoringConfig = ScoringConfig()
    tracker: TrackerConfig = TrackerConfig()
    google: GoogleConfig = GoogleConfig()
    digest: DigestConfig = DigestConfig()
    report: ReportConfig = ReportConfig()
    alerts: AlertsConfig = AlertsConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    checkins: CheckinsConfig = CheckinsConfig()
    threads: int | None = None
    """Local files read at once; None: one per core, at most four (`connectors.sources`)."""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    """The `timezone` as a zone, made once: "today", the schedule and message dates use it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def key_results(self) -> Iterable[tuple[ObjectiveConfig, KeyResultConfig]]:
        for objective in self.objectives:
            for kr in objective.key_results:
                yield objective, kr
