"""One sync: read the sources, then compute KPIs, key results and objectives.

`compute` is pure (data in, results out) so it is tested without files; `sync` adds the
reading. A source or KPI that fails is reported and leaves its numbers empty and marked
stale; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd

from connectors.base import SourceError, SourceUnavailable
from sheetsync.core import checkins as ci
from sheetsync.core.display import redact, shown
from sheetsync.core.key_results import KeyResultResult, evaluate_key_result
from sheetsync.core.kpis import (
    KPIDataError,
    KPIEvaluator,
    KPIRows,
    evaluate_kpi,
    prepare_kpi_rows,
    previous_period_value,
    source_rows,
)
from sheetsync.core.model import Config, GoogleConfig, KPIConfig, SourceConfig
from sheetsync.core.objectives import roll_up
from sheetsync.core.results import SourceResult, SyncResult
from sheetsync.core.snapshot import LastGoodValues
from sheetsync.core.sources import ROW_COLUMN, SourceData
from sheetsync.core.windows import WindowRecorder
from sheetsync.runtime.collector import collector_paused

Reader = Callable[[Iterable[SourceConfig], GoogleConfig], Mapping[str, SourceData | SourceError]]


def today(config: Config) -> date:
    """Today's date in the project's time zone (the default as-of date)."""
    return datetime.now(config.zone).date()


def compute(
    config: Config,
    data: Mapping[str, SourceData | SourceError],
    as_of: date,
    *,
    checkins: Sequence[ci.CheckIn] = (),
    checkin_warnings: Sequence[str] = (),
    last_good: LastGoodValues | None = None,
) -> SyncResult:
    """Results for `as_of` from already-read source data.

    `checkins` are those already known (the history's, and what the tracker's Check-ins tab
    holds); a `[checkins] source` adds its rows here. `last_good` (from the history) fills in
    the numbers this run could not compute: a KPI whose source failed or stopped arriving
    shows its last good value, marked stale.
    """
    errors: list[str] = []
    failed: dict[str, str] = {}
    prepared: dict[str, SourceData] = {}
    prepare = source_preparer(config)
    source_warnings: dict[str, list[str]] = {}
    for name in config.sources:
        got = data.get(name)
        if not isinstance(got, SourceData):
            failed[name] = str(got) if got is not None else f"source {name!r} was not read"
            continue
        # A connector's warnings are about its file or sheet: say which source, as cell warnings do.
        source_warnings[name] = [f"source {name!r}: {warning}" for warning in got.warnings]
        prepared[name] = got = prepare(got)
        if got.unusable is not None:
            failed[name] = got.unusable
        source_warnings[name].extend(got.kpi_warnings)
    errors.extend(failed.values())

    rows: dict[str, KPIRows] = {}
    failed_kpis: dict[str, str] = {}
    for kpi in config.kpis.values():
        if kpi.formula is not None:
            continue
        assert kpi.source is not None
        if kpi.source in failed:
            failed_kpis[kpi.id] = failed[kpi.source]
            continue
        pushed = prepared[kpi.source]
        assert pushed.kpi_values is not None
        if kpi.id in pushed.kpi_values:
            rows[kpi.id] = pushed.kpi_values[kpi.id]
        else:
            reason = pushed.kpi_errors.get(kpi.id, f"kpis.{kpi.id}: source {kpi.source!r} computed no values")
            errors.append(reason)
            failed_kpis[kpi.id] = reason

    evaluator = KPIEvaluator(config.kpis, rows, failed_kpis, sources=config.sources, failed_sources=frozenset(failed))
    period = config.period
    expected = period.expected(as_of)
    closed = as_of > period.end
    good = last_good or LastGoodValues({}, {})
    kpis = {
        kpi_id: evaluate_kpi(evaluator, kpi_id, period, as_of, last_good=good.kpis.get(kpi_id))
        for kpi_id in config.kpis
    }

    known = list(checkins)
    warnings = list(checkin_warnings)
    source = config.checkins.source if config.checkins.enabled else None
    if source in prepared and source not in failed and not _engine_computed(config, data, source):
        from_source, found_warnings = _source_checkins(config, source, prepared[source].frame)
        known = ci.merge(known, from_source)
        source_warnings[source].extend(found_warnings)

    grouped = ci.by_kr(ci.in_period(known, period))  # last quarter's value or confidence is not this one's
    key_results: dict[str, list[KeyResultResult]] = {}
    for objective, kr in config.key_results():
        if kr.manual:
            manual = ci.manual_value(grouped.get(kr.id, ()), kr.id, as_of)
            kr_result = evaluate_key_result(
                kr, objective=objective.id, current=manual.value,
                baseline=kr.baseline if isinstance(kr.baseline, float) else None, expected=expected,
                tolerances=config.status, unit=kr.unit, stale=manual.stale,
                value_as_of=manual.checkin.date if manual.checkin is not None else None,
                closed=closed, scoring=config.scoring,
            )  # fmt: skip
            if manual.note and kr_result.note is None:
                kr_result = replace(kr_result, note=manual.note)
            key_results.setdefault(objective.id, []).append(kr_result)
            continue
        assert kr.kpi is not None
        kpi = kpis[kr.kpi]
        if kr.baseline == "previous_period":
            failed_kpi = evaluator.stale_reason(kr.kpi) is not None
            baseline = None if failed_kpi else previous_period_value(evaluator, kr.kpi, period)
        else:
            baseline = kr.baseline if isinstance(kr.baseline, float) else None
        key_results.setdefault(objective.id, []).append(
            evaluate_key_result(
                kr,
                objective=objective.id,
                current=kpi.value,
                baseline=baseline,
                expected=expected,
                tolerances=config.status,
                kpi_direction=kpi.direction,
                unit=kpi.unit,
                stale=kpi.stale,
                value_as_of=kpi.value_as_of,
                cause=kpi.note,
                known=good.key_results.get(kr.id),
                closed=closed,
                scoring=config.scoring,
            )
        )
    if config.checkins.enabled:
        key_results = {
            objective: [replace(kr, checkin=ci.latest(grouped.get(kr.id, ()), kr.id, as_of)) for kr in krs]
            for objective, krs in key_results.items()
        }
    objectives = roll_up(config.objectives, key_results, expected, config.status, closed=closed)
    return SyncResult(
        project=config.name,
        as_of=as_of,
        period=period,
        expected=expected,
        kpis=tuple(kpis.values()),
        objectives=tuple(objectives),
        sources=tuple(_source_result(config.sources[n], prepared.get(n, data.get(n)), failed.get(n),
                                     source_warnings.get(n, []))
                      for n in config.sources),
        errors=tuple(dict.fromkeys(redact(e) for e in errors)),
        warnings=tuple(redact(w) for w in [*evaluator.warnings, *warnings]),
        checkins=tuple(known),
        checkins_on=config.checkins.enabled,
    )


def _engine_computed(config: Config, data: Mapping[str, SourceData | SourceError], name: str) -> bool:
    """A warehouse source whose engine computed its KPIs: it sent no rows to read check-ins from."""
    got = data.get(name)
    return config.sources[name].is_warehouse and isinstance(got, SourceData) and got.kpi_values is not None


def source_preparer(config: Config) -> Callable[[SourceData], SourceData]:
    """`prepare_source` for any source of `config`, its KPIs grouped by source once (not per source)."""
    by_source: dict[str, list[KPIConfig]] = {}
    for kpi in config.kpis.values():
        if kpi.source is not None and kpi.formula is None:
            by_source.setdefault(kpi.source, []).append(kpi)
    return lambda got: prepare_source(config, got, by_source.get(got.name, []))


def prepare_source(config: Config, got: SourceData, kpis: Iterable[KPIConfig]) -> SourceData:
    """A sheet source's rows turned into what its KPIs aggregate, so its frame can be let go.

    `read_with` prepares each source as soon as it is read: a sync then holds each KPI's
    date-sorted values (shared per column, see `ColumnCache`), never every source's rows at
    once. The `[checkins] source` keeps its (filtered) rows, which `compute` reads check-ins
    from. A source already prepared, or a warehouse's whose engine computed the KPIs, comes
    back as it is. `kpis` are the source's KPIs (`source_preparer` groups them once).
    """
    source = config.sources.get(got.name)
    if got.kpi_values is not None or source is None:
        return got
    released = {"frame": pd.DataFrame(), "row_count": got.rows, "table_columns": tuple(got.columns)}
    warnings: list[str] = []  # the source filter's notes first
    try:  # the rows the source's filter keeps (what it factorized, shared with its KPIs)
        cache = source_rows(got.frame, source.filter, f"sources.{source.name}.filter", source, config.timezone,
                            warnings)
    except KPIDataError as exc:
        return replace(got, kpi_values={}, unusable=str(exc), **released)  # type: ignore[arg-type]
    frame = cache.frame
    rows: dict[str, KPIRows] = {}
    errors: dict[str, str] = {}
    for kpi in kpis:
        try:
            rows[kpi.id], cell_warnings = prepare_kpi_rows(frame, kpi, source, tz=config.timezone, cache=cache)
        except KPIDataError as exc:
            errors[kpi.id] = str(exc)
            continue
        warnings.extend(cell_warnings)
    warnings = list(dict.fromkeys(warnings))  # a note on a column or filter many KPIs read, once
    if config.checkins.enabled and config.checkins.source == source.name:
        released["frame"] = frame
    return replace(got, kpi_values=rows, kpi_errors=errors, kpi_warnings=tuple(warnings), **released)  # type: ignore[arg-type]


def _source_checkins(config: Config, name: str, frame: pd.DataFrame) -> tuple[list[ci.CheckIn], list[str]]:
    """The check-ins in a `[checkins] source`'s rows."""
    settings, source = config.checkins, config.sources[name]
    columns = ci.CheckInColumns(settings.kr, settings.date, settings.confidence, settings.comment, settings.value,
                                settings.by)  # fmt: skip
    krs = {kr.id: kr.title for _, kr in config.key_results()}
    return ci.read_frame(
        frame, columns, krs, origin=name, row_column=ROW_COLUMN, dayfirst=source.dayfirst, decimal=source.decimal,
        thousands=source.thousands, tz=config.timezone,
    )  # fmt: skip


