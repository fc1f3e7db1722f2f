"""Errors the fake answers with, in the exact JSON shapes Google uses.

Sheets v4 answers ``{"error": {"code", "message", "status"}}``; Drive v3 answers
``{"error": {"code", "message", "errors": [{"domain", "reason", "message", ...}]}}``. The code
under test turns these into user-facing messages, so the fake must not invent a third shape.
"""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    408: "Request timed out.",
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' "
    "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}


class ApiError(Exception):
    """An error response; ``drive_reason`` switches to Drive's body shape."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        status: str | None = None,
        *,
        drive_reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message or DEFAULT_MESSAGES.get(code, "Error")
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.drive_reason = drive_reason
        self.headers = headers or {}
        super().__init__(f"{code} {self.status}: {self.message}")

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        if self.drive_reason is not None:
            return {
                "error": {
                    "code": self.code,
                    "message": self.message,
                    "errors": [{"message": self.message, "domain": "global", "reason": self.drive_reason}],
                }
            }
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def bad_request(message: str) -> ApiError:
    """400 INVALID_ARGUMENT, Google's answer to malformed ranges and requests."""
    return ApiError(400, message, "INVALID_ARGUMENT")


def html_error_page(code: int) -> str:
    """The HTML page Google's front end serves for some 5xx errors (no JSON at all)."""
    reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(code, "Error")
    return (
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
        f"  <title>Error {code} ({reason})!!1</title>\n"
        f"  <p><b>{code}.</b> <ins>That's an error.</ins>\n"
        "  <p>The server encountered a temporary error and could not complete your request."
        "<p>Please try again in 30 seconds.  <ins>That's all we know.</ins>\n</html>\n"
    )
