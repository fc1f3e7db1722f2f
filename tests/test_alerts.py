"""Alerts between digests: the rules as pure code, and five daily syncs end to end."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from connectors.smtp_mailer import DeliveryError
from connectors.webhooks import WebhookError
from sheetsync.config import load_config
from sheetsync.core.alerts import AlertState, evaluate, why_nothing_alerts
from sheetsync.core.model import AlertsConfig
from sheetsync.core.results import SourceResult
from sheetsync.runtime.jobs import run_sync
from tests.helpers import run_cli
from tests.test_digest import kpi, kr, objective, ok_source, result
from tests.test_digest_smtp import free_port, set_port, start_server
from tests.webhook_server import WebhookServer

ALL_RULES = AlertsConfig(kr_status_worse=True, kpi_crossed=True, source_failed_runs=2)


def syncs(rules: AlertsConfig, results: list) -> list[list]:
    """The events of each sync in turn, the state carried over as the history would."""
    state, out = None, []
    for each in results:
        events, state = evaluate(rules, each, state)
        state = AlertState.from_json(state.to_json())  # what the next process reads back
        out.append(events)
    return out


def with_kpi(value: float | None, *, stale: str | None = None):
    return result([], [kpi("csat", value, "on_track", title="Customer satisfaction", stale=stale)])


def test_a_kpi_that_crosses_its_warning_stays_and_crosses_back_alerts_twice() -> None:
    values = [0.87, 0.84, 0.83, 0.86, 0.865]  # target 0.90, warning 0.85
    events = syncs(AlertsConfig(kpi_crossed=True), [with_kpi(v) for v in values])
    assert [[(e.key, e.event) for e in day] for day in events] == [
        [], [("kpi_crossed:warn:csat", "started")], [], [("kpi_crossed:warn:csat", "cleared")], []]
    assert events[1][0].message == "KPI Customer satisfaction crossed its warning level: 84%, below 85%."
    assert events[3][0].message == "KPI Customer satisfaction is back past its warning level: 86%, at or above 85%."


def test_the_first_sync_is_the_baseline_and_a_missing_value_changes_nothing() -> None:
    events = syncs(AlertsConfig(kpi_crossed=True), [
        with_kpi(0.80),  # below target and warning already: recorded, not alerted
        with_kpi(None, stale="source 's1' failed"),  # no number: not a recovery
        with_kpi(0.82),
        with_kpi(0.95),  # meets its target: both levels clear
    ])
    assert [[(e.key, e.event) for e in day] for day in events] == [
        [], [], [], [("kpi_crossed:target:csat", "cleared"), ("kpi_crossed:warn:csat", "cleared")]]


def test_a_decreasing_kpi_crosses_upwards() -> None:
    def first_response(value: float):
        return result([], [replace(kpi("frt", value, "on_track", unit="min"), direction="decrease", target=2.0,
                                   warn=3.0)])

    events = syncs(AlertsConfig(kpi_crossed=True), [first_response(v) for v in (1.8, 2.4, 1.9)])
    assert [[(e.key, e.event) for e in day] for day in events] == [
        [], [("kpi_crossed:target:frt", "started")], [("kpi_crossed:target:frt", "cleared")]]
    assert "above 2 min" in events[1][0].message


def test_a_key_result_that_slips_alerts_once_until_it_is_back() -> None:
    def status(value: str):
        return result([objective("O1", [kr("O1-KR1", "O1", 50, value, title="Grow sales")])])

    seq = ["on_track", "at_risk", "off_track", "no_data", "at_risk", "on_track", "done", "on_track"]
    events = syncs(AlertsConfig(kr_status_worse=True), [status(s) for s in seq])
    assert [[(e.key, e.event) for e in day] for day in events] == [
        [], [("kr_status_worse:O1-KR1", "started")], [], [], [], [("kr_status_worse:O1-KR1", "cleared")], [],
        [("kr_status_worse:O1-KR1", "started")]]
    assert events[1][0].message.startswith("Key result O1-KR1 Grow sales slipped from on track to at risk:")
    assert events[5][0].message == "Key result O1-KR1 Grow sales is back to on track (it had slipped from on track)."


def test_a_source_failing_on_two_syncs_in_a_row_alerts_and_clears_when_it_is_read_again() -> None:
    failed = SourceResult("sales", "csv", "sales.csv", None, 0, None, "failed", (), "sales.csv: file not found")

    def sources(ok: bool):
        return result([], sources=[ok_source("sales") if ok else failed])

    events = syncs(ALL_RULES, [sources(x) for x in (True, False, True, False, False, False, True)])
    assert [[(e.key, e.event) for e in day] for day in events] == [
        [], [], [], [], [("source_failed_runs:sales", "started")], [], [("source_failed_runs:sales", "cleared")]]
    assert events[4][0].message == "Source 'sales' failed on 2 syncs in a row: sales.csv: file not found"
    once = syncs(replace(ALL_RULES, source_failed_runs=1), [sources(x) for x in (True, False)])
    assert once[1][0].message == "Source 'sales' failed on 1 sync in a row: sales.csv: file not found"


def test_a_condition_whose_subject_left_the_config_is_forgotten() -> None:
    _, state = evaluate(AlertsConfig(kpi_crossed=True), with_kpi(0.80), None)
    assert set(state.active) == {"kpi_crossed:target:csat", "kpi_crossed:warn:csat"}
    events, state = evaluate(AlertsConfig(kpi_crossed=True), result([], []), state)
    assert events == [] and state.active == {}


# --- end to end -----------------------------------------------------------------------------

DAILY = """[project]
name = "Acme"
timezone = "UTC"
period = "2026-Q4"

