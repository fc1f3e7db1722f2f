"""Config values held parsed but still equal to the text they were parsed from.

`kpi.filter == "region == 'EU'"`, `kr.change == "+15%"` read naturally in code and tests, while
the value itself carries what the parse found, so nothing re-parses it at run time.
"""

from __future__ import annotations


class ParsedText:
    """Mixin for frozen dataclasses (declared with ``eq=False``) that have a ``text`` field."""

    text: str

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        """Equal to a value of the same kind, or to the text it was parsed from."""
        if isinstance(other, type(self)):
            return self.text == other.text
        if isinstance(other, str):
            return self.text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)
