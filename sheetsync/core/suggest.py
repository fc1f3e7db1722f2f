""""Did you mean ...?" for every name a user can mistype: keys, columns, KPIs, sources.

One rule everywhere, so a misspelt column is caught the same way in a KPI, a filter or a
config key: the same name in another case, then a close spelling, then a name that one
contains the other ('CSAT score' -> 'CSAT').
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def closest(word: str, choices: Iterable[object]) -> str | None:
    """The choice `word` most likely meant, or None."""
    names = [str(c) for c in choices]
    folded = {_fold(n): n for n in names}
    if _fold(word) in folded and _fold(word):
        return folded[_fold(word)]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    key = _fold(word)
    contained = [n for n in names if _fold(n) and len(_fold(n)) >= 3 and (_fold(n) in key or key in _fold(n))]
    return min(contained, key=lambda n: abs(len(n) - len(word))) if key and contained else None


def did_you_mean(word: str, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' when there is a likely candidate, else ''."""
    guess = closest(word, choices)
    return f" (did you mean {guess!r}?)" if guess is not None and guess != word else ""
