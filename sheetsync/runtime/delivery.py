"""Get each week's digests out exactly once: audiences, the once-per-week record, the queue.

A digest counts as sent for an ISO week and an audience ("all" or a team) once it was
delivered over SMTP or, with no SMTP server configured, written to the outbox; a re-run
of that week skips it unless forced. A message SMTP could not take waits in
`outbox/pending/` and goes out first on the next run of the same week; a newer week's
digest supersedes it. A file lock keeps a scheduled run and a manual one from both
sending.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from connectors import smtp_mailer, webhooks
from connectors.atomic import OutputError
from connectors.smtp_mailer import DeliveryError, SMTPSettings, message_recipients, refused_list
from connectors.webhooks import Webhook, WebhookError
from sheetsync.core.checkins import Reminder
from sheetsync.core.digest import ALL, DigestContent, build_digest, team_objectives
from sheetsync.core.model import ChatConfig, Config, DigestConfig
from sheetsync.core.results import SyncResult
from sheetsync.core.snapshot import week_key
from sheetsync.errors import ExitCode, SheetsyncError
from sheetsync.render.email_message import build_message, render
from sheetsync.runtime.chat import CHANNEL_NAMES, ChatQueue, ChatTarget, chat_targets, digest_payload
from sheetsync.runtime.history import HISTORY_FILE, History, HistoryError
from sheetsync.runtime.lock import FileLock
from sheetsync.runtime.outbox import Outbox, Queue, UnreadableQueueFile, file_name, to_bytes

log = logging.getLogger("sheetsync.core.digest")

Sender = Callable[[EmailMessage, SMTPSettings], object]
Poster = Callable[[Webhook, Mapping[str, Any]], None]
DIGEST_LOCK = "digest.lock"


@dataclass(frozen=True)
class Audience:
    """Who one digest goes to: everyone ("all") or one team, with its To and Cc addresses."""

    name: str  # "all" or the team name: the key of the once-per-week record
    team: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


def audiences(config: DigestConfig) -> list[Audience]:
    """Everyone's digest (when it has recipients, or when there are no team digests) and each team's."""
    out = []
    if config.to or config.cc or not config.teams:
        out.append(Audience(ALL, None, config.to, config.cc))
    out += [Audience(t.team, t.team, t.to, t.cc) for t in config.teams]
    return out


REMINDER_AUDIENCE = "reminder "
"""A reminder's audience is this and the owner's address: kept apart from the digests' in one record."""
REMINDED_KRS_HEADER = "X-Sheetsync-Key-Results"
"""The key results a reminder names, so a queued one whose owner has checked in since is dropped."""


@dataclass
class Delivery:
    """What happened to one digest (or one queued message) in this run."""

    audience: str
    week: str
    action: str  # sent | written | already_sent | pending | delivered_pending | superseded | withdrawn | would_send
    # | skipped | unreadable
    recipients: tuple[str, ...] = ()
    subject: str = ""
    path: Path | None = None
    size: int = 0
    error: str | None = None  # why it was not sent: the failure's one line, or why there was nothing to send
    channel: str = "email"  # email | slack | msteams
    kind: str = "digest"  # digest | reminder (an owner's check-in reminder)
    #: The DeliveryError or WebhookError of a message that waits, located in its outbox file.
    failure: SheetsyncError | None = None

    def __post_init__(self) -> None:
        if self.failure is not None and self.error is None:
            self.error = str(self.failure)

    def describe(self) -> str:
        if self.channel != "email":
            return self._describe_post()
        who = ", ".join(self.recipients) or "no recipients"
        where = f" ({self.path})" if self.path else ""
        audience = self.audience.removeprefix(REMINDER_AUDIENCE)  # "reminder ana@..." is ana's reminder
        return {
            "sent": f"sent the {self.week} {self.kind} for {audience} to {who}{where}"
            + (f"; {self.error}" if self.error else ""),
            "written": f"wrote the {self.week} {self.kind} for {audience} to {self.path} "
            "(no smtp_host: not emailed)",
            "already_sent": f"the {self.week} {self.kind} for {audience} was already sent; --force sends it again",
            "pending": f"the {self.week} {self.kind} for {audience} was not delivered: {self.error}; "
            f"kept in {self.path} for the next run",
            "delivered_pending": f"sent the queued {self.week} {self.kind} for {audience}{where}"
            + (f"; {self.error}" if self.error else ""),
            "superseded": f"dropped the queued {self.week} {self.kind} for {audience}: a newer week replaces "
            f"it{where}",
            "withdrawn": f"dropped the queued {self.week} {self.kind} for {audience}: {self.error}{where}",
            "would_send": f"would send the {self.week} {self.kind} for {audience} to {who}: {self.subject!r} "
            f"({self.size / 1024:.0f} KB){where}",
            "skipped": f"no {self.week} {self.kind} for {audience}: {self.error}",
            "unreadable": f"moved {self.path} out of the queue: {self.error}",
        }[self.action]

    def _describe_post(self) -> str:
        name = CHANNEL_NAMES.get(self.channel, self.channel)
        post = f"{self.week} {name} summary for {self.audience}"
        where = f" ({self.path})" if self.path else ""
        return {
            "sent": f"posted the {post}",
            "already_sent": f"the {post} was already posted; --force posts it again",
            "pending": f"the {post} was not posted: {self.error}; kept in {self.path} for the next run",
            "delivered_pending": f"posted the queued {post}{where}" + (f"; {self.error}" if self.error else ""),
            "superseded": f"dropped the queued {post}: a newer week replaces it{where}",
            "withdrawn": f"dropped the queued {post}: {self.error}{where}",
            "would_send": f"would post the {post} ({self.size / 1024:.1f} KB of JSON)",
            "skipped": f"no {post}: {self.error}",
            "unreadable": f"moved {self.path} out of the queue: {self.error}",
        }[self.action]


