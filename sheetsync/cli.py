"""The `sheetsync` command line: a thin layer over `sheetsync.runtime.jobs`.

Exit codes: 0 success; 1 a run that could not finish (an output could not be written, an
unexpected error); 2 a config or usage error; 3 finished, but some sources or KPIs failed
and their numbers are empty and marked stale; 4 another sheetsync is running for this
project (with --no-wait; see `sheetsync.runtime.lock`). They are `sheetsync.errors.ExitCode`, and
`sheetsync.errors.exit_code_for` gives each error its own, here and in the scheduler alike.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from sheetsync import resources
from sheetsync.core.display import bounded_names, escape_lines, redact
from sheetsync.core.suggest import did_you_mean
from sheetsync.errors import ConfigError, SheetsyncError, exit_code_for, worst
from sheetsync.runtime.lock import run_lock

if TYPE_CHECKING:
    # The config reader and the jobs import pandas (a second or so): each command imports them
    # when it runs, so `sheetsync --help`, `--version` and a usage error answer at once.
    from sheetsync.core.model import Config
    from sheetsync.core.results import SyncResult
    from sheetsync.runtime.jobs import SyncOutcome

log = logging.getLogger("sheetsync")
F = TypeVar("F", bound=Callable[..., Any])
CONFIG_ENV = "SHEETSYNC_CONFIG"
EXAMPLE_FLAG = "sheetsync.example"


def _interactive() -> bool:
    """A person at a terminal (not cron, systemd or a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def find_config(path: str | None) -> Config:
    """The config named, else ./config.toml, else $SHEETSYNC_CONFIG; the built-in example only on request.

    A cron line with a mistyped folder must fail, not "succeed" on the example every week: the
    example runs with `--example`, or when a person runs sheetsync in a folder holding no config
    at all (said on stdout). It reads its bundled sample data but writes into the current folder.
    """
    from sheetsync.config import load_config

    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(EXAMPLE_FLAG):
        if path is not None:
            raise ConfigError("--example and --config: give one of them")
        return _example()
    if path is not None:
        if not Path(path).exists():
            raise ConfigError(f"{Path(path).absolute()}: config file not found (named by --config)")
        return load_config(path)
    if Path("config.toml").exists():
        return load_config("config.toml")
    named = os.environ.get(CONFIG_ENV)
    if named:
        if not Path(named).exists():
            raise ConfigError(f"{Path(named).absolute()}: config file not found (named by ${CONFIG_ENV})")
        return load_config(named)
    here = Path.cwd()
    if _interactive() and not any(here.glob("*.toml")):
        click.echo(f"no config.toml in {here}: running the built-in example (sheetsync init writes one to edit)")
        return _example()
    raise ConfigError(
        f"{here / 'config.toml'}: config file not found (nor --config, nor ${CONFIG_ENV}); "
        "pass --config PATH, run sheetsync init, or --example for the built-in example"
    )


def _example() -> Config:
    from sheetsync.config import load_config

    log.info("using the built-in example; it writes into %s", Path.cwd())
    return load_config(resources.example_config(), output_base=Path.cwd())


def _remember_example(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[EXAMPLE_FLAG] = True
    return value


def example_option(func: F) -> F:
    return click.option(
        "--example", is_flag=True, expose_value=False, callback=_remember_example,
        help="Run the built-in example (sample data; writes into the current folder).",
    )(func)


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        shaped = re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) is not None  # 2026-02-29: the day is not
        why = f": {exc}" if shaped else ""
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-24{why}") from None
    from sheetsync.config import check_as_of

    try:
        return check_as_of(day)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).removeprefix("--as-of: ")) from None


def common_options(func: F) -> F:
    func = example_option(func)
    func = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: ./config.toml)."
    )(func)
    func = click.option(
        "--as-of", callback=_parse_date, help="Compute as of this date (YYYY-MM-DD; default: today, project time zone)."
    )(func)
    return func


def wait_option(func: F) -> F:
    return click.option(
        "--wait/--no-wait", default=True, show_default=True,
        help="If another sheetsync (e.g. the scheduler) is running for this project: wait for it, or exit with code 4.",
    )(func)


@contextmanager
def runner_lock(config: Config, command: str, wait: bool) -> Iterator[None]:
    """The project's run lock, so a manual run and a scheduled one never overlap."""

    def waiting(holder: Any) -> None:
        click.echo(f"another sheetsync{f' ({holder.describe()})' if holder else ''} is running; waiting…", err=True)

    lock = run_lock(config.state_dir, f"sheetsync {command}")
    lock.acquire(wait=wait, on_wait=waiting, advice="try again when it has finished, or leave out --no-wait to wait")
    try:
        yield
    finally:
        lock.release()