def _source_result(
    source: SourceConfig, got: SourceData | SourceError | None, error: str | None, warnings: list[str]
) -> SourceResult:
    location = str(source.path or source.spreadsheet or "")
    if isinstance(got, SourceData):
        status = "failed" if error else ("warning" if warnings else "ok")
        return SourceResult(
            source.name, source.type, got.location, got.sheet, got.rows, got.fetched_at, status,
            tuple(dict.fromkeys(redact(w) for w in warnings)), redact(error) if error else error,
            tuple(shown(c, 80) for c in got.columns),
        )
    if isinstance(got, SourceError):  # where the read failed, as the error says (the digest shows it too)
        location, sheet, row = got.location, got.sheet, got.row
    else:
        sheet = row = None
    return SourceResult(
        source.name, source.type, location, sheet, 0, None, "failed", (), error,
        unavailable=isinstance(got, SourceUnavailable), row=row,
    )


def sync(
    config: Config,
    as_of: date | None = None,
    *,
    read: Reader | None = None,
    checkins: Sequence[ci.CheckIn] | None = None,
    checkin_warnings: Sequence[str] = (),
    last_good: LastGoodValues | None = None,
) -> SyncResult:
    """Read every source and compute the results (as of today in the project's zone by default).

    Without `checkins`, those kept in the history are used (a digest computed on its own
    still shows what owners said).
    """
    if checkins is None:
        checkins = stored_checkins(config)
    as_of = as_of or today(config)
    data = read_with(config, read, as_of=as_of)
    return compute(config, data, as_of, checkins=checkins, checkin_warnings=checkin_warnings, last_good=last_good)


