"""Write the tracker into a Google Sheet, styled by the same template as the .xlsx tracker.

`plan_tabs` (pure) lays the `TrackerContent` out the way the .xlsx writer does: each table at
its defined name `sheetsync_<key>` in the template (else its default anchor), header labels,
the template's header and first-data-row styles copied down, number formats (the template's,
else the cell kind's), column widths, row heights, frozen panes, tab colours, the filter,
conditional formats stretched to the last row (status colours; data bars become a colour
scale, as Sheets has no data bars) and the Dashboard chart.

A sync then costs a constant number of calls, whatever the number of key results:

1. ``spreadsheets.get`` with a field mask: tabs, grid sizes, old rules/charts/filter;
2. one atomic ``spreadsheets:batchUpdate``: add missing tabs, grow grids, drop the old rules
   and our old chart, reset and re-apply every format, add the new rules and chart;
3. one ``values:batchUpdate`` with ``valueInputOption=RAW`` (so text such as ``=HYPERLINK(...)``
   stays text, never a formula), covering each tab's whole grid: cells with nothing to show
   are written as "" so last week's rows never linger.

Failures: until call 2 succeeds nothing has changed (it is atomic). If call 3 then fails, the
sheet keeps last run's values under this run's formats (the error says so); the next
successful sync repairs it. Creating a spreadsheet (``create = "Title"``) adds one Drive call
the first time, and its id is kept in the state folder so later syncs reuse it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import gspread
from gspread.urls import DRIVE_FILES_API_V3_URL
from openpyxl.cell.cell import Cell as XlCell
from openpyxl.styles.colors import COLOR_INDEX, Color
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from connectors.atomic import OutputError, atomic_write_bytes
from connectors.google_client import (
    GoogleAPIError,
    GoogleConfigError,
    RetryPolicy,
    client_from_config,
    service_account_email,
)
from connectors.gsheet_source import SHEETS_URL, describe_google_error, parse_spreadsheet, quote_title
from connectors.xlsx_tracker import load_template, locate
from sheetsync.core.model import Config
from sheetsync.core.tracker import Cell, ChartSpec, TrackerContent, number_format
from sheetsync.errors import ConfigError

log = logging.getLogger(__name__)

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
METADATA_FIELDS = (
    "spreadsheetId,properties.title,sheets(properties(sheetId,title,index,sheetType,gridProperties("
    "rowCount,columnCount)),conditionalFormats.ranges,charts(chartId,spec.title),basicFilter.range)"
)
STATE_FILE = "gsheet_tracker.json"
MAX_TEXT = 50_000  # Google Sheets' limit for one cell
EPOCH = date(1899, 12, 30)
CHART_SIZE = (660, 250)  # pixels, about the .xlsx chart's 17.5 x 6.6 cm
CHART_COLORS = ("4C78C8", "C3CAD3")  # progress, expected: the template chart's colours
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


# --- the layout: pure ---------------------------------------------------------------------------

GridRange = tuple[int, int, int, int]  # rows [r0, r1), columns [c0, c1), 0-based


@dataclass(frozen=True)
class PlacedTable:
    """Where a table landed (0-based): its header row (or None), data rows and columns."""

    key: str
    tab: str
    header_row: int | None
    first_row: int
    last_row: int  # inclusive; the first data row when the table is empty
    first_col: int
    last_col: int  # inclusive


@dataclass
class TabPlan:
    """Everything one tab gets: values, formats, layout, rules, filter and charts."""

    title: str
    values: dict[tuple[int, int], str | float | bool] = field(default_factory=dict)
    styles: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    number_formats: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)
    widths: dict[int, int] = field(default_factory=dict)
    heights: dict[int, int] = field(default_factory=dict)
    frozen: tuple[int, int] = (0, 0)
    hide_gridlines: bool = False
    tab_color: dict[str, float] | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)  # ranges as GridRange tuples
    filter_range: GridRange | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)
    tables: list[PlacedTable] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows the content needs (at least one more than the frozen rows: Sheets insists)."""
        used = [r for r, _ in (*self.values, *self.styles, *self.number_formats)]
        used += [t.last_row for t in self.tables]
        return max([*(r + 1 for r in used), self.frozen[0] + 1, 1])

    @property
    def cols(self) -> int:
        used = [c for _, c in (*self.values, *self.styles, *self.number_formats)]
        used += [t.last_col for t in self.tables] + list(self.widths)
        return max([*(c + 1 for c in used), self.frozen[1] + 1, 1])