class Reporter:
    """Steps shown as a live line on a terminal, or as plain log lines otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.tty = sys.stderr.isatty() and not quiet

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        if self.tty:
            click.echo(f"… {label}", err=True, nl=False)
        else:
            log.info("%s: started", label)
        try:
            yield
        except BaseException:
            if self.tty:
                click.echo(f"\r✗ {label}", err=True)
            raise
        elapsed = time.monotonic() - started
        if self.tty:
            click.echo(f"\r✓ {label} ({elapsed:.1f}s)", err=True)
        else:
            log.info("%s: done in %.1fs", label, elapsed)


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {escape_lines(redact(message))}", err=True)
    sys.exit(code)


@contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Known failures become one line and their exit code; no traceback unless --debug.

    Every failure sheetsync means to report is a `SheetsyncError` carrying its exit code
    (`sheetsync.errors`); anything else is a bug, shown as such.
    """
    try:
        yield
    except SheetsyncError as exc:
        _fail(str(exc), exit_code_for(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:  # output piped into `head` and the reader left: not an error
        sys.stderr.close()
        sys.exit(0)
    except click.exceptions.Exit:
        raise
    except Exception as exc:
        if debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)", exit_code_for(exc))


def _summary(result: SyncResult) -> None:
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in result.status_counts().items() if n)
    overall = result.overall_progress
    click.echo(
        f"{result.project} {result.period.name} as of {result.as_of}: "
        f"{result.expected:.0%} of the period elapsed, overall progress "
        f"{'n/a' if overall is None else f'{overall:.0%}'}; key results: {counts or 'none'}"
    )
    for message in [*result.errors, *result.warnings]:
        click.echo(f"warning: {escape_lines(redact(message))}", err=True)
    for source in result.sources:
        for message in source.warnings:
            click.echo(f"warning: {escape_lines(redact(message))}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sheetsync")
@click.option("-v", "--verbose", is_flag=True, help="Log each step.")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """sheetsync: OKR and KPI tracking from Google Sheets, Excel and CSV."""
    logging.basicConfig(
        level=logging.WARNING,  # libraries' INFO lines (sqlglot's, say) are theirs, not the run's steps
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,  # each invocation logs to the stderr it has (tests run many in one process)
    )
    for ours in ("sheetsync", "connectors"):
        logging.getLogger(ours).setLevel(logging.INFO if verbose or not sys.stderr.isatty() else logging.WARNING)
    ctx.obj = {"debug": debug}


def _sync(config: Config, as_of: date | None, json_path: str | None, reporter: Reporter) -> SyncOutcome:
    from sheetsync.config import output_conflict
    from sheetsync.runtime import jobs

    if json_path is not None and (clash := output_conflict(config, json_path, "--json")):
        raise ConfigError(f"--json: {clash}")
    with reporter.step("sync"):
        outcome = jobs.run_sync(config, as_of, json_path=json_path)
    _summary(outcome.result)
    for output in outcome.outputs:
        click.echo(f"wrote {output}")
    if outcome.alerts is not None:
        for line in outcome.alerts.lines():
            click.echo(line)
        for line in outcome.alerts.pending:
            click.echo(line, err=True)
    return outcome


@main.command("sync")
@common_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@wait_option
@click.pass_context
def sync_command(
    ctx: click.Context, config_path: str | None, as_of: date | None, json_path: str | None, wait: bool
) -> None:
    """Pull every source, compute KPIs and key results, write the outputs."""
    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        with runner_lock(config, "sync", wait):
            outcome = _sync(config, as_of, json_path, Reporter())
    sys.exit(outcome.exit_code)


def _digest(config: Config, as_of: date | None, reporter: Reporter, **options: Any) -> int:
    """Run the digest job and print one line per digest; returns its exit code."""
    from sheetsync.runtime.jobs import run_digest

    with reporter.step("digest"):
        outcome = run_digest(config, as_of, **options)
    _echo_deliveries(outcome.deliveries)
    return outcome.exit_code


def _echo_deliveries(deliveries: Iterable[Any]) -> None:
    """One line a message: what was sent or written on stdout, what waits in the outbox on stderr."""
    for delivery in deliveries:
        failed = delivery.action == "pending" or delivery.failure is not None
        click.echo(("error: " if failed else "") + delivery.describe(), err=failed)


