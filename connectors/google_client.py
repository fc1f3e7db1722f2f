"""Build gspread clients with our own endpoint override and a bounded, honest retry policy.

Why not gspread's ``BackOffHTTPClient`` (6.2.1)? It never gives up, ignores ``Retry-After``,
has no jitter, does not retry dropped connections, and decides from the JSON body, so an HTML
503 page is not retried at all. ``RetryingHTTPClient`` fixes all of that, and it can point
gspread at another base URL (the loopback fake in tests) because gspread's endpoints are
module constants that cannot be patched.

Retrying must not repeat what happened: a Drive create whose answer was lost would make a
second spreadsheet. A request that is not idempotent (a create, a ``spreadsheets:batchUpdate``)
is retried only when it certainly did not take effect (429, 408, a connection never made);
otherwise its error has ``maybe_applied`` set and the caller checks before trying again.

Credentials never reach messages or logs: errors name the file, never its contents.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import logging
import os
import random as _random
import re
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import google.auth.exceptions
import gspread
import requests
import urllib3
from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from gspread.exceptions import APIError, GSpreadException
from gspread.http_client import FileType, HTTPClient, HTTPClientType, ParamsType

from connectors.rate_limit import TokenBucket
from sheetsync.core.model import GoogleConfig
from sheetsync.errors import ConfigError, SheetsyncError

log = logging.getLogger(__name__)

SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)
GOOGLE_PREFIXES = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",  # Drive v3 and the Drive v2 upload endpoint
)
SHEETS_PREFIX = "https://sheets.googleapis.com"
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
NOT_APPLIED_STATUSES = frozenset({408, 429})
"""Answers that mean the request was not carried out (refused, or not read in time): safe to repeat."""
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_IDEMPOTENT_POSTS = re.compile(r"(/values:batchGet(ByDataFilter)?|/values:batchUpdate|/values:batchClear|/token)$")
"""POSTs that read, or overwrite with the same result when repeated."""
_DRIVE_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class GoogleConfigError(ConfigError):
    """The Google credentials are missing or unusable; the message names the file, never its content."""

    key = "google.credentials"


class GoogleAPIError(APIError, SheetsyncError):
    """A Google API call failed for good (after any retries), with a message a person can act on.

    ``code``/``status_code`` is the HTTP status even when the body was an HTML page (where
    gspread's own APIError reports -1); ``status`` is Google's status name when known.
    ``spreadsheet`` (the key, or the Drive file id) and ``sheet`` say which file and tab the
    failed request was about; a caller reading for a source adds ``source``.
    """

    location_fields = (*SheetsyncError.location_fields, "spreadsheet")

    def __init__(
        self,
        message: str,
        *,
        response: requests.Response | None,
        status_code: int | None,
        status: str | None = None,
        attempts: int = 1,
        error: Mapping[str, Any] | None = None,
        spreadsheet: str | None = None,
        **location: Any,
    ) -> None:
        GSpreadException.__init__(self, message)  # not APIError's: it would read a response body
        self.spreadsheet = spreadsheet
        self.locate(**location)
        self.message = message
        # gspread reads ``err.response.status_code``: keep a response even when none arrived.
        self.response = response if response is not None else _stub_response(status_code)
        self.status_code = status_code
        self.code = status_code if status_code is not None else -1
        self.status = status
        self.attempts = attempts
        self.maybe_applied = False  # a non-idempotent request that may have taken effect: not retried
        self.error = dict(error) if error is not None else {"code": self.code, "message": message, "status": status}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.message, self.status_code, self.status, self.attempts, self.where))


class GoogleConnectionError(GoogleAPIError):
    """Google could not be reached (connection refused/reset, timeout) after all retries."""


def _rebuild_error(
    cls: type[GoogleAPIError], message: str, status_code: int | None, status: str | None, attempts: int,
    where: Mapping[str, Any] | None = None,
) -> GoogleAPIError:
    """Unpickle an error (the HTTP response itself is not kept)."""
    return cls(message, response=None, status_code=status_code, status=status, attempts=attempts, **(where or {}))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: exponential backoff with full jitter, ``Retry-After`` honoured.

    A request is tried at most ``max_attempts`` times and never past ``total_timeout`` seconds
    from the first try: if the next wait would cross that budget we stop and raise instead of
    sleeping. ``sleep``, ``clock`` and ``random`` are injectable so tests never really wait.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 32.0
    total_timeout: float = 120.0
    jitter: bool = True
    request_timeout: float | None = 60.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.total_timeout < 0:
            raise ValueError("delays and total_timeout must not be negative")

    def backoff(self, failed_attempts: int) -> float:
        """Wait before the next try after ``failed_attempts`` failures (full jitter when enabled)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed_attempts - 1))
        return ceiling * self.random() if self.jitter else ceiling