@dataclass
class DigestOutcome:
    """What a digest run did for its week: each delivery, and the time spent rendering."""

    week: str
    deliveries: list[Delivery] = field(default_factory=list)
    render_seconds: float = 0.0

    @property
    def failures(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.action == "pending"]

    @property
    def pending_files(self) -> list[str]:
        """The outbox files this run's undelivered messages wait in, for ops to find (and resend)."""
        return [str(d.failure.file) for d in self.failures if d.failure is not None and d.failure.file]

    @property
    def exit_code(self) -> ExitCode:
        """0 when every digest went out (or already had); 1 when one waits in the outbox, or
        one that went out could not be filed in sent/."""
        return ExitCode.FAILED if self.failures or any(d.failure for d in self.deliveries) else ExitCode.OK


def tracker_link(config: Config) -> str | None:
    """The tracker's web address: digest.tracker_url, else the Google Sheet the tracker writes."""
    if config.digest.tracker_url is not None:
        return str(config.digest.tracker_url)
    sheet = config.tracker.spreadsheet if config.tracker.type == "gsheet" else None
    return sheet.link if sheet is not None else None


def tracker_file(config: Config) -> Path | None:
    """The .xlsx to attach, when asked for and it exists."""
    if not config.digest.attach_tracker or config.tracker.type != "xlsx" or not config.tracker.path:
        return None
    path = config.tracker.path
    if not path.is_file():
        log.warning("digest.attach_tracker: %s does not exist yet; the digest goes without it", path)
        return None
    return path