def serial(value: date | datetime) -> float:
    """Days since 1899-12-30 (what a Sheets date cell holds), with the time as a fraction."""
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - datetime(EPOCH.year, EPOCH.month, EPOCH.day)
        return round(delta.total_seconds() / 86400, 10)
    return float((value - EPOCH).days)


def raw_value(value: object) -> str | float | bool | None:
    """A cell value as RAW input: numbers, dates as serials, text capped at Sheets' limit."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, datetime | date):
        return serial(value)
    if isinstance(value, int | float):
        number = float(value)
        return None if not math.isfinite(number) else (int(number) if number.is_integer() else number)
    text = str(value)
    return text[:MAX_TEXT] if text else None


def color(value: Color | None) -> dict[str, float] | None:
    """An openpyxl colour as Sheets' {red, green, blue} (theme colours are left out)."""
    if value is None:
        return None
    rgb: str | None = None
    if value.type == "rgb" and isinstance(value.rgb, str):
        rgb = value.rgb
    elif value.type == "indexed" and isinstance(value.indexed, int) and value.indexed < len(COLOR_INDEX):
        rgb = COLOR_INDEX[value.indexed]
    if not rgb or not re.fullmatch(r"[0-9A-Fa-f]{6,8}", rgb):
        return None
    hex6 = rgb[-6:]
    return {name: int(hex6[i : i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


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


def _xl_cell(ws: Worksheet, row: int, col: int) -> XlCell | None:
    """The template's cell at (row, col), 1-based, without creating one."""
    return ws._cells.get((row, col))  # ws.cell() would add empty cells


def _template_format(cell: XlCell | None) -> dict[str, str] | None:
    """A styled template cell's own number format, None when it leaves it to the cell kind."""
    if cell is None or not cell.has_style or not cell.number_format or cell.number_format == "General":
        return None
    return sheets_number_format(cell.number_format)


def _styled(cell: XlCell | None) -> bool:
    return cell is not None and cell.has_style


def _formula(cell: XlCell) -> bool:
    return cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))


def plan_tabs(content: TrackerContent, template: str | Path | None = None) -> list[TabPlan]:
    """Lay the tracker out per tab, as the .xlsx writer fills the same template (pure)."""
    wb = load_template(template)
    plans: dict[str, TabPlan] = {}
    sheets: dict[str, Worksheet] = {}
    placements: list[tuple[Worksheet, Any, Any, int, int]] = []
    for tab in content.tabs:
        for table in tab.tables:
            ws, row, col = locate(wb, tab, table)
            if ws.title not in plans:
                plans[ws.title] = TabPlan(ws.title)
                sheets[ws.title] = ws
            placements.append((ws, tab, table, row, col))
    for title, ws in sheets.items():
        _template_layer(plans[title], ws)
    for ws, _tab, table, row, col in placements:
        _fill_table(plans[ws.title], ws, table, row, col)
    for title, ws in sheets.items():
        plan = plans[title]
        _rules(plan, ws)
        _filter(plan, ws)
    for chart in content.charts:
        _chart(plans, chart)
    return list(plans.values())


def _template_layer(plan: TabPlan, ws: Worksheet) -> None:
    """What the template sheet itself carries: styled and static cells, sizes, panes, colours."""
    for (row, col), cell in ws._cells.items():
        key = (row - 1, col - 1)
        if cell.has_style:
            style = cell_style(cell)
            if style:
                plan.styles[key] = style
            if cell.number_format and cell.number_format != "General":
                plan.number_formats[key] = sheets_number_format(cell.number_format)
        if cell.value is not None and cell.value != "" and not _formula(cell):
            value = raw_value(cell.value)
            if value is not None:
                plan.values[key] = value
    for letter, dim in ws.column_dimensions.items():
        if dim.width and dim.customWidth is not False:
            lo, hi = (dim.min or 0), (dim.max or 0)
            if not lo:
                lo = hi = range_boundaries(f"{letter}1")[0]
            for col in range(lo, hi + 1):
                plan.widths[col - 1] = round(float(dim.width) * 7 + 5)
    for row, dim in ws.row_dimensions.items():
        if dim.height:
            plan.heights[row - 1] = round(float(dim.height) * 4 / 3)
    if ws.freeze_panes:
        letters, number = coordinate_from_string(ws.freeze_panes)
        plan.frozen = (number - 1, range_boundaries(f"{letters}1")[0] - 1)
    plan.hide_gridlines = ws.sheet_view.showGridLines is False
    plan.tab_color = color(ws.sheet_properties.tabColor)


def _fill_table(plan: TabPlan, ws: Worksheet, table: Any, row: int, col: int) -> None:
    """Header labels and data cells, styled like the .xlsx writer: template cell, else model row."""
    header_row = None
    if table.header:
        header_row = row - 1
        for offset, label in enumerate(table.header):
            key = (row - 1, col - 1 + offset)
            existing = _xl_cell(ws, row, col + offset)
            has_text = existing is not None and existing.value not in (None, "")
            if not has_text and label:
                plan.values[key] = label
            if not _styled(existing):
                plan.styles[key] = {"textFormat": {"bold": True}}
        row += 1
    width = table.width
    model = [_xl_cell(ws, row, col + offset) for offset in range(width)]
    # The model row's look, worked out once (openpyxl style access is slow, tables are long).
    model_styles = [cell_style(m) if m is not None and _styled(m) else {} for m in model]
    model_formats = [_template_format(m) for m in model]
    model_height = plan.heights.get(row - 1)
    for index in range(max(len(table.rows), 1)):
        r = row + index
        values = table.rows[index] if index < len(table.rows) else ()
        if index and model_height is not None and (r - 1) not in plan.heights:
            plan.heights[r - 1] = model_height
        for offset in range(width):
            key = (r - 1, col - 1 + offset)
            own = _xl_cell(ws, r, col + offset) if index else None
            if own is not None and _styled(own):
                template_format = _template_format(own)  # the template styled this row itself
            else:
                template_format = model_formats[offset]
                if index and model_styles[offset]:
                    plan.styles[key] = model_styles[offset]
            cell: Cell = values[offset] if offset < len(values) else Cell(None)
            value = raw_value(cell.value)
            if value is None:
                plan.values.pop(key, None)
            else:
                plan.values[key] = value
            if template_format is not None:
                plan.number_formats[key] = template_format
            else:
                chosen = number_format(cell)
                if chosen:
                    plan.number_formats[key] = sheets_number_format(chosen, cell.kind)
                else:
                    plan.number_formats.pop(key, None)
    last = row - 1 + max(len(table.rows), 1) - 1
    right = col - 1 + max(width, 1) - 1
    plan.tables.append(PlacedTable(table.key, plan.title, header_row, row - 1, last, col - 1, right))


def _stretch(r0: int, r1: int, c0: int, c1: int, tables: Iterable[PlacedTable], *, header: bool = False) -> int:
    """A range starting on a table's first data row (or header) grows to its last row (0-based, exclusive)."""
    for t in tables:
        start = t.header_row if header else t.first_row
        if start is not None and r0 == start and t.first_col <= c0 and c1 - 1 <= t.last_col:
            return max(r1, t.last_row + 1)
    return r1


def _rules(plan: TabPlan, ws: Worksheet) -> None:
    """The template's conditional formats in Sheets' terms, in priority order."""
    found: list[tuple[int, dict[str, Any]]] = []
    for cf in ws.conditional_formatting:
        ranges: list[GridRange] = []
        for cr in cf.sqref.ranges:
            r0, r1, c0, c1 = cr.min_row - 1, cr.max_row, cr.min_col - 1, cr.max_col
            ranges.append((r0, _stretch(r0, r1, c0, c1, plan.tables), c0, c1))
        for rule in cf.rules:
            translated = _rule(rule)
            if translated is None:
                log.info("tracker template: %s rule on %s!%s has no Google Sheets equivalent", rule.type, ws.title,
                         cf.sqref)
                continue
            translated["ranges"] = ranges
            found.append((rule.priority or 0, translated))
    found.sort(key=lambda item: item[0])
    plan.rules = [rule for _, rule in found]


def _rule(rule: Any) -> dict[str, Any] | None:
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


def _filter(plan: TabPlan, ws: Worksheet) -> None:
    if not ws.auto_filter.ref:
        return
    c0, r0, c1, r1 = range_boundaries(ws.auto_filter.ref)
    plan.filter_range = (r0 - 1, _stretch(r0 - 1, r1, c0 - 1, c1, plan.tables, header=True), c0 - 1, c1)


def _chart(plans: Mapping[str, TabPlan], spec: ChartSpec) -> None:
    """A bar chart of a table's columns (header row included for the series names)."""
    placed = next((t for p in plans.values() for t in p.tables if t.key == spec.table), None)
    plan = plans.get(spec.tab)
    if placed is None or plan is None:
        return
    top = placed.header_row if placed.header_row is not None else placed.first_row
    end = placed.last_row + 1

    def column(offset: int) -> GridRange:
        c = placed.first_col + offset
        return (top, end, c, c + 1)

    series = [
        {"range": column(offset), "color": CHART_COLORS[i % len(CHART_COLORS)]} for i, offset in enumerate(spec.values)
    ]
    plan.charts.append(
        {
            "title": spec.title,
            "tab": placed.tab,
            "domain": column(spec.categories),
            "series": series,
            "anchor": (spec.anchor[0] - 1, spec.anchor[1] - 1),
            "headers": 1 if placed.header_row is not None else 0,
        }
    )


# --- requests: pure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingTab:
    """What the spreadsheet already has for one tab (from the metadata call)."""

    sheet_id: int
    title: str
    rows: int
    cols: int
    rules: int = 0
    charts: tuple[tuple[int, str], ...] = ()
    has_filter: bool = False


def existing_tabs(metadata: Mapping[str, Any]) -> list[ExistingTab]:
    tabs = []
    for sheet in metadata.get("sheets", []):
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        tabs.append(
            ExistingTab(
                sheet_id=int(props.get("sheetId", 0)),
                title=str(props.get("title", "")),
                rows=int(grid.get("rowCount", 0)),
                cols=int(grid.get("columnCount", 0)),
                rules=len(sheet.get("conditionalFormats", [])),
                charts=tuple(
                    (int(c.get("chartId", 0)), str(c.get("spec", {}).get("title", ""))) for c in sheet.get("charts", [])
                ),
                has_filter="basicFilter" in sheet,
            )
        )
    return tabs


def _grid(sheet_id: int, r: GridRange) -> dict[str, int]:
    return {"sheetId": sheet_id, "startRowIndex": r[0], "endRowIndex": r[1], "startColumnIndex": r[2],
            "endColumnIndex": r[3]}  # fmt: skip


def _blocks(cells: Mapping[tuple[int, int], Any]) -> list[tuple[GridRange, Any]]:
    """Equal values over cells merged into rectangles: runs down each column, then across columns.

    Keeps the batchUpdate small: a column of 500 percentages is one request, not 500.
    """
    by_col: dict[int, list[tuple[int, Any]]] = {}
    for (r, c), value in cells.items():
        by_col.setdefault(c, []).append((r, value))
    runs: list[list[Any]] = []  # [r0, r1, c, value], column by column
    for c in sorted(by_col):
        for r, value in sorted(by_col[c], key=lambda item: item[0]):
            last = runs[-1] if runs else None
            if last is not None and last[2] == c and last[1] == r and last[3] == value:
                last[1] = r + 1
            else:
                runs.append([r, r + 1, c, value])
    blocks: list[list[Any]] = []  # [r0, r1, c0, c1, value]
    reaching: dict[tuple[int, int, str], list[Any]] = {}
    for r0, r1, c, value in runs:
        key = (r0, r1, json.dumps(value, sort_keys=True))
        block = reaching.get(key)
        if block is not None and block[3] == c:
            block[3] = c + 1
        else:
            block = [r0, r1, c, c + 1, value]
            reaching[key] = block
            blocks.append(block)
    return [((b[0], b[1], b[2], b[3]), b[4]) for b in blocks]


def build_requests(
    plans: Sequence[TabPlan], existing: Sequence[ExistingTab], *, drop_tabs: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The one ``spreadsheets:batchUpdate`` and the one ``values:batchUpdate`` payload for a sync.

    Returns (requests, value ranges). ``drop_tabs`` names tabs to delete (the "Sheet1" of a
    spreadsheet sheetsync just created).
    """
    by_title = {t.title: t for t in existing}
    used_ids = {t.sheet_id for t in existing}
    requests: list[dict[str, Any]] = []
    ids: dict[str, int] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for index, plan in enumerate(plans):
        old = by_title.get(plan.title)
        if old is not None:
            ids[plan.title] = old.sheet_id
            sizes[plan.title] = (max(old.rows, plan.rows), max(old.cols, plan.cols))
            continue
        sheet_id = _new_id(used_ids)
        ids[plan.title] = sheet_id
        sizes[plan.title] = (plan.rows, plan.cols)
        requests.append({"addSheet": {"properties": {
            "sheetId": sheet_id, "title": plan.title, "index": index,
            "gridProperties": {"rowCount": plan.rows, "columnCount": plan.cols},
        }}})  # fmt: skip
    for title in drop_tabs:
        if title in by_title and title not in ids:
            requests.append({"deleteSheet": {"sheetId": by_title[title].sheet_id}})
    chart_titles = {chart["title"] for plan in plans for chart in plan.charts}
    for plan in plans:
        sid = ids[plan.title]
        rows, cols = sizes[plan.title]
        old = by_title.get(plan.title)
        properties: dict[str, Any] = {
            "sheetId": sid,
            "gridProperties": {
                "rowCount": rows, "columnCount": cols, "frozenRowCount": plan.frozen[0],
                "frozenColumnCount": plan.frozen[1], "hideGridlines": plan.hide_gridlines,
            },
        }  # fmt: skip
        if plan.tab_color:
            properties["tabColorStyle"] = {"rgbColor": plan.tab_color}
        requests.append({"updateSheetProperties": {
            "properties": properties,
            "fields": "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount,hideGridlines),"
                      "tabColorStyle",
        }})  # fmt: skip
        if old is not None:
            requests += [{"deleteConditionalFormatRule": {"sheetId": sid, "index": 0}}] * old.rules
            requests += [{"deleteEmbeddedObject": {"objectId": cid}} for cid, title in old.charts
                         if title in chart_titles]  # fmt: skip
            if old.has_filter:
                requests.append({"clearBasicFilter": {"sheetId": sid}})
        whole = (0, rows, 0, cols)
        requests.append({"updateCells": {"range": _grid(sid, whole), "fields": "userEnteredFormat"}})
        requests.append({"updateDimensionProperties": {
            "range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": 0, "endIndex": cols},
            "properties": {"pixelSize": 100}, "fields": "pixelSize"}})  # fmt: skip
        requests.append({"updateDimensionProperties": {
            "range": {"sheetId": sid, "dimension": "ROWS", "startIndex": 0, "endIndex": rows},
            "properties": {"pixelSize": 21}, "fields": "pixelSize"}})  # fmt: skip
        for span, style in _blocks(plan.styles):
            requests.append({"repeatCell": {"range": _grid(sid, span), "cell": {"userEnteredFormat": style},
                                            "fields": "userEnteredFormat"}})  # fmt: skip
        for span, fmt in _blocks(plan.number_formats):
            requests.append({"repeatCell": {"range": _grid(sid, span),
                                            "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                                            "fields": "userEnteredFormat.numberFormat"}})  # fmt: skip
        for dimension, sizes_px in (("COLUMNS", plan.widths), ("ROWS", plan.heights)):
            for (start, end, _, _), px in _blocks({(i, 0): v for i, v in sizes_px.items()}):
                requests.append({"updateDimensionProperties": {
                    "range": {"sheetId": sid, "dimension": dimension, "startIndex": start, "endIndex": end},
                    "properties": {"pixelSize": px}, "fields": "pixelSize"}})  # fmt: skip
        for index, rule in enumerate(plan.rules):
            body = {k: v for k, v in rule.items() if k != "ranges"}
            body["ranges"] = [_grid(sid, (r0, min(r1, rows), c0, min(c1, cols))) for r0, r1, c0, c1 in rule["ranges"]]
            requests.append({"addConditionalFormatRule": {"rule": body, "index": index}})
        if plan.filter_range is not None:
            requests.append({"setBasicFilter": {"filter": {"range": _grid(sid, plan.filter_range)}}})
        for chart in plan.charts:
            requests.append({"addChart": {"chart": _chart_body(chart, ids)}})
    data = [
        {"range": quote_title(plan.title), "majorDimension": "ROWS", "values": _values_grid(plan, *sizes[plan.title])}
        for plan in plans
    ]
    return requests, data


def _new_id(used: set[int]) -> int:
    while True:
        candidate = secrets.randbelow(2_000_000_000) + 1
        if candidate not in used:
            used.add(candidate)
            return candidate


def _values_grid(plan: TabPlan, rows: int, cols: int) -> list[list[str | float | bool]]:
    """The whole grid: content where there is some, "" everywhere else (clears old rows)."""
    grid: list[list[str | float | bool]] = [[""] * cols for _ in range(rows)]
    for (r, c), value in plan.values.items():
        if r < rows and c < cols:
            grid[r][c] = value
    return grid


def _rgb(hex6: str) -> dict[str, float]:
    return {name: int(hex6[i : i + 2], 16) / 255 for name, i in (("red", 0), ("green", 2), ("blue", 4))}


def _chart_body(chart: Mapping[str, Any], ids: Mapping[str, int]) -> dict[str, Any]:
    sid = ids[chart["tab"]]
    return {
        "spec": {
            "title": chart["title"],
            "basicChart": {
                "chartType": "BAR",
                "legendPosition": "BOTTOM_LEGEND",
                "headerCount": chart["headers"],
                "axis": [
                    {"position": "BOTTOM_AXIS", "viewWindowOptions": {"viewWindowMin": 0, "viewWindowMax": 1}},
                    {"position": "LEFT_AXIS"},
                ],
                "domains": [{"domain": {"sourceRange": {"sources": [_grid(sid, chart["domain"])]}}}],
                "series": [
                    {
                        "series": {"sourceRange": {"sources": [_grid(sid, s["range"])]}},
                        "targetAxis": "BOTTOM_AXIS",
                        "colorStyle": {"rgbColor": _rgb(s["color"])},
                    }
                    for s in chart["series"]
                ],
            },
        },
        "position": {
            "overlayPosition": {
                "anchorCell": {"sheetId": sid, "rowIndex": chart["anchor"][0], "columnIndex": chart["anchor"][1]},
                "widthPixels": CHART_SIZE[0],
                "heightPixels": CHART_SIZE[1],
            }
        },
    }


# --- talking to Google ------------------------------------------------------------------------------


@dataclass
class TrackerState:
    """The spreadsheet sheetsync created for ``create = "Title"``, kept between syncs."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> TrackerState:
        path = Path(state_dir) / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data if isinstance(data, dict) else {})

    def save(self) -> None:
        payload = json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"
        atomic_write_bytes(self.path, payload.encode("utf-8"))


def tracker_url(key: str) -> str:
    return SHEETS_URL.format(key=key) + "/edit"


def write_gsheet_tracker(
    config: Config,
    content: TrackerContent,
    *,
    retry: RetryPolicy | None = None,
    client: gspread.Client | None = None,
) -> str:
    """Render `content` into the tracker Google Sheet; returns its URL (for the digest's link).

    Raises OutputError (one line naming the spreadsheet, and whom to share it with when
    access is denied) when Google refuses or keeps failing; ConfigError for unusable
    credentials or a bad spreadsheet URL.
    """
    tracker, google = config.tracker, config.google
    plans = plan_tabs(content, tracker.template)  # a bad template fails before any call
    account = service_account_email(google.credentials)
    if client is None:
        try:
            client = client_from_config(google, retry)
        except GoogleConfigError as exc:
            raise ConfigError(f"google.credentials: {exc}") from None
    http = client.http_client
    state = TrackerState.load(config.state_dir)
    where = tracker.spreadsheet or f"new spreadsheet {tracker.create!r}"
    given: str | None = None
    if tracker.spreadsheet:
        try:
            given = parse_spreadsheet(tracker.spreadsheet).key
        except ValueError as exc:
            raise ConfigError(f"tracker.spreadsheet: {exc}") from None
    stage = "before changing anything"
    try:
        if given is not None:
            key, fresh = given, False
        else:
            key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state)
        where = tracker_url(key)
        try:
            metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        except GoogleAPIError as exc:
            if exc.code != 404 or tracker.spreadsheet:
                raise
            log.warning("the tracker spreadsheet %s was deleted; creating a new one", where)
            state.data = {}
            key, fresh = _created_spreadsheet(http, tracker.create or "OKR tracker", state)
            where = tracker_url(key)
            metadata = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        existing = existing_tabs(metadata)
        ours = {p.title for p in plans}
        drop = [t.title for t in existing if t.title not in ours] if fresh else []
        requests, data = build_requests(plans, existing, drop_tabs=drop)
        http.batch_update(key, {"requests": requests})
        stage = "after formatting, before writing values: the sheet shows last run's values under this run's formats"
        http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
    except GoogleAPIError as exc:
        _, message = describe_google_error(exc, account=account, role="Editor")
        raise OutputError(f"Google Sheet tracker {where}: {message} (failed {stage})") from None
    except (ValueError, KeyError) as exc:  # an answer that is not what the API documents
        raise OutputError(f"Google Sheet tracker {where}: unexpected answer from Google ({exc}) ({stage})") from None
    if state.data.get("spreadsheet_id") == key and not state.data.get("written"):
        state.data["written"] = True
        _save(state)
    _share(http, key, tracker.share, state)
    return tracker_url(key)