class RetryingHTTPClient(HTTPClient):
    """gspread HTTP client with a base-URL override and ``RetryPolicy`` retries."""

    def __init__(
        self,
        auth: Credentials,
        session: requests.Session | None = None,
        *,
        api_url: str | None = None,
        retry: RetryPolicy | None = None,
        limiter: TokenBucket | None = None,
    ) -> None:
        super().__init__(auth, session)
        self.api_url = api_url.rstrip("/") if api_url else None
        self.retry = retry or RetryPolicy()
        self.limiter = limiter  # Sheets requests (retries included) wait for a token; Drive's quota is its own

    def rewrite(self, url: str) -> str:
        """Send Google endpoints to ``api_url`` when one is configured."""
        if self.api_url:
            for prefix in GOOGLE_PREFIXES:
                if url.startswith(prefix):
                    return self.api_url + url[len(prefix) :]
        return url

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        """One API call with retries; raises GoogleAPIError/GoogleConnectionError when it gives up."""
        url = self.rewrite(endpoint)
        policy = self.retry
        repeatable = idempotent(method, url)
        where = f"{method.upper()} {_describe(url)}"
        started = policy.clock()
        attempt = 0
        limited = self.limiter is not None and endpoint.startswith(SHEETS_PREFIX)
        while True:
            attempt += 1
            if limited:
                assert self.limiter is not None
                started += self.limiter.acquire()  # waiting for quota is not time spent failing
            response: requests.Response | None = None
            failure: str
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method=method,
                    url=url,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self._timeout(policy, started),
                )
            except google.auth.exceptions.RefreshError as exc:
                raise GoogleAPIError(
                    f"Google rejected the credentials while getting an access token for {where}: "
                    f"{_refresh_reason(exc)}. Check the credentials file and that the account is enabled.",
                    response=None,
                    status_code=401,
                    status="UNAUTHENTICATED",
                    attempts=attempt,
                    **_target(url),
                ) from None
            except (requests.ConnectionError, requests.Timeout, google.auth.exceptions.TransportError) as exc:
                failure = f"connection failed ({type(exc).__name__}: {str(exc)[:200]})"
                retryable = files is None and (repeatable or _never_sent(exc))
            else:
                if response.ok:
                    return response
                status_name, message, error = _parse_error(response)
                failure = f"HTTP {response.status_code}" + (f" {status_name}" if status_name else "")
                failure += f": {message}" if message else ""
                rate_limited = _drive_rate_limited(response.status_code, error)
                retryable = files is None and (response.status_code in policy.retry_statuses or rate_limited)
                if retryable and not repeatable:
                    retryable = response.status_code in NOT_APPLIED_STATUSES or rate_limited
                retry_after = _retry_after(response.headers.get("Retry-After"))
            elapsed = policy.clock() - started
            stop_reason = None
            delay = 0.0
            if not retryable:
                stop_reason = "not retryable"
                if files is None and not repeatable and (response is None or response.status_code >= 500):
                    stop_reason = "not retried: it may have been carried out"
            elif attempt >= policy.max_attempts:
                stop_reason = f"gave up after {attempt} attempts in {elapsed:.1f} s"
            else:
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                if elapsed + delay > policy.total_timeout:
                    stop_reason = (
                        f"gave up after {attempt} attempts in {elapsed:.1f} s: waiting {delay:.1f} s more "
                        f"would exceed the {policy.total_timeout:g} s retry budget"
                    )
            if stop_reason is not None:
                error_out = self._final_error(where, failure, stop_reason, response, attempt, _target(url))
                error_out.maybe_applied = stop_reason.startswith("not retried")
                raise error_out
            log.warning("Google API %s: %s; retry %d in %.2f s", where, failure, attempt, delay)
            policy.sleep(delay)

    def _timeout(self, policy: RetryPolicy, started: float) -> float | tuple[float, float] | None:
        """gspread's ``set_timeout`` wins; otherwise the policy's, capped by the remaining budget."""
        if self.timeout is not None:
            return self.timeout
        if policy.request_timeout is None:
            return None
        remaining = policy.total_timeout - (policy.clock() - started)
        return max(1.0, min(policy.request_timeout, remaining))

    def _final_error(
        self,
        where: str,
        failure: str,
        stop_reason: str,
        response: requests.Response | None,
        attempts: int,
        target: Mapping[str, str | None],
    ) -> GoogleAPIError:
        if response is None:
            return GoogleConnectionError(
                f"Google API {where} failed: {failure} ({stop_reason}).",
                response=None,
                status_code=None,
                attempts=attempts,
                **target,
            )
        status_name, _, error = _parse_error(response)
        account = getattr(getattr(self, "auth", None), "service_account_email", None)
        hint = _hint(response.status_code, account if isinstance(account, str) else None)
        suffix = "" if stop_reason == "not retryable" else f" ({stop_reason})"
        return GoogleAPIError(
            f"Google API {where} failed: {failure}{suffix}.{hint}",
            response=response,
            status_code=response.status_code,
            status=status_name,
            attempts=attempts,
            error=error,
            **target,
        )


