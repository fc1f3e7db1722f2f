"""The tracker's API calls for a Google Sheet: one atomic batchUpdate and one values write.

Pure: `build_requests` turns the tab plans (`connectors.gsheet_plan`) and what the
spreadsheet already has (`existing_tabs`, from one metadata call) into the two payloads a
sync sends, whatever the number of key results:

1. one atomic ``spreadsheets:batchUpdate``: add missing tabs, grow grids, drop the old rules
   and our old chart, reset and re-apply every format, add the new rules and chart;
2. one ``values:batchUpdate`` with ``valueInputOption=RAW`` (so text such as ``=HYPERLINK(...)``
   stays text, never a formula), covering each tab's whole grid: cells with nothing to show
   are written as "" so last week's rows never linger.

Runs of equal formats are merged into rectangles, so requests grow with how varied the
formats are, not with the number of cells.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.gsheet_plan import GridRange, TabPlan
from connectors.gsheet_source import quote_title
from connectors.gsheet_styles import rgb

CHART_SIZE = (660, 250)  # pixels, about the .xlsx chart's 17.5 x 6.6 cm


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
        for span, options in plan.choices:
            requests.append({"setDataValidation": {"range": _grid(sid, span), "rule": {
                "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": o} for o in options]},
                "showCustomUi": True, "strict": False}}})  # fmt: skip
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
                        "colorStyle": {"rgbColor": rgb(s["color"])},
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


__all__ = ["CHART_SIZE", "ExistingTab", "build_requests", "existing_tabs"]
