"""In-memory spreadsheets: values, formats, sheet structure and the batchUpdate requests applied.

The server is a thin HTTP layer over this module; keeping the model here lets tests inspect
exactly what the code under test wrote (values, number formats, conditional format rules,
merges, charts, permissions) without going through HTTP.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import a1, cells, fieldmask, numfmt
from .cells import Cell, Scalar
from .errors import ApiError, bad_request

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
VALUE_RENDER = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER = ("SERIAL_NUMBER", "FORMATTED_STRING")
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}
_ERROR_TYPES = {"#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE", "#REF!": "REF", "#NAME?": "NAME"}


def now_rfc3339() -> str:
    """Drive's timestamp format (``2024-01-02T03:04:05.678Z``)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_file_id() -> str:
    """A 44-character id shaped like Google's."""
    return ("1" + secrets.token_urlsafe(48))[:44]


def owner_permission(email: str) -> dict[str, Any]:
    """The Drive permission a file's creator holds."""
    return {
        "kind": "drive#permission",
        "id": "".join(secrets.choice("0123456789") for _ in range(20)),
        "type": "user",
        "role": "owner",
        "emailAddress": email,
        "displayName": email.split("@")[0],
        "deleted": False,
        "pendingOwner": False,
    }


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_path(target: dict[str, Any], path: tuple[str, ...], source: dict[str, Any] | None) -> None:
    """Copy ``path`` from ``source`` into ``target``; a path missing in ``source`` is cleared."""
    value: Any = source
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    node = target
    for name in path[:-1]:
        if not isinstance(node.get(name), dict):
            if value is None:
                return
            node[name] = {}
        node = node[name]
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(value)


def _prune_empty(node: dict[str, Any]) -> None:
    for key in list(node):
        if isinstance(node[key], dict):
            _prune_empty(node[key])
            if not node[key]:
                del node[key]


