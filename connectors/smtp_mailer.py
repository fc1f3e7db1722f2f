"""Deliver an email over SMTP (STARTTLS, implicit TLS or plain), with bounded retries.

Transient failures (connection refused, timeouts, a dropped connection, 4xx replies) are
retried with a doubling wait; permanent ones (authentication, 5xx refusals) are not, since
repeating them cannot help and may lock an account. Every failure surfaces as one
`DeliveryError` line naming host:port and the cause, never the password.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sheetsync.core.model import DigestConfig
from sheetsync.errors import ExitCode, SheetsyncError

if TYPE_CHECKING:
    import smtplib

# smtplib and ssl (with OpenSSL) are imported by the functions that talk to a server: a digest
# written to the outbox, or a run that sends nothing, never loads them.

log = logging.getLogger("sheetsync.smtp")

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _message_errors() -> tuple[type[Exception], ...]:
    """The refusals that concern one message (its sender, recipients or data), not the server."""
    import smtplib

    return (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class DeliveryError(SheetsyncError):
    """A message that could not be delivered; the text is one line fit for a user.

    Delivery problems are reported in the digest's outcome (the message waits in the
    outbox, whose file the error's `file` names once it is kept there), so a run with one
    ends as a run that could not finish (exit 1).
    """

    exit_code = ExitCode.FAILED
    location_fields = (*SheetsyncError.location_fields, "channel", "server", "recipients")

    def __init__(
        self,
        message: str,
        *,
        transient: bool = True,
        this_message_only: bool = False,
        server: str | None = None,
        recipients: tuple[str, ...] = (),
        channel: str = "email",
        **location: Any,
    ) -> None:
        super().__init__(message, **location)
        self.transient = transient
        # True when the server refused this message (its recipients, its size), not every message.
        self.this_message_only = this_message_only
        self.channel = channel
        self.server = server  # host:port
        self.recipients = recipients  # whom the message was for

    def for_message(self, message: EmailMessage) -> DeliveryError:
        """This failure again, for another message the server will not take either.

        A copy naming that message's recipients, so that each message kept in the outbox is
        reported with its own recipients and its own file, not the first one's.
        """
        return copy.copy(self).locate(recipients=message_recipients(message))


@dataclass(frozen=True)
class SMTPSettings:
    """Where and how to hand messages to the SMTP server, and how often to retry."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 3
    retry_wait: float = 5.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_config(cls, config: DigestConfig, environ: Mapping[str, str] | None = None) -> SMTPSettings:
        """Settings from `[digest]`; the password only ever from the variable `password_env` names."""
        if not config.smtp_host:
            raise ValueError("no smtp_host configured")
        environ = os.environ if environ is None else environ
        password = None
        if config.password_env:
            password = environ.get(config.password_env)
            if password is None:
                raise DeliveryError(
                    f"SMTP password: environment variable {config.password_env} (digest.password_env) is not set",
                    transient=False,
                    key="digest.password_env",
                    server=f"{config.smtp_host}:{config.smtp_port or DEFAULT_PORTS[config.security]}",
                )
        return cls(
            host=config.smtp_host,
            port=config.smtp_port or DEFAULT_PORTS[config.security],
            security=config.security,
            username=config.username,
            password=password,
            timeout=config.timeout,
            retries=config.retries,
            retry_wait=config.retry_wait,
        )


def _connect(settings: SMTPSettings) -> smtplib.SMTP:
    import smtplib
    import ssl

    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
        )
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.security == "starttls":
            client.ehlo()
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def _describe(exc: BaseException) -> tuple[str, bool]:
    """(cause in a few words, whether trying again could help)."""
    import smtplib
    import ssl

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication failed ({exc.smtp_code} {_reply(exc.smtp_error)})", False
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the server does not support this: {exc}", False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"every recipient was refused: {refused_list(exc.recipients)}", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {exc.smtp_code} {_reply(exc.smtp_error)}", 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib reports a read timeout as a disconnect
            return "timed out waiting for a reply", True
        return f"the server closed the connection ({exc or 'no reason given'})", True
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({exc.verify_message})", False
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})", False
    if isinstance(exc, TimeoutError):
        return "timed out connecting", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server running, and is the port right?)", True
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})", True
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or exc.__class__.__name__, True
    return f"{exc.__class__.__name__}: {exc}", False


def refused_list(refused: Mapping[str, tuple[int, bytes]]) -> str:
    """Refused recipients with the server's answer each: 'a@x.example (550 5.1.1 no such user)'."""
    return ", ".join(f"{rcpt} ({code} {_reply(reply)})" for rcpt, (code, reply) in refused.items())


def _reply(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


def message_recipients(message: EmailMessage) -> tuple[str, ...]:
    """Whom a message goes to (To, then Cc), for errors and records."""
    if not isinstance(message, EmailMessage):  # a stand-in some callers pass to `send` with their own `attempt`
        return ()
    return tuple(str(a) for h in ("To", "Cc") for a in getattr(message.get(h), "addresses", ()))


def send_once(message: EmailMessage, settings: SMTPSettings) -> dict[str, tuple[int, bytes]]:
    """One delivery attempt; returns the recipients refused when others were accepted.

    Once the server has accepted the message, saying goodbye is a courtesy: a QUIT answered
    with an error or a dropped connection is no failure (retrying it sent the digest again).
    """
    import smtplib

    client = _connect(settings)
    try:
        if settings.username:
            client.login(settings.username, settings.password or "")
        refused = client.send_message(message)
    except BaseException:
        client.close()
        raise
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
    return refused


def send(
    message: EmailMessage,
    settings: SMTPSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempt: Callable[[EmailMessage, SMTPSettings], dict[str, tuple[int, bytes]]] = send_once,
) -> dict[str, tuple[int, bytes]]:
    """Deliver `message`, retrying transient failures; raises DeliveryError when it gives up."""
    wait = settings.retry_wait
    for number in range(1, settings.retries + 1):
        try:
            refused = attempt(message, settings)
        except Exception as exc:  # smtplib, ssl, socket raise many types: _describe names them; unknown: no retry
            cause, transient = _describe(exc)
            if not transient or number == settings.retries:
                tries = f" after {number} attempts" if number > 1 else ""
                raise DeliveryError(
                    f"SMTP {settings.address}: {cause}{tries}",
                    transient=transient,
                    this_message_only=isinstance(exc, _message_errors()),
                    server=settings.address,
                    recipients=message_recipients(message),
                ) from None
            log.warning("SMTP %s: %s; trying again in %.0fs (%d/%d)",
                        settings.address, cause, wait, number, settings.retries)
            sleep(wait)
            wait *= 2
            continue
        for rcpt, (code, reply) in refused.items():
            log.warning("SMTP %s refused recipient %s: %s %s", settings.address, rcpt, code, _reply(reply))
        return refused
    raise AssertionError("unreachable")