_FILE_RE = re.compile(r"/(?:spreadsheets|files)/(?P<id>[A-Za-z0-9_-]+)(?:/values/(?P<range>[^/?]+))?")


def _target(url: str) -> dict[str, str | None]:
    """The spreadsheet (or Drive file) a request is about, and the tab its range names, if any."""
    match = _FILE_RE.search(urlsplit(url).path)
    if match is None:
        return {"spreadsheet": None, "sheet": None}
    cells = unquote(match["range"]) if match["range"] else None
    sheet = None
    if cells and "!" in cells:
        title = cells.rsplit("!", 1)[0]
        sheet = title[1:-1].replace("''", "'") if title.startswith("'") and title.endswith("'") else title
    return {"spreadsheet": match["id"], "sheet": sheet}


def idempotent(method: str, url: str) -> bool:
    """Whether sending the request twice has the effect of sending it once."""
    return method.upper() in IDEMPOTENT_METHODS or (
        method.upper() == "POST" and _IDEMPOTENT_POSTS.search(urlsplit(url).path) is not None
    )


def _never_sent(exc: Exception) -> bool:
    """A connection that was never made (refused, no route, connect timeout): nothing reached Google."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError) or isinstance(
        exc.args[0] if exc.args else None, urllib3.exceptions.NewConnectionError
    )


def _stub_response(status_code: int | None) -> requests.Response:
    """An empty stand-in response (status 0 when there was none at all)."""
    stub = requests.Response()
    stub.status_code = status_code or 0
    stub._content = b""
    return stub


def _describe(url: str) -> str:
    """Method target for messages: the path only (no host, no query string)."""
    return unquote(urlsplit(url).path)


def _parse_error(response: requests.Response) -> tuple[str | None, str, dict[str, Any] | None]:
    """(status name, short message, error dict) from a JSON or HTML error body."""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        error = None
    if isinstance(error, dict):
        status = error.get("status")
        if status is None and error.get("errors"):
            status = error["errors"][0].get("reason")
        return status, str(error.get("message", "")), error
    if isinstance(error, str):  # OAuth-style {"error": "invalid_grant", ...}
        return error, str(body.get("error_description", "")), None
    return None, _html_summary(response.text), None


def _html_summary(text: str, limit: int = 160) -> str:
    title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    plain = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    plain = " ".join(html.unescape(plain).split())
    return plain[:limit] + ("..." if len(plain) > limit else "")


def _drive_rate_limited(status: int, error: Mapping[str, Any] | None) -> bool:
    """Drive signals rate limits as 403 with a usageLimits reason."""
    if status != 403 or not error:
        return False
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    return bool(reasons & _DRIVE_RATE_REASONS)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _hint(status: int, account: str | None) -> str:
    share = f"share the spreadsheet with {account}" if account else "share the spreadsheet with this account"
    return {
        401: " The credentials were not accepted.",
        403: f" The account has no access: {share}.",
        404: " Check the spreadsheet id or URL.",
        429: " The Google Sheets quota (per minute) is exhausted; retry later or read less often.",
    }.get(status, "")


def _refresh_reason(exc: google.auth.exceptions.RefreshError) -> str:
    """The OAuth error code/description only (google-auth puts the server's answer first)."""
    first = exc.args[0] if exc.args else ""
    return str(first)[:200] if isinstance(first, str) else type(exc).__name__


# --- credentials ------------------------------------------------------------------------------


def _resolve_path(credentials_path: str | os.PathLike[str] | None) -> Path:
    path = credentials_path or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        raise GoogleConfigError(
            "No Google credentials configured: set a credentials file path (service account or "
            "authorized-user JSON) or the GOOGLE_APPLICATION_CREDENTIALS environment variable."
        )
    return Path(path).expanduser()


def _read_file(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes and the stat of the file they came from (one open: the two agree)."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            data = handle.read()
    except FileNotFoundError:
        raise GoogleConfigError(f"Google credentials file {path} does not exist.") from None
    except OSError as exc:
        raise GoogleConfigError(f"Google credentials file {path} cannot be read ({type(exc).__name__}).") from None
    return data, stat


def _parse_json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoogleConfigError(f"Google credentials file {path} cannot be read ({type(exc).__name__}).") from None
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoogleConfigError(
            f"Google credentials file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(info, dict):
        raise GoogleConfigError(f"Google credentials file {path} does not contain a JSON object.")
    return info


def _read_json(path: Path) -> dict[str, Any]:
    return _parse_json(path, _read_file(path)[0])


def load_credentials(credentials_path: str | os.PathLike[str] | None, scopes: tuple[str, ...] = SCOPES) -> Credentials:
    """New google-auth credentials (no token yet) from a service-account or authorized-user JSON file.

    Syncs use `shared_credentials` instead, which keeps them, and their token, for the process.
    """
    path = _resolve_path(credentials_path)
    warn_if_readable_by_others(path)
    return _build(path, _read_json(path), scopes)


def _build(path: Path, info: dict[str, Any], scopes: tuple[str, ...]) -> Credentials:
    """Credentials from a file's parsed JSON; the key is checked (RSA parsing: ~30 ms of CPU)."""
    kind = info.get("type")
    if kind == "service_account":
        required = ("client_email", "private_key", "token_uri")
        builder: Callable[[], Credentials] = functools.partial(
            service_account.Credentials.from_service_account_info, info, scopes=list(scopes)
        )
    elif kind == "authorized_user":
        required = ("client_id", "client_secret", "refresh_token")
        builder = functools.partial(_authorized_user, info, scopes)
    else:
        shown = "missing" if kind is None else repr(kind) if isinstance(kind, str) and len(kind) < 40 else "invalid"
        raise GoogleConfigError(
            f"Google credentials file {path} has type {shown}; expected 'service_account' or 'authorized_user'."
        )
    missing = [name for name in required if not info.get(name)]
    if missing:
        raise GoogleConfigError(f"Google credentials file {path} ({kind}) is missing: {', '.join(missing)}.")
    try:
        return builder()
    except (ValueError, TypeError, KeyError, google.auth.exceptions.GoogleAuthError) as exc:
        # The library's message may quote key material: report only the exception type.
        raise GoogleConfigError(
            f"Google credentials file {path} ({kind}) could not be loaded ({type(exc).__name__}); "
            "is the private key intact?"
        ) from None


def warn_if_readable_by_others(path: str | os.PathLike[str]) -> bool:
    """Log a warning when a key file can be read by other users of the machine."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if mode & 0o077:
        _warn_readable(path)
        return True
    return False


def _warn_readable(path: str | os.PathLike[str]) -> None:
    log.warning("Google credentials file %s is readable by other users: run chmod 600 %s", path, path)


class _CredentialsCache:
    """Credentials loaded once per process and file, so later syncs reuse the parsed key and its token.

    A fresh credentials object has no token: every sync paid a token request (and ~30 ms of
    RSA parsing) although the last token was good for an hour. Kept credentials hand out
    their token until google-auth deems it expired (3m45s before the end), then refresh it.

    Each lookup still reads the file (a few kB, microseconds) and compares its SHA-256 with
    the loaded one's, so a key rotated on disk, renamed over or rewritten in place (even at
    the same size within one timestamp tick, which a stat would miss), is loaded on the next
    sync, and the old one is dropped. A file that became unreadable or broken fails as it
    would uncached, and is forgotten. The world-readable warning is logged once per file
    identity (inode, size, mtime, mode): a new file, or one made readable again, warns again;
    the same file does not fill a scheduler's log every sync.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held while loading: two threads never load one file twice
        self._loaded: dict[tuple[str, tuple[str, ...]], tuple[bytes, Credentials]] = {}
        self._warned: dict[str, tuple[int, ...]] = {}

    def get(self, credentials_path: str | os.PathLike[str] | None, scopes: tuple[str, ...]) -> Credentials:
        path = _resolve_path(credentials_path)
        slot = (os.path.abspath(path), tuple(scopes))
        with self._lock:
            held = self._loaded.get(slot)
            try:
                data, stat = _read_file(path)
                self._warn_once(slot[0], path, stat)
                digest = hashlib.sha256(data).digest()
                if held is not None and held[0] == digest:
                    return held[1]
                creds = _one_refresh_at_a_time(_build(path, _parse_json(path, data), scopes))
            except GoogleConfigError:
                self._loaded.pop(slot, None)
                raise
            if held is not None:
                log.info("Google credentials file %s changed: loaded the new key", path)
            self._loaded[slot] = (digest, creds)
            return creds

    def _warn_once(self, key: str, path: Path, stat: os.stat_result) -> None:
        identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_mode)
        if stat.st_mode & 0o077 and self._warned.get(key) != identity:
            _warn_readable(path)
            self._warned[key] = identity


_CREDENTIALS = _CredentialsCache()


def shared_credentials(
    credentials_path: str | os.PathLike[str] | None, scopes: tuple[str, ...] = SCOPES
) -> Credentials:
    """This process's credentials for the file (loaded again only when its content changed).

    The object is shared by every client and thread using the file; it fetches one token at a
    time (`_one_refresh_at_a_time`). Raises GoogleConfigError as `load_credentials` does.
    """
    return _CREDENTIALS.get(credentials_path, scopes)


_BUCKETS_LOCK = threading.Lock()
_BUCKETS: dict[str, TokenBucket] = {}


def quota_bucket(
    credentials_path: str | os.PathLike[str] | None,
    per_minute: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenBucket:
    """This process's token bucket for a credentials file: one quota across back-to-back syncs.

    Google's per-user quota counts requests in any minute, whichever sync sent them. A bucket
    made afresh per sync would start full, so a sync right after another could send its whole
    burst on top of what the first one spent that minute. A rotated key in the same file is
    the same account, so it keeps the bucket; a changed budget (or an injected clock) gets a new one.
    """
    key = os.path.abspath(_resolve_path(credentials_path))
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None or bucket.per_minute != float(per_minute) or bucket.clock != clock or bucket.sleep != sleep:
            bucket = _BUCKETS[key] = TokenBucket(per_minute, clock=clock, sleep=sleep)
        return bucket


def _authorized_user(info: dict[str, Any], scopes: tuple[str, ...]) -> Credentials:
    """Authorized-user credentials that keep the file's ``token_uri`` (google-auth drops it)."""
    creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(scopes))
    token_uri = info.get("token_uri")
    if isinstance(token_uri, str) and token_uri:
        creds = creds.with_token_uri(token_uri)
    return creds


def service_account_email(credentials_path: str | os.PathLike[str] | None) -> str | None:
    """The service account's email (to tell users whom to share a sheet with), or None."""
    try:
        info = _read_json(_resolve_path(credentials_path))
    except GoogleConfigError:
        return None
    email = info.get("client_email")
    if info.get("type") == "service_account" and isinstance(email, str):
        return email
    return None


def make_gspread_client(
    *,
    credentials_path: str | os.PathLike[str] | None,
    api_url: str | None = None,
    retry: RetryPolicy | None = None,
    limiter: TokenBucket | None = None,
    credentials: Credentials | None = None,
) -> gspread.Client:
    """A gspread Client using our credentials loading, endpoint override and retry policy.

    ``credentials_path`` falls back to GOOGLE_APPLICATION_CREDENTIALS. No network happens here:
    the first API call needing a token fetches it (from the file's own ``token_uri``); the
    process's credentials for the file keep it for later clients (`shared_credentials`).
    ``credentials`` (already loaded) overrides them.
    """
    creds = credentials if credentials is not None else shared_credentials(credentials_path)
    factory = functools.partial(RetryingHTTPClient, api_url=api_url, retry=retry, limiter=limiter)
    return gspread.Client(creds, http_client=cast(HTTPClientType, factory))


def _policy(google: GoogleConfig, retry: RetryPolicy | None) -> RetryPolicy:
    return retry or RetryPolicy(total_timeout=google.retry_seconds, max_attempts=10)


def client_from_config(google: GoogleConfig, retry: RetryPolicy | None = None) -> gspread.Client:
    """The client `[google]` describes: its (first) credentials, endpoint and retry budget.

    Raises GoogleConfigError for credentials that cannot be used.
    """
    policy = _policy(google, retry)
    return make_gspread_client(credentials_path=google.credentials, api_url=google.api_url, retry=policy)


class Account:
    """One credential of `[google] credentials`: its token, its own quota bucket, a client per thread.

    gspread clients (a requests session each) are not shared between threads; the credentials
    (one access token) and the token bucket (one quota per service account) are, and both are
    the process's (`shared_credentials`, `quota_bucket`): later syncs keep using them.
    """

    def __init__(self, path: Path | None, google: GoogleConfig, retry: RetryPolicy) -> None:
        self.path = path
        self.credentials = shared_credentials(path)
        # The loaded key's own account (the file was just read for it): None for a user's credentials.
        self.email: str | None = getattr(self.credentials, "service_account_email", None)
        self.limiter = quota_bucket(path, google.requests_per_minute, clock=retry.clock, sleep=retry.sleep)
        self._api_url = google.api_url
        self._retry = retry
        self._local = threading.local()

    def client(self) -> gspread.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = make_gspread_client(
                credentials_path=self.path, api_url=self._api_url, retry=self._retry,
                limiter=self.limiter, credentials=self.credentials,
            )
            self._local.client = client
        return client


def _one_refresh_at_a_time(creds: Credentials) -> Credentials:
    """Threads sharing one credentials object fetch one token, not one each (wrapped once only).

    Two ways a thread asks for a token: google-auth's `before_request` when it deems the token
    expired, and `AuthorizedSession` after a 401 (a token Google revoked or let lapse early),
    which refreshes without asking whether another thread just did: sixteen parallel readers
    refused one token fetched sixteen. So both go through one lock, and a thread refused a
    token refreshes only if that token is still the current one.
    """
    if getattr(creds.before_request, "one_at_a_time", False):
        return creds
    lock = threading.RLock()  # before_request refreshes from inside itself
    sent = threading.local()  # the token this thread's last request carried
    before_request, refresh = creds.before_request, creds.refresh

    def locked_before_request(*args: Any, **kwargs: Any) -> None:
        with lock:
            before_request(*args, **kwargs)
            sent.token = creds.token

    def locked_refresh(request: Any) -> None:
        with lock:
            if creds.valid and creds.token != getattr(sent, "token", creds.token):
                return  # another thread replaced the refused token meanwhile: the retry sends that one
            refresh(request)

    locked_before_request.one_at_a_time = True  # type: ignore[attr-defined]
    creds.before_request = locked_before_request  # type: ignore[method-assign]
    creds.refresh = locked_refresh  # type: ignore[method-assign]
    return creds


def accounts_from_config(google: GoogleConfig, retry: RetryPolicy | None = None) -> list[Account]:
    """Every credential `[google]` names (one when it names a single file), each with its quota bucket.

    Raises GoogleConfigError for the first credentials file that cannot be used.
    """
    policy = _policy(google, retry)
    return [Account(path, google, policy) for path in google.accounts]