@main.command("digest")
@common_options
@click.option("--dry-run", is_flag=True, help="Render and say where each digest would go; send and write nothing.")
@click.option("--force", is_flag=True, help="Send again even if this week's digest was already sent.")
@wait_option
@click.pass_context
def digest_command(
    ctx: click.Context, config_path: str | None, as_of: date | None, dry_run: bool, force: bool, wait: bool
) -> None:
    """Send this week's digest (once per ISO week), or write it to the outbox without smtp_host."""
    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        with nullcontext() if dry_run else runner_lock(config, "digest", wait):
            code = _digest(config, as_of, Reporter(), dry_run=dry_run, force=force)
    sys.exit(code)


@main.command("remind")
@common_options
@click.option("--dry-run", is_flag=True, help="Say who would be reminded; send and write nothing.")
@click.option("--force", is_flag=True, help="Remind again even if this week's reminder was already sent.")
@wait_option
@click.pass_context
def remind_command(
    ctx: click.Context, config_path: str | None, as_of: date | None, dry_run: bool, force: bool, wait: bool
) -> None:
    """Email each owner whose key results have no check-in this week (once per ISO week)."""
    from sheetsync.runtime.jobs import run_reminders

    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        with nullcontext() if dry_run else runner_lock(config, "remind", wait):
            outcome = run_reminders(config, as_of, dry_run=dry_run, force=force)
    _echo_deliveries(outcome.deliveries)
    if not outcome.deliveries:
        click.echo(f"no reminders for {outcome.week}: every key result with an owner_email has a check-in")
    sys.exit(outcome.exit_code)


@main.command("run")
@common_options
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the results as JSON here.")
@click.option("--force", is_flag=True, help="Send the digest again even if this week's was already sent.")
@wait_option
@click.pass_context
def run_command(
    ctx: click.Context, config_path: str | None, as_of: date | None, json_path: str | None, force: bool, wait: bool
) -> None:
    """The main job: sync, then the weekly digest."""
    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        reporter = Reporter()
        with runner_lock(config, "run", wait):
            outcome = _sync(config, as_of, json_path, reporter)
            code = _digest(config, as_of, reporter, result=outcome.result, force=force, tracker_url=outcome.tracker_url)
    sys.exit(worst(outcome.exit_code, code))


@main.command("report")
@common_options
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write the PDF here (default: [report] path, else <project>-<week>.pdf in this folder).")
@click.option("--team", help="Only this team's objectives and their KPIs (as in [digest.teams.NAME]).")
@click.pass_context
def report_command(
    ctx: click.Context, config_path: str | None, as_of: date | None, out: str | None, team: str | None
) -> None:
    """Write the week's PDF report: summary, key results by objective, KPI trends (A4 landscape)."""
    from sheetsync.runtime.report import run_report

    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        with Reporter().step("report"):
            outcome = run_report(config, as_of, out=out, team=team)
        _summary(outcome.result)
        click.echo(f"wrote {outcome.path} ({outcome.size / 1024:.0f} KB)")
    sys.exit(outcome.exit_code)