[sources.daily]
type = "csv"
path = "daily.csv"

[kpis.csat]
title = "Customer satisfaction"
source = "daily"
column = "CSAT"
agg = "last"
date_column = "Date"
unit = "%"
target = 0.90
warn = 0.85

[[objectives]]
id = "O1"
title = "Delight customers"

[[objectives.key_results]]
id = "O1-KR1"
title = "Satisfaction from 80% to 90%"
kpi = "csat"
start = 0.80
target = 0.90

[tracker]
path = "output/tracker.xlsx"

[digest]
to = ["leads@acme.example"]
from = "OKR bot <okrs@acme.example>"
retry_wait = 0.05
retries = 2
{digest}

[alerts]
kpi_crossed = true
{alerts}

[schedule]
sync = "every day 07:00"
digest = "monday 08:00"
"""
DAYS = [date(2026, 11, 30) + timedelta(days=n) for n in range(5)]  # Monday to Friday
CSAT = [0.87, 0.84, 0.83, 0.86, 0.865]


def daily_project(tmp_path: Path, digest: str = "", alerts: str = "") -> Path:
    rows = ["Date,CSAT"] + [f"{day.isoformat()},{value}" for day, value in zip(DAYS, CSAT, strict=True)]
    (tmp_path / "daily.csv").write_text("\n".join(rows) + "\n")
    config = tmp_path / "config.toml"
    config.write_text(DAILY.format(digest=digest, alerts=alerts))
    return config


def test_switching_kpi_crossed_on_later_takes_a_kpi_already_past_its_level_as_the_baseline() -> None:
    _, state = evaluate(AlertsConfig(kr_status_worse=True), with_kpi(0.81), None)  # below both levels
    on = AlertsConfig(kr_status_worse=True, kpi_crossed=True)
    events, state = evaluate(on, with_kpi(0.79), state)
    assert events == []  # nothing crossed: it was below its target and warning level all along
    events, state = evaluate(on, with_kpi(0.95), state)
    assert [(e.key, e.event) for e in events] == [("kpi_crossed:target:csat", "cleared"),
                                                  ("kpi_crossed:warn:csat", "cleared")]


def test_a_backfill_alerts_nothing_and_a_new_period_starts_from_a_baseline() -> None:
    from sheetsync.core.periods import parse_period

    def status(value: str, day: date, period: str = "2026-Q4"):
        return replace(result([objective("O1", [kr("O1-KR1", "O1", 50, value, title="Grow sales")])]),
                       as_of=day, period=parse_period(period))

    rules = AlertsConfig(kr_status_worse=True)
    events, state = evaluate(rules, status("on_track", date(2026, 11, 23)), None)
    events, state = evaluate(rules, status("at_risk", date(2026, 11, 30)), state)
    assert [(e.key, e.event) for e in events] == [("kr_status_worse:O1-KR1", "started")]
    events, backfilled = evaluate(rules, status("on_track", date(2026, 11, 23)), state)  # re-run last week
    assert events == [] and backfilled.to_json() == state.to_json()
    assert why_nothing_alerts(status("on_track", date(2026, 11, 23)), state) == (
        "a sync for a day before the last one (2026-11-30): nothing sent, the alerts' state kept")
    events, state = evaluate(rules, status("at_risk", date(2026, 12, 1)), backfilled)
    assert events == []  # still the slip that already alerted, not a second one
    assert why_nothing_alerts(status("on_track", date(2027, 1, 6), "2027-Q1"), state) == (
        "first sync of 2027-Q1 (the last was of 2026-Q4): conditions recorded as the baseline, nothing sent")
    events, state = evaluate(rules, status("on_track", date(2027, 1, 6), "2027-Q1"), state)
    assert events == []  # a new quarter's first sync clears nothing: Q1's statuses start afresh
    assert state.active == {} and state.period == "2027-Q1"
    events, state = evaluate(rules, status("off_track", date(2027, 1, 13), "2027-Q1"), state)
    assert [(e.key, e.event) for e in events] == [("kr_status_worse:O1-KR1", "started")]


def test_five_daily_syncs_give_exactly_two_alerts_across_restarts(tmp_path: Path) -> None:
    """A KPI crosses its warning level on Tuesday, stays on Wednesday, crosses back on Thursday."""
    daily_project(tmp_path)
    outputs = []
    for day in DAYS:  # each sync is a new process: the state comes from the history
        command = "run" if day.weekday() == 3 else "sync"  # alerts come with `run` too
        proc = run_cli(command, "--as-of", day.isoformat(), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "conditions recorded as the baseline, nothing sent" in outputs[0]
    assert "alert: KPI Customer satisfaction crossed its warning level: 84%, below 85%." in outputs[1]
    assert "alerts:" not in outputs[2] and "alerts:" not in outputs[4]
    assert "cleared: KPI Customer satisfaction is back past its warning level: 86%, at or above 85%." in outputs[3]
    emails = sorted((tmp_path / "outbox" / "alerts").glob("*.eml"))
    assert len(emails) == 2
    subjects = [BytesParser(policy=policy.default).parsebytes(e.read_bytes())["Subject"] for e in emails]
    assert subjects == ["Acme OKR alerts: 1 new alert · 2026-12-01", "Acme OKR alerts: 1 cleared · 2026-12-03"]
    with sqlite3.connect(tmp_path / ".sheetsync" / "history.sqlite") as db:
        log = db.execute("SELECT as_of, condition, event FROM alert_log ORDER BY rowid").fetchall()
    assert log == [("2026-12-01", "kpi_crossed:warn:csat", "started"),
                   ("2026-12-03", "kpi_crossed:warn:csat", "cleared")]


def test_undelivered_alerts_wait_and_go_out_with_the_next_sync(tmp_path: Path, monkeypatch) -> None:
    with WebhookServer() as hooks:
        monkeypatch.setenv("TEST_ALERTS_SLACK", hooks.url("/slack/alerts"))
        config_path = daily_project(
            tmp_path, digest=f'smtp_host = "127.0.0.1"\nsmtp_port = {free_port()}\nsecurity = "none"\ntimeout = 5\n'
                             '\n[digest.slack]\nwebhook_env = "TEST_ALERTS_SLACK"',
            alerts="chat = true")
        assert run_sync(load_config(config_path), DAYS[0]).alerts.quiet
        hooks.script("/slack/alerts", 503, 503)
        outcome = run_sync(load_config(config_path), DAYS[1])  # the warning is crossed; SMTP and Slack are down
        assert outcome.exit_code == 1
        assert [line.split(":")[0] for line in outcome.alerts.pending] == ["error", "error"]
        assert "connection refused" in outcome.alerts.pending[0]
        assert "Slack webhook $TEST_ALERTS_SLACK: answered 503" in outcome.alerts.pending[1]
        pending = tmp_path / "outbox" / "alerts" / "pending"
        assert len(list(pending.glob("*.eml"))) == 1 and len(list(pending.glob("*.json"))) == 1
        (eml,), (post,) = pending.glob("*.eml"), pending.glob("*.json")
        # Each failure names the outbox file its alert waits in: the error, its line, the outcome.
        email, slack = outcome.alerts.failures
        assert isinstance(email, DeliveryError) and email.where["file"] == str(eml)
        assert email.where["recipients"] == ("leads@acme.example",)
        assert isinstance(slack, WebhookError) and slack.where["file"] == str(post)
        assert outcome.alerts.pending_files == [str(eml), str(post)]
        assert [line.endswith(f"kept in {path} for the next sync")
                for line, path in zip(outcome.alerts.pending, (eml, post), strict=True)] == [True, True]

        controller, inbox = start_server()
        try:
            set_port(config_path, controller.port)
            later = run_sync(load_config(config_path), DAYS[2])  # nothing new: last sync's alerts go out
        finally:
            controller.stop()
        assert later.exit_code == 0 and later.alerts.events == []
        (message,) = inbox.messages()
        assert message["To"] == "leads@acme.example"
        assert "crossed its warning level: 84%, below 85%" in message.get_body(("plain",)).get_content()
        slack = hooks.to("/slack/alerts")  # two refused with 503, then the one from the queue
        assert len(slack) == 3 and not any(r.problems for r in slack)
        assert "crossed its warning level" in slack[-1].body["blocks"][1]["text"]["text"]
        assert not list(pending.glob("*"))


def test_an_alert_delivered_but_not_filed_in_sent_is_never_delivered_again(tmp_path: Path) -> None:
    controller, inbox = start_server()
    try:
        config_path = daily_project(
            tmp_path, digest=f'smtp_host = "127.0.0.1"\nsmtp_port = {controller.port}\nsecurity = "none"\ntimeout = 5')
        assert run_sync(load_config(config_path), DAYS[0]).alerts.quiet
        (tmp_path / "outbox" / "alerts").mkdir(parents=True, exist_ok=True)
        (tmp_path / "outbox" / "alerts" / "sent").write_text("not a folder")  # filing the alert will fail
        crossed = run_sync(load_config(config_path), DAYS[1])
        assert len(inbox.received) == 1 and crossed.exit_code == 1
        (line,) = crossed.alerts.pending
        assert "it was delivered, and is kept as" in line and "so it is not sent again" in line
        for day in DAYS[2:]:
            run_sync(load_config(config_path), day)
        assert len(inbox.received) == 2  # Thursday's 'cleared', and Tuesday's alert never again
    finally:
        controller.stop()


@pytest.mark.parametrize(("toml", "message"), [
    ("chat = true", "alerts.chat: chat = true needs a channel"),
    ("source_failed_runs = -1", "alerts.source_failed_runs"),
    ("kpi_crosed = true", "alerts.kpi_crosed: unknown key (did you mean 'kpi_crossed'?)"),
])
def test_alert_config_mistakes_are_one_line_errors(tmp_path: Path, toml: str, message: str) -> None:
    daily_project(tmp_path, alerts=toml)
    proc = run_cli("check", cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_team_channels_get_the_alerts_about_their_own_key_results(tmp_path: Path, monkeypatch) -> None:
    with WebhookServer() as hooks:
        for name in ("ALL", "SUPPORT", "SALES"):
            monkeypatch.setenv(f"TEST_ALERTS_{name}", hooks.url(f"/slack/{name.lower()}"))
        channels = '\n[digest.slack]\nwebhook_env = "TEST_ALERTS_ALL"\n'
        for team in ("Support", "Sales"):
            channels += f'\n[digest.teams.{team}.slack]\nwebhook_env = "TEST_ALERTS_{team.upper()}"\n'
        config_path = daily_project(tmp_path, digest=channels, alerts="chat = true")
        config_path.write_text(config_path.read_text().replace('title = "Delight customers"',
                                                               'title = "Delight customers"\nteam = "Support"'))
        for day in DAYS[:2]:
            outcome = run_sync(load_config(config_path), day)
            assert outcome.exit_code == 0, outcome.alerts.pending
    assert sorted(r.path for r in hooks.requests) == ["/slack/all", "/slack/support"]  # not Sales: not theirs
    assert all(not r.problems for r in hooks.requests)
    assert all("crossed its warning level" in r.body["blocks"][1]["text"]["text"] for r in hooks.requests)
