"""`sheetsync.render.mail_policy`: the email policies with header classes made once, bodies encoded in C."""

from __future__ import annotations

import re
from email import contentmanager, policy
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

import pytest

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


def _parts(data: bytes) -> list[tuple[list[tuple[str, str]], object]]:
    """Each part's headers (boundaries aside) and decoded content, as a mail client reads them."""
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    return [([(k, re.sub(r'boundary="[^"]+"', "", str(v))) for k, v in part.items()],
             None if part.is_multipart() else part.get_content()) for part in parsed.walk()]  # fmt: skip


def test_messages_read_the_same_as_with_the_standard_policies() -> None:
    ours = message(mail_policy.DEFAULT).as_bytes(policy=mail_policy.WIRE)
    standard = message(policy.default).as_bytes(policy=policy.SMTP)
    assert _parts(ours) == _parts(standard)  # the same structure, headers and content
    image = rb"Content-Transfer-Encoding: base64.*?\r\n\r\n(.*?)\r\n--"
    assert re.findall(image, ours, re.S) == re.findall(image, standard, re.S)  # base64: the same lines
    assert unbounded(ours).split(b"\r\n\r\n")[0] == unbounded(standard).split(b"\r\n\r\n")[0]
    assert b"\r\n" in ours and b"\n" not in ours.replace(b"\r\n", b"")
    assert max(len(line) for line in ours.split(b"\r\n")) <= 76  # quoted-printable within RFC 2045's 76


TEXTS = [
    "short ascii\n",
    "short ✓ non-ascii\n",  # 8bit, as the standard manager chooses under policy.default
    "long ascii line " * 20 + "\n",
    "<p>HTML ✓ = 100%</p>" * 40,
    "trailing space \nand tab\t\n.\nFrom here\r\nbare CR\rend=\n" + "x" * 75 + "=\n" + "é" * 50,
    "ÄÖÜ✓€" * 60,  # mostly non-ascii: base64
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_text_is_encoded_as_the_standard_manager_chooses(text: str) -> None:
    ours, standard = MIMEPart(policy=policy.default), MIMEPart(policy=policy.default)
    mail_policy.CONTENT.set_content(ours, text, subtype="html")
    contentmanager.raw_data_manager.set_content(standard, text, subtype="html")
    assert ours.items() == standard.items()
    assert ours.get_content() == standard.get_content()
    if ours["Content-Transfer-Encoding"] != "quoted-printable":
        assert ours.get_payload() == standard.get_payload()
    assert all(len(line) <= 76 for line in ours.get_payload().splitlines())


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 114, 4000])
def test_bytes_are_the_same_base64_lines(size: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    ours, standard = MIMEPart(policy=policy.default), MIMEPart(policy=policy.default)
    mail_policy.CONTENT.set_content(ours, data[:size], "image", "png", cid="<c@x>", filename="ü.png")
    contentmanager.raw_data_manager.set_content(standard, data[:size], "image", "png", cid="<c@x>",
                                                 filename="ü.png")  # fmt: skip
    assert ours.items() == standard.items()
    assert ours.get_payload() == standard.get_payload()


def test_each_header_class_is_made_once_per_name() -> None:
    headers = mail_policy.Headers()
    assert headers["Subject"] is headers["subject"] is headers["SUBJECT"]
    assert headers["To"] is not headers["Subject"]
    assert issubclass(headers["X-Sheetsync-Week"], UnstructuredHeader)
    made = headers["X-Custom"]
    headers.map_to_type("x-custom", UnstructuredHeader)  # a remapped name gets its new class
    assert headers["X-Custom"] is not made