@main.command("check")
@common_options
@click.pass_context
def check_command(ctx: click.Context, config_path: str | None, as_of: date | None) -> None:
    """Validate the config and open every source, saying what was found or what is wrong."""
    from connectors.base import SourceError
    from connectors.sources import read_sources
    from sheetsync.core.sources import SourceData
    from sheetsync.runtime.pipeline import source_preparer, today

    problems = 0
    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        click.echo(f"config {config.path}: ok ({len(config.sources)} sources, {len(config.kpis)} KPIs, "
                   f"{sum(1 for _ in config.key_results())} key results, period {config.period.name})")
        for key, variable in _secret_variables(config):
            if not os.environ.get(variable, "").strip():
                problems += 1
                click.echo(f"✗ {key}: environment variable {variable} is not set (the digest would fail to send)")
        data = dict(read_sources([s for s in config.sources.values() if not s.is_warehouse], config.google,
                                 threads=config.threads))
        spans = _describe_warehouses(config, data)
        prepare = source_preparer(config)  # as a sync prepares them: the source's filter first, then its KPIs'
        for name, got in data.items():
            if isinstance(got, SourceError):
                problems += 1
                click.echo(f"✗ {got}")
                continue
            assert isinstance(got, SourceData)
            dated = "".join(f", {column} from {_when(lo, config.zone)} to {_when(hi, config.zone)}"
                            for column, (lo, hi) in spans.get(name, {}).items() if _present(lo) and _present(hi))
            click.echo(f"✓ source {name!r} ({got.location}{', sheet ' + repr(got.sheet) if got.sheet else ''}): "
                       f"{got.rows} row{'s' if got.rows != 1 else ''}{dated}, "
                       f"columns: {bounded_names(got.columns, 30)}")
            if not config.sources[name].is_warehouse:
                data[name] = got = prepare(got)
            for warning in (*got.warnings, *got.kpi_warnings):
                click.echo(f"  warning: {warning}")
            if got.unusable is not None:
                problems += 1
                click.echo(f"✗ {got.unusable}")
        day = as_of or today(config)
        described = dict(data)  # a warehouse's columns, before the engine computes its KPIs below
        _compute_warehouse_kpis(config, data, day)
        for kpi in config.kpis.values():
            got = data.get(kpi.source or "")
            if not isinstance(got, SourceData):
                continue
            if config.sources[got.name].is_warehouse:  # computed by the engine, as at sync: its columns must exist
                columns = described[got.name].columns
                missing = [c for c in (kpi.column, kpi.date_column) if c is not None and c not in columns]
                if missing:
                    problems += 1
                    click.echo(f"✗ kpis.{kpi.id}: source {kpi.source!r} has no column {missing[0]!r}"
                               f"{did_you_mean(missing[0], columns)}")
                elif kpi.id in got.kpi_errors:
                    problems += 1
                    click.echo(f"✗ {got.kpi_errors[kpi.id]}")
                else:
                    click.echo(f"✓ kpi {kpi.id!r}: computed by the engine")
                continue
            if kpi.id in got.kpi_errors:
                problems += 1
                click.echo(f"✗ {got.kpi_errors[kpi.id]}")
                continue
            rows = (got.kpi_values or {}).get(kpi.id)
            if rows is None:  # its source's filter failed (said above)
                continue
            # The rows its filter keeps, counted and dated: a filter matching only old rows shows as such.
            days = rows.days if rows.days is None or rows.index is None else rows.days[rows.index]
            kept = "" if rows.index is None else f", {len(rows.index)} matching its filter"
            span = ""
            if days is not None and len(days):
                first, last = (date.fromordinal(int(d) + 719163) for d in (days[0], days[-1]))
                span = f", dated {first} to {last}"
            click.echo(f"✓ kpi {kpi.id!r}: {len(rows.values)} row{'s' if len(rows.values) != 1 else ''}{kept}{span}")
        stale = _check_freshness(config, data, day)
        click.echo(f"as of {day}: {config.period.expected(day):.0%} of {config.period.name} elapsed")
    if problems:
        _fail(f"{problems} problem(s) found", 1)
    if stale:
        _fail(f"{stale} KPI(s) with stale data", 3)


def _secret_variables(config: Config) -> list[tuple[str, str]]:
    """The environment variables config names for secrets, with the key naming each: what a send needs set."""
    digest = config.digest
    found = [("digest.password_env", digest.password_env)] if digest.smtp_host and digest.password_env else []
    chats = [(f"digest.{c.channel}", c) for c in (digest.slack, digest.msteams) if c is not None]
    chats += [(f"digest.teams.{t.team}.{c.channel}", c) for t in digest.teams for c in t.chats]
    return found + [(f"{key}.webhook_env", chat.webhook_env) for key, chat in chats]


def _check_freshness(config: Config, data: Any, as_of: date) -> int:
    """Each source's newest row, and the KPIs whose data is older than it should be; returns their count."""
    from sheetsync.core.sources import SourceData
    from sheetsync.runtime.pipeline import compute

    result = compute(config, data, as_of)
    count = 0
    for source in config.sources.values():
        got = data.get(source.name)
        kpis = [k for k in result.kpis if k.source == source.name]
        if not isinstance(got, SourceData) or not kpis:
            continue
        dates = [k.data_through for k in kpis if k.data_through is not None]
        old = [k for k in kpis if k.stale]
        last = f"newest row dated {max(dates)}" if dates else "no dated row holds a value"
        click.echo(f"{'!' if old else '✓'} source {source.name!r}: {last}"
                   + (f"; stale: {', '.join(f'{k.id} ({k.stale})' for k in old)}" if old else ""))
        count += len(old)
    count += sum(1 for k in result.kpis if k.stale and k.source is None)
    for k in result.kpis:
        if k.source is None and k.stale:
            click.echo(f"! kpi {k.id!r} (formula): stale: {k.stale}")
    return count


