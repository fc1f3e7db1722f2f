"""A template cell's look in Google Sheets' terms: colours, CellFormat, NumberFormat, rules.

openpyxl reads the .xlsx template; the Sheets API wants its own shapes. Only the
translation lives here: where each look goes is `connectors.tracker_layout`'s decision.
Data bars become a white-to-colour gradient (Sheets has no data bars).
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles.colors import COLOR_INDEX, Color

_BORDER_STYLES = {
    "thin": "SOLID", "hair": "DOTTED", "dotted": "DOTTED", "dashed": "DASHED", "medium": "SOLID_MEDIUM",
    "mediumDashed": "DASHED", "thick": "SOLID_THICK", "double": "DOUBLE",
}  # fmt: skip
_CELL_IS = {
    "greaterThan": "NUMBER_GREATER", "greaterThanOrEqual": "NUMBER_GREATER_THAN_EQ", "lessThan": "NUMBER_LESS",
    "lessThanOrEqual": "NUMBER_LESS_THAN_EQ", "equal": "NUMBER_EQ", "notEqual": "NUMBER_NOT_EQ",
    "between": "NUMBER_BETWEEN", "notBetween": "NUMBER_NOT_BETWEEN",
}  # fmt: skip
_QUOTED = re.compile(r'"[^"]*"')


def rgb(hex6: str) -> dict[str, float]:
    """'4C78C8' as Sheets' {red, green, blue}, each 0..1."""
    return {name: int(hex6[i : i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def color(value: Color | None) -> dict[str, float] | None:
    """An openpyxl colour as Sheets' {red, green, blue} (theme colours are left out)."""
    if value is None:
        return None
    value_hex: str | None = None
    if value.type == "rgb" and isinstance(value.rgb, str):
        value_hex = value.rgb
    elif value.type == "indexed" and isinstance(value.indexed, int) and value.indexed < len(COLOR_INDEX):
        value_hex = COLOR_INDEX[value.indexed]
    if not value_hex or not re.fullmatch(r"[0-9A-Fa-f]{6,8}", value_hex):
        return None
    return rgb(value_hex[-6:])


def cell_style(cell: XlCell) -> dict[str, Any]:
    """A template cell's look as a Sheets CellFormat (without its number format)."""
    fmt: dict[str, Any] = {}
    fill = cell.fill
    if fill is not None and fill.fill_type == "solid":
        background = color(fill.fgColor)
        if background:
            fmt["backgroundColor"] = background
    font = cell.font
    text: dict[str, Any] = {}
    if font is not None:
        if font.b:
            text["bold"] = True
        if font.i:
            text["italic"] = True
        if font.sz:
            text["fontSize"] = round(float(font.sz))
        ink = color(font.color)
        if ink:
            text["foregroundColor"] = ink
    if text:
        fmt["textFormat"] = text
    align = cell.alignment
    if align is not None:
        horizontal = {"left": "LEFT", "center": "CENTER", "centerContinuous": "CENTER", "right": "RIGHT"}
        vertical = {"top": "TOP", "center": "MIDDLE", "bottom": "BOTTOM"}
        if align.horizontal in horizontal:
            fmt["horizontalAlignment"] = horizontal[align.horizontal]
        if align.vertical in vertical:
            fmt["verticalAlignment"] = vertical[align.vertical]
        if align.wrap_text:
            fmt["wrapStrategy"] = "WRAP"
    borders: dict[str, Any] = {}
    for side_name in ("top", "bottom", "left", "right"):
        side = getattr(cell.border, side_name, None) if cell.border is not None else None
        if side is not None and side.style:
            border: dict[str, Any] = {"style": _BORDER_STYLES.get(side.style, "SOLID")}
            ink = color(side.color)
            if ink:
                border["color"] = ink
            borders[side_name] = border
    if borders:
        fmt["borders"] = borders
    return fmt


def sheets_number_format(pattern: str, kind: str | None = None) -> dict[str, str]:
    """A spreadsheet pattern as Sheets' NumberFormat (the type decides how dates are read back)."""
    kinds = {"percent": "PERCENT", "currency": "CURRENCY", "number": "NUMBER", "date": "DATE", "datetime": "DATE_TIME"}
    if kind in kinds:
        return {"type": kinds[kind], "pattern": pattern}
    bare = _QUOTED.sub("", pattern).lower()
    if "%" in bare:
        kind_name = "PERCENT"
    elif re.search(r"[yd]", bare):
        kind_name = "DATE_TIME" if re.search(r"[hs]", bare) else "DATE"
    elif re.search(r"h+:m|:ss", bare):
        kind_name = "TIME"
    elif "@" in bare:
        kind_name = "TEXT"
    else:
        kind_name = "NUMBER"
    return {"type": kind_name, "pattern": pattern}


def conditional_rule(rule: Any) -> dict[str, Any] | None:
    if rule.type == "dataBar" and rule.dataBar is not None:
        bar = color(rule.dataBar.color) or {"red": 0.56, "green": 0.68, "blue": 0.9}
        points = [_point(c) for c in (rule.dataBar.cfvo or [])[:2]]
        low = points[0] if points else {"type": "MIN"}
        high = points[1] if len(points) > 1 else {"type": "MAX"}
        white = {"red": 1.0, "green": 1.0, "blue": 1.0}
        return {"gradientRule": {"minpoint": {**low, "color": white}, "maxpoint": {**high, "color": bar}}}
    fmt: dict[str, Any] = {}
    dxf = rule.dxf
    if dxf is not None:
        if dxf.fill is not None:
            background = color(dxf.fill.bgColor) or color(dxf.fill.fgColor)
            if background:
                fmt["backgroundColor"] = background
        if dxf.font is not None:
            text: dict[str, Any] = {}
            ink = color(dxf.font.color)
            if ink:
                text["foregroundColor"] = ink
            if dxf.font.b:
                text["bold"] = True
            if dxf.font.i:
                text["italic"] = True
            if text:
                fmt["textFormat"] = text
    formulas = [str(f) for f in (rule.formula or [])]
    if rule.type == "cellIs" and rule.operator in _CELL_IS and formulas:
        quoted = [f for f in formulas if len(f) >= 2 and f[0] == f[-1] == '"']
        if rule.operator in ("equal", "notEqual") and len(quoted) == len(formulas) == 1:
            kind = "TEXT_EQ" if rule.operator == "equal" else "TEXT_NOT_EQ"
            values = [{"userEnteredValue": formulas[0][1:-1].replace('""', '"')}]
        else:
            kind = _CELL_IS[rule.operator]
            values = [{"userEnteredValue": f if _number_text(f) else "=" + f} for f in formulas]
        condition = {"type": kind, "values": values}
    elif rule.type == "expression" and formulas:
        condition = {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=" + formulas[0]}]}
    else:
        return None
    return {"booleanRule": {"condition": condition, "format": fmt}}


def _number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _point(cfvo: Any) -> dict[str, Any]:
    kinds = {"num": "NUMBER", "percent": "PERCENT", "percentile": "PERCENTILE", "min": "MIN", "max": "MAX"}
    point: dict[str, Any] = {"type": kinds.get(cfvo.type, "MIN")}
    if cfvo.type in ("num", "percent", "percentile") and cfvo.val is not None:
        point["value"] = f"{float(cfvo.val):g}"
    return point
