"""The email package's policies, with each header's class made once instead of once per header.

`email.headerregistry.HeaderRegistry` builds a new class for every header it parses (a
`type(...)` call each time): a digest with 40 charts sets about 500 headers, 8 of the 30 ms
its message took to build and serialize at 500 KPIs. `Headers` keeps the class it made for
each header name; the headers, and the bytes written, are the same.
"""

from __future__ import annotations

from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry


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


DEFAULT = policy.default.clone(header_factory=Headers())
"""`email.policy.default`, for messages as they are built and read back."""

WIRE = DEFAULT.clone(linesep="\r\n")
"""`email.policy.SMTP`: CRLF line ends, as messages go over the wire and into .eml files."""