def _present(value: Any) -> bool:
    """Not NULL or NaT: the first and last value of a table with no dated rows are neither."""
    import pandas as pd

    return value is not None and not (isinstance(value, datetime | date) and pd.isna(value))


def _when(value: Any, zone: tzinfo) -> str:
    """A date column's first or last value: a day without a time when it has none (a DATE column),
    a time with its zone in the project's (the days the KPIs count by)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(zone)
    if isinstance(value, datetime) and value.time() == datetime.min.time() and value.tzinfo is None:
        return value.date().isoformat()
    return str(value)


def _compute_warehouse_kpis(config: Config, data: dict[str, Any], as_of: date) -> None:
    """Each described warehouse source's KPIs computed by its engine, as a sync computes them: their
    freshness is judged on the same values (a description has a row count, no values)."""
    from sheetsync.core.sources import SourceData

    sources = [config.sources[name] for name, got in data.items()
               if config.sources[name].is_warehouse and isinstance(got, SourceData)]
    if not sources:
        return
    from connectors.warehouse import read_warehouse_sources
    from sheetsync.runtime.pipeline import plan_windows

    plan = plan_windows(config, data, as_of)
    data.update(read_warehouse_sources(sources, config.kpis.values(), plan, config.timezone))


def _describe_warehouses(config: Config, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each warehouse table's row count and date range, from one cheap query per source."""
    from connectors.base import SourceError
    from connectors.warehouse import describe

    spans: dict[str, dict[str, Any]] = {}
    for source in config.sources.values():
        if not source.is_warehouse:
            continue
        dates = [k.date_column for k in config.kpis.values() if k.source == source.name and k.date_column]
        try:
            data[source.name], spans[source.name] = describe(source, dates, config.timezone)
        except SourceError as exc:
            data[source.name] = exc
    return spans


@main.group("history")
def history_group() -> None:
    """The history database (week-by-week snapshots): check it, or repair a damaged one."""


@history_group.command("repair")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: ./config.toml).")
@example_option
@wait_option
@click.pass_context
def history_repair_command(ctx: click.Context, config_path: str | None, wait: bool) -> None:
    """Check the history; a damaged one is moved aside (kept, never deleted) and a fresh one started."""
    from sheetsync.runtime.history import repair_history

    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        with runner_lock(config, "history repair", wait):
            click.echo(repair_history(config.state_dir))


@main.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing config.toml.")
def init_command(directory: str, force: bool) -> None:
    """Write a starter config.toml and its sample data into DIRECTORY.

    The sample data runs through yesterday in the current quarter (and covers the quarter
    before, for baselines), so the first run reads as a quarter in progress on any day.
    """
    from sheetsync.config import load_config
    from sheetsync.runtime.pipeline import today
    from sheetsync.runtime.sample_data import example_config_for, quarter_of, write_sample_data

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    config = target / "config.toml"
    if config.exists() and not force:
        _fail(f"{config} already exists (use --force to overwrite)", 2)
    example = resources.example_config()
    now = today(load_config(example))
    period = quarter_of(now)
    through = max(now - timedelta(days=1), period.start)  # through yesterday; on a quarter's first day, today
    config.write_text(example_config_for(example.read_text(encoding="utf-8"), period), encoding="utf-8")
    write_sample_data(target / "data", period, through)
    click.echo(f"wrote {config} ({period.name}) and sample data through {through} in {target / 'data'}; "
               f"next: sheetsync check --config {config}")


@main.command("schedule")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: ./config.toml).")
@example_option
@click.option("--list", "list_only", is_flag=True, help="Print when each job runs next and what catch-up is due; exit.")
@click.option("--no-catch-up", is_flag=True, help="On start, do not run the jobs whose time passed while none ran.")
@click.option(
    "--wait/--no-wait", default=False, show_default=True,
    help="If a scheduler already runs for this project: wait to take over when it stops, or exit with code 4.",
)
@click.pass_context
def schedule_command(
    ctx: click.Context, config_path: str | None, list_only: bool, no_catch_up: bool, wait: bool
) -> None:
    """Run the sync and the digest at the times in [schedule] until stopped (SIGTERM, Ctrl-C)."""
    from sheetsync.runtime.scheduler import describe, serve

    with user_errors(ctx.obj["debug"]):
        config = find_config(config_path)
        if list_only:
            for line in describe(config):
                click.echo(line)
            return
        code = serve(config, catch_up=not no_catch_up, wait=wait)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
