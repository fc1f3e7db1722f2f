"""A loopback HTTP server that plays Slack's and Teams' webhooks: it records every request,
checks each body against the documented payload shapes and answers what a test scripts.

Paths starting with /slack/ are checked as Slack incoming-webhook messages (Block Kit:
at most 50 blocks, a section's text at most 3,000 characters, a header's 150 and plain
text, buttons with http(s) URLs); /teams/ as a Teams workflow message carrying one Adaptive
Card (version 1.4 or 1.5, a body, Action.OpenUrl actions, under 28 KB). A body that breaks
the rules gets what the real service answers (Slack: 400 invalid_blocks; Teams: 400) and
the violation is recorded, so a test sees exactly what was wrong.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLACK_BLOCKS = {"header", "section", "divider", "context", "actions", "image", "rich_text"}
TEAMS_ELEMENTS = {"TextBlock", "RichTextBlock", "ColumnSet", "Container", "FactSet", "Image", "ActionSet"}


def _http(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 3000


def slack_problems(body: Any) -> list[str]:
    """What Slack would refuse in an incoming-webhook body (docs: Block Kit reference, limits)."""
    out = []
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        out.append("no top-level text (the notification fallback)")
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        out.append(f"blocks: {len(blocks)} > 50")
        return out
    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{index}] ({kind})"
        if kind not in SLACK_BLOCKS:
            out.append(f"{where}: unknown block type")
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150:
                out.append(f"{where}: a header needs plain_text of 1-150 characters")
        if kind == "section":
            text = block.get("text", {})
            if text.get("type") not in ("mrkdwn", "plain_text") or not 0 < len(text.get("text", "")) <= 3000:
                out.append(f"{where}: section text must be 1-3000 characters, got {len(text.get('text', ''))}")
        if kind == "context":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= 10 or any(len(e.get("text", "")) > 3000 for e in elements):
                out.append(f"{where}: 1-10 elements of at most 3000 characters")
        if kind == "actions":
            elements = block.get("elements", [])
            if not 0 < len(elements) <= 25:
                out.append(f"{where}: 1-25 elements")
            for element in elements:
                if element.get("type") == "button":
                    if element.get("text", {}).get("type") != "plain_text" or len(element["text"]["text"]) > 75:
                        out.append(f"{where}: a button's text is plain_text of at most 75 characters")
                    if "url" in element and not _http(element["url"]):
                        out.append(f"{where}: a button's url must be http(s), at most 3000 characters")
    return out


def teams_problems(body: Any, raw_size: int) -> list[str]:
    """What a Teams workflow ("post to a channel when a webhook request is received") would refuse."""
    out = []
    if raw_size > 28 * 1024:
        out.append(f"message of {raw_size} bytes is over Teams' 28 KB")
    if not isinstance(body, dict) or body.get("type") != "message":
        return [*out, "type must be 'message'"]
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return [*out, "exactly one attachment expected"]
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        out.append("contentType must be application/vnd.microsoft.card.adaptive")
    card = attachment.get("content", {})
    if card.get("type") != "AdaptiveCard":
        out.append("content.type must be AdaptiveCard")
    if card.get("version") not in ("1.4", "1.5"):
        out.append(f"card version {card.get('version')!r}: Teams renders 1.4 or 1.5")
    if not card.get("body"):
        out.append("the card has no body")
    for index, element in enumerate(card.get("body", [])):
        kind = element.get("type")
        if kind not in TEAMS_ELEMENTS:
            out.append(f"body[{index}]: unknown element {kind!r}")
        if kind == "RichTextBlock":
            for run in element.get("inlines", []):
                if not isinstance(run, dict) or run.get("type") != "TextRun" or not isinstance(run.get("text"), str):
                    out.append(f"body[{index}]: inlines must be TextRuns with text")
        if kind == "TextBlock" and not isinstance(element.get("text"), str):
            out.append(f"body[{index}]: a TextBlock needs text")
    for index, action in enumerate(card.get("actions", [])):
        if action.get("type") != "Action.OpenUrl" or not _http(action.get("url")):
            out.append(f"actions[{index}]: Action.OpenUrl with an http(s) url expected")
    return out


@dataclass
class Request:
    path: str
    body: Any
    raw: bytes
    at: float
    problems: list[str] = field(default_factory=list)


class WebhookServer:
    """`with WebhookServer() as server:`; `server.url("/slack/a")`, `server.script("/slack/a", 503, 503)`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[tuple[int, dict[str, str], bytes]]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner._answer(self, raw)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def script(self, path: str, *answers: int | tuple[int, dict[str, str], bytes]) -> None:
        """The next answers for `path` (status codes, or (status, headers, body)); then the real service's."""
        with self._lock:
            queue = self._scripts.setdefault(path, deque())
            for answer in answers:
                queue.append(answer if isinstance(answer, tuple) else (answer, {}, _default_body(path, answer)))

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = handler.path
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        problems = slack_problems(body) if path.startswith("/slack/") else teams_problems(body, len(raw))
        request = Request(path, body, raw, time.monotonic(), problems)
        with self._lock:
            self.requests.append(request)
            scripted = self._scripts.get(path)
            answer = scripted.popleft() if scripted else None
        if answer is None:
            if problems:
                answer = (400, {}, b"invalid_blocks" if path.startswith("/slack/") else b"Bad Request")
            else:
                answer = (200, {}, b"ok") if path.startswith("/slack/") else (202, {}, b"")
        status, headers, payload = answer
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


def _default_body(path: str, status: int) -> bytes:
    slack = path.startswith("/slack/")
    return {404: b"no_service" if slack else b"Not Found", 410: b"channel_is_archived", 429: b"rate_limited",
            503: b"service_unavailable"}.get(status, b"error")
