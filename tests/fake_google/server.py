"""A loopback HTTP server speaking the Sheets API v4, Drive v3 and OAuth token wire formats.

Nothing in CI reaches Google, yet the connector must be tested with *unmodified* gspread and
google-auth: the real request building, percent-encoding, JWT-bearer token flow and error
parsing. So the fake sits at the HTTP level. It stores spreadsheets in memory, records every
call, and can inject the failures that matter in production (429 storms, HTML 5xx pages,
dropped connections, per-minute quotas, missing permissions).

Simplifications (each documented where it lives):
- reads are clipped to the grid; a range starting outside it is a 400 (``store.clipped``);
- values.append's table detection follows the documented rule, judged from the range's start
  column rightwards (``Spreadsheet.append``);
- formulas: arithmetic, cell references and SUM/AVERAGE/MIN/MAX/COUNT only (``cells.py``);
- Drive ``q``: ``and`` of name/mimeType/fullText/parents/trashed terms only;
- access tokens from the token endpoint live ``token_lifetime`` seconds of the fake's clock
  (``advance_clock`` ages them; ``revoke_tokens`` ends them all at once), tokens minted with
  ``issue_token`` never expire; the quota counts accepted Sheets requests only, Drive and
  token calls are free.
Not implemented: R1C1 ranges, sheets.copyTo, export, filter views, Drive comments, developer
metadata; ``store.py`` lists the batchUpdate kinds that are modelled, recorded only or refused.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import copy
import csv
import datetime as dt
import io
import json
import operator
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import cells, fieldmask
from .errors import ApiError, bad_request, html_error_page
from .store import (
    DATETIME_RENDER,
    SPREADSHEET_MIME,
    VALUE_RENDER,
    Spreadsheet,
    new_file_id,
    now_rfc3339,
    owner_permission,
)

FOLDER_MIME = "application/vnd.google-apps.folder"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_OWNER = "fake-owner@example.iam.gserviceaccount.com"


class Call(NamedTuple):
    """One recorded request: method, percent-decoded path, query parameters (all values)."""

    method: str
    path: str
    query: dict[str, list[str]]


@dataclass
class _Fault:
    remaining: int
    status: int = 429
    retry_after: int | None = None
    body: str = "json"
    kind: str | None = None
    message: str | None = None
    drop: bool = False
    drive_reason: str | None = None
    after: bool = False  # drop only after carrying the request out: the change is made, the answer lost
    skip: int = 0  # requests of its kind let through first


@dataclass
class _Response:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    drop: bool = False
    pretty: bool = True  # Google's `prettyPrint` system parameter: indented JSON unless it is "false"


_ID = r"(?P<id>[^/:]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/token$"), "oauth.token"),
    ("GET", re.compile(rf"^/v4/spreadsheets/{_ID}$"), "spreadsheets.get"),
    ("POST", re.compile(r"^/v4/spreadsheets$"), "spreadsheets.create"),
    ("POST", re.compile(rf"^/v4/spreadsheets/{_ID}:batchUpdate$"), "spreadsheets.batchUpdate"),
    ("GET", re.compile(rf"^/v4/spreadsheets/{_ID}/values:batchGet$"), "values.batchGet"),
    ("POST", re.compile(rf"^/v4/spreadsheets/{_ID}/values:batchUpdate$"), "values.batchUpdate"),
    ("POST", re.compile(rf"^/v4/spreadsheets/{_ID}/values:batchClear$"), "values.batchClear"),
    ("POST", re.compile(rf"^/v4/spreadsheets/{_ID}/values/(?P<range>.+):append$"), "values.append"),
    ("POST", re.compile(rf"^/v4/spreadsheets/{_ID}/values/(?P<range>.+):clear$"), "values.clear"),
    ("GET", re.compile(rf"^/v4/spreadsheets/{_ID}/values/(?P<range>.+)$"), "values.get"),
    ("PUT", re.compile(rf"^/v4/spreadsheets/{_ID}/values/(?P<range>.+)$"), "values.update"),
    ("POST", re.compile(r"^/drive/v3/files$"), "drive.files.create"),
    ("GET", re.compile(r"^/drive/v3/files$"), "drive.files.list"),
    ("GET", re.compile(r"^/drive/v3/files/(?P<id>[^/]+)$"), "drive.files.get"),
    ("DELETE", re.compile(r"^/drive/v3/files/(?P<id>[^/]+)$"), "drive.files.delete"),
    ("POST", re.compile(r"^/drive/v3/files/(?P<id>[^/]+)/copy$"), "drive.files.copy"),
    ("POST", re.compile(r"^/drive/v3/files/(?P<id>[^/]+)/permissions$"), "drive.permissions.create"),
    ("GET", re.compile(r"^/drive/v3/files/(?P<id>[^/]+)/permissions$"), "drive.permissions.list"),
    (
        "DELETE",
        re.compile(r"^/drive/v3/files/(?P<id>[^/]+)/permissions/(?P<pid>[^/]+)$"),
        "drive.permissions.delete",
    ),
    ("PUT", re.compile(r"^/upload/drive/v2/files/(?P<id>[^/]+)$"), "drive.files.importCsv"),
]


def classify(method: str, raw_path: str) -> tuple[str, re.Match[str] | None]:
    """Endpoint kind (``values.batchGet``...) of a request; ``unknown`` when nothing matches."""
    for route_method, pattern, kind in _ROUTES:
        if route_method == method:
            match = pattern.match(raw_path)
            if match:
                return kind, match
    return "unknown", None


class FakeGoogle:
    """The fake Google backend; use as a context manager or call ``start()``/``stop()``.

    ``clock`` (seconds, monotonic) drives the per-minute quota; ``advance_clock`` moves it so
    tests never sleep. ``require_auth=False`` accepts API calls without a bearer token.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        require_auth: bool = True,
        owner_email: str = DEFAULT_OWNER,
        latency: float = 0.0,
    ) -> None:
        self._clock = clock or time.monotonic
        self.latency = latency  # seconds each API request takes before it is answered (real Google: 100s of ms)
        self._clock_offset = 0.0
        self.require_auth = require_auth
        self.owner_email = owner_email
        self._lock = threading.RLock()
        self._spreadsheets: dict[str, Spreadsheet] = {}
        self._folders: dict[str, dict[str, Any]] = {}
        self._calls: list[tuple[Call, str]] = []
        self._faults: collections.deque[_Fault] = collections.deque()
        self._quota: int | None = None
        self._quota_per_user = False
        self._quota_counts: dict[tuple[int, str], int] = {}
        self._refused = 0
        self._by_identity: collections.Counter[str] = collections.Counter()
        self._in_flight = 0
        self.max_in_flight = 0  # most API requests being answered at once (parallel clients show here)
        self._tokens: dict[str, tuple[str, float | None]] = {}  # token -> (email, expiry on the fake's clock)
        self.token_lifetime = 3599  # seconds: the token endpoint's expires_in, as Google answers
        self._auth_refusals = 0
        self._service_accounts: dict[str, rsa.RSAPublicKey] = {}
        self._authorized_users: dict[tuple[str, str], tuple[str, str]] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        """Bind an ephemeral loopback port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-google", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:  # kept-alive connections would otherwise still be served
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (pass it as ``api_url``)."""
        if self._httpd is None:
            raise RuntimeError("FakeGoogle is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_uri(self) -> str:
        """The OAuth token endpoint to put in credential files."""
        return self.url + "/token"

    # --- data -------------------------------------------------------------------------------

    def add_spreadsheet(
        self,
        title: str,
        sheets: dict[str, list[list[object]]] | None = None,
        *,
        formats: dict[str, Any] | None = None,
        spreadsheet_id: str | None = None,
        owner_email: str | None = None,
    ) -> str:
        """Create a spreadsheet from Python values; returns its id.

        Values: numbers, strings, bools, ``datetime.date``/``datetime`` (stored as serials with
        a DATE/DATE_TIME format), ``Percent(0.12)``, ``Formula("=A1*2")``, ``Formatted(...)``.
        ``formats`` maps A1 ranges (``"Data!B2:B9"``, or ``"B2:B9"`` on the first tab) to a
        numberFormat dict, a numberFormat type name (``"PERCENT"``) or a full CellFormat.
        """
        with self._lock:
            titles = list(sheets or {}) or ["Sheet1"]
            ss = Spreadsheet.create(title, owner_email=owner_email or self.owner_email, sheet_titles=titles)
            if spreadsheet_id is not None:
                ss.id = spreadsheet_id
            for sheet_title, rows in (sheets or {}).items():
                sheet = ss.sheet(sheet_title)
                sheet.grow(len(rows), max((len(r) for r in rows), default=0))
                for r, row in enumerate(rows):
                    for c, value in enumerate(row):
                        sheet.put(r, c, cells.from_python(value))
            for ref, fmt in (formats or {}).items():
                ss.set_format(ref, fmt)
            self._spreadsheets[ss.id] = ss
            return ss.id

    def spreadsheet(self, spreadsheet_id: str) -> Spreadsheet:
        """The live stored spreadsheet (values, formats, requests, permissions) for inspection."""
        with self._lock:
            return self._spreadsheets[spreadsheet_id]

    @property
    def spreadsheets(self) -> list[Spreadsheet]:
        """All stored spreadsheets, including ones the code under test created."""
        with self._lock:
            return list(self._spreadsheets.values())

    def deny(self, spreadsheet_id: str) -> None:
        """Make a spreadsheet unreadable: Sheets answers 403, Drive hides it (404)."""
        with self._lock:
            self._spreadsheets[spreadsheet_id].denied = True

    def allow(self, spreadsheet_id: str) -> None:
        """Undo ``deny``."""
        with self._lock:
            self._spreadsheets[spreadsheet_id].denied = False

    # --- auth -------------------------------------------------------------------------------

    def register_service_account(self, client_email: str, public_key: rsa.RSAPublicKey | bytes | str) -> None:
        """Trust JWT assertions from ``client_email`` signed by this RSA key (PEM or object)."""
        if isinstance(public_key, str | bytes):
            data = public_key.encode() if isinstance(public_key, str) else public_key
            loaded = serialization.load_pem_public_key(data)
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise TypeError("service account keys must be RSA")
            public_key = loaded
        with self._lock:
            self._service_accounts[client_email] = public_key

    def unregister_service_account(self, client_email: str) -> None:
        """Stop trusting a service account (its next token request fails with invalid_grant)."""
        with self._lock:
            self._service_accounts.pop(client_email, None)

    def register_authorized_user(
        self, client_id: str, client_secret: str, refresh_token: str, email: str = "user@example.com"
    ) -> None:
        """Accept the OAuth refresh-token grant for this client and refresh token."""
        with self._lock:
            self._authorized_users[(client_id, refresh_token)] = (client_secret, email)

    def issue_token(self, email: str = "tester@example.com", *, lifetime: float | None = None) -> str:
        """Mint a bearer token directly (for clients built with a static token); None: it never expires."""
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (email, None if lifetime is None else self.now() + lifetime)
        return token

    def set_token_lifetime(self, seconds: int) -> None:
        """The ``expires_in`` of tokens issued from now on; the fake refuses them (401) once it has passed."""
        self.token_lifetime = seconds

    @property
    def auth_refusals(self) -> int:
        """401 answers given to API requests (no token, an unknown, revoked or expired one)."""
        with self._lock:
            return self._auth_refusals

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token handed out so far (tests grep outputs for them)."""
        with self._lock:
            return list(self._tokens)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token; the next API call gets 401 and must refresh."""
        with self._lock:
            self._tokens.clear()

    # --- call log ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request received (including failed/dropped ones and token requests)."""
        with self._lock:
            return [call for call, _ in self._calls]

    def calls_of(self, kind: str) -> list[Call]:
        """Requests of one endpoint kind, e.g. ``values.batchGet``."""
        with self._lock:
            return [call for call, k in self._calls if k == kind]

    def call_counts(self) -> dict[str, int]:
        """Number of requests per endpoint kind."""
        with self._lock:
            return dict(collections.Counter(kind for _, kind in self._calls))

    def reset_calls(self) -> None:
        """Forget recorded calls."""
        with self._lock:
            self._calls.clear()
            self._by_identity.clear()

    # --- faults and quota -------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        retry_after: int | None = None,
        body: str = "json",
        *,
        kind: str | None = None,
        message: str | None = None,
        drive_reason: str | None = None,
        skip: int = 0,
    ) -> None:
        """Make the next ``n`` API requests (optionally of one ``kind``, e.g. ``values.batchGet``) fail,
        after letting ``skip`` of them through.

        ``body="json"`` answers Google's JSON error shape, ``body="html"`` an HTML error page
        (as Google's front end does for some 5xx). ``drive_reason`` (e.g. ``userRateLimitExceeded``)
        switches to Drive's error shape. Token requests are never failed.
        """
        if body not in ("json", "html"):
            raise ValueError("body must be 'json' or 'html'")
        with self._lock:
            self._faults.append(_Fault(n, status, retry_after, body, kind, message, drive_reason=drive_reason,
                                       skip=skip))

    def drop_next(self, n: int = 1, *, kind: str | None = None, after: bool = False) -> None:
        """Close the connection without answering the next ``n`` API requests.

        ``after=True`` carries each request out first (a create creates), then drops the
        answer: what a timeout looks like to a client when the server did the work.
        """
        with self._lock:
            self._faults.append(_Fault(n, drop=True, kind=kind, after=after))

    def set_quota(self, per_minute: int | None, *, per_user: bool = False) -> None:
        """Answer 429 RESOURCE_EXHAUSTED to Sheets requests beyond ``per_minute`` in a clock minute.

        ``per_user`` counts each account apart (Google's per-user limit) instead of all together
        (the per-project limit).
        """
        with self._lock:
            self._quota = per_minute
            self._quota_per_user = per_user
            self._quota_counts.clear()
            self._refused = 0

    def set_latency(self, seconds: float) -> None:
        """Make every API request (not token requests) take ``seconds`` before it is answered."""
        self.latency = seconds

    @property
    def quota_refusals(self) -> int:
        """429 answers given for the quota since it was last set."""
        with self._lock:
            return self._refused

    def calls_by_identity(self) -> dict[str, int]:
        """Authenticated API requests per account (email), since the last ``reset_calls``."""
        with self._lock:
            return dict(self._by_identity)

    def now(self) -> float:
        """The fake's clock (injected clock plus ``advance_clock`` offsets)."""
        return self._clock() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the quota clock forward (e.g. from a retry policy's injected sleep)."""
        with self._lock:
            self._clock_offset += seconds

    # --- request handling -------------------------------------------------------------------

    def _handle(self, method: str, raw_target: str, headers: dict[str, str], body: bytes) -> _Response:
        parts = urlsplit(raw_target)
        query = parse_qs(parts.query, keep_blank_values=True)
        response = self._answer(method, parts.path, query, headers, body)
        response.pretty = query.get("prettyPrint", ["true"])[-1].lower() != "false"
        return response

    def _answer(
        self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> _Response:
        kind, match = classify(method, raw_path)
        with self._lock:
            self._calls.append((Call(method, unquote(raw_path), query), kind))
        try:
            if kind == "oauth.token":
                return self._token(body)
            fault = self._take_fault(kind)
            if fault is not None and not fault.after:
                return self._fault_response(fault)
            with self._lock:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                if self.latency > 0:
                    time.sleep(self.latency)  # outside the lock: requests in flight overlap, as at Google
            finally:
                with self._lock:
                    self._in_flight -= 1
            identity = self._authenticate(headers)
            with self._lock:
                self._by_identity[identity] += 1
            if kind.startswith(("spreadsheets.", "values.")):
                self._check_quota(method, identity)
            if match is None:
                raise ApiError(404, "Method not found.", "NOT_FOUND")
            payload = _json_body(body) if method in ("POST", "PUT") and kind != "drive.files.importCsv" else None
            with self._lock:
                answer = _DISPATCH[kind](self, match, query, payload, identity, body)
            return _Response(0, drop=True) if fault is not None else answer
        except ApiError as exc:
            return _Response(exc.code, exc.body(), exc.headers)

    def _take_fault(self, kind: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind is None or fault.kind == kind:
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> _Response:
        if fault.drop:
            return _Response(0, drop=True)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.body == "html":
            return _Response(
                fault.status,
                raw=html_error_page(fault.status).encode(),
                headers=headers,
                content_type="text/html; charset=UTF-8",
            )
        error = ApiError(fault.status, fault.message, drive_reason=fault.drive_reason)
        return _Response(fault.status, error.body(), headers)

    def _authenticate(self, headers: dict[str, str]) -> str:
        if not self.require_auth:
            return self.owner_email
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        if scheme.lower() != "bearer" or not token:
            with self._lock:
                self._auth_refusals += 1
            raise ApiError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                headers=challenge,
            )
        with self._lock:
            email, expiry = self._tokens.get(token.strip(), (None, None))
            if email is None or (expiry is not None and self.now() >= expiry):
                self._auth_refusals += 1
                raise ApiError(401, headers=challenge)
        return email

    def _check_quota(self, method: str, identity: str = "") -> None:
        with self._lock:
            if self._quota is None:
                return
            window = (int(self.now() // 60), identity if self._quota_per_user else "")
            used = self._quota_counts.get(window, 0)
            if used >= self._quota:
                self._refused += 1
                metric = "Read requests" if method == "GET" else "Write requests"
                raise ApiError(
                    429,
                    f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' "
                    "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.",
                    "RESOURCE_EXHAUSTED",
                )
            self._quota_counts[window] = used + 1

    # --- OAuth ------------------------------------------------------------------------------

    def _token(self, body: bytes) -> _Response:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            email = self._verify_assertion(form.get("assertion", ""))
        elif grant == "refresh_token":
            key = (form.get("client_id", ""), form.get("refresh_token", ""))
            with self._lock:
                user = self._authorized_users.get(key)
            if user is None or user[0] != form.get("client_secret"):
                return _oauth_error("invalid_grant", "Bad Request")
            email = user[1]
        else:
            return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")
        if isinstance(email, _Response):
            return email
        lifetime = self.token_lifetime
        token = self.issue_token(email, lifetime=lifetime)
        payload: dict[str, Any] = {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}
        if "scope" in form:
            payload["scope"] = form["scope"]
        return _Response(200, payload)

    def _verify_assertion(self, assertion: str) -> str | _Response:
        try:
            header_b64, payload_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(payload_b64))
            signature = _b64decode(sig_b64)
        except (ValueError, json.JSONDecodeError):
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
            )
        if header.get("alg") != "RS256":
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        if not claims.get("iss") or not claims.get("scope") or not str(claims.get("aud", "")).endswith("/token"):
            return _oauth_error("invalid_grant", "Invalid JWT: missing iss, scope or aud claim.")
        if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.",
            )
        with self._lock:
            key = self._service_accounts.get(claims["iss"])
        if key is None:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        try:
            key.verify(signature, f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        return str(claims["iss"])

    # --- Sheets -----------------------------------------------------------------------------

    def _sheet_file(self, spreadsheet_id: str) -> Spreadsheet:
        ss = self._spreadsheets.get(spreadsheet_id)
        if ss is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if ss.denied:
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        return ss

    def _drive_file(self, file_id: str) -> Spreadsheet | dict[str, Any]:
        ss = self._spreadsheets.get(file_id)
        if ss is not None and not ss.denied:
            return ss
        if file_id in self._folders:
            return self._folders[file_id]
        raise ApiError(404, f"File not found: {file_id}.", drive_reason="notFound")

    def _atomically(self, ss: Spreadsheet, change: Callable[[Spreadsheet], Any]) -> Any:
        """Run ``change`` on a copy and keep it only if it succeeds (all-or-nothing)."""
        draft = copy.deepcopy(ss)
        result = change(draft)
        ss.__dict__.update(draft.__dict__)
        return result

    def _spreadsheets_get(self, match: re.Match[str], query: dict[str, list[str]], *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        include = _param(query, "includeGridData", "false").lower() == "true"
        mask = _mask(query)
        return _Response(200, ss.resource(include_grid=include, ranges=query.get("ranges"), mask=mask))

    def _spreadsheets_create(
        self, _m: Any, query: dict[str, list[str]], payload: Any, identity: str, _b: Any
    ) -> _Response:
        payload = payload or {}
        props = payload.get("properties") or {}
        sheet_props = [s.get("properties") or {} for s in payload.get("sheets") or []]
        ss = Spreadsheet.create(props.get("title") or "Untitled spreadsheet", owner_email=identity, sheet_titles=())
        for key in ("locale", "timeZone", "autoRecalc"):
            if key in props:
                ss.properties[key] = props[key]
        for i, sp in enumerate(sheet_props or [{"title": "Sheet1"}]):
            ss.add_sheet({"sheetId": 0 if i == 0 and "sheetId" not in sp else None, **sp})
        self._spreadsheets[ss.id] = ss
        return _Response(200, ss.resource(mask=_mask(query)))

    def _batch_update(self, match: re.Match[str], query: dict[str, list[str]], payload: Any, *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        requests = (payload or {}).get("requests")
        if not requests:
            raise bad_request("Must specify at least one request.")
        if not isinstance(requests, list):
            raise bad_request("Invalid JSON payload received. 'requests' must be a list.")
        replies = self._atomically(ss, lambda draft: draft.batch_update(requests))
        out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
        if payload.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = ss.resource(
                include_grid=bool(payload.get("responseIncludeGridData")),
                ranges=payload.get("responseRanges"),
            )
        return _Response(200, out)

    def _values_get(self, match: re.Match[str], query: dict[str, list[str]], *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        return _Response(200, ss.read(unquote(match["range"]), **_render_options(query)))

    def _values_batch_get(self, match: re.Match[str], query: dict[str, list[str]], *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        options = _render_options(query)
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        ranges = query.get("ranges", [])
        if ranges:
            out["valueRanges"] = [ss.read(r, **options) for r in ranges]
        return _Response(200, out)

    def _values_update(self, match: re.Match[str], query: dict[str, list[str]], payload: Any, *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        option = _input_option(_param(query, "valueInputOption"))
        payload = payload or {}
        range_text = unquote(match["range"])
        result = self._atomically(
            ss,
            lambda draft: draft.write(
                range_text, payload.get("values"), input_option=option, major=payload.get("majorDimension")
            ),
        )
        _include_values(ss, result, query)
        return _Response(200, result)

    def _values_append(self, match: re.Match[str], query: dict[str, list[str]], payload: Any, *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        option = _input_option(_param(query, "valueInputOption"))
        insert = _param(query, "insertDataOption", "OVERWRITE")
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            raise bad_request(
                "Invalid value at 'insert_data_option' "
                f'(type.googleapis.com/google.apps.sheets.v4.InsertDataOption), "{insert}"'
            )
        payload = payload or {}
        range_text = unquote(match["range"])
        result = self._atomically(
            ss,
            lambda draft: draft.append(
                range_text,
                payload.get("values"),
                input_option=option,
                insert_option=insert,
                major=payload.get("majorDimension"),
            ),
        )
        _include_values(ss, result["updates"], query)
        return _Response(200, result)

    def _values_batch_update(self, match: re.Match[str], _q: Any, payload: Any, *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        payload = payload or {}
        option = _input_option(payload.get("valueInputOption"))
        data = payload.get("data") or []

        def change(draft: Spreadsheet) -> list[dict[str, Any]]:
            return [
                draft.write(
                    item.get("range", ""),
                    item.get("values"),
                    input_option=option,
                    major=item.get("majorDimension"),
                )
                for item in data
            ]

        responses = self._atomically(ss, change)
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        touched = [r for r in responses if "updatedCells" in r]
        if touched:
            out.update(
                {
                    "totalUpdatedRows": sum(r["updatedRows"] for r in touched),
                    "totalUpdatedColumns": sum(r["updatedColumns"] for r in touched),
                    "totalUpdatedCells": sum(r["updatedCells"] for r in touched),
                    "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in touched}),
                }
            )
        out["responses"] = responses
        if payload.get("includeValuesInResponse"):
            query = {
                "responseValueRenderOption": [payload.get("responseValueRenderOption") or "FORMATTED_VALUE"],
                "responseDateTimeRenderOption": [payload.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"],
                "includeValuesInResponse": ["true"],
            }
            for response in responses:
                _include_values(ss, response, query)
        return _Response(200, out)

    def _values_clear(self, match: re.Match[str], *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        range_text = unquote(match["range"])
        cleared = self._atomically(ss, lambda draft: draft.clear(range_text))
        return _Response(200, {"spreadsheetId": ss.id, "clearedRange": cleared})

    def _values_batch_clear(self, match: re.Match[str], _q: Any, payload: Any, *_: Any) -> _Response:
        ss = self._sheet_file(match["id"])
        ranges = (payload or {}).get("ranges") or []
        cleared = self._atomically(ss, lambda draft: [draft.clear(r) for r in ranges])
        return _Response(200, {"spreadsheetId": ss.id, "clearedRanges": cleared})

    # --- Drive ------------------------------------------------------------------------------

    @staticmethod
    def _file_json(item: Spreadsheet | dict[str, Any]) -> dict[str, Any]:
        if isinstance(item, Spreadsheet):
            out = {
                "kind": "drive#file",
                "id": item.id,
                "name": item.title,
                "mimeType": SPREADSHEET_MIME,
                "createdTime": item.created_time,
                "modifiedTime": item.modified_time,
                "trashed": False,
            }
            if item.parents:
                out["parents"] = list(item.parents)
            if item.app_properties:
                out["appProperties"] = dict(item.app_properties)
            return out
        return copy.deepcopy(item)

    @staticmethod
    def _drive_fields(item: dict[str, Any], query: dict[str, list[str]], default: tuple[str, ...]) -> dict[str, Any]:
        mask = _mask(query)
        if mask is None:
            return {k: item[k] for k in default if k in item}
        return fieldmask.apply(item, mask)

    def _files_create(self, _m: Any, query: dict[str, list[str]], payload: Any, identity: str, _b: Any) -> _Response:
        payload = payload or {}
        name = payload.get("name") or "Untitled"
        mime = payload.get("mimeType") or "application/octet-stream"
        parents = list(payload.get("parents") or [])
        item: Spreadsheet | dict[str, Any]
        if mime == SPREADSHEET_MIME:
            ss = Spreadsheet.create(name, owner_email=identity)
            ss.parents = parents
            ss.app_properties = {str(k): str(v) for k, v in (payload.get("appProperties") or {}).items()}
            self._spreadsheets[ss.id] = ss
            item = ss
        else:
            item = {
                "kind": "drive#file",
                "id": new_file_id(),
                "name": name,
                "mimeType": mime,
                "createdTime": now_rfc3339(),
                "modifiedTime": now_rfc3339(),
                "trashed": False,
                **({"parents": parents} if parents else {}),
            }
            self._folders[item["id"]] = item
        return _Response(200, self._drive_fields(self._file_json(item), query, ("kind", "id", "name", "mimeType")))

    def _files_copy(
        self, match: re.Match[str], query: dict[str, list[str]], payload: Any, identity: str, _b: Any
    ) -> _Response:
        source = self._drive_file(match["id"])
        if not isinstance(source, Spreadsheet):
            raise ApiError(400, "This file cannot be copied by the fake.", drive_reason="invalid")
        payload = payload or {}
        clone = copy.deepcopy(source)
        clone.id = new_file_id()
        clone.properties["title"] = payload.get("name") or f"Copy of {source.title}"
        clone.requests = []
        clone.owner_email = identity
        clone.permissions = [owner_permission(identity)]
        clone.created_time = clone.modified_time = now_rfc3339()
        clone.parents = list(payload.get("parents") or [])
        self._spreadsheets[clone.id] = clone
        return _Response(200, self._drive_fields(self._file_json(clone), query, ("kind", "id", "name", "mimeType")))

    def _files_list(self, _m: Any, query: dict[str, list[str]], *_: Any) -> _Response:
        predicate = _drive_query(_param(query, "q", ""))
        items = [self._file_json(ss) for ss in self._spreadsheets.values() if not ss.denied]
        items += [copy.deepcopy(f) for f in self._folders.values()]
        matched = [item for item in items if predicate(item)]
        matched.sort(key=lambda item: item["modifiedTime"], reverse=True)
        page_size = int(_param(query, "pageSize", "100"))
        offset = int(_param(query, "pageToken", "0") or 0)
        page = matched[offset : offset + page_size]
        out: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": page}
        if offset + page_size < len(matched):
            out["nextPageToken"] = str(offset + page_size)
        mask = _mask(query)
        if mask is None:
            out["files"] = [{k: f[k] for k in ("kind", "mimeType", "id", "name") if k in f} for f in page]
            return _Response(200, out)
        return _Response(200, fieldmask.apply(out, mask))

    def _files_get(self, match: re.Match[str], query: dict[str, list[str]], *_: Any) -> _Response:
        item = self._file_json(self._drive_file(match["id"]))
        return _Response(200, self._drive_fields(item, query, ("kind", "id", "name", "mimeType")))

    def _files_delete(self, match: re.Match[str], *_: Any) -> _Response:
        item = self._drive_file(match["id"])
        if isinstance(item, Spreadsheet):
            del self._spreadsheets[item.id]
        else:
            del self._folders[item["id"]]
        return _Response(204)

    def _permissions_create(
        self, match: re.Match[str], query: dict[str, list[str]], payload: Any, *_: Any
    ) -> _Response:
        ss = self._drive_file(match["id"])
        if not isinstance(ss, Spreadsheet):
            raise ApiError(400, "The fake only shares spreadsheets.", drive_reason="invalid")
        payload = payload or {}
        perm_type, role = payload.get("type"), payload.get("role")
        if perm_type not in ("user", "group", "domain", "anyone"):
            raise ApiError(400, "The permission type field is required.", drive_reason="required")
        if role not in ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"):
            raise ApiError(400, "The permission role field is required.", drive_reason="required")
        if perm_type in ("user", "group") and not payload.get("emailAddress"):
            raise ApiError(400, "The permission emailAddress field is required.", drive_reason="required")
        if perm_type == "domain" and not payload.get("domain"):
            raise ApiError(400, "The permission domain field is required.", drive_reason="required")
        if role == "owner" and _param(query, "transferOwnership", "false").lower() != "true":
            raise ApiError(
                403,
                "The transferOwnership parameter must be enabled when the permission role is 'owner'.",
                drive_reason="forbidden",
            )
        perm: dict[str, Any] = {
            "kind": "drive#permission",
            "id": "anyoneWithLink"
            if perm_type == "anyone"
            else "".join(secrets.choice("0123456789") for _ in range(20)),
            "type": perm_type,
            "role": role,
            "deleted": False,
            "pendingOwner": False,
        }
        for key in ("emailAddress", "domain", "allowFileDiscovery"):
            if key in payload:
                perm[key] = payload[key]
        if "emailAddress" in perm:
            perm["displayName"] = str(perm["emailAddress"]).split("@")[0]
        ss.permissions = [
            p
            for p in ss.permissions
            if not (
                p["type"] == perm_type and p.get("emailAddress") == perm.get("emailAddress") and p["role"] != "owner"
            )
        ]
        ss.permissions.append(perm)
        return _Response(200, self._drive_fields(perm, query, ("kind", "id", "type", "role")))

    def _permissions_list(self, match: re.Match[str], query: dict[str, list[str]], *_: Any) -> _Response:
        ss = self._drive_file(match["id"])
        perms = copy.deepcopy(ss.permissions) if isinstance(ss, Spreadsheet) else []
        out = {"kind": "drive#permissionList", "permissions": perms}
        mask = _mask(query)
        return _Response(200, fieldmask.apply(out, mask) if mask is not None else out)

    def _permissions_delete(self, match: re.Match[str], *_: Any) -> _Response:
        ss = self._drive_file(match["id"])
        if not isinstance(ss, Spreadsheet) or not any(p["id"] == match["pid"] for p in ss.permissions):
            raise ApiError(404, f"Permission not found: {match['pid']}.", drive_reason="notFound")
        ss.permissions = [p for p in ss.permissions if p["id"] != match["pid"]]
        return _Response(204)

    def _import_csv(self, match: re.Match[str], _q: Any, _p: Any, _i: Any, body: bytes) -> _Response:
        ss = self._drive_file(match["id"])
        if not isinstance(ss, Spreadsheet):
            raise ApiError(400, "Not a spreadsheet.", drive_reason="invalid")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        first = ss.sheets[0]
        ss.sheets = [first]
        ss._reindex()
        first.cells.clear()
        first.properties["gridProperties"].update(
            {"rowCount": max(len(rows), 1), "columnCount": max((len(r) for r in rows), default=1)}
        )
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                cell = cells.from_user_entered(text)
                if cell is not None:
                    first.put(r, c, cell)
        ss.touch()
        return _Response(200, {"kind": "drive#file", "id": ss.id, "title": ss.title, "mimeType": SPREADSHEET_MIME})


_DISPATCH: dict[str, Callable[..., _Response]] = {
    "spreadsheets.get": FakeGoogle._spreadsheets_get,
    "spreadsheets.create": FakeGoogle._spreadsheets_create,
    "spreadsheets.batchUpdate": FakeGoogle._batch_update,
    "values.get": FakeGoogle._values_get,
    "values.batchGet": FakeGoogle._values_batch_get,
    "values.update": FakeGoogle._values_update,
    "values.append": FakeGoogle._values_append,
    "values.batchUpdate": FakeGoogle._values_batch_update,
    "values.clear": FakeGoogle._values_clear,
    "values.batchClear": FakeGoogle._values_batch_clear,
    "drive.files.create": FakeGoogle._files_create,
    "drive.files.copy": FakeGoogle._files_copy,
    "drive.files.list": FakeGoogle._files_list,
    "drive.files.get": FakeGoogle._files_get,
    "drive.files.delete": FakeGoogle._files_delete,
    "drive.permissions.create": FakeGoogle._permissions_create,
    "drive.permissions.list": FakeGoogle._permissions_list,
    "drive.permissions.delete": FakeGoogle._permissions_delete,
    "drive.files.importCsv": FakeGoogle._import_csv,
}


# --- helpers ----------------------------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _oauth_error(error: str, description: str) -> _Response:
    return _Response(400, {"error": error, "error_description": description})


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("Invalid JSON payload received. Unexpected token.") from None


def _param(query: dict[str, list[str]], name: str, default: str | None = None) -> str:
    values = query.get(name)
    if not values:
        if default is None:
            raise bad_request(f"'{name}' is required but not specified")
        return default
    return values[0]


def _enum(
    query: dict[str, list[str]], name: str, snake: str, proto: str, allowed: tuple[str, ...], default: str
) -> str:
    value = _param(query, name, default)
    if value not in allowed:
        raise bad_request(
            f"Invalid value at '{snake}' (type.googleapis.com/google.apps.sheets.v4.{proto}), \"{value}\""
        )
    return value


def _render_options(query: dict[str, list[str]], prefix: str = "") -> dict[str, str]:
    major = _enum(
        query,
        "majorDimension",
        "major_dimension",
        "Dimension",
        ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"),
        "ROWS",
    )
    vro = "valueRenderOption" if not prefix else f"{prefix}ValueRenderOption"
    dto = "dateTimeRenderOption" if not prefix else f"{prefix}DateTimeRenderOption"
    return {
        "value_render": _enum(query, vro, "value_render_option", "ValueRenderOption", VALUE_RENDER, "FORMATTED_VALUE"),
        "datetime_render": _enum(
            query, dto, "date_time_render_option", "DateTimeRenderOption", DATETIME_RENDER, "SERIAL_NUMBER"
        ),
        "major": "ROWS" if major == "DIMENSION_UNSPECIFIED" else major,
    }


def _input_option(value: str | None) -> str:
    if not value:
        raise bad_request("'valueInputOption' is required but not specified")
    if value not in ("RAW", "USER_ENTERED"):
        raise bad_request(
            "Invalid value at 'value_input_option' "
            f'(type.googleapis.com/google.apps.sheets.v4.ValueInputOption), "{value}"'
        )
    return value


def _include_values(ss: Spreadsheet, result: dict[str, Any], query: dict[str, list[str]]) -> None:
    """``includeValuesInResponse``: echo what was written as a ValueRange."""
    if _param(query, "includeValuesInResponse", "false").lower() != "true" or "updatedRange" not in result:
        return
    options = _render_options({k: v for k, v in query.items() if k != "majorDimension"}, prefix="response")
    result["updatedData"] = ss.read(result["updatedRange"], **options)


def _mask(query: dict[str, list[str]]) -> fieldmask.Mask | None:
    text = ",".join(query.get("fields", []))
    if not text:
        return None
    try:
        return fieldmask.parse(text)
    except fieldmask.FieldMaskError:
        raise bad_request(f"Invalid field selection {text}") from None


_CLAUSE_RES = [
    (
        re.compile(r"^(name|mimeType|fullText)\s*(=|!=|contains)\s*(['\"])((?:\\.|(?!\3).)*)\3$", re.S),
        "compare",
    ),
    (re.compile(r"^(['\"])((?:\\.|(?!\1).)*)\1\s+in\s+parents$", re.I), "in_parents"),
    (re.compile(r"^parents\s+in\s+(['\"])((?:\\.|(?!\1).)*)\1$", re.I), "parents_in"),
    (re.compile(r"^trashed\s*=\s*(true|false)$", re.I), "trashed"),
    (
        re.compile(r"^appProperties\s+has\s*\{\s*key\s*=\s*'((?:\\.|[^'])*)'\s+and\s+value\s*=\s*'((?:\\.|[^'])*)'\s*\}$",
                   re.I),
        "app_property",
    ),
    (re.compile(r"^modifiedTime\s*(>=|<=|>|<|=)\s*(['\"])([^'\"]*)\2$"), "modified"),
]


def _drive_query(q: str) -> Callable[[dict[str, Any]], bool]:
    """Drive's ``q`` search language, limited to ``and`` of name/mimeType/parents/trashed terms."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in _split_and(q):
        tests.append(_clause(clause.strip(), q))
    return lambda item: all(test(item) for test in tests)


def _split_and(q: str) -> list[str]:
    parts, current, quote = [], "", ""
    depth = 0  # inside "appProperties has { key=... and value=... }" an "and" joins nothing
    i = 0
    while i < len(q):
        char = q[i]
        if quote:
            current += char
            if char == "\\" and i + 1 < len(q):
                current += q[i + 1]
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current += char
        elif char in "{}":
            depth += 1 if char == "{" else -1
            current += char
        elif depth == 0 and q[i : i + 5].lower() == " and ":
            parts.append(current)
            current = ""
            i += 4
        else:
            current += char
        i += 1
    if current.strip():
        parts.append(current)
    return parts


def _clause(clause: str, q: str) -> Callable[[dict[str, Any]], bool]:
    for pattern, kind in _CLAUSE_RES:
        match = pattern.match(clause)
        if not match:
            continue
        if kind == "compare":
            fld, op, value = match.group(1), match.group(2), _unescape(match.group(4))
            key = "name" if fld == "fullText" else fld
            if op == "=":
                return lambda item: item.get(key) == value
            if op == "!=":
                return lambda item: item.get(key) != value
            return lambda item: value.lower() in str(item.get(key, "")).lower()
        if kind in ("in_parents", "parents_in"):
            parent = _unescape(match.group(2))
            return lambda item: parent in item.get("parents", [])
        if kind == "app_property":
            prop, wanted_value = _unescape(match.group(1)), _unescape(match.group(2))
            return lambda item: item.get("appProperties", {}).get(prop) == wanted_value
        if kind == "modified":
            op, when = match.group(1), _rfc3339(match.group(3), q)
            compare = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq}[op]
            return lambda item: compare(_rfc3339(item["modifiedTime"], q), when)
        wanted = match.group(1).lower() == "true"
        return lambda item: bool(item.get("trashed", False)) == wanted
    raise ApiError(400, f"Invalid Value: q={q}", drive_reason="invalid")


def _rfc3339(text: str, q: str) -> dt.datetime:
    """Drive's time literals: RFC 3339, UTC when no offset is given ('2012-06-04T12:00:00')."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid Value: q={q}", drive_reason="invalid") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP/1.1 requests into ``FakeGoogle._handle`` calls."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "ESF"
    sys_version = ""

    def setup(self) -> None:
        """Track the connection so ``FakeGoogle.stop`` can close it."""
        super().setup()
        fake: FakeGoogle = self.server.fake  # type: ignore[attr-defined]
        with fake._lock:
            fake._connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection once the client is gone."""
        fake: FakeGoogle = self.server.fake  # type: ignore[attr-defined]
        with fake._lock:
            fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake: FakeGoogle = self.server.fake  # type: ignore[attr-defined]
        response = fake._handle(self.command, self.path, headers, body)
        if response.drop:
            self.close_connection = True
            return
        if response.raw is not None:
            data = response.raw
        elif response.payload is None:
            data = b""
        else:
            # Google indents its JSON unless asked not to; Python's indenting encoder is pure Python
            # and costs the test server about four times the compact one.
            if response.pretty:
                text = json.dumps(response.payload, ensure_ascii=False, indent=2) + "\n"
            else:
                text = json.dumps(response.payload, ensure_ascii=False, separators=(",", ":"))
            data = text.encode("utf-8")
        self.send_response(response.status)
        if data or response.status != 204:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; ``FakeGoogle.calls`` is the log."""


__all__ = ["Call", "FakeGoogle", "classify"]