def _created_spreadsheet(http: Any, title: str, state: TrackerState) -> tuple[str, bool]:
    """The spreadsheet made for ``create = title`` earlier, or a new one (one Drive call)."""
    if state.data.get("create") == title and state.data.get("spreadsheet_id"):
        return str(state.data["spreadsheet_id"]), not state.data.get("written", False)
    response = http.request(
        "post", DRIVE_FILES_API_V3_URL, json={"name": title, "mimeType": SPREADSHEET_MIME},
        params={"supportsAllDrives": True, "fields": "id"},
    )
    key = str(response.json()["id"])
    state.data = {"create": title, "spreadsheet_id": key, "written": False, "shared": []}
    _save(state)  # before anything else, so a failed first write never creates a second sheet
    log.info("created Google Sheet tracker %s", tracker_url(key))
    return key, True


def _save(state: TrackerState) -> None:
    try:
        state.save()
    except OutputError as exc:
        log.warning("could not record the tracker spreadsheet's id: %s", exc)


def _share(http: Any, key: str, emails: Sequence[str], state: TrackerState) -> None:
    """Give each listed address edit access once (Drive sends them the link)."""
    if not emails:
        return
    if state.data.get("spreadsheet_id") != key:
        state.data = {"spreadsheet_id": key, "written": True, "shared": []}
    shared = list(state.data.get("shared", []))
    for email in emails:
        if email in shared:
            continue
        try:
            http.insert_permission(key, email, perm_type="user", role="writer", notify=True)
        except GoogleAPIError as exc:
            log.warning("could not share the tracker with %s: %s (will retry next sync)", email, exc.message)
            continue
        shared.append(email)
    if shared != state.data.get("shared"):
        state.data["shared"] = shared
        _save(state)


__all__ = [
    "METADATA_FIELDS",
    "ExistingTab",
    "PlacedTable",
    "TabPlan",
    "build_requests",
    "existing_tabs",
    "plan_tabs",
    "raw_value",
    "serial",
    "tracker_url",
    "write_gsheet_tracker",
]
