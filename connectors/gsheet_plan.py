"""The tracker laid out for a Google Sheet: per tab, every value, format, size, rule and chart.

`plan_tabs` renders the same `TrackerLayout` the .xlsx writer fills (each table where the
template places it, the template's looks copied down, its ranges stretched), in Sheets'
terms: 0-based cells, CellFormats, column widths and row heights in pixels, frozen panes,
tab colours, the filter, conditional formats (data bars become a colour scale) and the
Dashboard chart. Pure once the template is read: `connectors.gsheet_requests` turns the
plans into API calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import Cell as XlCell
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from connectors.gsheet_styles import cell_style, color, conditional_rule, sheets_number_format
from connectors.tracker_layout import Look, Placed, SheetLayout, Span, TableLayout, plan_layout, span_ref
from sheetsync.core.dates import excel_serial
from sheetsync.core.tracker import ChartSpec, TrackerContent

log = logging.getLogger(__name__)

MAX_TEXT = 50_000  # Google Sheets' limit for one cell
CHART_COLORS = ("4C78C8", "C3CAD3")  # progress, expected: the template chart's colours

GridRange = tuple[int, int, int, int]
"""Rows [r0, r1) and columns [c0, c1), 0-based: Sheets' GridRange."""


def grid(span: Span) -> GridRange:
    """A 1-based inclusive (min_col, min_row, max_col, max_row) span as a GridRange."""
    min_col, min_row, max_col, max_row = span
    return (min_row - 1, max_row, min_col - 1, max_col)


@dataclass
class TabPlan:
    """Everything one tab gets: values, formats, layout, rules, filter and charts (0-based)."""

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
    tables: list[Placed] = field(default_factory=list)  # 1-based, as the layout placed them
    choices: list[tuple[GridRange, tuple[str, ...]]] = field(default_factory=list)  # drop-down lists

    @property
    def rows(self) -> int:
        """Rows the content needs (at least one more than the frozen rows: Sheets insists)."""
        used = [r + 1 for r, _ in (*self.values, *self.styles, *self.number_formats)]
        used += [t.last_row for t in self.tables]
        return max([*used, self.frozen[0] + 1, 1])

    @property
    def cols(self) -> int:
        used = [c + 1 for _, c in (*self.values, *self.styles, *self.number_formats)]
        used += [t.last_col for t in self.tables] + [c + 1 for c in self.widths]
        return max([*used, self.frozen[1] + 1, 1])


def raw_value(value: object) -> str | float | bool | None:
    """A cell value as RAW input: numbers, dates as serials, text capped at Sheets' limit."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, datetime | date):
        return excel_serial(value)  # what a Sheets date cell holds
    if isinstance(value, int | float):
        number = float(value)
        return None if not math.isfinite(number) else (int(number) if number.is_integer() else number)
    text = str(value)
    return text[:MAX_TEXT] if text else None


def _formula(cell: XlCell) -> bool:
    return cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))


def plan_tabs(content: TrackerContent, template: str | Path | None = None) -> list[TabPlan]:
    """Lay the tracker out per tab, from the same layout the .xlsx writer fills."""
    layout = plan_layout(content, template)
    plans: dict[str, TabPlan] = {}
    for title, sheet in layout.sheets.items():
        plan = plans[title] = TabPlan(title)
        _template_layer(plan, sheet.worksheet)
        looks: dict[int, dict[str, Any]] = {}
        for table in sheet.tables:
            _fill_table(plan, table, looks)
        _rules(plan, sheet)
        if sheet.filter is not None:
            plan.filter_range = grid(sheet.filter)
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
            plan.heights[row - 1] = _pixels(dim.height)
    if ws.freeze_panes:
        letters, number = coordinate_from_string(ws.freeze_panes)
        plan.frozen = (number - 1, range_boundaries(f"{letters}1")[0] - 1)
    plan.hide_gridlines = ws.sheet_view.showGridLines is False
    plan.tab_color = color(ws.sheet_properties.tabColor)


def _pixels(points: float) -> int:
    return round(float(points) * 4 / 3)


def _fill_table(plan: TabPlan, table: TableLayout, looks: dict[int, dict[str, Any]]) -> None:
    """Header labels and data cells where the layout put them, with the looks it chose."""
    for label in table.labels:
        key = (label.row - 1, label.col - 1)
        plan.values[key] = label.text
        if label.bold:
            plan.styles[key] = {"textFormat": {"bold": True}}
    for row, height in table.heights():
        plan.heights[row - 1] = _pixels(height)
    placed = table.placed
    for offset, options in table.table.choices:
        column = placed.first_col + offset
        plan.choices.append((grid((column, placed.first_row, column, placed.last_row)), tuple(options)))
    for cell in table.cells():
        key = (cell.row - 1, cell.col - 1)
        if cell.look is not None:
            style = _translated(cell.look, looks)
            if style:
                plan.styles[key] = style
        value = raw_value(cell.content.value)
        if value is None:
            plan.values.pop(key, None)
        else:
            plan.values[key] = value
        if cell.number_format is None:
            plan.number_formats.pop(key, None)
        else:
            kind = None if cell.format_from_template else cell.content.kind
            plan.number_formats[key] = sheets_number_format(cell.number_format, kind)
    plan.tables.append(table.placed)


def _translated(look: Look, cache: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A look as a CellFormat, worked out once per look (openpyxl style access is slow)."""
    found = cache.get(id(look))
    if found is None:
        found = cache[id(look)] = cell_style(look.cell)
    return found


def _rules(plan: TabPlan, sheet: SheetLayout) -> None:
    """The template's conditional formats in Sheets' terms, in priority order."""
    found: list[tuple[int, dict[str, Any]]] = []
    for spans, rules in sheet.conditional_formats:
        ranges = [grid(span) for span in spans]
        for rule in rules:
            translated = conditional_rule(rule)
            if translated is None:
                log.info("tracker template: %s rule on %s!%s has no Google Sheets equivalent", rule.type,
                         sheet.title, " ".join(span_ref(s) for s in spans))  # fmt: skip
                continue
            translated["ranges"] = ranges
            found.append((rule.priority or 0, translated))
    found.sort(key=lambda item: item[0])
    plan.rules = [rule for _, rule in found]


def _chart(plans: Mapping[str, TabPlan], spec: ChartSpec) -> None:
    """A bar chart of a table's columns (header row included for the series names)."""
    placed = next((t for p in plans.values() for t in p.tables if t.key == spec.table), None)
    plan = plans.get(spec.tab)
    if placed is None or plan is None:
        return
    top = (placed.header_row if placed.header_row is not None else placed.first_row) - 1
    end = placed.last_row

    def column(offset: int) -> GridRange:
        c = placed.first_col - 1 + offset
        return (top, end, c, c + 1)

    series = [
        {"range": column(offset), "color": CHART_COLORS[i % len(CHART_COLORS)]} for i, offset in enumerate(spec.values)
    ]
    plan.charts.append(
        {
            "title": spec.title,
            "tab": placed.sheet,
            "domain": column(spec.categories),
            "series": series,
            "anchor": (spec.anchor[0] - 1, spec.anchor[1] - 1),
            "headers": 1 if placed.header_row is not None else 0,
        }
    )


__all__ = ["CHART_COLORS", "GridRange", "TabPlan", "grid", "plan_tabs", "raw_value"]
