"""Alerts on every sync: evaluate the `[alerts]` rules, keep their state, send what started or cleared.

Called by `run_sync`, so `sync`, `run` and the scheduler's sync job all alert. The state
(`sheetsync.core.alerts.AlertState`) lives in the history database, so "alert once when a
condition starts and once when it clears" holds across restarts. A sync's alerts become one
email (to `[alerts] to`, default the digest's `to`) and, with `chat = true`, one post per
channel of the everyone digest, and to each team's channels the alerts about that team's
key results, the KPIs they use and the sources those read. Each is written to `<outbox>/alerts/pending/` before the new
state is saved, then delivered: an SMTP or webhook outage keeps it there for the next sync
(nothing is lost; a crash in between can at worst repeat an alert, never drop one). Without
`smtp_host` the email is written to `<outbox>/alerts/` as the digest is to the outbox.
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from connectors import smtp_mailer, webhooks
from connectors.atomic import OutputError, atomic_write_bytes
from connectors.smtp_mailer import DeliveryError, SMTPSettings
from connectors.webhooks import Webhook, WebhookError
from sheetsync.core.alerts import AlertEvent, AlertState, evaluate, why_nothing_alerts
from sheetsync.core.digest import ALL, web_link
from sheetsync.core.model import Config
from sheetsync.core.results import SyncResult
from sheetsync.errors import SheetsyncError
from sheetsync.render import mail_policy
from sheetsync.render.alert_message import build_alert_message
from sheetsync.runtime.chat import CHANNEL_NAMES, ChatQueue
from sheetsync.runtime.history import History
from sheetsync.runtime.outbox import Queue, to_bytes

log = logging.getLogger("sheetsync.alerts")

Sender = Callable[[EmailMessage, SMTPSettings], object]
Poster = Callable[[Webhook, Mapping[str, Any]], None]


@dataclass
class AlertsOutcome:
    events: list[AlertEvent] = field(default_factory=list)
    quiet: str | None = None  # why this sync could raise no alerts (the first, a new period's, a backfill)
    delivered: list[str] = field(default_factory=list)  # one line per email or post that went out
    pending: list[str] = field(default_factory=list)  # one line per one that waits for the next sync
    #: Why each of those waits: its DeliveryError or WebhookError, located in the outbox file it waits in.
    failures: list[SheetsyncError] = field(default_factory=list)

    @property
    def pending_files(self) -> list[str]:
        """The outbox files the undelivered alerts wait in, for ops to find (and resend)."""
        return [str(f.file) for f in self.failures if f.file]

    def lines(self) -> list[str]:
        if self.quiet:
            return [f"alerts: {self.quiet}"]
        started = sum(e.started for e in self.events)
        head = [f"alerts: {started} started, {len(self.events) - started} cleared"] if self.events else []
        return head + [f"alert: {e.message}" if e.started else f"cleared: {e.message}" for e in self.events] \
            + self.delivered


class _Outbox(Queue):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.chats = ChatQueue(root)

    def pending_emails(self) -> list[Path]:
        return sorted(self.pending_dir.glob("*.eml")) if self.pending_dir.is_dir() else []


def run_alerts(
    config: Config,
    result: SyncResult,
    *,
    tracker_url: str | None = None,
    send: Sender | None = None,
    post: Poster | None = None,
    environ: Mapping[str, str] | None = None,
    history: History | None = None,
) -> AlertsOutcome:
    """Evaluate the rules against `result`, queue and deliver what started or cleared."""
    outcome = AlertsOutcome()
    rules = config.alerts
    if not rules.enabled:
        return outcome
    environ = os.environ if environ is None else environ
    outbox = _Outbox(config.digest.outbox / "alerts")
    own = history is None
    history = history or History.for_state_dir(config.state_dir)
    try:
        saved = history.alert_state()
        state = AlertState.from_json(saved) if saved else None
        events, after = evaluate(rules, result, state)
        outcome.events, outcome.quiet = events, why_nothing_alerts(result, state)
        if events:
            _queue(config, result, events, outbox, web_link(tracker_url or _tracker_link(config)))
        history.save_alerts(after.to_json(), [(result.as_of.isoformat(), e.rule, e.key, e.event, e.message)
                                              for e in events])
    finally:
        if own:
            history.close()
    _deliver(config, outbox, outcome, send or smtp_mailer.send, post or webhooks.post, environ)
    for line in outcome.pending:
        log.error("%s", line)
    return outcome


def _tracker_link(config: Config) -> str | None:
    from sheetsync.runtime.delivery import tracker_link

    return tracker_link(config)


def _queue(config: Config, result: SyncResult, events: list[AlertEvent], outbox: _Outbox,
           link: str | None) -> None:
    from sheetsync.render import slack_message, teams_card

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    rules = config.alerts
    if rules.to:
        message = build_alert_message(result.project, result.as_of, events, sender=config.digest.sender,
                                      to=rules.to, when=datetime.now(config.zone), tracker_url=link)
        atomic_write_bytes(outbox.pending_dir / f"{stamp}.eml", to_bytes(message))
    if rules.chat:
        audiences = [(ALL, chat, events) for chat in config.digest.chats]
        for team in config.digest.teams:
            mine = [e for e in events if team.team.strip().casefold() in _teams(e, result)]
            audiences += [(team.team, chat, mine) for chat in team.chats if mine]
        for audience, chat, chosen in audiences:
            render = slack_message.alert_payload if chat.channel == "slack" else teams_card.alert_payload
            slug = "" if audience == ALL else "-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", audience).strip("._")
            outbox.chats.keep("alert", stamp, audience, chat, render(result.project, chosen, tracker_url=link),
                              name=f"{stamp}{slug}-{chat.channel}.json")


def _teams(event: AlertEvent, result: SyncResult) -> set[str]:
    """The teams (casefolded) an alert concerns: the KR's objective's, or those whose KRs use the KPI or source."""
    kpi_source = {k.id: k.source for k in result.kpis}
    teams: set[str] = set()
    for objective in result.objectives:
        for kr in objective.key_results:
            if ((event.ref == kr.id and event.rule == "kr_status_worse")
                    or (event.ref == kr.kpi and event.rule == "kpi_crossed")
                    or (event.ref == kpi_source.get(kr.kpi) and event.rule == "source_failed_runs")):
                teams.add(objective.team.strip().casefold())
    return teams


def _deliver(config: Config, outbox: _Outbox, outcome: AlertsOutcome, send: Sender, post: Poster,
             environ: Mapping[str, str]) -> None:
    """Everything queued, oldest first: this sync's alerts and any an earlier outage left behind."""
    digest = config.digest
    settings: SMTPSettings | None = None
    blocked: DeliveryError | None = None
    if digest.smtp_host:
        try:
            settings = SMTPSettings.from_config(digest, environ)
        except DeliveryError as exc:
            blocked = exc
    for path in outbox.pending_emails():
        message = BytesParser(policy=mail_policy.DEFAULT).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if settings is None and blocked is None:  # no SMTP server: the outbox is the delivery
            target = outbox.root / path.name
            path.replace(target)
            outcome.delivered.append(f"wrote the alert email to {target} (no smtp_host: not emailed)")
            continue
        try:
            if blocked is not None:
                raise blocked.for_message(message)
            assert settings is not None
            send(message, settings)
        except DeliveryError as exc:
            blocked = blocked or (None if exc.this_message_only else copy.copy(exc))
            outcome.failures.append(exc.locate(file=str(path)))
            outcome.pending.append(f"error: the alert email was not delivered: {exc}; kept in {path} for the next sync")
            continue
        outcome.delivered.append(f"emailed the alerts to {message['To']}")
        _file_sent(outbox, path, outcome)
    for path in outbox.chats.pending():
        record, chat = outbox.chats.load(path)
        name = CHANNEL_NAMES.get(chat.channel, chat.channel)
        try:
            hook = Webhook.from_config(chat, environ, retries=digest.retries, retry_wait=digest.retry_wait,
                                       timeout=digest.timeout)
            post(hook, record["payload"])
        except WebhookError as exc:
            outcome.failures.append(exc.locate(file=str(path)))
            outcome.pending.append(
                f"error: the {name} alert post was not made: {exc}; kept in {path} for the next sync")
            continue
        outcome.delivered.append(f"posted the alerts to {name}")
        _file_sent(outbox.chats, path, outcome)


def _file_sent(queue: Queue, path: Path, outcome: AlertsOutcome) -> None:
    """A delivered alert filed in sent/; a move that fails is one error, and stops no other alert."""
    try:
        queue.mark_sent(path)
    except OutputError as exc:
        outcome.failures.append(exc)
        outcome.pending.append(f"error: {exc}")
