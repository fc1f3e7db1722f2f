"""Read `config.toml` and check it into the typed model of `sheetsync.core.model`.

Every problem is a `ConfigError` whose message is one line naming the file, the dotted key
and what was expected, e.g. ``config.toml: kpis.csat.agg: 'avg' is not one of sum, mean, ...``.
Checks that need no data (types, choices, references between tables, formula cycles, filter
syntax) all happen here, before any source is opened.
"""

from __future__ import annotations

import fnmatch
import glob
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from email.utils import getaddresses
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import rtoml

from sheetsync.core.display import file_slug
from sheetsync.core.expressions import ExpressionError, Filter, Formula, parse_filter, parse_formula
from sheetsync.core.model import (
    AGGS,
    DEFAULT_SCHEDULE,
    DEFAULT_SUBJECT,
    DIRECTIONS,
    KR_KINDS,
    SECURITY,
    SOURCE_TYPES,
    TRACKER_TYPES,
    WAREHOUSE_TYPES,
    WINDOWS,
    AlertsConfig,
    Change,
    ChatConfig,
    CheckinsConfig,
    Config,
    DigestConfig,
    GoogleConfig,
    KeyResultConfig,
    KPIConfig,
    ObjectiveConfig,
    ReportConfig,
    ScheduleConfig,
    ScoringConfig,
    SourceConfig,
    StatusConfig,
    SubjectTemplate,
    TeamDigestConfig,
    TrackerConfig,
    parse_change,
    parse_spreadsheet,
    parse_subject,
    parse_web_link,
)
from sheetsync.core.numbers import NumberFormatError, parse_number
from sheetsync.core.periods import GRAINS, Period, PeriodError, custom_period, parse_period
from sheetsync.core.schedule_spec import ScheduleSpecError, Spec, parse_spec
from sheetsync.core.sheet_range import parse_range
from sheetsync.core.suggest import closest, did_you_mean
from sheetsync.errors import ConfigError

_Parsed = TypeVar("_Parsed")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The largest magnitude a number in the config may have (targets, weights, thresholds).
MAX_CONFIG_NUMBER = 1e15
#: The folder in state_dir for the embedded DuckDB's spill folders (`connectors.scratch`).
SCRATCH_DIR = "scratch"
#: Periods and as-of dates stay within years whose neighbours the calendar can still name.
MIN_YEAR, MAX_YEAR = 1900, 9998
_NOT_DELIMITERS = frozenset({"\n", "\r", '"', "\x00"})


# --- a small validating reader --------------------------------------------------------


