"""`sheetsync.render.mail_policy`: the email package's policies with each header class made once."""

from __future__ import annotations

import re
from email import policy
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage

from sheetsync.render import mail_policy


def message(chosen: policy.EmailPolicy) -> EmailMessage:
    msg = EmailMessage(policy=chosen)
    msg["Subject"] = "Weekly OKRs: 3 on track, 1 at risk · 2026-W48 " + "long " * 20
    msg["From"] = "OKR bot <okrs@example.com>"
    msg["To"] = "Ana <ana@example.com>, bo@example.com"
    msg["Message-ID"] = "<fixed@example.com>"
    msg.set_content("Plain text ✓\n")
    msg.add_alternative("<p>HTML ✓</p>" * 40, subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG\r\n" * 50, maintype="image", subtype="png", cid="<c1@x>",
                                     filename="overview.png", disposition="inline")  # fmt: skip
    return msg


def unbounded(data: bytes) -> bytes:
    """The message with its multipart boundaries (random per message) replaced by B1, B2..."""
    for n, boundary in enumerate(re.findall(rb'boundary="([^"]+)"', data), 1):
        data = data.replace(boundary, b"B%d" % n)
    return data


def test_messages_are_the_same_bytes_as_with_the_standard_policies() -> None:
    ours = message(mail_policy.DEFAULT).as_bytes(policy=mail_policy.WIRE)
    standard = message(policy.default).as_bytes(policy=policy.SMTP)
    assert unbounded(ours) == unbounded(standard)
    assert b"\r\n" in ours and b"\n" not in ours.replace(b"\r\n", b"")


def test_each_header_class_is_made_once_per_name() -> None:
    headers = mail_policy.Headers()
    assert headers["Subject"] is headers["subject"] is headers["SUBJECT"]
    assert headers["To"] is not headers["Subject"]
    assert issubclass(headers["X-Sheetsync-Week"], UnstructuredHeader)
    made = headers["X-Custom"]
    headers.map_to_type("x-custom", UnstructuredHeader)  # a remapped name gets its new class
    assert headers["X-Custom"] is not made