def read_with(
    config: Config, reader: Reader | None = None, *, as_of: date | None = None
) -> Mapping[str, SourceData | SourceError]:
    """Every source's rows (or the error that stopped it); a warehouse's KPI values per window.

    Warehouse sources (sql, parquet) are read last: the sheets' data is needed to plan which
    windows the engine must compute, since formulas may mix both.

    The sheets are read with the cyclic garbage collector paused (`collector_paused`): their
    values arrive as lists (a spreadsheet's JSON, calamine's rows) that live until their frame
    is built, and full collections walked them again and again: 2.3 s of 16 s at the bench's
    large size, with the same peak memory paused.
    """
    if reader is None:
        from connectors.sources import read_sources

        def reader(sources: Iterable[SourceConfig], google: GoogleConfig) -> Mapping[str, SourceData | SourceError]:
            # incremental; each source prepared as soon as it is read, its rows released
            return read_sources(sources, google, state_dir=config.state_dir,
                                prepare=source_preparer(config), threads=config.threads)

    with collector_paused():  # the rows arrive as millions of young lists that live until framed
        data = dict(reader([s for s in config.sources.values() if not s.is_warehouse], config.google))
    warehouses = [s for s in config.sources.values() if s.is_warehouse and s.name not in data]
    if warehouses:
        from connectors.warehouse import read_warehouse_sources

        plan = plan_windows(config, data, as_of or today(config))
        data.update(read_warehouse_sources(warehouses, config.kpis.values(), plan, config.timezone))
    return data


def stored_checkins(config: Config) -> list[ci.CheckIn]:
    """The check-ins in the project's history (none before its first sync)."""
    from sheetsync.runtime.history import HISTORY_FILE, History

    if not config.checkins.enabled or not (config.state_dir / HISTORY_FILE).exists():
        return []
    with History.for_state_dir(config.state_dir) as history:
        return history.checkins()


def plan_windows(
    config: Config, data: Mapping[str, SourceData | SourceError], as_of: date
) -> dict[str, WindowRecorder]:
    """The date windows (and freshness ends) each warehouse KPI will be asked for, learnt by running `compute` itself.

    The planning pass computes with `WindowRecorder`s standing in for the warehouse KPIs'
    rows, so the engine is asked for exactly the windows the real pass reads, however the
    evaluation changes, and nothing else.
    """
    recorders: dict[str, dict[str, WindowRecorder]] = {}
    for kpi in config.kpis.values():
        if kpi.source is not None and config.sources[kpi.source].is_warehouse:
            recorders.setdefault(kpi.source, {})[kpi.id] = WindowRecorder(kpi.agg)
    planning = dict(data)
    for source in config.sources.values():
        if source.is_warehouse:
            planning[source.name] = SourceData(source.name, source.type, "", None, datetime.now(UTC), pd.DataFrame(),
                                               kpi_values=recorders.get(source.name, {}))
    compute(config, planning, as_of)
    return {kpi_id: r for by_kpi in recorders.values() for kpi_id, r in by_kpi.items()}
