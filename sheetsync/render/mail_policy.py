"""The email package's policies, with each header's class made once instead of once per header,
and a content manager that encodes bodies in C.

`email.headerregistry.HeaderRegistry` builds a new class for every header it parses (a
`type(...)` call each time): a digest with 40 charts sets about 500 headers, 8 of the 30 ms
its message took to build and serialize at 500 KPIs. `Headers` keeps the class it made for
each header name; the headers, and the bytes written, are the same.

`CONTENT` sets text and bytes content as `email.contentmanager.raw_data_manager` does (the same
transfer encoding chosen, the same headers), encoding with `binascii` in one call: the standard
one's quoted-printable is pure Python (`quoprimime`, 16 of the 21 ms a digest's message took to
build at 500 KPIs) and its base64 a `binascii` call per 57-byte line.
"""

from __future__ import annotations

import binascii
import email.charset
from email import contentmanager, policy, quoprimime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from typing import Any


class Headers(HeaderRegistry):
    """The standard header registry, its classes made once per header name."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.pop(name.lower(), None)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


def _base64(data: bytes, max_line_length: int) -> str:
    """`data` in base64 lines, as `contentmanager._encode_base64` writes it (57 bytes a line at 78)."""
    width = max_line_length // 4 * 4
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    if not encoded:
        return ""
    return "\n".join([encoded[at : at + width] for at in range(0, len(encoded), width)]) + "\n"


def _encode_text(string: str, charset: str, cte: str | None, chosen: policy.EmailPolicy) -> tuple[str, str]:
    """The transfer encoding `contentmanager._encode_text` picks (by the same rules) and the body in it.

    Quoted-printable is `binascii.b2a_qp`'s: lines of at most 76 characters (the standard one lets
    them reach `max_line_length`), decoding to the same text.
    """
    lines = string.encode(charset).splitlines()
    linesep = chosen.linesep.encode("ascii")
    normal = b"\n".join(lines) + b"\n"
    if cte is None and max((len(line) for line in lines), default=0) <= chosen.max_line_length:
        if normal.isascii():
            cte = "7bit"
        elif chosen.cte_type == "8bit":
            cte = "8bit"
    if cte is None:
        sniff = linesep.join(lines[:10]) + linesep  # the standard choice, made on the same sample
        sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), chosen.max_line_length)
        cte = "base64" if len(sniff_qp) > len(binascii.b2a_base64(sniff)) else "quoted-printable"
    if cte == "quoted-printable":
        return cte, binascii.b2a_qp(normal, quotetabs=False, istext=True, header=False).decode("ascii")
    if cte == "base64":
        return cte, _base64(linesep.join(lines) + linesep, chosen.max_line_length)
    if cte == "7bit":
        return cte, normal.decode("ascii")
    if cte == "8bit":
        return cte, normal.decode("ascii", "surrogateescape")
    raise ValueError(f"Unknown content transfer encoding {cte}")


def set_text(msg: Message, string: str, subtype: str = "plain", charset: str = "utf-8", cte: str | None = None,
             disposition: str | None = None, filename: str | None = None, cid: str | None = None,
             params: dict[str, str] | None = None, headers: Any = None) -> None:
    """`contentmanager.set_text_content`, encoding with binascii."""
    contentmanager._prepare_set(msg, "text", subtype, headers)  # the standard headers, set the standard way
    cte, payload = _encode_text(string, charset, cte, msg.policy)
    msg.set_payload(payload)
    msg.set_param("charset", email.charset.ALIASES.get(charset, charset), replace=True)
    msg["Content-Transfer-Encoding"] = cte
    contentmanager._finalize_set(msg, disposition, filename, cid, params)


def set_bytes(msg: Message, data: bytes, maintype: str, subtype: str, cte: str = "base64",
              disposition: str | None = None, filename: str | None = None, cid: str | None = None,
              params: dict[str, str] | None = None, headers: Any = None) -> None:
    """`contentmanager.set_bytes_content`, base64 in one `binascii` call (the same lines)."""
    if cte != "base64":
        contentmanager.set_bytes_content(msg, data, maintype, subtype, cte, disposition, filename, cid, params,
                                         headers)  # fmt: skip
        return
    contentmanager._prepare_set(msg, maintype, subtype, headers)
    msg.set_payload(_base64(bytes(data), msg.policy.max_line_length))
    msg["Content-Transfer-Encoding"] = cte
    contentmanager._finalize_set(msg, disposition, filename, cid, params)


CONTENT = contentmanager.ContentManager()
"""The content manager messages are built with: text and bytes encoded with binascii, the rest as standard."""
CONTENT.get_handlers.update(contentmanager.raw_data_manager.get_handlers)
CONTENT.set_handlers.update(contentmanager.raw_data_manager.set_handlers)
CONTENT.add_set_handler(str, set_text)
for _kind in (bytes, bytearray, memoryview):
    CONTENT.add_set_handler(_kind, set_bytes)
del _kind

DEFAULT = policy.default.clone(header_factory=Headers(), content_manager=CONTENT)
"""`email.policy.default`, for messages as they are built and read back (bodies encoded by `CONTENT`)."""

WIRE = DEFAULT.clone(linesep="\r\n")
"""`email.policy.SMTP`: CRLF line ends, as messages go over the wire and into .eml files."""