class _Run:
    """One digest run's state: what is known, what was done, what is blocked."""

    def __init__(
        self,
        config: Config,
        as_of: date,
        get_result: Callable[[], SyncResult],
        *,
        dry_run: bool,
        force: bool,
        tracker_url: str | None,
        send: Sender,
        environ: Mapping[str, str] | None,
        post: Poster,
    ) -> None:
        self.config = config
        self.as_of = as_of
        self.week = week_key(as_of)
        self.dry_run = dry_run
        self.force = force
        self.tracker_url = tracker_url or tracker_link(config)
        self.send = send
        self.post = post
        self.environ = environ
        self.outbox = Outbox(config.digest.outbox)
        self.chats = ChatQueue(config.digest.outbox)
        self._contents: dict[str | None, DigestContent] = {}
        self._flushed: set[tuple[str, str, str]] = set()
        self.outcome = DigestOutcome(self.week)
        self._get_result = get_result
        self._result: SyncResult | None = None
        # Once the server fails, the rest wait in the queue: each with its own copy of the failure.
        self.blocked: DeliveryError | None = None
        self.settings: SMTPSettings | None = None
        if config.digest.smtp_host and not dry_run:
            try:
                self.settings = SMTPSettings.from_config(config.digest, environ)
            except DeliveryError as exc:
                self.blocked = exc
        history_path = config.state_dir / HISTORY_FILE
        self.history = History(history_path) if not dry_run or history_path.exists() else None

    @property
    def result(self) -> SyncResult:
        if self._result is None:
            self._result = self._get_result()
        return self._result

    def add(self, delivery: Delivery) -> None:
        self.outcome.deliveries.append(delivery)
        partly = delivery.action == "sent" and delivery.error is not None  # some recipients refused
        (log.error if delivery.action == "pending" else log.warning if partly else log.info)("%s", delivery.describe())

    def deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send now, or raise the DeliveryError that keeps this message (and those after it) queued.

        Returns the recipients the server refused while it accepted others.
        """
        if self.blocked is not None:
            raise self.blocked.for_message(message)
        assert self.settings is not None
        try:
            return self.send(message, self.settings)
        except DeliveryError as exc:
            if not exc.this_message_only:
                self.blocked = copy.copy(exc)  # not located: the caller locates this message's copy
            raise

    def flush_pending(self, reminders_due: Collection[str] | None = None) -> None:
        """Deliver what earlier runs queued, except what a newer week replaces and reminders no longer true.

        A reminder run (`reminders_due`: the audiences it reminds now) makes this week's afresh
        from the check-ins as they are now; any other run drops a queued reminder whose key
        results have all been checked in since (the history's check-ins).
        """
        for path in self.outbox.pending():
            try:
                message, week, audience = self.outbox.load(path)
            except UnreadableQueueFile as exc:
                self._set_aside(self.outbox, path, exc)
                continue
            kind = "reminder" if audience.startswith(REMINDER_AUDIENCE) else "digest"
            if week < self.week:  # load() refuses a file without its week
                self.add(Delivery(audience, week, "superseded", path=self.outbox.supersede(path), kind=kind))
                continue
            if kind == "reminder" and week == self.week and not self.dry_run and (
                    reminders_due is not None or self._checked_in(message, week)):
                reason = ("made again from this week's check-ins" if audience in (reminders_due or ())
                          else "every key result it named has a check-in now")
                self.add(Delivery(audience, week, "withdrawn", error=reason, kind=kind,
                                  path=self.outbox.supersede(path)))
                continue
            if kind == "digest" and week == self.week and not self.dry_run and self._readdressed(message, audience):
                self.add(Delivery(audience, week, "withdrawn", kind=kind, path=self.outbox.supersede(path),
                                  error="its recipients changed in the config since it was queued: made again"))
                continue
            if week == self.week and self.force:
                continue  # this run renders that digest afresh and replaces the file
            if self._sent(week, audience):
                self._drop_delivered(self.outbox, path, audience=audience, week=week, kind=kind)
                continue
            try:
                self.deliver(message)
            except DeliveryError as exc:
                self.add(Delivery(audience, week, "pending", message_recipients(message), path=path,
                                  failure=exc.locate(file=str(path))))
                continue
            if self.history is not None:
                self.history.mark_digest_sent(week, audience, str(message.get("Message-ID", "")) or None)
            moved, unfiled = self._file_sent(self.outbox, path)
            self.add(Delivery(audience, week, "delivered_pending", message_recipients(message), path=moved, kind=kind,
                              failure=unfiled))

    def _set_aside(self, queue: Queue, path: Path, problem: UnreadableQueueFile) -> None:
        """A file in the queue that is no message of ours: out of the way, kept, and said once."""
        moved = queue.set_aside(path)
        self.add(Delivery("", "", "unreadable", path=moved, error=str(problem).removeprefix(f"{path}: ")))

    @staticmethod
    def _file_sent(queue: Queue, path: Path) -> tuple[Path, OutputError | None]:
        """A delivered message moved to sent/; a move that fails is reported, and stops no other delivery."""
        try:
            return queue.mark_sent(path), None
        except OutputError as exc:
            return path, exc

    def _drop_delivered(self, queue: Queue, path: Path, **delivery: Any) -> None:
        """A queued message the history records as delivered (it went out, and filing it in
        sent/ failed, or the run stopped in between): filed now, never delivered again."""
        moved, unfiled = self._file_sent(queue, path)
        note = f"; {unfiled}" if unfiled else ""
        self.add(Delivery(action="withdrawn", path=moved, error=f"the history records it as delivered already{note}",
                          **delivery))

    def _readdressed(self, message: EmailMessage, audience: str) -> bool:
        """Whether a queued digest's To and Cc are no longer its audience's in config (a refused address fixed).

        Sent as queued it would go to the old addresses again (and fail again, when one was refused)."""
        current = next((a for a in audiences(self.config.digest) if a.name == audience), None)
        if current is None:
            return False  # a team since removed: its queued digest still goes where it was meant to

        def bare(addresses: Sequence[str]) -> set[str]:
            return {parseaddr(a)[1].casefold() for a in addresses}

        return bare(message_recipients(message)) != bare(current.recipients)

    def _checked_in(self, reminder: EmailMessage, week: str) -> bool:
        """Whether every key result a queued reminder names has a check-in in `week` (in the history)."""
        named = [kr for kr in str(reminder.get(REMINDED_KRS_HEADER, "")).split(",") if kr]
        if not named or self.history is None:
            return False
        done = {c.kr_id for c in self.history.checkins() if c.week == week}
        return all(kr in done for kr in named)

    def _sent(self, week: str, audience: str) -> bool:
        """Whether this week's message for `audience` went out: the history says so, or its copy in sent/ does."""
        recorded = self.history is not None and self.history.digest_sent(week, audience)
        return recorded or (self.outbox.sent_dir / file_name(week, audience)).is_file()

    def digest(self, audience: Audience) -> None:
        week = self.week
        if self._sent(week, audience.name) and not self.force:
            self.add(Delivery(audience.name, week, "already_sent", audience.recipients))
            return
        newest = self.history.newest_digest_week(audience.name) if self.history is not None else None
        if newest is not None and newest > week and not self.force:  # a backfill: readers have a newer one
            self.add(Delivery(audience.name, week, "skipped", audience.recipients,
                              error=f"the {newest} digest went out already; an older week's is not sent late "
                              "(--force sends it)"))
            return
        smtp = bool(self.config.digest.smtp_host)
        if smtp and self.outbox.pending_for(week, audience.name) and not self.force and not self.dry_run:
            return  # still queued after flush_pending: its failure is already reported
        if audience.team is not None and not team_objectives(self.result, audience.team):
            self.add(Delivery(audience.name, week, "skipped", audience.recipients,
                              error=f"no objective has team = {audience.team!r} (digest.teams.{audience.team})"))
            return
        if smtp and not audience.recipients:  # a team whose summary goes to chat only
            self.add(Delivery(audience.name, week, "skipped", error=f"digest.teams.{audience.team} has no to or cc: "
                              "not emailed"))
            return
        message, subject = self.compose(audience)
        self.send_message(audience.name, audience.recipients, message, subject)

    def send_message(
        self, audience: str, recipients: tuple[str, ...], message: EmailMessage, subject: str, kind: str = "digest"
    ) -> None:
        """Out by SMTP (queued in the outbox when it fails), or into the outbox without SMTP; recorded once sent."""
        week = self.week
        smtp = bool(self.config.digest.smtp_host)
        data = to_bytes(message)
        size = len(data)
        if self.dry_run:
            where = None if smtp else self.outbox.root / file_name(week, audience)
            self.add(Delivery(audience, week, "would_send", recipients, subject, where, size, kind=kind))
            return
        message_id = str(message["Message-ID"])
        if not smtp:
            path = self.outbox.write(data, week, audience)
            self._mark(week, audience, message_id)
            self.add(Delivery(audience, week, "written", recipients, subject, path, size, kind=kind))
            return
        try:
            refused = self.deliver(message)
        except DeliveryError as exc:
            path = self.outbox.keep_pending(data, week, audience)
            self.add(Delivery(audience, week, "pending", recipients, subject, path, size, kind=kind,
                              failure=exc.locate(file=str(path))))
            return
        # Delivered: what records it must not lose it. The copy in sent/ first (a later run takes it
        # as sent too), then the history; either failing is an error line, never a second send.
        notes = [f"the server refused {refused_list(refused)}"] if refused else []
        unrecorded: SheetsyncError | None = None
        copy: Path | None = None
        try:
            copy = self.outbox.record_sent(data, week, audience)
        except OutputError as exc:
            unrecorded = exc
            notes.append(f"its copy was not kept: {exc}")
        try:
            self._mark(week, audience, message_id)
        except HistoryError as exc:
            unrecorded = exc
            notes.append(f"the history could not record it ({exc})"
                         + ("; its copy in sent/ keeps later runs from sending it again" if copy else ""))
        gone = {address.casefold() for address in refused or {}}
        accepted = tuple(r for r in recipients if parseaddr(r)[1].casefold() not in gone)
        self.add(Delivery(audience, week, "sent", accepted, subject, copy, size, kind=kind,
                          error="; ".join(notes) or None, failure=unrecorded))

    def remind(self, reminder: Reminder, where: str) -> None:
        """One owner's check-in reminder, at most once a week (the digest's record and queue)."""
        audience = REMINDER_AUDIENCE + reminder.email
        week = self.week
        if self._sent(week, audience) and not self.force:
            self.add(Delivery(audience, week, "already_sent", (reminder.email,), kind="reminder"))
            return
        if self.config.digest.smtp_host and self.outbox.pending_for(week, audience) and not self.force \
                and not self.dry_run:  # fmt: skip
            return  # still queued after flush_pending: its failure is already reported
        from sheetsync.render.reminder import render_reminder  # only reminder runs need it

        rendered = render_reminder(reminder, project=self.config.name, week=week, where=where)
        message = build_message(rendered, sender=self.config.digest.sender, to=(reminder.email,), week=week,
                                audience=audience, date=datetime.now(self.config.zone))  # fmt: skip
        message[REMINDED_KRS_HEADER] = ",".join(kr_id for kr_id, _ in reminder.key_results)
        self.send_message(audience, (reminder.email,), message, rendered.subject, kind="reminder")

    def _mark(self, week: str, audience: str, message_id: str) -> None:
        assert self.history is not None
        self.history.mark_digest_sent(week, audience, message_id)
        stale = self.outbox.pending_for(week, audience)
        if stale is not None:  # a forced re-send replaces what was queued
            self.outbox.supersede(stale)

    def content(self, team: str | None) -> DigestContent:
        """What the digest says for everyone (None) or a team: built once, for the email and the chats."""
        if team not in self._contents:
            previous = self.history.previous(self.as_of, self.config.period.name) if self.history is not None else None
            self._contents[team] = build_digest(
                self.result,
                previous,
                self.config.digest,
                team=team,
                tracker_url=self.tracker_url,
                tracker_name=self.config.tracker.path.name if self.config.tracker.path else None,
                tracker_attached=tracker_file(self.config) is not None,
            )
        return self._contents[team]

    # --- chat ----------------------------------------------------------------------

    def webhook(self, chat: ChatConfig) -> Webhook:
        digest = self.config.digest
        return Webhook.from_config(chat, self.environ, retries=digest.retries, retry_wait=digest.retry_wait,
                                   timeout=digest.timeout)

    def flush_chat_pending(self) -> None:
        for path in self.chats.pending("digest"):
            try:
                record, chat = self.chats.load(path)
            except UnreadableQueueFile as exc:
                self._set_aside(self.chats, path, exc)
                continue
            week, audience = record["week"], record["audience"]
            if week < self.week:
                self.add(Delivery(audience, week, "superseded", path=self.chats.supersede(path), channel=chat.channel))
                continue
            if week == self.week and self.force:
                continue  # posted afresh below
            if self.history is not None and self.history.chat_posted(week, audience, chat.channel):
                self._drop_delivered(self.chats, path, audience=audience, week=week, channel=chat.channel)
                continue
            try:
                self.post(self.webhook(chat), record["payload"])
            except WebhookError as exc:
                self.add(Delivery(audience, week, "pending", path=path, channel=chat.channel,
                                  failure=exc.locate(file=str(path))))
                continue
            if self.history is not None:
                self.history.mark_chat_posted(week, audience, chat.channel)
            self._flushed.add((week, audience, chat.channel))
            moved, unfiled = self._file_sent(self.chats, path)
            self.add(Delivery(audience, week, "delivered_pending", path=moved, channel=chat.channel, failure=unfiled))

    def chat(self, target: ChatTarget) -> None:
        week, channel = self.week, target.channel
        if self.history is not None and self.history.chat_posted(week, target.audience, channel) and not self.force:
            if (week, target.audience, channel) not in self._flushed:  # else "posted the queued ..." said it
                self.add(Delivery(target.audience, week, "already_sent", channel=channel))
            return
        if self.chats.pending_for(week, target.audience, channel) and not self.force and not self.dry_run:
            return  # still queued after flush_chat_pending: its failure is already reported
        if target.team is not None and not team_objectives(self.result, target.team):
            self.add(Delivery(target.audience, week, "skipped", channel=channel,
                              error=f"no objective has team = {target.team!r} (digest.teams.{target.team})"))
            return
        payload = digest_payload(channel, self.content(target.team))
        size = len(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        if self.dry_run:
            self.add(Delivery(target.audience, week, "would_send", size=size, channel=channel))
            return
        try:
            self.post(self.webhook(target.chat), payload)
        except WebhookError as exc:
            path = self.chats.keep("digest", week, target.audience, target.chat, payload)
            self.add(Delivery(target.audience, week, "pending", path=path, size=size, channel=channel,
                              failure=exc.locate(file=str(path))))
            return
        assert self.history is not None
        self.history.mark_chat_posted(week, target.audience, channel)
        stale = self.chats.pending_for(week, target.audience, channel)
        if stale is not None:  # a forced re-post replaces what was queued
            self.chats.supersede(stale)
        self.add(Delivery(target.audience, week, "sent", size=size, channel=channel))

    def compose(self, audience: Audience) -> tuple[EmailMessage, str]:
        started = time.perf_counter()
        attachment = tracker_file(self.config)
        content = self.content(audience.team)
        documents = []
        if self.config.digest.attach_pdf:
            from sheetsync.runtime.report import file_name as report_name
            from sheetsync.runtime.report import render_report

            content = replace(content, report_attached=True)
            pdf_name = report_name(self.config.name, self.week, audience.team)
            documents.append((pdf_name, render_report(content)))
        rendered = render(content)
        message = build_message(
            rendered,
            sender=self.config.digest.sender,
            to=audience.to,
            cc=audience.cc,
            week=self.week,
            audience=audience.name,
            date=datetime.now(self.config.zone),
            attachments=[attachment] if attachment else [],
            documents=documents,
        )
        self.outcome.render_seconds += time.perf_counter() - started
        return message, content.subject


def deliver_digests(
    config: Config,
    as_of: date,
    get_result: Callable[[], SyncResult],
    *,
    dry_run: bool = False,
    force: bool = False,
    tracker_url: str | None = None,
    send: Sender | None = None,
    environ: Mapping[str, str] | None = None,
    post: Poster | None = None,
) -> DigestOutcome:
    """Send (or write) this week's digests that are due; `get_result` runs only if one is."""
    if send is None:

        def send(message: EmailMessage, settings: SMTPSettings) -> object:
            return smtp_mailer.send(message, settings)

    run = _Run(config, as_of, get_result, dry_run=dry_run, force=force, tracker_url=tracker_url,
               send=send, environ=environ if environ is not None else os.environ, post=post or webhooks.post)
    try:
        with _run_lock(dry_run, config.state_dir):
            if run.settings is not None or run.blocked is not None:
                run.flush_pending()
            for audience in audiences(config.digest):
                run.digest(audience)
            if not dry_run:
                run.flush_chat_pending()
            for target in chat_targets(config.digest):
                run.chat(target)
    finally:
        if run.history is not None:
            run.history.close()
    return run.outcome


def deliver_reminders(
    config: Config,
    as_of: date,
    reminders: Sequence[Reminder],
    *,
    where: str,
    dry_run: bool = False,
    force: bool = False,
    send: Sender | None = None,
    environ: Mapping[str, str] | None = None,
) -> DigestOutcome:
    """Email each owner their check-in reminder for `as_of`'s week, once, the way digests go out."""
    if send is None:

        def send(message: EmailMessage, settings: SMTPSettings) -> object:
            return smtp_mailer.send(message, settings)

    def no_result() -> SyncResult:
        raise AssertionError("reminders need no sync result")

    run = _Run(config, as_of, no_result, dry_run=dry_run, force=force, tracker_url=None, send=send,
               environ=environ if environ is not None else os.environ, post=webhooks.post)  # fmt: skip
    try:
        with _run_lock(dry_run, config.state_dir):
            if run.settings is not None or run.blocked is not None:
                run.flush_pending(reminders_due={REMINDER_AUDIENCE + r.email for r in reminders})
            for reminder in reminders:
                run.remind(reminder, where)
    finally:
        if run.history is not None:
            run.history.close()
    return run.outcome


@contextmanager
def _run_lock(dry_run: bool, state_dir: Path) -> Iterator[None]:
    """`<state_dir>/digest.lock` around check-send-record, so two runs never both send a week.

    A dry run takes no lock: it must not even create the file. This lock is separate from
    `run.lock` (which callers may hold around the whole job), so holding both cannot deadlock.
    """
    if dry_run:
        yield
        return
    with FileLock(state_dir / DIGEST_LOCK, "sheetsync digest"):
        yield


__all__ = [
    "Audience", "Delivery", "DigestOutcome", "audiences", "deliver_digests", "deliver_reminders", "tracker_file",
    "tracker_link",
]  # fmt: skip