@dataclass
class Sheet:
    """One tab: properties, sparse cells and the structural features batchUpdate can add."""

    properties: dict[str, Any]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    merges: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    row_meta: dict[int, dict[str, Any]] = field(default_factory=dict)
    col_meta: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The tab title."""
        return self.properties["title"]

    @property
    def sheet_id(self) -> int:
        """The numeric sheetId (gid)."""
        return self.properties["sheetId"]

    @property
    def row_count(self) -> int:
        """Grid rows."""
        return self.properties["gridProperties"]["rowCount"]

    @property
    def col_count(self) -> int:
        """Grid columns."""
        return self.properties["gridProperties"]["columnCount"]

    def grow(self, rows: int, cols: int) -> None:
        """Make the grid at least rows x cols (append widens/lengthens sheets like Google)."""
        grid = self.properties["gridProperties"]
        grid["rowCount"] = max(grid["rowCount"], rows)
        grid["columnCount"] = max(grid["columnCount"], cols)

    def data_extent(self) -> tuple[int, int]:
        """(rows, cols) spanned by cells holding data."""
        rows = cols = 0
        for (r, c), cell in self.cells.items():
            if cell.has_value:
                rows, cols = max(rows, r + 1), max(cols, c + 1)
        return rows, cols

    def get(self, r: int, c: int) -> Cell | None:
        """The stored cell, if any."""
        return self.cells.get((r, c))

    def put(self, r: int, c: int, cell: Cell) -> None:
        """Store a cell, dropping it when it carries nothing."""
        if cell.is_blank():
            self.cells.pop((r, c), None)
        else:
            self.cells[(r, c)] = cell

    def drop_outside_grid(self) -> None:
        """Shrinking the grid deletes the data outside it, as in Sheets."""
        self.cells = {(r, c): v for (r, c), v in self.cells.items() if r < self.row_count and c < self.col_count}


@dataclass
class Target:
    """A resolved range: the sheet and its bounds."""

    sheet: Sheet
    bounds: a1.Bounds
    text: str


@dataclass
class Spreadsheet:
    """A spreadsheet file: Sheets content plus the Drive-side metadata the fake needs."""

    id: str
    properties: dict[str, Any]
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    permissions: list[dict[str, Any]] = field(default_factory=list)
    created_time: str = field(default_factory=now_rfc3339)
    modified_time: str = field(default_factory=now_rfc3339)
    parents: list[str] = field(default_factory=list)
    app_properties: dict[str, str] = field(default_factory=dict)  # Drive's appProperties
    owner_email: str = "owner@example.com"
    denied: bool = False

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def create(cls, title: str, *, owner_email: str, sheet_titles: Iterable[str] = ("Sheet1",)) -> Spreadsheet:
        """A new spreadsheet as Drive/Sheets create it (one 1000 x 26 ``Sheet1`` by default)."""
        ss = cls(
            id=new_file_id(),
            properties={
                "title": title,
                "locale": "en_US",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Etc/GMT",
                "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            },
            owner_email=owner_email,
        )
        for i, sheet_title in enumerate(sheet_titles):
            ss.add_sheet({"title": sheet_title, "sheetId": 0 if i == 0 else None})
        ss.permissions.append(owner_permission(owner_email))
        return ss

    @property
    def title(self) -> str:
        """Spreadsheet title (Drive's ``name``)."""
        return self.properties["title"]

    def touch(self) -> None:
        """Record a modification (Drive's modifiedTime)."""
        self.modified_time = now_rfc3339()

    def add_sheet(self, props: dict[str, Any]) -> Sheet:
        """Add a tab with Google's defaults filled in; rejects duplicate titles and ids."""
        props = copy.deepcopy({k: v for k, v in props.items() if v is not None})
        title = props.get("title") or self._next_sheet_title()
        if self.find_sheet(title) is not None:
            raise bad_request(f'A sheet with the name "{title}" already exists. Please enter another name.')
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = secrets.randbelow(2_000_000_000) + 1
            while self.sheet_by_id(sheet_id) is not None:
                sheet_id = secrets.randbelow(2_000_000_000) + 1
        elif self.sheet_by_id(int(sheet_id)) is not None:
            raise bad_request(f"A sheet with the id {sheet_id} already exists.")
        grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS, **props.get("gridProperties", {})}
        index = min(int(props.get("index", len(self.sheets))), len(self.sheets))
        props.update(
            {
                "sheetId": int(sheet_id),
                "title": title,
                "index": index,
                "sheetType": props.get("sheetType", "GRID"),
                "gridProperties": grid,
            }
        )
        sheet = Sheet(props)
        self.sheets.insert(index, sheet)
        self._reindex()
        return sheet

    def _next_sheet_title(self) -> str:
        n = len(self.sheets) + 1
        while self.find_sheet(f"Sheet{n}") is not None:
            n += 1
        return f"Sheet{n}"

    def _reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.properties["index"] = i

    # --- lookup -------------------------------------------------------------------------------

    def find_sheet(self, title: str) -> Sheet | None:
        """Sheet by exact title."""
        return next((s for s in self.sheets if s.title == title), None)

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        """Sheet by sheetId."""
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def sheet(self, title: str | None = None) -> Sheet:
        """Sheet by title (first sheet when None); KeyError for tests that mistype it."""
        if title is None:
            return self.sheets[0]
        found = self.find_sheet(title)
        if found is None:
            raise KeyError(title)
        return found

    def resolve(self, text: str) -> Target:
        """Resolve an A1 range or named range exactly as the API would, or raise a 400."""
        error = bad_request(f"Unable to parse range: {text}")
        try:
            title, cell_part = a1.split_sheet(text)
        except a1.A1Error:
            raise error from None
        if title is None:
            assert cell_part is not None
            whole = self.find_sheet(cell_part)
            if whole is not None:
                return Target(whole, a1.Bounds(), text)
            named = next((n for n in self.named_ranges if n["name"] == cell_part), None)
            if named is not None:
                return self._named_target(named, text)
            try:
                return Target(self.sheets[0], a1.parse_cells(cell_part), text)
            except a1.A1Error:
                raise error from None
        sheet = self.find_sheet(title)
        if sheet is None:
            raise error
        if cell_part is None:
            return Target(sheet, a1.Bounds(), text)
        try:
            return Target(sheet, a1.parse_cells(cell_part), text)
        except a1.A1Error:
            raise error from None

    def _named_target(self, named: dict[str, Any], text: str) -> Target:
        grid = named["range"]
        sheet = self.sheet_by_id(grid.get("sheetId", 0))
        if sheet is None:
            raise bad_request(f"Unable to parse range: {text}")
        return Target(sheet, _bounds_from_grid(grid), text)

    def grid_sheet(self, grid: dict[str, Any], where: str) -> Sheet:
        """The sheet a GridRange names (missing sheetId means 0, as in proto3)."""
        sheet_id = int(grid.get("sheetId", 0))
        sheet = self.sheet_by_id(sheet_id)
        if sheet is None:
            raise bad_request(f"Invalid {where}: No grid with id: {sheet_id}")
        return sheet

    # --- values -----------------------------------------------------------------------------

    def clipped(self, target: Target, *, for_write: bool = False) -> tuple[int, int, int, int]:
        """Bounds filled from the grid; reads are clipped to it, a start outside it is a 400."""
        sheet = target.sheet
        r0, r1, c0, c1 = target.bounds.resolve(sheet.row_count, sheet.col_count)
        if r0 >= sheet.row_count or c0 >= sheet.col_count:
            raise self._grid_error(sheet, r0, c0)
        if for_write:
            return r0, r1, c0, c1
        return r0, min(r1, sheet.row_count), c0, min(c1, sheet.col_count)

    @staticmethod
    def _grid_error(sheet: Sheet, row: int, col: int) -> ApiError:
        return bad_request(
            f"Range ({a1.quote_title(sheet.title)}!{a1.cell_name(row, col)}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )

    def read(
        self,
        range_text: str,
        *,
        value_render: str = "FORMATTED_VALUE",
        datetime_render: str = "SERIAL_NUMBER",
        major: str = "ROWS",
    ) -> dict[str, Any]:
        """values.get: a ValueRange with trailing empties trimmed and no ``values`` when empty."""
        target = self.resolve(range_text)
        r0, r1, c0, c1 = self.clipped(target)
        sheet = target.sheet
        # Past the last stored cell every cell reads "" and is trimmed: the loops stop there (a
        # tab's grid is often 1000 x 26 around far fewer cells).
        last_row = max((r for r, _ in sheet.cells), default=-1) + 1
        last_col = max((c for _, c in sheet.cells), default=-1) + 1
        plain = value_render == "UNFORMATTED_VALUE"
        grid: list[list[Any]] = []
        for r in range(r0, min(r1, last_row)):
            row: list[Any] = []
            for c in range(c0, min(c1, last_col)):
                cell = sheet.cells.get((r, c))
                if cell is None or not cell.has_value:
                    row.append("")
                elif plain and cell.formula is None and not cell.is_date:  # the stored value itself
                    row.append(cell.value)
                else:
                    row.append(self.render(sheet, r, c, value_render, datetime_render))
            grid.append(row)
        if major == "COLUMNS":
            grid = [list(col) for col in zip(*grid, strict=True)] if grid else []
        trimmed = _trim(grid)
        out: dict[str, Any] = {"range": a1.format_range(sheet.title, r0, r1, c0, c1), "majorDimension": major}
        if trimmed:
            out["values"] = trimmed
        return out

    def render(self, sheet: Sheet, r: int, c: int, value_render: str, datetime_render: str) -> Any:
        """One cell under a valueRenderOption / dateTimeRenderOption pair."""
        cell = sheet.cells[(r, c)]
        if value_render == "FORMULA" and cell.formula is not None:
            return cell.formula
        value = self.computed(sheet, r, c)
        if value_render == "FORMATTED_VALUE":
            if isinstance(value, str):
                return value
            return numfmt.format_value(value, cell.number_format)
        if (
            cell.is_date
            and datetime_render == "FORMATTED_STRING"
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return numfmt.format_value(value, cell.number_format)
        return value

    def computed(
        self, sheet: Sheet, r: int, c: int, _visiting: frozenset[tuple[int, int, int]] = frozenset()
    ) -> Scalar:
        """A cell's value, evaluating formulas (see cells.py for the supported subset)."""
        cell = sheet.get(r, c)
        if cell is None:
            return None
        if cell.formula is None:
            return cell.value
        key = (sheet.sheet_id, r, c)
        if key in _visiting:
            return "#REF!"
        visiting = _visiting | {key}

        def lookup_range(title: str | None, bounds: a1.Bounds) -> list[Scalar]:
            target_sheet = self.find_sheet(title) if title else sheet
            if target_sheet is None:
                raise cells.FormulaError("#REF!")
            rr0, rr1, cc0, cc1 = bounds.resolve(target_sheet.row_count, target_sheet.col_count)
            return [
                self.computed(target_sheet, rr, cc, visiting)
                for rr in range(rr0, min(rr1, target_sheet.row_count))
                for cc in range(cc0, min(cc1, target_sheet.col_count))
            ]

        try:
            return cells.Evaluator(lookup_range, sheet.title).evaluate(cell.formula)
        except cells.FormulaError as exc:
            return exc.code
        except (cells.Unsupported, a1.A1Error, ValueError, OverflowError):
            return cell.formula

    def write(self, range_text: str, values: Any, *, input_option: str, major: str | None = None) -> dict[str, Any]:
        """values.update: write a block at the range's top-left; returns the update summary."""
        target = self.resolve(range_text)
        rows = _as_rows(values, major)
        r0, r1, c0, c1 = self.clipped(target, for_write=True)
        sheet = target.sheet
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        # A single-cell range is only an anchor; a larger range must contain the values.
        single = (r1 - r0, c1 - c0) == (1, 1)
        bounded_rows = not single and (target.bounds.end_row is not None or target.bounds.start_row is None)
        bounded_cols = not single and (target.bounds.end_col is not None or target.bounds.start_col is None)
        if height and bounded_rows and r0 + height > r1:
            raise bad_request(f"Requested writing within range [{range_text}], but tried writing to row [{r1 + 1}]")
        if width and bounded_cols and c0 + width > c1:
            raise bad_request(
                f"Requested writing within range [{range_text}], but tried writing to column [{a1.index_to_col(c1)}]"
            )
        if r0 + height > sheet.row_count or c0 + width > sheet.col_count:
            raise self._grid_error(sheet, r0 + height - 1, c0 + width - 1)
        updated = self._put_block(sheet, r0, c0, rows, input_option)
        self.touch()
        out: dict[str, Any] = {"spreadsheetId": self.id}
        if height and width:
            out.update(
                {
                    "updatedRange": a1.format_range(sheet.title, r0, r0 + height, c0, c0 + width),
                    "updatedRows": height,
                    "updatedColumns": width,
                    "updatedCells": updated,
                }
            )
        return out

    def _put_block(self, sheet: Sheet, r0: int, c0: int, rows: list[list[Any]], input_option: str) -> int:
        parse = cells.from_raw if input_option == "RAW" else cells.from_user_entered
        updated = 0
        for i, row in enumerate(rows):
            for j, raw in enumerate(row):
                new = parse(raw)
                if new is None:
                    continue  # JSON null: leave the cell as it is
                updated += 1
                old = sheet.get(r0 + i, c0 + j) or Cell()
                fmt = copy.deepcopy(old.fmt)
                if new.number_format:
                    fmt["numberFormat"] = new.number_format
                sheet.put(r0 + i, c0 + j, Cell(new.value, new.formula, fmt, old.note))
        return updated

    def append(
        self, range_text: str, values: Any, *, input_option: str, insert_option: str, major: str | None = None
    ) -> dict[str, Any]:
        """values.append: write after the last row of the "table" found in the range.

        As in Sheets: the table starts at the first row inside the range holding data; it runs
        down through contiguous non-empty rows (a blank row ends it, so data below a gap can be
        overwritten with OVERWRITE) and may extend right of the range. With no data in the range
        the values go to the range's top-left cell. Columns are judged from the range's start
        column rightwards.
        """
        target = self.resolve(range_text)
        sheet = target.sheet
        rows = _as_rows(values, major)
        r0, r1, c0, c1 = self.clipped(target)
        filled: dict[int, list[int]] = {}
        for (r, c), cell in sheet.cells.items():
            if cell.has_value and r >= r0 and c >= c0:
                filled.setdefault(r, []).append(c)
        first = next((r for r in range(r0, r1) if any(c < c1 for c in filled.get(r, []))), None)
        out: dict[str, Any] = {"spreadsheetId": self.id}
        if first is None:
            start, col = r0, c0
        else:
            last = first
            while last + 1 in filled:
                last += 1
            table_cols = [c for r in range(first, last + 1) for c in filled[r]]
            col = min(table_cols)
            out["tableRange"] = a1.format_range(sheet.title, first, last + 1, col, max(table_cols) + 1)
            start = last + 1
        height = len(rows)
        width = max((len(row) for row in rows), default=0)
        if insert_option == "INSERT_ROWS" and height:
            self._insert(sheet, "ROWS", start, height)
        sheet.grow(start + height, col + width)
        updated = self._put_block(sheet, start, col, rows, input_option)
        self.touch()
        updates: dict[str, Any] = {"spreadsheetId": self.id}
        if height and width:
            updates.update(
                {
                    "updatedRange": a1.format_range(sheet.title, start, start + height, col, col + width),
                    "updatedRows": height,
                    "updatedColumns": width,
                    "updatedCells": updated,
                }
            )
        out["updates"] = updates
        return out

    def clear(self, range_text: str) -> str:
        """values.clear: remove values and formulas, keep formats; returns the cleared range."""
        target = self.resolve(range_text)
        r0, r1, c0, c1 = self.clipped(target)
        sheet = target.sheet
        for (r, c), cell in list(sheet.cells.items()):
            if r0 <= r < r1 and c0 <= c < c1:
                sheet.put(r, c, Cell(None, None, cell.fmt, cell.note))
        self.touch()
        return a1.format_range(sheet.title, r0, r1, c0, c1)

    # --- inspection helpers for tests ---------------------------------------------------------

    @property
    def sheet_titles(self) -> list[str]:
        """Tab titles in order."""
        return [s.title for s in self.sheets]

    def values(
        self,
        sheet: str | None = None,
        *,
        render: str = "UNFORMATTED_VALUE",
        datetime_render: str = "SERIAL_NUMBER",
    ) -> list[list[Any]]:
        """A whole tab as a values read would return it (trimmed), default unformatted/serial."""
        title = self.sheet(sheet).title
        quoted = "'" + title.replace("'", "''") + "'"
        return self.read(quoted, value_render=render, datetime_render=datetime_render).get("values", [])

    def formatted(self, sheet: str | None = None) -> list[list[Any]]:
        """A whole tab as FORMATTED_VALUE strings, as a person sees it."""
        return self.values(sheet, render="FORMATTED_VALUE")

    def cell(self, ref: str) -> Cell:
        """The stored cell at ``B2`` (first tab) or ``'Tab'!B2``; an empty Cell when unset."""
        target = self.resolve(ref)
        r0, _, c0, _ = target.bounds.resolve(target.sheet.row_count, target.sheet.col_count)
        return copy.deepcopy(target.sheet.get(r0, c0) or Cell())

    def requests_of(self, kind: str) -> list[dict[str, Any]]:
        """Bodies of the applied batchUpdate requests of one kind (e.g. ``repeatCell``)."""
        return [req[kind] for req in self.requests if kind in req]

    def conditional_formats(self, sheet: str | None = None) -> list[dict[str, Any]]:
        """Conditional format rules of a tab, in priority order."""
        return copy.deepcopy(self.sheet(sheet).conditional_formats)

    def set_format(self, ref: str, fmt: Any) -> None:
        """Apply a number format (dict, type name) or a full CellFormat to every cell of a range."""
        target = self.resolve(ref)
        r0, r1, c0, c1 = self.clipped(target)
        if isinstance(fmt, str):
            fmt = {"numberFormat": {"type": fmt, "pattern": numfmt.DEFAULT_PATTERNS.get(fmt, "")}}
        elif "type" in fmt:
            fmt = {"numberFormat": dict(fmt)}
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = target.sheet.get(r, c) or Cell()
                target.sheet.put(r, c, Cell(cell.value, cell.formula, _deep_merge(cell.fmt, fmt), cell.note))

    # --- spreadsheets.get -------------------------------------------------------------------

    def resource(
        self,
        *,
        include_grid: bool = False,
        ranges: list[str] | None = None,
        mask: fieldmask.Mask | None = None,
    ) -> dict[str, Any]:
        """The Spreadsheet resource; grid data only when asked (or when the field mask wants it)."""
        want_data = fieldmask.wants(mask, "sheets", "data") if mask is not None else include_grid
        targets = [self.resolve(r) for r in ranges or []]
        sheets_out: list[dict[str, Any]] = []
        for sheet in self.sheets:
            mine = [t for t in targets if t.sheet is sheet]
            if targets and not mine:
                continue
            entry: dict[str, Any] = {"properties": copy.deepcopy(sheet.properties)}
            if sheet.merges:
                entry["merges"] = copy.deepcopy(sheet.merges)
            if sheet.conditional_formats:
                entry["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
            if sheet.basic_filter is not None:
                entry["basicFilter"] = copy.deepcopy(sheet.basic_filter)
            if sheet.charts:
                entry["charts"] = copy.deepcopy(sheet.charts)
            if sheet.protected_ranges:
                entry["protectedRanges"] = copy.deepcopy(sheet.protected_ranges)
            if want_data:
                spans = [self.clipped(t) for t in mine] or [(0, sheet.row_count, 0, sheet.col_count)]
                entry["data"] = [self._grid_data(sheet, *span) for span in spans]
            sheets_out.append(entry)
        out: dict[str, Any] = {
            "spreadsheetId": self.id,
            "properties": copy.deepcopy(self.properties),
            "sheets": sheets_out,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.id}/edit",
        }
        if self.named_ranges:
            out["namedRanges"] = copy.deepcopy(self.named_ranges)
        return fieldmask.apply(out, mask) if mask is not None else out

    def _grid_data(self, sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> dict[str, Any]:
        row_data: list[dict[str, Any]] = []
        for r in range(r0, r1):
            values = [self.cell_data(sheet, r, c) for c in range(c0, c1)]
            while values and not values[-1]:
                values.pop()
            row_data.append({"values": values} if values else {})
        while row_data and not row_data[-1]:
            row_data.pop()
        data: dict[str, Any] = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        data["rowData"] = row_data
        data["rowMetadata"] = [{"pixelSize": 21, **sheet.row_meta.get(r, {})} for r in range(r0, r1)]
        data["columnMetadata"] = [{"pixelSize": 100, **sheet.col_meta.get(c, {})} for c in range(c0, c1)]
        return data

    def cell_data(self, sheet: Sheet, r: int, c: int) -> dict[str, Any]:
        """CellData as spreadsheets.get returns it (userEntered/effective value and format)."""
        cell = sheet.get(r, c)
        if cell is None:
            return {}
        out: dict[str, Any] = {}
        if cell.formula is not None:
            out["userEnteredValue"] = {"formulaValue": cell.formula}
        elif cell.value is not None:
            out["userEnteredValue"] = _extended_value(cell.value)
        if cell.has_value:
            value = self.computed(sheet, r, c)
            if value is not None and not (cell.formula is not None and value == cell.formula):
                out["effectiveValue"] = _extended_value(value)
            out["formattedValue"] = self.render(sheet, r, c, "FORMATTED_VALUE", "FORMATTED_STRING")
        if cell.fmt:
            out["userEnteredFormat"] = copy.deepcopy(cell.fmt)
        if cell.has_value or cell.fmt:
            out["effectiveFormat"] = _deep_merge(DEFAULT_FORMAT, cell.fmt)
        if cell.note is not None:
            out["note"] = cell.note
        return out

    # --- batchUpdate ------------------------------------------------------------------------

    def batch_update(self, requests: list[Any]) -> list[dict[str, Any]]:
        """Apply requests in order; the caller runs this on a copy so a failure applies none."""
        replies: list[dict[str, Any]] = []
        for index, request in enumerate(requests):
            if not isinstance(request, dict) or len(request) != 1:
                raise bad_request(f"Invalid requests[{index}]: exactly one kind of request must be set.")
            kind, body = next(iter(request.items()))
            handler = _HANDLERS.get(kind)
            if handler is None:
                if kind in _KNOWN_UNIMPLEMENTED:
                    raise ApiError(
                        400, f"fake_google does not implement {kind} (requests[{index}])", "INVALID_ARGUMENT"
                    )
                raise bad_request(
                    f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{index}]': Cannot find field."
                )
            if not isinstance(body, dict):
                raise bad_request(f"Invalid requests[{index}].{kind}: request body must be an object.")
            reply = handler(self, body, f"requests[{index}].{kind}")
            replies.append(reply or {})
            self.requests.append(copy.deepcopy(request))
        self.touch()
        return replies

    def _range_cells(self, grid: dict[str, Any], where: str) -> tuple[Sheet, int, int, int, int]:
        sheet = self.grid_sheet(grid, where)
        r0, r1, c0, c1 = _bounds_from_grid(grid).resolve(sheet.row_count, sheet.col_count)
        if r1 > sheet.row_count or c1 > sheet.col_count:
            raise bad_request(
                f"Invalid {where}: Range ({a1.quote_title(sheet.title)}!{a1.cell_name(r1 - 1, c1 - 1)}) "
                f"exceeds grid limits. Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
            )
        return sheet, r0, r1, c0, c1

    def _apply_cell_fields(
        self, sheet: Sheet, r: int, c: int, data: dict[str, Any], paths: list[tuple[str, ...]]
    ) -> None:
        cell = copy.deepcopy(sheet.get(r, c) or Cell())
        for path in paths:
            head = path[0]
            if head in ("*", "userEnteredValue"):
                cell.value, cell.formula = _from_extended(data.get("userEnteredValue"))
            if head in ("*", "userEnteredFormat"):
                if len(path) == 1:
                    cell.fmt = copy.deepcopy(data.get("userEnteredFormat") or {})
                else:
                    _set_path(cell.fmt, path[1:], data.get("userEnteredFormat"))
                    _prune_empty(cell.fmt)
            if head in ("*", "note"):
                cell.note = data.get("note")
        sheet.put(r, c, cell)

    def _insert(self, sheet: Sheet, dimension: str, start: int, count: int) -> None:
        rows = dimension == "ROWS"
        moved: dict[tuple[int, int], Cell] = {}
        for (r, c), cell in sheet.cells.items():
            pos = r if rows else c
            if pos >= start:
                moved[(r + count, c) if rows else (r, c + count)] = cell
            else:
                moved[(r, c)] = cell
        sheet.cells = moved
        key = "rowCount" if rows else "columnCount"
        sheet.properties["gridProperties"][key] += count

    def _delete(self, sheet: Sheet, dimension: str, start: int, end: int) -> None:
        rows = dimension == "ROWS"
        count = end - start
        kept: dict[tuple[int, int], Cell] = {}
        for (r, c), cell in sheet.cells.items():
            pos = r if rows else c
            if start <= pos < end:
                continue
            if pos >= end:
                kept[(r - count, c) if rows else (r, c - count)] = cell
            else:
                kept[(r, c)] = cell
        sheet.cells = kept
        key = "rowCount" if rows else "columnCount"
        sheet.properties["gridProperties"][key] -= count


# --- batchUpdate handlers ---------------------------------------------------------------------


def _fields(body: dict[str, Any], where: str) -> list[tuple[str, ...]]:
    text = body.get("fields")
    if not text:
        raise bad_request(f"Invalid {where}: At least one field must be specified.")
    try:
        return fieldmask.leaf_paths(fieldmask.parse(text))
    except fieldmask.FieldMaskError:
        raise bad_request(f"Invalid {where}: invalid field mask: {text}") from None


def _add_sheet(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        sheet = ss.add_sheet(body.get("properties", {}))
    except ApiError as exc:
        raise bad_request(f"Invalid {where}: {exc.message}") from None
    return {"addSheet": {"properties": copy.deepcopy(sheet.properties)}}


def _delete_sheet(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet = ss.sheet_by_id(int(body.get("sheetId", 0)))
    if sheet is None:
        raise bad_request(f"Invalid {where}: No sheet with id: {body.get('sheetId', 0)}")
    if len(ss.sheets) == 1:
        raise bad_request(f"Invalid {where}: You can't remove all the sheets in a document.")
    ss.sheets.remove(sheet)
    ss._reindex()


def _duplicate_sheet(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    source = ss.sheet_by_id(int(body.get("sourceSheetId", 0)))
    if source is None:
        raise bad_request(f"Invalid {where}: No sheet with id: {body.get('sourceSheetId', 0)}")
    props = copy.deepcopy(source.properties)
    props.update(
        {
            "title": body.get("newSheetName") or f"Copy of {source.title}",
            "sheetId": body.get("newSheetId"),
            "index": body.get("insertSheetIndex", len(ss.sheets)),
        }
    )
    try:
        sheet = ss.add_sheet(props)
    except ApiError as exc:
        raise bad_request(f"Invalid {where}: {exc.message}") from None
    sheet.cells = copy.deepcopy(source.cells)
    sheet.merges = [{**m, "sheetId": sheet.sheet_id} for m in copy.deepcopy(source.merges)]
    return {"duplicateSheet": {"properties": copy.deepcopy(sheet.properties)}}


def _update_sheet_properties(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    props = body.get("properties") or {}
    sheet = ss.sheet_by_id(int(props.get("sheetId", 0)))
    if sheet is None:
        raise bad_request(f"Invalid {where}: No grid with id: {props.get('sheetId', 0)}")
    paths = _fields(body, where)
    if any(p[0] == "*" for p in paths):
        paths = [(k,) for k in props if k != "sheetId"]
    for path in paths:
        if path[0] == "sheetId":
            continue
        if path[0] == "title":
            new_title = props.get("title")
            if not new_title:
                raise bad_request(f"Invalid {where}: A sheet must have a title.")
            other = ss.find_sheet(new_title)
            if other is not None and other is not sheet:
                raise bad_request(
                    f'Invalid {where}: A sheet with the name "{new_title}" already exists. Please enter another name.'
                )
        if path[0] == "index":
            ss.sheets.remove(sheet)
            ss.sheets.insert(min(int(props.get("index", 0)), len(ss.sheets)), sheet)
            ss._reindex()
            continue
        _set_path(sheet.properties, path, props)
    grid = sheet.properties.setdefault("gridProperties", {})
    grid.setdefault("rowCount", DEFAULT_ROWS)
    grid.setdefault("columnCount", DEFAULT_COLS)
    if grid["rowCount"] < 1 or grid["columnCount"] < 1:
        raise bad_request(f"Invalid {where}: a sheet needs at least one row and one column.")
    sheet.drop_outside_grid()


def _update_spreadsheet_properties(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    props = body.get("properties") or {}
    for path in _fields(body, where):
        _set_path(ss.properties, path, props)


def _update_cells(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    paths = _fields(body, where)
    rows = body.get("rows") or []
    if "range" in body:
        sheet, r0, r1, c0, c1 = ss._range_cells(body["range"], where)
    else:
        start = body.get("start") or {}
        sheet = ss.grid_sheet(start, where)
        r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        r1 = r0 + len(rows)
        c1 = c0 + max((len(row.get("values") or []) for row in rows), default=0)
        if r1 > sheet.row_count or c1 > sheet.col_count:
            raise ss._grid_error(sheet, r1 - 1, c1 - 1)
    for r in range(r0, r1):
        row = (rows[r - r0].get("values") or []) if r - r0 < len(rows) else []
        for c in range(c0, c1):
            data = row[c - c0] if c - c0 < len(row) else {}
            ss._apply_cell_fields(sheet, r, c, data or {}, paths)


def _repeat_cell(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    paths = _fields(body, where)
    sheet, r0, r1, c0, c1 = ss._range_cells(body.get("range") or {}, where)
    data = body.get("cell") or {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            ss._apply_cell_fields(sheet, r, c, data, paths)


def _append_cells(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet = ss.grid_sheet({"sheetId": body.get("sheetId", 0)}, where)
    paths = _fields(body, where)
    start = sheet.data_extent()[0]
    rows = body.get("rows") or []
    width = max((len(row.get("values") or []) for row in rows), default=0)
    sheet.grow(start + len(rows), width)
    for i, row in enumerate(rows):
        for j, data in enumerate(row.get("values") or []):
            ss._apply_cell_fields(sheet, start + i, j, data or {}, paths)


def _add_conditional_format_rule(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    rule = body.get("rule") or {}
    ranges = rule.get("ranges") or []
    if not ranges:
        raise bad_request(f"Invalid {where}: A conditional format rule must have at least one range.")
    if not (rule.get("booleanRule") or rule.get("gradientRule")):
        raise bad_request(f"Invalid {where}: A conditional format rule needs a booleanRule or a gradientRule.")
    sheets = {ss.grid_sheet(r, where).sheet_id for r in ranges}
    if len(sheets) != 1:
        raise bad_request(f"Invalid {where}: All ranges of a conditional format rule must be on the same sheet.")
    for grid in ranges:
        ss._range_cells(grid, where)
    sheet = ss.grid_sheet(ranges[0], where)
    index = int(body.get("index", 0))
    sheet.conditional_formats.insert(min(index, len(sheet.conditional_formats)), copy.deepcopy(rule))


def _delete_conditional_format_rule(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    sheet = ss.grid_sheet({"sheetId": body.get("sheetId", 0)}, where)
    index = int(body.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise bad_request(f"Invalid {where}: No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    rule = sheet.conditional_formats.pop(index)
    return {"deleteConditionalFormatRule": {"rule": rule}}


def _update_conditional_format_rule(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    sheet_id = body.get("sheetId")
    rule = body.get("rule")
    if sheet_id is None and rule:
        sheet_id = (rule.get("ranges") or [{}])[0].get("sheetId", 0)
    sheet = ss.grid_sheet({"sheetId": sheet_id or 0}, where)
    index = int(body.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise bad_request(f"Invalid {where}: No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    old = sheet.conditional_formats[index]
    if rule is not None:
        sheet.conditional_formats[index] = copy.deepcopy(rule)
        return {"updateConditionalFormatRule": {"newRule": rule, "oldRule": old, "newIndex": index}}
    new_index = int(body.get("newIndex", index))
    moved = sheet.conditional_formats.pop(index)
    sheet.conditional_formats.insert(new_index, moved)
    return {"updateConditionalFormatRule": {"newRule": moved, "oldIndex": index, "newIndex": new_index}}


def _dimension_range(ss: Spreadsheet, rng: dict[str, Any], where: str) -> tuple[Sheet, str, int, int]:
    sheet = ss.grid_sheet(rng, where)
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise bad_request(f"Invalid {where}: range.dimension must be ROWS or COLUMNS.")
    limit = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start = int(rng.get("startIndex", 0))
    end = int(rng.get("endIndex", limit))
    if not 0 <= start < end or end > limit:
        raise bad_request(f"Invalid {where}: Invalid dimension range [{start}, {end}) (limit {limit}).")
    return sheet, dimension, start, end


def _update_dimension_properties(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet, dimension, start, end = _dimension_range(ss, body.get("range") or {}, where)
    paths = _fields(body, where)
    props = body.get("properties") or {}
    meta = sheet.row_meta if dimension == "ROWS" else sheet.col_meta
    for i in range(start, end):
        entry = meta.setdefault(i, {})
        for path in paths:
            if path[0] == "*":
                entry.update(copy.deepcopy(props))
            else:
                _set_path(entry, path, props)


def _insert_dimension(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    rng = body.get("range") or {}
    sheet = ss.grid_sheet(rng, where)
    dimension = rng.get("dimension")
    limit = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
    if dimension not in ("ROWS", "COLUMNS") or not 0 <= start < end or start > limit:
        raise bad_request(f"Invalid {where}: invalid range.")
    ss._insert(sheet, dimension, start, end - start)


def _delete_dimension(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet, dimension, start, end = _dimension_range(ss, body.get("range") or {}, where)
    limit = sheet.row_count if dimension == "ROWS" else sheet.col_count
    if end - start >= limit:
        raise bad_request(f"Invalid {where}: You can't delete all the rows on the sheet.")
    ss._delete(sheet, dimension, start, end)


def _append_dimension(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet = ss.grid_sheet({"sheetId": body.get("sheetId", 0)}, where)
    length = int(body.get("length", 0))
    if length < 1 or body.get("dimension") not in ("ROWS", "COLUMNS"):
        raise bad_request(f"Invalid {where}: length must be positive and dimension ROWS or COLUMNS.")
    key = "rowCount" if body["dimension"] == "ROWS" else "columnCount"
    sheet.properties["gridProperties"][key] += length


def _merge_cells(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet, r0, r1, c0, c1 = ss._range_cells(body.get("range") or {}, where)
    merge_type = body.get("mergeType", "MERGE_ALL")
    if merge_type == "MERGE_ALL":
        blocks = [(r0, r1, c0, c1)]
    elif merge_type == "MERGE_ROWS":
        blocks = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    elif merge_type == "MERGE_COLUMNS":
        blocks = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    else:
        raise bad_request(f"Invalid {where}: unknown mergeType {merge_type}.")
    for br0, br1, bc0, bc1 in blocks:
        if (br1 - br0) * (bc1 - bc0) < 2:
            continue
        for existing in sheet.merges:
            if _overlaps(existing, br0, br1, bc0, bc1):
                raise bad_request(f"Invalid {where}: You can't merge cells that overlap with an existing merge.")
        for (r, c), cell in list(sheet.cells.items()):
            if br0 <= r < br1 and bc0 <= c < bc1 and (r, c) != (br0, bc0):
                sheet.put(r, c, Cell(None, None, cell.fmt, cell.note))  # merging keeps only the top-left value
        sheet.merges.append(
            {
                "sheetId": sheet.sheet_id,
                "startRowIndex": br0,
                "endRowIndex": br1,
                "startColumnIndex": bc0,
                "endColumnIndex": bc1,
            }
        )


def _unmerge_cells(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet, r0, r1, c0, c1 = ss._range_cells(body.get("range") or {}, where)
    sheet.merges = [m for m in sheet.merges if not _overlaps(m, r0, r1, c0, c1)]


def _overlaps(grid: dict[str, Any], r0: int, r1: int, c0: int, c1: int) -> bool:
    return (
        grid["startRowIndex"] < r1
        and r0 < grid["endRowIndex"]
        and grid["startColumnIndex"] < c1
        and c0 < grid["endColumnIndex"]
    )


def _set_basic_filter(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    flt = body.get("filter") or {}
    sheet = ss.grid_sheet(flt.get("range") or {}, where)
    sheet.basic_filter = copy.deepcopy(flt)


def _clear_basic_filter(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    ss.grid_sheet({"sheetId": body.get("sheetId", 0)}, where).basic_filter = None


def _add_chart(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    chart = copy.deepcopy(body.get("chart") or {})
    if "spec" not in chart:
        raise bad_request(f"Invalid {where}: chart.spec is required.")
    position = chart.get("position") or {}
    chart.setdefault("chartId", secrets.randbelow(2_000_000_000) + 1)
    if position.get("newSheet"):
        sheet = ss.add_sheet({"sheetType": "OBJECT", "title": None})
    elif "sheetId" in position:
        sheet = ss.grid_sheet({"sheetId": position["sheetId"]}, where)
    else:
        anchor = (position.get("overlayPosition") or {}).get("anchorCell") or {}
        sheet = ss.grid_sheet(anchor, where)
    sheet.charts.append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


def _delete_embedded_object(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    object_id = body.get("objectId")
    for sheet in ss.sheets:
        for chart in sheet.charts:
            if chart.get("chartId") == object_id:
                sheet.charts.remove(chart)
                return
    raise bad_request(f"Invalid {where}: No embedded object with id: {object_id}")


def _update_chart_spec(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    for sheet in ss.sheets:
        for chart in sheet.charts:
            if chart.get("chartId") == body.get("chartId"):
                chart["spec"] = copy.deepcopy(body.get("spec") or {})
                return
    raise bad_request(f"Invalid {where}: No chart with id: {body.get('chartId')}")


def _add_named_range(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    named = copy.deepcopy(body.get("namedRange") or {})
    if not named.get("name") or any(n["name"] == named["name"] for n in ss.named_ranges):
        raise bad_request(f"Invalid {where}: missing or duplicate named range name.")
    ss.grid_sheet(named.get("range") or {}, where)
    named.setdefault("namedRangeId", secrets.token_hex(6))
    ss.named_ranges.append(named)
    return {"addNamedRange": {"namedRange": copy.deepcopy(named)}}


def _delete_named_range(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    before = len(ss.named_ranges)
    ss.named_ranges = [n for n in ss.named_ranges if n.get("namedRangeId") != body.get("namedRangeId")]
    if len(ss.named_ranges) == before:
        raise bad_request(f"Invalid {where}: No named range with id: {body.get('namedRangeId')}")


def _add_protected_range(ss: Spreadsheet, body: dict[str, Any], where: str) -> dict[str, Any]:
    protected = copy.deepcopy(body.get("protectedRange") or {})
    sheet = ss.grid_sheet(protected.get("range") or {}, where)
    protected.setdefault("protectedRangeId", secrets.randbelow(2_000_000_000) + 1)
    sheet.protected_ranges.append(protected)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(protected)}}


def _sort_range(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    sheet, r0, r1, c0, c1 = ss._range_cells(body.get("range") or {}, where)
    specs = body.get("sortSpecs") or []
    rows = [{c: sheet.cells.get((r, c)) for c in range(c0, c1)} for r in range(r0, r1)]
    for spec in reversed(specs):
        col = int(spec.get("dimensionIndex", 0))
        reverse = spec.get("sortOrder") == "DESCENDING"
        present = [row for row in rows if row.get(col) is not None and row[col].has_value]
        absent = [row for row in rows if not (row.get(col) is not None and row[col].has_value)]
        present.sort(key=lambda row, col=col: _sort_key(row[col]), reverse=reverse)
        rows = present + absent  # blanks always sort last
    for r, c in [key for key in sheet.cells if r0 <= key[0] < r1 and c0 <= key[1] < c1]:
        del sheet.cells[(r, c)]
    for i, row in enumerate(rows):
        for c, cell in row.items():
            if cell is not None:
                sheet.cells[(r0 + i, c)] = cell


def _sort_key(cell: Cell | None) -> tuple[int, Any]:
    value = None if cell is None else cell.value
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).lower())


def _record_only(ss: Spreadsheet, body: dict[str, Any], where: str) -> None:
    """Accepted and logged (see ``Spreadsheet.requests``) but with no modelled effect."""
    for key in ("range", "ranges"):
        value = body.get(key)
        grids = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for grid in grids:
            ss.grid_sheet(grid, where)


_HANDLERS: dict[str, Any] = {
    "addSheet": _add_sheet,
    "deleteSheet": _delete_sheet,
    "duplicateSheet": _duplicate_sheet,
    "updateSheetProperties": _update_sheet_properties,
    "updateSpreadsheetProperties": _update_spreadsheet_properties,
    "updateCells": _update_cells,
    "repeatCell": _repeat_cell,
    "appendCells": _append_cells,
    "addConditionalFormatRule": _add_conditional_format_rule,
    "deleteConditionalFormatRule": _delete_conditional_format_rule,
    "updateConditionalFormatRule": _update_conditional_format_rule,
    "updateDimensionProperties": _update_dimension_properties,
    "insertDimension": _insert_dimension,
    "deleteDimension": _delete_dimension,
    "appendDimension": _append_dimension,
    "mergeCells": _merge_cells,
    "unmergeCells": _unmerge_cells,
    "setBasicFilter": _set_basic_filter,
    "clearBasicFilter": _clear_basic_filter,
    "addChart": _add_chart,
    "updateChartSpec": _update_chart_spec,
    "deleteEmbeddedObject": _delete_embedded_object,
    "addNamedRange": _add_named_range,
    "deleteNamedRange": _delete_named_range,
    "addProtectedRange": _add_protected_range,
    "sortRange": _sort_range,
    # Accepted and recorded only: formatting and layout with no effect on values reads.
    "autoResizeDimensions": _record_only,
    "updateBorders": _record_only,
    "addBanding": _record_only,
    "updateBanding": _record_only,
    "deleteBanding": _record_only,
    "setDataValidation": _record_only,
    "addDimensionGroup": _record_only,
    "deleteDimensionGroup": _record_only,
    "updateDimensionGroup": _record_only,
    "updateEmbeddedObjectPosition": _record_only,
    "updateEmbeddedObjectBorder": _record_only,
    "createDeveloperMetadata": _record_only,
    "deleteProtectedRange": _record_only,
    "updateProtectedRange": _record_only,
}
_KNOWN_UNIMPLEMENTED = frozenset(
    {
        "updateNamedRange", "updateFilterView", "deleteFilterView", "addFilterView", "duplicateFilterView",
        "copyPaste", "cutPaste", "pasteData", "findReplace", "insertRange", "deleteRange", "autoFill",
        "textToColumns", "trimWhitespace", "deleteDuplicates", "randomizeRange", "updateDeveloperMetadata",
        "deleteDeveloperMetadata", "addSlicer", "updateSlicerSpec", "addDataSource", "updateDataSource",
        "deleteDataSource", "refreshDataSource", "cancelDataSourceRefresh", "addTable", "updateTable",
        "deleteTable",
    }
)  # fmt: skip


# --- helpers --------------------------------------------------------------------------------


def _bounds_from_grid(grid: dict[str, Any]) -> a1.Bounds:
    return a1.Bounds(
        grid.get("startRowIndex"),
        grid.get("endRowIndex"),
        grid.get("startColumnIndex"),
        grid.get("endColumnIndex"),
    )


def _extended_value(value: Scalar) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": value}
    text = str(value)
    if text in _ERROR_TYPES:
        return {"errorValue": {"type": _ERROR_TYPES[text], "message": text}}
    return {"stringValue": text}


def _from_extended(value: dict[str, Any] | None) -> tuple[Scalar, str | None]:
    if not value:
        return None, None
    if "formulaValue" in value:
        return None, str(value["formulaValue"])
    if "numberValue" in value:
        return cells.normalize_number(float(value["numberValue"])), None
    if "boolValue" in value:
        return bool(value["boolValue"]), None
    if "stringValue" in value:
        return str(value["stringValue"]) or None, None
    return None, None


def _as_rows(values: Any, major: str | None) -> list[list[Any]]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
        raise bad_request("Invalid values: expected a list of lists (ListValue).")
    if major != "COLUMNS":
        return values
    height = max((len(col) for col in values), default=0)
    return [[col[r] if r < len(col) else None for col in values] for r in range(height)]


def _trim(grid: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in grid:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def iter_cells(sheet: Sheet) -> Iterator[tuple[int, int, Cell]]:
    """All stored cells in row-major order (for test inspection)."""
    for r, c in sorted(sheet.cells):
        yield r, c, sheet.cells[(r, c)]
