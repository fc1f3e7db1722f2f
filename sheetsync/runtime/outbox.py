"""The digest outbox: .eml files, and the queue of messages still waiting for SMTP.

Without an SMTP server the outbox is the delivery: `<week>-<audience>.eml`, ready to open
in any mail client. With one, a message that could not be sent waits in `pending/` until
a later run delivers it, then moves to `sent/`; nothing is lost to an outage. Every file
is written atomically and carries its week and audience in headers, so a queued message
still knows which digest it is.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from connectors.atomic import OutputError, atomic_write_bytes, describe_os_error
from sheetsync.core.display import file_slug
from sheetsync.render import mail_policy
from sheetsync.render.email_message import AUDIENCE_HEADER, WEEK_HEADER


def file_name(week: str, audience: str) -> str:
    """`2026-W48-all.eml`; a team name is reduced to characters safe in any file system."""
    return f"{week}-{file_slug(audience)}.eml"


def to_bytes(message: EmailMessage | bytes) -> bytes:
    """The message as it goes over the wire (CRLF line ends), which mail clients open as .eml.

    Bytes are such a message already (serializing a digest with its charts takes a while: once is enough).
    """
    return message if isinstance(message, bytes) else message.as_bytes(policy=mail_policy.WIRE)


class UnreadableQueueFile(OutputError):
    """A file in `pending/` that is not a message sheetsync queued (empty, cut short, dropped there)."""


_WEEK = re.compile(r"\d{4}-W\d{2}")

DELIVERED_SUFFIX = ".delivered"
"""A delivered message's file, left in `pending/` when `sent/` cannot take it."""


class Queue:
    """Files waiting in `pending/`, moved to `sent/` once delivered or `superseded/` once stale.

    The email outbox and the chat queue differ in what a file holds, not in how it moves.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.sent_dir = self.root / "sent"
        self.superseded_dir = self.root / "superseded"
        self.unreadable_dir = self.root / "unreadable"

    def _move(self, path: Path, folder: Path) -> Path:
        target = folder / path.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.replace(target)
        except OSError as exc:
            raise OutputError(f"{path}: cannot move to {folder}: {describe_os_error(exc)}", file=str(path)) from None
        return target

    def mark_sent(self, path: Path) -> Path:
        """A delivered message filed in `sent/`.

        One that cannot be moved there (sent/ not writable) is renamed where it is, to
        `<name>.delivered`, which no pending listing takes: it is never delivered again, and
        the OutputError still says what failed.
        """
        try:
            return self._move(path, self.sent_dir)
        except OutputError as exc:
            kept = path.with_name(path.name + DELIVERED_SUFFIX)
            try:
                path.replace(kept)
            except OSError:
                raise exc from None
            raise OutputError(f"{exc}; it was delivered, and is kept as {kept.name} so it is not sent again",
                              file=str(kept)) from None

    def supersede(self, path: Path) -> Path:
        return self._move(path, self.superseded_dir)

    def set_aside(self, path: Path) -> Path:
        """An unreadable file out of the queue, kept in `unreadable/` (never deleted, never sent)."""
        return self._move(path, self.unreadable_dir)


class Outbox(Queue):
    def write(self, message: EmailMessage | bytes, week: str, audience: str) -> Path:
        """The digest as `<outbox>/<week>-<audience>.eml`: delivery when there is no SMTP server."""
        path = self.root / file_name(week, audience)
        atomic_write_bytes(path, to_bytes(message))
        return path

    def keep_pending(self, message: EmailMessage | bytes, week: str, audience: str) -> Path:
        path = self.pending_dir / file_name(week, audience)
        atomic_write_bytes(path, to_bytes(message))
        return path

    def pending(self) -> list[Path]:
        """Queued messages, oldest week first."""
        return sorted(self.pending_dir.glob("*.eml")) if self.pending_dir.is_dir() else []

    def pending_for(self, week: str, audience: str) -> Path | None:
        path = self.pending_dir / file_name(week, audience)
        return path if path.exists() else None

    @staticmethod
    def load(path: Path) -> tuple[EmailMessage, str, str]:
        """A queued message with the week and audience it was made for."""
        with open(path, "rb") as handle:
            message = BytesParser(policy=mail_policy.DEFAULT).parse(handle)
        assert isinstance(message, EmailMessage)
        week = str(message.get(WEEK_HEADER, "")).strip()
        audience = str(message.get(AUDIENCE_HEADER, "")).strip()
        if not _WEEK.fullmatch(week) or not audience:
            raise UnreadableQueueFile(f"{path}: not a message sheetsync queued (no {WEEK_HEADER} and "
                                      f"{AUDIENCE_HEADER} headers)", file=str(path))
        return message, week, audience

    def record_sent(self, message: EmailMessage | bytes, week: str, audience: str) -> Path:
        """A copy of a message delivered straight away, for the record."""
        path = self.sent_dir / file_name(week, audience)
        atomic_write_bytes(path, to_bytes(message))
        return path
