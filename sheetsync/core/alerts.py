"""Alerts between digests: which conditions started or cleared since the last sync.

A condition is a fact about one thing that is either true or not: "KR O1-KR2 is below
the status it had", "KPI csat is below its warning level", "source sales failed on two
syncs in a row". An alert is sent when a condition starts and when it clears, never in
between, so a KPI that crosses its warning level, stays there for a week of daily syncs
and crosses back gives exactly two alerts. What is active, and what each KR and KPI looked
like at the last sync, is an `AlertState` the caller keeps (in the history database)
across runs and restarts.

The first evaluation (no state yet) only records the baseline: nothing alerts for what
was already true before alerts were switched on, and so does the first of a new OKR period
(its key results start afresh). A sync for an earlier day than the last (a backfill) alerts
nothing and leaves the state as it was: today's conditions did not start or clear then.
A KPI without a value (its source failed, no rows yet) keeps its conditions as they were: a
missing number is not a recovery, and the `source_failed_runs` rule is what reports the failure.

Pure: results in, events and the next state out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetsync.core import display
from sheetsync.core.model import AlertsConfig
from sheetsync.core.results import SyncResult

STATUS_RANK = {"done": 0, "on_track": 1, "at_risk": 2, "off_track": 3}
"""Statuses a KR can slip between; no_data and no_target say nothing about direction."""
LEVELS = ("target", "warn")


@dataclass(frozen=True)
class AlertEvent:
    rule: str  # kr_status_worse | kpi_crossed | source_failed_runs
    key: str  # the condition, e.g. "kpi_crossed:warn:csat"
    event: str  # started | cleared
    ref: str  # the KR id, KPI id or source name
    title: str
    message: str  # one line, plain text: each medium escapes it

    @property
    def started(self) -> bool:
        return self.event == "started"


@dataclass
class AlertState:
    """What the last sync saw, and which conditions are active (with what they started from)."""

    kr_status: dict[str, str] = field(default_factory=dict)
    kpi_bad: dict[str, bool] = field(default_factory=dict)  # "warn:csat" -> on the wrong side of the level
    source_failures: dict[str, int] = field(default_factory=dict)  # failed syncs in a row
    active: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {"since": as_of, "from": status}
    as_of: str | None = None  # the day and the period of the sync this state is from
    period: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {"kr_status": self.kr_status, "kpi_bad": self.kpi_bad, "source_failures": self.source_failures,
             "active": self.active, "as_of": self.as_of, "period": self.period}, sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> AlertState:
        data: Mapping[str, Any] = json.loads(text)
        return cls(
            kr_status=dict(data.get("kr_status", {})),
            kpi_bad={k: bool(v) for k, v in data.get("kpi_bad", {}).items()},
            source_failures={k: int(v) for k, v in data.get("source_failures", {}).items()},
            active={k: dict(v) for k, v in data.get("active", {}).items()},
            as_of=data.get("as_of"),
            period=data.get("period"),
        )


def why_nothing_alerts(result: SyncResult, state: AlertState | None) -> str | None:
    """Why `result` cannot raise alerts against `state`, in a line for the log; None when it can."""
    if state is None:
        return "first sync with [alerts] on: conditions recorded as the baseline, nothing sent"
    if state.period not in (None, result.period.name):
        return (f"first sync of {result.period.name} (the last was of {state.period}): conditions recorded as "
                "the baseline, nothing sent")
    if state.as_of is not None and result.as_of.isoformat() < state.as_of:
        return f"a sync for a day before the last one ({state.as_of}): nothing sent, the alerts' state kept"
    return None


def evaluate(rules: AlertsConfig, result: SyncResult, state: AlertState | None) -> tuple[list[AlertEvent], AlertState]:
    """The alerts `result` raises against `state`, and the state to keep for the next sync.

    With `state` None (the first sync with alerts on) nothing alerts: the state is the baseline.
    """
    as_of = result.as_of.isoformat()
    if state is not None and state.period not in (None, result.period.name):
        state = None  # a new period: a baseline, not a comparison with last quarter's statuses
    if state is not None and state.as_of is not None and as_of < state.as_of:
        return [], state  # a backfill: nothing started or cleared today because of it
    baseline = state is None
    before = state or AlertState()
    after = AlertState(active=dict(before.active) if state else {}, as_of=as_of, period=result.period.name)
    events: list[AlertEvent] = []

    def start(key: str, rule: str, ref: str, title: str, message: str, **extra: str) -> None:
        after.active[key] = {"since": as_of, **extra}
        if not baseline:
            events.append(AlertEvent(rule, key, "started", ref, title, message))

    def clear(key: str, rule: str, ref: str, title: str, message: str) -> None:
        after.active.pop(key, None)
        if not baseline:
            events.append(AlertEvent(rule, key, "cleared", ref, title, message))

    for kr in result.key_results:
        if kr.status not in STATUS_RANK:
            if kr.id in before.kr_status:
                after.kr_status[kr.id] = before.kr_status[kr.id]  # no data: remember the last real status
            continue
        after.kr_status[kr.id] = kr.status
        if not rules.kr_status_worse:
            continue
        key = f"kr_status_worse:{kr.id}"
        label = f"{kr.id} {display.one_line(kr.title, 120)}"
        if key in before.active:
            was = before.active[key].get("from", "on_track")
            if STATUS_RANK[kr.status] <= STATUS_RANK.get(was, 1):
                clear(key, "kr_status_worse", kr.id, kr.title,
                      f"Key result {label} is back to {display.status_label(kr.status)} "
                      f"(it had slipped from {display.status_label(was)}).")
            continue
        last = before.kr_status.get(kr.id)
        if last is not None and STATUS_RANK[kr.status] > STATUS_RANK[last]:
            start(key, "kr_status_worse", kr.id, kr.title,
                  f"Key result {label} slipped from {display.status_label(last)} to "
                  f"{display.status_label(kr.status)}: {display.percent(kr.progress)} done, "
                  f"{display.percent(kr.expected)} expected by now.",
                  **{"from": last})

    for kpi in result.kpis:
        for level in LEVELS:
            threshold = kpi.target if level == "target" else kpi.warn
            name = f"{level}:{kpi.id}"
            if threshold is None:
                continue
            if kpi.value is None or kpi.stale:
                if name in before.kpi_bad:
                    after.kpi_bad[name] = before.kpi_bad[name]
                continue
            sign = 1 if kpi.direction != "decrease" else -1
            bad = sign * (kpi.value - threshold) < 0
            after.kpi_bad[name] = bad
            if not rules.kpi_crossed:
                continue
            key = f"kpi_crossed:{name}"
            what = "target" if level == "target" else "warning level"
            value = display.value(kpi.value, kpi.unit)
            limit = display.value(threshold, kpi.unit)
            title = display.one_line(kpi.title, 120)
            if bad and key not in before.active:
                if before.kpi_bad.get(name) is not False:
                    # first seen (baseline, a new KPI, or the rule just switched on): already on that side
                    after.active[key] = {"since": as_of}
                    continue
                side = "below" if sign > 0 else "above"
                start(key, "kpi_crossed", kpi.id, kpi.title,
                      f"KPI {title} crossed its {what}: {value}, {side} {limit}.")
            elif not bad and key in before.active:
                side = "at or above" if sign > 0 else "at or below"
                clear(key, "kpi_crossed", kpi.id, kpi.title,
                      f"KPI {title} is back past its {what}: {value}, {side} {limit}.")

    for source in result.sources:
        failed = source.status == "failed"
        count = before.source_failures.get(source.name, 0) + 1 if failed else 0
        after.source_failures[source.name] = count
        if not rules.source_failed_runs:
            continue
        key = f"source_failed_runs:{source.name}"
        if failed and count >= rules.source_failed_runs and key not in before.active:
            start(key, "source_failed_runs", source.name, source.name,
                  f"Source {source.name!r} failed on {count} sync{'s' if count != 1 else ''} in a row: "
                  f"{display.one_line(source.error or 'it could not be read', 300)}")
        elif not failed and key in before.active:
            clear(key, "source_failed_runs", source.name, source.name,
                  f"Source {source.name!r} was read again after failing.")

    present = ({f"kr_status_worse:{kr.id}" for kr in result.key_results}
               | {f"kpi_crossed:{level}:{k.id}" for k in result.kpis for level in LEVELS}
               | {f"source_failed_runs:{s.name}" for s in result.sources})
    for key in list(after.active):
        if key not in present:  # its KR, KPI or source left the config
            del after.active[key]
    return events, after