class _Table:
    """Typed access to one TOML table that remembers which keys were read.

    `done()` turns every key nobody asked for into an "unknown key" error with a
    did-you-mean, so a typo never silently falls back to a default.
    """

    def __init__(self, data: Any, key: str, file: str) -> None:
        self.key = key
        self.file = file
        if not isinstance(data, dict):
            self.fail(f"expected a table, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def where(self, name: str | None = None) -> str:
        if not name:
            return self.key
        return f"{self.key}.{name}" if self.key else name

    def fail(self, message: str, name: str | None = None) -> NoReturn:
        raise ConfigError(f"{self.file}: {self.where(name)}: {message}", file=self.file, key=self.where(name) or None)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    def missing(self, name: str, message: str = "is required") -> NoReturn:
        """A required key is absent: blame a misspelling of it if there is one."""
        unknown = [k for k in self.data if k not in self.seen]
        typo = next((k for k in unknown if closest(k, [name]) == name), None)
        if typo is not None:
            self.fail(f"unknown key (did you mean {name!r}?)", typo)
        self.fail(message, name)

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.raw(name)
        if value is None:
            if required:
                self.missing(name)
            return default
        if not isinstance(value, str):
            self.fail(f"expected text, got {_kind(value)}", name)
        return value

    def line(self, name: str, default: str) -> str:
        """Text shown as a label (a title, a name, an owner): one line, its line breaks and tabs as spaces.

        Every output shows it on one line; a title written as a multi-line TOML string broke
        the digest's text part and its charts.
        """
        return " ".join(self.str(name, default).split())

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> Any:
        value = self.str(name, default)
        if value is not None and value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(choices)}{_hint(value, choices)}", name)
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.raw(name)
        if value is None:
            return default
        return _as_number(value, lambda message: self.fail(message, name))

    def seconds(self, name: str, default: float, *, positive: bool = False, maximum: float = 86_400) -> float:
        """A duration: finite, not negative (or above zero), at most a day unless said."""
        value = self.number(name, default)
        assert value is not None
        if value < 0 or (positive and value == 0) or value > maximum:
            low = "above 0" if positive else "0 or more"
            self.fail(f"expected seconds {low} and at most {maximum:g}, got {value:g}", name)
        return value

    def int(self, name: str, default: int, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"expected a whole number, got {_kind(value)}", name)
        if value < minimum:
            self.fail(f"must be at least {minimum}, got {value}", name)
        if value > maximum:
            self.fail(f"must be at most {maximum}, got {value}", name)
        return value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            self.fail(f"expected true or false, got {_kind(value)}", name)
        return value

    def optional_bool(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is not None and not isinstance(value, bool):
            self.fail(f"expected true or false, got {_kind(value)}", name)
        return value

    def str_list(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail("expected text or a list of text", name)
        return tuple(value)

    def table(self, name: str) -> _Table:
        return _Table(self.raw(name, {}), self.where(name), self.file)

    def done(self, allowed_extra: Iterable[str] = ()) -> None:
        known = self.seen | set(allowed_extra)
        for name in self.data:
            if name not in known:
                self.fail(f"unknown key{_hint(name, sorted(known))}", name)


def _kind(value: Any) -> str:
    return {
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _hint(word: str, choices: Iterable[str]) -> str:
    return did_you_mean(word, choices)


def _as_number(value: Any, fail: Any) -> float:
    """Numbers, or text a person would write for one: "90%", "1,200"."""
    if isinstance(value, bool):
        fail(f"expected a number, got {_kind(value)}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            parsed = parse_number(value)
        except NumberFormatError:
            parsed = None
        if parsed is None:
            fail(f"expected a number, got {value!r}")
        number = parsed
    else:
        fail(f"expected a number, got {_kind(value)}")
    # nan and inf are TOML floats, but no target, weight or threshold can be one; beyond
    # MAX_CONFIG_NUMBER the progress arithmetic (target - start) would overflow.
    if not math.isfinite(number) or abs(number) > MAX_CONFIG_NUMBER:
        fail(f"expected a finite number between -{MAX_CONFIG_NUMBER:g} and {MAX_CONFIG_NUMBER:g}, got {value!r}")
    return number


# --- loading ----------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], *, output_base: Path | None = None) -> Config:
    """Read, parse and validate a config file.

    Relative paths resolve against the config file's folder; `output_base`, when given,
    anchors what sheetsync writes (tracker, outbox, state) elsewhere, so the built-in
    example can run from a read-only install and write into the current folder.
    """
    path = Path(path)
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a config file", file=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    return parse_config(_parse_toml(text, file), path.resolve(), output_base=output_base)


def _parse_toml(text: str, file: str) -> dict[str, Any]:
    """The document, parsed by rtoml: tomllib is pure Python, 0.4-0.8 s for a 5,000-KPI config.

    A document rtoml refuses is parsed again by tomllib, whose message names the line and
    column, and which decides any document the two might read differently.
    """
    try:
        return rtoml.loads(text)
    except ValueError:  # rtoml.TomlParsingError
        pass
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}", file=file) from None


TOP_LEVEL_TABLES = ("project", "sources", "kpis", "status", "scoring", "digest", "objectives", "tracker", "google",
                    "report", "alerts", "schedule", "checkins")
"""Every table a config.toml may hold (`parse_config` reads each)."""


def parse_config(data: dict[str, Any], path: Path, *, output_base: Path | None = None) -> Config:
    """Validate an already parsed TOML document (`path` anchors relative paths)."""
    root = _Table(data, "", path.name)
    # A misspelt table ([source.sales]) is named first: checked later, after the references,
    # it would surface as "kpis.revenue.source: no source named 'sales'".
    root.done(allowed_extra=TOP_LEVEL_TABLES)
    base = path.parent
    out = output_base or base

    project = root.table("project")
    name = project.line("name", "sheetsync")
    timezone = project.str("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        project.fail(f"{timezone!r} is not an IANA time zone (e.g. 'Europe/Lisbon')", "timezone")
    period = _period(project)
    state_dir = out / project.str("state_dir", ".sheetsync")
    threads = project.int("threads", 0, minimum=1, maximum=64) if project.has("threads") else None
    project.done()

    sources = _sources(root.table("sources"), base, state_dir / SCRATCH_DIR)
    kpis = _kpis(root.table("kpis"), sources)
    objectives = _objectives(root, kpis)

    status_t = root.table("status")
    status = StatusConfig(
        on_track=_fraction(status_t, "on_track", 0.10), at_risk=_fraction(status_t, "at_risk", 0.25)
    )
    if status.at_risk < status.on_track:
        status_t.fail("must be at least status.on_track", "at_risk")
    status_t.done()

    scoring_t = root.table("scoring")
    scoring = ScoringConfig(yellow=_fraction(scoring_t, "yellow", 0.4), green=_fraction(scoring_t, "green", 0.7))
    if scoring.green < scoring.yellow:
        scoring_t.fail("must be at least scoring.yellow", "green")
    scoring_t.done()

    digest = _digest(root.table("digest"), out)
    config = Config(
        path=path,
        name=name,
        timezone=timezone,
        period=period,
        state_dir=state_dir,
        threads=threads,
        sources=sources,
        kpis=kpis,
        objectives=objectives,
        status=status,
        scoring=scoring,
        tracker=_tracker(root.table("tracker"), base, out),
        google=_google(root.table("google"), base),
        digest=digest,
        report=_report(root.table("report"), out),
        alerts=_alerts(root.table("alerts"), digest),
        schedule=_schedule(root.table("schedule")),
        checkins=_checkins(root.table("checkins"), sources, objectives),
    )
    root.done()
    for key, output in _outputs(config):
        clash = output_conflict(config, output, key)
        if clash:
            root.fail(clash, key)
    return config


def _outputs(config: Config) -> list[tuple[str, Path]]:
    """What a run writes, by the key that names it."""
    outputs = []
    if config.tracker.type == "xlsx" and config.tracker.path:
        outputs.append(("tracker.path", config.tracker.path))
    if config.report.path:
        outputs.append(("report.path", config.report.path))
    outputs.append(("project.state_dir", config.state_dir / "history.sqlite"))
    return outputs


def _inputs(config: Config) -> list[tuple[str, Path]]:
    """What a run reads, by the key that names it (source paths may be globs)."""
    inputs = [(f"sources.{s.name}.path", s.path) for s in config.sources.values() if s.path]
    if config.tracker.template:
        inputs.append(("tracker.template", config.tracker.template))
    if config.google.credentials:
        inputs.append(("google.credentials", config.google.credentials))
    inputs.append(("the config file", config.path))
    return inputs


def output_conflict(config: Config, path: str | os.PathLike[str], key: str) -> str | None:
    """Why writing `path` would destroy an input or another output, or None when it is safe.

    Paths are compared after resolving symlinks, and against source globs, so the tracker
    can never overwrite a source, a `--json` never the history, and so on.
    """
    target = os.path.realpath(path)
    for other_key, other in [*_inputs(config), *_outputs(config)]:
        if other_key == key:
            continue
        real = os.path.realpath(other)
        if target == real or (glob.has_magic(str(other)) and fnmatch.fnmatchcase(target, real)):
            role = "read as" if (other_key, other) in _inputs(config) else "written as"
            return f"{path} is also {other_key} ({role} {other}): writing it would destroy that; choose another path"
    return None


def _fraction(table: _Table, name: str, default: float) -> float:
    value = table.number(name, default)
    assert value is not None
    if not 0 <= value <= 1:
        table.fail(f"must be between 0 and 1, got {value}", name)
    return value


def _period(project: _Table) -> Period:
    start, end = project.raw("period_start"), project.raw("period_end")
    if start is not None or end is not None:
        if project.has("period"):
            project.fail("give either period or period_start/period_end, not both", "period")
        for key, value in (("period_start", start), ("period_end", end)):
            if not isinstance(value, date):
                project.fail(f"expected a date like 2026-10-01, got {_kind(value)}", key)
        for key, value in (("period_start", start), ("period_end", end)):
            if not MIN_YEAR <= value.year <= MAX_YEAR:
                project.fail(f"expected a date in the years {MIN_YEAR} to {MAX_YEAR}, got {value}", key)
        try:
            return custom_period(start, end)
        except PeriodError as exc:
            project.fail(str(exc), "period_end")
    text = project.str("period", required=True)
    try:
        return parse_period(text)
    except PeriodError as exc:
        project.fail(str(exc), "period")
    raise AssertionError("unreachable")


def check_as_of(day: date) -> date:
    """An as-of date the calendar arithmetic can work with (a week and a period either side)."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ConfigError(f"--as-of: expected a date in the years {MIN_YEAR} to {MAX_YEAR}, got {day}")
    return day


def _path(table: _Table, name: str, base: Path, default: str | None = None) -> Path | None:
    value = table.str(name, default)
    return None if value is None else _resolve(value, base)


def _resolve(value: str, base: Path) -> Path:
    """A path from config: ~ and $VARS expanded, relative to the config file's folder."""
    return base / os.path.expanduser(os.path.expandvars(value))  # an absolute one stays as it is


def _sources(table: _Table, base: Path, scratch_dir: Path) -> dict[str, SourceConfig]:
    sources: dict[str, SourceConfig] = {}
    for name in table.data:
        src = table.table(name)
        kind = src.choice("type", SOURCE_TYPES)
        if kind is None:
            src.missing("type", f"is required: one of {', '.join(SOURCE_TYPES)}")
        rename = src.raw("rename", {})
        if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
            src.fail('expected a table of "old name" = "new name"', "rename")
        row_filter = _filter(src, "filter")
        decimal = src.str("decimal", ".")
        if decimal not in (".", ","):
            src.fail(f"expected '.' or ',', got {decimal!r}", "decimal")
        thousands = src.str("thousands")
        if thousands is not None and thousands == decimal:
            src.fail("must differ from decimal", "thousands")
        try:  # the number parser's own rule for separators, checked now rather than at the first cell
            parse_number("1", decimal=decimal, thousands=thousands)
        except ValueError as exc:
            src.fail(str(exc).removeprefix("thousands "), "thousands")
        delimiter = src.str("delimiter")
        if delimiter is not None and len(delimiter) != 1 and delimiter != "\\t":
            src.fail(f"expected one character, got {delimiter!r}", "delimiter")
        if delimiter is not None and delimiter in _NOT_DELIMITERS:
            src.fail(f"{delimiter!r} cannot separate fields (it ends lines or quotes them)", "delimiter")
        rename_targets = list(rename.values())
        clash = next((v for v in rename_targets if rename_targets.count(v) > 1), None)
        if clash is not None:
            src.fail(f"two columns are renamed to {clash!r}", "rename")
        config = SourceConfig(
            name=name,
            type=kind,
            path=_path(src, "path", base) if kind != "gsheet" else None,
            sheet=src.str("sheet") if kind == "xlsx" else None,
            spreadsheet=_parsed(src, "spreadsheet", parse_spreadsheet, required=True) if kind == "gsheet" else None,
            worksheet=src.str("worksheet") if kind == "gsheet" else None,
            range=_parsed(src, "range", parse_range) if kind == "gsheet" else None,
            rename=dict(rename),
            filter=row_filter,
            delimiter="\t" if delimiter == "\\t" else delimiter,
            encoding=src.str("encoding", "utf-8") if kind == "csv" else "utf-8",
            decimal=decimal,
            thousands=thousands,
            header_row=src.int("header_row", 1, minimum=1),
            dayfirst=src.optional_bool("dayfirst"),
            incremental=src.bool("incremental", True) if kind == "gsheet" else True,
            fresh_within=_fresh_within(src),
            **(_warehouse(src, kind, base, scratch_dir) if kind in WAREHOUSE_TYPES else {}),
        )
        if kind in ("csv", "xlsx", "parquet") and config.path is None:
            src.missing("path", f"is required for {kind} sources")
        if kind == "csv":
            _check_encoding(src, config.encoding)
        if config.range is not None and config.range.title not in (None, config.worksheet) and config.worksheet:
            src.fail(f"worksheet {config.worksheet!r} and range {config.range.text!r} name different tabs; "
                     "give the tab once", "range")
        above = config.range is not None and config.header_row <= config.range.start_row
        if config.range is not None and above and src.raw("header_row") is not None:
            first = config.range.start_row + 1
            src.fail(f"{config.header_row} is above range {config.range.text!r}, which starts on row {first}: "
                     f"header_row counts sheet rows, and the headers must be inside the range (leave header_row "
                     f"out for its first row, or start the range on row {config.header_row})", "header_row")
        src.done()
        sources[name] = config
    return sources


_DURATION_RE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>days?|weeks?|d|w)\s*$", re.IGNORECASE)


def _fresh_within(table: _Table) -> float | None:
    """`fresh_within = "3 days"` / `"2 weeks"` / `"never"`: days of slack (infinity for never)."""
    value = table.raw("fresh_within")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "never":
        return math.inf
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if match is None:
        table.fail(f'expected a duration like "3 days" or "2 weeks", or "never"; got {value!r}', "fresh_within")
    days = float(match["n"]) * (7 if match["unit"].lower().startswith("w") else 1)
    return days


URL_SCHEMES = (
    "duckdb", "postgres", "postgresql", "bigquery", "snowflake", "trino", "pyspark", "mysql", "mssql",
    "clickhouse", "databricks", "athena", "oracle", "exasol", "impala", "druid", "risingwave", "sqlite",
)
_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?P<user>[^:@/]*)(?::(?P<password>[^@/]*))?@)?")


_MEMORY_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _warehouse(src: _Table, kind: str, base: Path, scratch_dir: Path) -> dict[str, Any]:
    """The keys of a sql or parquet source; the URL's secrets stay in the environment.

    DuckDB's spill folders go to the project's `<state_dir>/scratch` (see `connectors.scratch`).
    """
    timeout = src.number("timeout", SourceConfig.timeout)
    assert timeout is not None
    if timeout <= 0:
        src.fail(f"must be more than 0 seconds, got {timeout:g}", "timeout")
    memory_limit = src.str("memory_limit")
    if memory_limit is not None and not _MEMORY_RE.match(memory_limit):
        src.fail(f'expected an amount of memory like "512MB" or "2GB", got {memory_limit!r}', "memory_limit")
    if kind == "parquet":
        return {"timeout": timeout, "memory_limit": memory_limit, "scratch_dir": scratch_dir}
    url, url_env = src.str("url"), src.str("url_env")
    if (url is None) == (url_env is None):
        if url is None:
            src.missing("url", "is required: a connection URL such as \"duckdb:///data/metrics.duckdb\" (or url_env)")
        src.fail("give either url or url_env, not both", "url_env")
    if url is not None:
        match = _URL_RE.match(url)
        if match is None:
            src.fail(f"{url!r} is not a connection URL like \"postgres://user@host/db\"", "url")
        scheme = match["scheme"].lower().split("+")[0]
        if scheme not in URL_SCHEMES:
            src.fail(f"unknown database {scheme!r}{_hint(scheme, URL_SCHEMES)}; use one of {', '.join(URL_SCHEMES)}",
                     "url")
        if match["password"]:
            src.fail("passwords do not belong in config: put the URL in an environment variable and set url_env",
                     "url")
    if memory_limit is not None and url is not None and not url.lower().startswith("duckdb:"):
        src.fail("applies to DuckDB (the embedded engine) only; the server manages its own memory", "memory_limit")
    if url_env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", url_env):
        src.fail(f"expected the name of an environment variable, got {url_env!r}", "url_env")
    table_name, query = src.str("table"), src.str("query")
    if (table_name is None) == (query is None):
        if table_name is None:
            src.missing("table", "is required: a table name (schema.table) or a query")
        src.fail("give either table or query, not both", "query")
    if query is not None and not re.match(r"^\s*(\(\s*)*(select|with)\b", query, re.IGNORECASE):
        src.fail("must be a SELECT (or WITH ... SELECT) query", "query")
    return {"url": url, "url_env": url_env, "table": table_name, "query": query, "root": base,
            "timeout": timeout, "memory_limit": memory_limit, "scratch_dir": scratch_dir}


def _check_encoding(table: _Table, encoding: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        table.fail(f"unknown text encoding {encoding!r}", "encoding")


def _filter(table: _Table, name: str) -> Filter | None:
    text = table.str(name)
    if text is None:
        return None
    try:
        return parse_filter(text)
    except ExpressionError as exc:
        table.fail(f"bad filter {text!r}: {exc}", name)


def _kpis(table: _Table, sources: Mapping[str, SourceConfig]) -> dict[str, KPIConfig]:
    kpis: dict[str, KPIConfig] = {}
    formulas: dict[str, frozenset[str]] = {}
    for kpi_id in table.data:
        t = table.table(kpi_id)
        if not _ID_RE.match(kpi_id):
            t.fail("KPI ids are letters, digits and _ (they are names in formulas)")
        formula_text = t.str("formula")
        source = t.str("source")
        agg = t.choice("agg", AGGS, "sum")
        formula: Formula | None = None
        if formula_text is not None:
            if source is not None:
                t.fail("a formula KPI takes no source", "source")
            try:
                formula = parse_formula(formula_text)
            except ExpressionError as exc:
                t.fail(f"bad formula {formula_text!r}: {exc}", "formula")
            formulas[kpi_id] = formula.names
        else:
            if source is None:
                t.missing("source", "is required (or give a formula)")
            if source not in sources:
                t.fail(f"no source named {source!r}{_hint(source, sources)}", "source")
        column = t.str("column")
        row_filter = _filter(t, "filter")
        window = t.choice("window", WINDOWS, "to_date")
        date_column = t.str("date_column")  # read first: not taken for a misspelt `column` below
        if formula is None and column is None and agg != "count":
            t.missing("column", f"is required for agg = {agg!r}")
        if formula is None and window == "latest" and date_column is None:
            t.missing("date_column", "is required for window = 'latest'")
        if formula is None and agg in ("first", "last") and date_column is None and sources[source].is_warehouse:
            t.missing("date_column", f"is required for agg = {agg!r} on a {sources[source].type} source "
                      "(a table's rows have no order of their own)")
        kpis[kpi_id] = KPIConfig(
            id=kpi_id,
            title=t.line("title", kpi_id),
            source=source,
            column=column,
            agg=agg,
            date_column=date_column,
            filter=row_filter,
            window=window,
            grain=t.choice("grain", GRAINS, "week"),
            unit=t.str("unit", ""),
            direction=t.choice("direction", DIRECTIONS, "increase"),
            target=t.number("target"),
            warn=t.number("warn"),
            formula=formula,
            fresh_within=_fresh_within(t),
        )
        t.done()
    for kpi_id, names in formulas.items():
        for name in sorted(names):
            if name not in kpis:
                table.fail(f"formula names unknown KPI {name!r}{_hint(name, kpis)}", f"{kpi_id}.formula")
    _check_cycles(table, formulas)
    return kpis


def _check_cycles(table: _Table, formulas: Mapping[str, frozenset[str]]) -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2 or node not in formulas:
            return
        if state.get(node) == 1:
            cycle = " -> ".join([*path[path.index(node) :], node])
            table.fail(f"formula cycle: {cycle}", f"{path[0]}.formula")
        state[node] = 1
        for name in sorted(formulas[node]):
            visit(name, [*path, node])
        state[node] = 2

    for kpi_id in formulas:
        visit(kpi_id, [])


def _objectives(root: _Table, kpis: Mapping[str, KPIConfig]) -> tuple[ObjectiveConfig, ...]:
    items = root.raw("objectives", [])
    if not isinstance(items, list):
        root.fail("expected [[objectives]] entries", "objectives")
    objectives: dict[str, ObjectiveConfig] = {}
    seen_kr: dict[str, str] = {}
    for index, item in enumerate(items):
        t = _Table(item, f"objectives[{index}]", root.file)
        obj_id = t.str("id", required=True)
        t.key = f"objectives.{obj_id}"
        if obj_id in objectives:
            t.fail(f"duplicate objective id {obj_id!r}", "id")
        krs_raw = t.raw("key_results", [])
        if not isinstance(krs_raw, list):
            t.fail("expected [[objectives.key_results]] entries", "key_results")
        krs = []
        for kr_index, kr_item in enumerate(krs_raw):
            kr = _key_result(_Table(kr_item, f"{t.key}.key_results[{kr_index}]", root.file), kpis)
            if kr.id in seen_kr:
                t.fail(f"duplicate key result id {kr.id!r} (also in objective {seen_kr[kr.id]})", "key_results")
            seen_kr[kr.id] = obj_id
            krs.append(kr)
        objectives[obj_id] = ObjectiveConfig(
            id=obj_id,
            title=t.line("title", obj_id),
            owner=t.line("owner", ""),
            owner_email=_email(t, "owner_email"),
            team=t.str("team", ""),
            parent=t.str("parent", ""),
            key_results=tuple(krs),
        )
        t.done()
    for objective in objectives.values():
        if objective.parent and objective.parent not in objectives:
            root.fail(
                f"no objective with id {objective.parent!r}{_hint(objective.parent, objectives)}",
                f"objectives.{objective.id}.parent",
            )
        seen = {objective.id}
        parent = objective.parent
        while parent:
            if parent in seen:
                root.fail(f"objective parents form a loop through {parent!r}", f"objectives.{objective.id}.parent")
            seen.add(parent)
            parent = objectives[parent].parent
    return tuple(objectives.values())


def _key_result(t: _Table, kpis: Mapping[str, KPIConfig]) -> KeyResultConfig:
    kr_id = t.str("id", required=True)
    t.key = re.sub(r"key_results\[\d+\]$", f"key_results.{kr_id}", t.key)
    manual = t.bool("manual", False)
    kpi = t.str("kpi", required=not manual)
    if manual and kpi is not None:
        t.fail("a manual key result takes its value from check-ins: give no kpi (or drop manual)", "kpi")
    if kpi is not None and kpi not in kpis:
        t.fail(f"no KPI named {kpi!r}{_hint(kpi, kpis)}", "kpi")
    unit = t.str("unit", "")
    if unit and not manual:
        t.fail("a KPI-backed key result shows its KPI's unit: set unit on the KPI", "unit")
    baseline: float | str | None
    raw_baseline = t.raw("baseline")
    if raw_baseline == "previous_period" and manual:
        t.fail("a manual key result has no KPI to take a previous period from: give a number", "baseline")
    if raw_baseline == "previous_period" or raw_baseline is None:
        baseline = raw_baseline
    else:
        baseline = _as_number(raw_baseline, lambda m: t.fail(f'{m} or "previous_period"', "baseline"))
    change_text = t.str("change")
    change: Change | None = None
    if change_text is not None:
        try:
            change = parse_change(change_text)
        except ConfigError as exc:
            t.fail(str(exc), "change")
    start = t.number("start")
    target = t.number("target")
    if target is None and change is None:
        t.missing("target", "is required (or give baseline and change)")
    if target is not None and change is not None:
        t.fail("give either target or change, not both", "change")
    if change is not None and baseline is None and start is None:
        t.fail("a change needs a baseline or a start to apply to", "change")
    weight = t.number("weight", 1.0)
    assert weight is not None
    if weight < 0:
        t.fail(f"must be zero or more, got {weight:g}", "weight")
    direction = t.choice("direction", DIRECTIONS)
    kr = KeyResultConfig(
        id=kr_id,
        title=t.line("title", kr_id),
        kpi=kpi,
        start=start,
        target=target,
        baseline=baseline,
        change=change,
        weight=weight,
        direction=direction,
        owner=t.line("owner", ""),
        manual=manual,
        unit=unit,
        owner_email=_email(t, "owner_email"),
        kind=t.choice("kind", KR_KINDS, "committed"),
    )
    if direction is None and start is not None and target is not None and start == target:
        t.fail("start equals target: say direction = 'increase' or 'decrease'", "direction")
    t.done()
    return kr


def _tracker(t: _Table, base: Path, out: Path) -> TrackerConfig:
    kind = t.choice("type", TRACKER_TYPES, "xlsx")
    config = TrackerConfig(
        type=kind,
        path=_path(t, "path", out, "output/okr_tracker.xlsx"),
        template=_path(t, "template", base),
        spreadsheet=_parsed(t, "spreadsheet", parse_spreadsheet),
        create=t.str("create"),
        share=t.str_list("share"),
    )
    if kind == "gsheet" and not (config.spreadsheet or config.create):
        t.fail("a gsheet tracker needs spreadsheet (URL or key) or create = \"Title\"", "spreadsheet")
    t.done()
    return config


def _google(t: _Table, base: Path) -> GoogleConfig:
    retry_seconds = t.seconds("retry_seconds", GoogleConfig.retry_seconds)
    files = t.str_list("credentials")  # one file, or several service accounts to spread the reads over
    if t.has("credentials") and not files:
        t.fail("expected a credentials file or a list of them, got an empty list", "credentials")
    paths = [_resolve(value, base) for value in files]
    full_read_days = t.number("full_read_days", GoogleConfig.full_read_days)
    assert full_read_days is not None
    if not 0 <= full_read_days <= 3650:
        t.fail(f"expected days from 0 to 3650, got {full_read_days:g}", "full_read_days")
    config = GoogleConfig(
        credentials=paths[0] if paths else None,
        api_url=t.str("api_url"),
        retry_seconds=retry_seconds,
        extra_credentials=tuple(paths[1:]),
        requests_per_minute=t.int("requests_per_minute", GoogleConfig.requests_per_minute, minimum=1),
        parallel=t.int("parallel", GoogleConfig.parallel, minimum=1),
        full_read_days=full_read_days,
    )
    if config.api_url is not None and not re.match(r"^https?://", config.api_url):
        t.fail(f"expected an http(s) URL, got {config.api_url!r}", "api_url")
    t.done()
    return config


def _addresses(t: _Table, name: str) -> tuple[str, ...]:
    values = t.str_list(name)
    for value in values:
        found = getaddresses([value]) if not any(ch in value for ch in "\r\n\x00") else []
        if len(found) != 1 or "@" not in found[0][1]:
            t.fail(f"{value!r} is not one email address (write a list for several)", name)
        if not found[0][1].rpartition("@")[0].isascii():
            # The email's headers cannot carry it (it failed every digest, to everyone, at send time).
            t.fail(f"{value!r} has non-ASCII letters before the @, which email headers cannot carry here; "
                   "use the mailbox's ASCII address or alias", name)
    return values


def _digest(t: _Table, base: Path) -> DigestConfig:
    sender = t.str("from", "sheetsync@localhost")
    if any(ch in sender for ch in "\r\n"):
        t.fail("must be one line", "from")
    if len(getaddresses([sender])) != 1 or "@" not in getaddresses([sender])[0][1]:
        t.fail(f"{sender!r} is not one email address, e.g. \"OKR bot <okrs@example.com>\"", "from")
    port = t.raw("smtp_port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        t.fail(f"expected a port number, got {port!r}", "smtp_port")
    teams_t = t.table("teams")
    teams = []
    for team in teams_t.data:
        tt = teams_t.table(team)
        teams.append(TeamDigestConfig(team=team, to=_addresses(tt, "to"), cc=_addresses(tt, "cc"),
                                      slack=_chat(tt, "slack"), msteams=_chat(tt, "msteams")))
        if t.raw("smtp_host") and not (teams[-1].to or teams[-1].cc or teams[-1].slack or teams[-1].msteams):
            tt.missing("to", "is required when smtp_host is set: who receives this team's digest "
                             "(or give it a slack or msteams channel)")
        tt.done()
    # Each audience's digest is one .eml file named by its slug: two must never share one
    # (compared without case, as macOS and Windows file systems do).
    slugs = {file_slug("all").casefold(): "everyone's digest ('all')"}
    for team in teams:
        other = slugs.setdefault(file_slug(team.team).casefold(), team.team)
        if other != team.team:
            teams_t.fail(f"{team.team!r} and {other!r} would write the same digest file"
                         f" (…-{file_slug(team.team)}.eml); rename one", team.team)
    timeout = t.seconds("timeout", 30.0, positive=True, maximum=3600)
    retry_wait = t.seconds("retry_wait", 5.0, maximum=3600)
    subject = _subject(t)
    config = DigestConfig(
        to=_addresses(t, "to"),
        cc=_addresses(t, "cc"),
        sender=sender,
        subject=subject,
        smtp_host=t.str("smtp_host"),
        smtp_port=port,
        security=t.choice("security", SECURITY, "starttls"),
        username=t.str("username"),
        password_env=t.str("password_env"),
        timeout=timeout,
        outbox=_path(t, "outbox", base, "outbox") or base / "outbox",
        attach_tracker=t.bool("attach_tracker", False),
        attach_pdf=t.bool("attach_pdf", False),
        tracker_url=_parsed(t, "tracker_url", parse_web_link),
        teams=tuple(teams),
        retries=t.int("retries", 3, minimum=1, maximum=20),
        retry_wait=retry_wait,
        slack=_chat(t, "slack"),
        msteams=_chat(t, "msteams"),
    )
    if config.username and not config.password_env:
        t.fail("needs password_env: the name of the environment variable holding the password", "username")
    if config.smtp_host and not (config.to or config.cc or config.teams):
        t.missing("to", "is required when smtp_host is set: who receives the digest")
    if t.has("password"):
        t.fail("passwords do not belong in config: set password_env to an environment variable's name", "password")
    t.done()
    return config


def _parsed(t: _Table, name: str, parse: Callable[[str], _Parsed], *, required: bool = False) -> _Parsed | None:
    """A text value held parsed (a spreadsheet URL, a web link), its ConfigError naming file and key."""
    text = t.str(name, required=required)
    if text is None:
        return None
    try:
        return parse(text)
    except ConfigError as exc:
        t.fail(str(exc), name)


def _subject(t: _Table) -> SubjectTemplate:
    """Placeholders are checked here so a typo fails at load, not on Monday morning."""
    text = t.str("subject", DEFAULT_SUBJECT)
    if not text.strip():
        t.fail(f"is empty; leave it out for the default {DEFAULT_SUBJECT!r}", "subject")
    try:
        return parse_subject(text)
    except ConfigError as exc:
        t.fail(str(exc), "subject")


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _chat(parent: _Table, channel: str) -> ChatConfig | None:
    """`[…slack]` / `[…msteams]`: only the name of the variable holding the webhook URL."""
    if not parent.has(channel):
        return None
    t = parent.table(channel)
    for secret in ("webhook", "webhook_url", "url"):
        if t.has(secret):
            t.fail("webhook URLs are secrets and do not belong in config: set webhook_env to the name of "
                   "an environment variable holding the URL", secret)
    name = t.str("webhook_env", required=True)
    if not _ENV_NAME.match(name):
        t.fail(f"{name!r} is not an environment variable name (e.g. \"SHEETSYNC_SLACK_WEBHOOK\")", "webhook_env")
    t.done()
    return ChatConfig(channel=channel, webhook_env=name)


def _alerts(t: _Table, digest: DigestConfig) -> AlertsConfig:
    config = AlertsConfig(
        kr_status_worse=t.bool("kr_status_worse", False),
        kpi_crossed=t.bool("kpi_crossed", False),
        source_failed_runs=t.int("source_failed_runs", 0, minimum=0),
        to=_addresses(t, "to") or digest.to,
        chat=t.bool("chat", False),
    )
    if config.chat and not digest.chats:
        t.fail("chat = true needs a channel: add [digest.slack] or [digest.msteams] with webhook_env", "chat")
    if config.enabled and digest.smtp_host and not config.to:
        t.missing("to", "is required when smtp_host is set and [digest] has no to: who receives the alerts")
    t.done()
    return config


def _report(t: _Table, out: Path) -> ReportConfig:
    config = ReportConfig(path=_path(t, "path", out))
    if config.path is not None and not config.path.name.lower().endswith(".pdf"):
        t.fail(f"expected a .pdf file name, got {t.raw('path')!r}", "path")
    t.done()
    return config


def _schedule(t: _Table) -> ScheduleConfig:
    specs: dict[str, tuple[Spec, ...]] = {}
    for job in ("sync", "digest", "remind"):
        parsed = []
        for index, text in enumerate(t.str_list(job, DEFAULT_SCHEDULE[job])):
            try:
                parsed.append(parse_spec(text))
            except ScheduleSpecError as exc:  # checked here so a typo fails at load, not on Monday morning
                t.fail(str(exc), f"{job}[{index}]" if isinstance(t.raw(job), list) else job)
        specs[job] = tuple(parsed)
    t.done()
    return ScheduleConfig(**specs)


def _email(t: _Table, name: str) -> str:
    """One email address, or "" when the key is absent."""
    values = _addresses(t, name)
    if len(values) > 1:
        t.fail("expected one email address", name)
    return values[0] if values else ""


def _checkins(
    t: _Table, sources: Mapping[str, SourceConfig], objectives: tuple[ObjectiveConfig, ...]
) -> CheckinsConfig:
    """`[checkins]`: on by default, from the tracker's Check-ins tab unless a source is named."""
    defaults = CheckinsConfig()
    source = t.str("source")
    if source is not None and source not in sources:
        t.fail(f"no source named {source!r}{_hint(source, sources)}", "source")
    if source is not None and sources[source].is_warehouse:  # its engine sends KPI values, never rows
        t.fail(f"source {source!r} is a {sources[source].type} source, whose rows sheetsync never loads: check-ins "
               "come from a sheet, .xlsx or CSV source, or the tracker's Check-ins tab", "source")
    columns = {name: t.str(name, getattr(defaults, name)) for name in ("kr", "date", "confidence", "comment",
                                                                        "value", "by")}
    for name, header in columns.items():
        if not header.strip():
            t.fail("expected a column name", name)
    if source is None:
        for name in columns:
            if t.has(name):
                t.fail("column names are for a check-in source: the Check-ins tab has its own columns", name)
    config = CheckinsConfig(enabled=t.bool("enabled", True), source=source, **columns)
    if not config.enabled:
        manual = next((kr for o in objectives for kr in o.key_results if kr.manual), None)
        if manual is not None:
            t.fail(f"key result {manual.id!r} is manual and takes its value from check-ins: keep them enabled",
                   "enabled")
    t.done()
    return config
