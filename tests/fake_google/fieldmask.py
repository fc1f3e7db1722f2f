"""Google field masks (``fields=sheets(properties(title,sheetId),data.rowData.values.formattedValue)``).

Both the Sheets ``fields`` query parameter and Drive's ``fields`` use this syntax; honouring it
keeps responses as small (and as incomplete) as the real ones, so code that forgets to ask for
a field fails in tests too. The same parser serves batchUpdate ``fields`` on update requests.
"""

from __future__ import annotations

from typing import Any

Mask = dict[str, "Mask | None"]  # None: keep the whole subtree


class FieldMaskError(ValueError):
    """Malformed mask; the server answers 400."""


def parse(text: str) -> Mask:
    """Parse a mask into a tree of field names."""
    mask: Mask = {}
    pos = _parse_list(text.replace(" ", ""), 0, mask, top=True)
    if pos != len(text.replace(" ", "")):
        raise FieldMaskError(text)
    return mask


def _parse_list(text: str, pos: int, into: Mask, *, top: bool) -> int:
    while pos < len(text):
        pos = _parse_path(text, pos, into)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == ")" and not top:
            return pos
        if pos < len(text):
            raise FieldMaskError(text)
    return pos


def _parse_path(text: str, pos: int, into: Mask) -> int:
    start = pos
    while pos < len(text) and text[pos] not in ".,/()":
        pos += 1
    name = text[start:pos]
    if not name:
        raise FieldMaskError(text)
    if pos < len(text) and text[pos] in "./(":
        existing = into.get(name, {})
        target: Mask = {} if existing is None else existing
        if text[pos] == "(":
            pos = _parse_list(text, pos + 1, target, top=False)
            if pos >= len(text) or text[pos] != ")":
                raise FieldMaskError(text)
            pos += 1
        else:
            pos = _parse_path(text, pos + 1, target)
        if existing is not None:  # a parent already kept whole stays whole
            into[name] = target
        return pos
    into[name] = None
    return pos


def apply(obj: Any, mask: Mask | None) -> Any:
    """Keep only the masked fields; lists apply the mask to each element."""
    if mask is None or "*" in mask:
        return obj
    if isinstance(obj, list):
        return [apply(item, mask) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, sub in mask.items():
        if key in obj:
            out[key] = apply(obj[key], sub)
    return out


def wants(mask: Mask | None, *path: str) -> bool:
    """Does the mask ask for anything under ``path`` (used to decide whether to build grid data)?"""
    node: Mask | None = mask
    for name in path:
        if node is None or "*" in node:
            return True
        if name not in node:
            return False
        node = node[name]
    return True


def leaf_paths(mask: Mask, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Flatten a mask into field paths (for batchUpdate ``fields``)."""
    paths: list[tuple[str, ...]] = []
    for key, sub in mask.items():
        if sub is None or not sub:
            paths.append((*prefix, key))
        else:
            paths.extend(leaf_paths(sub, (*prefix, key)))
    return paths
