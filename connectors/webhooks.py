"""Post JSON to a chat webhook (Slack incoming webhooks, Teams workflow webhooks), with bounded retries.

The URL is a credential: it is read from the environment variable config names and never
appears in a message, a log line or an exception. Failures are one `WebhookError` line
that names the channel and the variable instead.

What is retried: connection failures, timeouts, 408, 429 and 5xx, waiting what a 429's
`Retry-After` asks (up to `max_wait`; a longer wait gives up at once and leaves the post
for the next run) or else a doubling wait. What is not: 400 (the payload was refused),
401/403, and 404/410, which is how Slack and Teams say the webhook was deleted or its
channel archived. Repeating those cannot help, so they fail on the first answer: no retry storm.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sheetsync.core.model import ChatConfig
from sheetsync.errors import SheetsyncError

log = logging.getLogger("sheetsync.webhooks")

NAMES = {"slack": "Slack", "msteams": "Microsoft Teams"}
USER_AGENT = "sheetsync (+https://github.com/sheetsync)"
_RETRY = frozenset({408, 425, 429, 500, 502, 503, 504})
_GONE = frozenset({404, 410})


class WebhookError(SheetsyncError):
    """A post the webhook did not take; `transient` says whether a later run may succeed."""

    location_fields = (*SheetsyncError.location_fields, "channel", "env")

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        channel: str | None = None,
        env: str | None = None,
        **location: Any,
    ) -> None:
        super().__init__(message, **location)
        self.transient = transient
        self.status = status
        self.channel = channel  # slack | msteams
        self.env = env  # the environment variable holding the webhook's URL


@dataclass(frozen=True)
class Webhook:
    """A chat webhook (Slack or Teams), the variable its URL came from, and how to retry posting."""

    channel: str  # slack | msteams
    env: str  # the variable holding the URL, for messages
    url: str
    timeout: float = 20.0
    retries: int = 3
    retry_wait: float = 2.0
    max_wait: float = 60.0  # the longest Retry-After this run is willing to wait

    def __repr__(self) -> str:  # never the URL
        return f"Webhook({self.channel}, ${self.env})"

    @property
    def location(self) -> dict[str, str]:
        """Where a failed post went, for its WebhookError (never the URL)."""
        return {"channel": self.channel, "env": self.env}

    @property
    def name(self) -> str:
        return f"{NAMES.get(self.channel, self.channel)} webhook ${self.env}"

    @classmethod
    def from_config(
        cls, config: ChatConfig, environ: Mapping[str, str] | None = None, **options: Any
    ) -> Webhook:
        environ = os.environ if environ is None else environ
        url = (environ.get(config.webhook_env) or "").strip()
        where = f"{NAMES[config.channel]} webhook: environment variable {config.webhook_env}"
        if not url:
            raise WebhookError(f"{where} is not set", transient=True, channel=config.channel, env=config.webhook_env)
        if not url.lower().startswith(("https://", "http://")):
            raise WebhookError(f"{where} does not hold an http(s) URL", transient=False, channel=config.channel,
                               env=config.webhook_env)
        return cls(config.channel, config.webhook_env, url, **options)


def _retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a Retry-After asks for: a number of seconds or an HTTP date (RFC 9110); None if neither."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


def _reason(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:120] or "no reason given"


def post_once(hook: Webhook, data: bytes) -> tuple[int, bytes, Mapping[str, str]]:
    """One POST; returns (status, body, headers) for any HTTP answer, raises OSError when there is none."""
    import urllib.error  # with http.client and ssl: imported when a post is made, not by every digest
    import urllib.request

    request = urllib.request.Request(
        hook.url, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=hook.timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), dict(exc.headers or {})


def post(
    hook: Webhook,
    payload: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempt: Callable[[Webhook, bytes], tuple[int, bytes, Mapping[str, str]]] = post_once,
) -> None:
    """Post `payload`, retrying what may pass later; raises WebhookError when it gives up."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    wait = hook.retry_wait
    for number in range(1, hook.retries + 1):
        last = number == hook.retries
        try:
            status, body, headers = attempt(hook, data)
        except (OSError, ValueError) as exc:  # refused, reset, timed out, name not resolved
            cause = _network_cause(exc)
            if last:
                raise WebhookError(f"{hook.name}: {cause} after {number} attempts", transient=True,
                                   **hook.location) from None
            log.warning("%s: %s; trying again in %.3gs (%d/%d)", hook.name, cause, wait, number, hook.retries)
            sleep(wait)
            wait *= 2
            continue
        if 200 <= status < 300:
            return
        reason = _reason(body)
        if status in _GONE:
            raise WebhookError(
                f"{hook.name}: answered {status} {reason}: the webhook was deleted or its channel archived; "
                f"make a new one and put its URL in ${hook.env}", transient=False, status=status,
                **hook.location) from None
        if status not in _RETRY:
            raise WebhookError(f"{hook.name}: answered {status} {reason}", transient=False, status=status,
                               **hook.location)
        lower = {k.lower(): v for k, v in headers.items()}
        asked = _retry_after(lower.get("retry-after")) if status == 429 else None
        pause = wait if asked is None else asked
        if last or pause > hook.max_wait:
            tries = f" after {number} attempts" if number > 1 else ""
            later = f" (it asked to wait {asked:.0f}s)" if asked is not None and asked > hook.max_wait else ""
            raise WebhookError(f"{hook.name}: answered {status} {reason}{tries}{later}", transient=True,
                               status=status, **hook.location)
        log.warning("%s: answered %d; trying again in %.3gs (%d/%d)", hook.name, status, pause, number, hook.retries)
        sleep(pause)
        wait *= 2
    raise AssertionError("unreachable")


def _network_cause(exc: BaseException) -> str:
    """The cause in a few words, without the URL (urllib puts the host in some messages)."""
    inner = getattr(exc, "reason", exc)
    if isinstance(inner, TimeoutError) or "timed out" in str(inner):
        return "timed out"
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, ConnectionResetError):
        return "the connection was reset"
    if isinstance(inner, OSError) and getattr(inner, "strerror", None):
        return str(inner.strerror)
    return type(inner).__name__
