"""Generate templates/okr_tracker.xlsx, the built-in tracker template.

The template is the tracker's styling: header rows, column widths, number formats, frozen
panes, status colours, progress data bars and the Dashboard chart. sheetsync fills it
with data and keeps all of that, so restyling the tracker means editing a copy of this
file (or this script). Each table's header is marked with a defined name
`sheetsync_<key>`; sheetsync copies a table's first data row style down to every row.

    python scripts/make_tracker_template.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.line import LineProperties
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.formatting.rule import CellIsRule, DataBarRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sheetsync.core import theme  # noqa: E402
from sheetsync.core import tracker as t  # noqa: E402

OUTPUT = ROOT / "templates" / "okr_tracker.xlsx"

# A calm palette: slate text, soft blue accents, pale status fills with darker text.
FONT = "Calibri"
INK = "1F2937"
MUTED = "6B7280"
RULE = "E5E7EB"
HEADER_FILL = "EEF2F7"
HEADER_RULE = "9AA8B8"
ACCENT = "4C78C8"
BAR = "8EAEE6"  # lighter than ACCENT: the figure stays readable on top of its bar
EXPECTED = "C3CAD3"

STATUS_STYLES = theme.STATUS_COLORS  # the statuses' fills and text colours, shared with the digest

PERCENT = "0%"
SIGNED_POINTS = theme.signed_format('0.0" pts"')  # changes in progress points
DATE = theme.DATE_FORMAT
DATETIME = theme.DATETIME_FORMAT

thin = Side(style="thin", color=RULE)
HEADER_FONT = Font(name=FONT, size=10, bold=True, color=INK)
HEADER_FILLING = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
HEADER_BORDER = Border(bottom=Side(style="medium", color=HEADER_RULE))
BODY_FONT = Font(name=FONT, size=10, color=INK)
BODY_BORDER = Border(bottom=thin)
OWNER_FILL = "FFFBEA"
OWNER_FILLING = PatternFill("solid", start_color=OWNER_FILL, end_color=OWNER_FILL)
CONFIDENCES = ("on_track", "at_risk", "off_track")


def header(ws: Worksheet, table: t.Table, wrap: bool = True) -> None:
    row, col = table.anchor
    for offset, label in enumerate(table.header):
        cell = ws.cell(row, col + offset, label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILLING
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(vertical="center", wrap_text=wrap)
    ws.row_dimensions[row].height = 30


def body(ws: Worksheet, row: int, col: int, formats: dict[int, str], width: int,
         center: tuple[int, ...] = (), wrap: tuple[int, ...] = ()) -> None:
    """Style one data row: the row sheetsync copies down."""
    for offset in range(width):
        cell = ws.cell(row, col + offset)
        cell.font = BODY_FONT
        cell.border = BODY_BORDER
        cell.alignment = Alignment(
            vertical="top" if wrap else "center",
            horizontal="center" if offset in center else None,
            wrap_text=offset in wrap or None,
        )
        if offset in formats:
            cell.number_format = formats[offset]


def widths(ws: Worksheet, values: list[float]) -> None:
    for index, value in enumerate(values, start=1):
        ws.column_dimensions[get_column_letter(index)].width = value


def name(wb: Workbook, ws: Worksheet, table: t.Table) -> None:
    row, col = table.anchor
    span = max(len(table.header), 1)
    ref = f"'{ws.title}'!${get_column_letter(col)}${row}:${get_column_letter(col + span - 1)}${row}"
    wb.defined_names[f"sheetsync_{table.key}"] = DefinedName(f"sheetsync_{table.key}", attr_text=ref)


def status_rules(ws: Worksheet, ref: str, statuses: tuple[str, ...] = tuple(STATUS_STYLES)) -> None:
    for status in statuses:
        fill, ink = STATUS_STYLES[status].fill, STATUS_STYLES[status].ink
        label = theme.cell_label(status)
        ws.conditional_formatting.add(ref, CellIsRule(
            operator="equal", formula=[f'"{label}"'],
            fill=PatternFill("solid", start_color=fill, end_color=fill, bgColor=fill),
            font=Font(color=ink, bold=True),
        ))


def change_rules(ws: Worksheet, ref: str) -> None:
    """Green when progress moved forward since last week, red when it slipped back."""
    ws.conditional_formatting.add(ref, CellIsRule(operator="greaterThan", formula=["0.0005"],
                                                  font=Font(color=theme.STATUS_COLORS["on_track"].ink)))
    ws.conditional_formatting.add(ref, CellIsRule(operator="lessThan", formula=["-0.0005"],
                                                  font=Font(color=theme.STATUS_COLORS["off_track"].ink)))


def progress_bar(ws: Worksheet, ref: str) -> None:
    ws.conditional_formatting.add(ref, DataBarRule(
        start_type="num", start_value=0, end_type="num", end_value=1, color=BAR, showValue=True,
    ))


def table_sheet(wb: Workbook, title: str, table: t.Table, col_widths: list[float], formats: dict[int, str],
                freeze: str, center: tuple[int, ...] = (), wrap: tuple[int, ...] = ()) -> Worksheet:
    ws = wb.create_sheet(title)
    ws.sheet_properties.tabColor = ACCENT if title == "Key Results" else "9AA8B8"
    header(ws, table)
    body(ws, table.first_data_row, table.anchor[1], formats, len(table.header), center, wrap)
    widths(ws, col_widths)
    ws.freeze_panes = freeze
    last = get_column_letter(table.anchor[1] + len(table.header) - 1)
    ws.auto_filter.ref = f"A{table.anchor[0]}:{last}{table.first_data_row}"
    ws.sheet_view.zoomScale = 110
    landscape(ws)
    name(wb, ws, table)
    return ws


def landscape(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


def column(table: t.Table, label: str) -> int:
    return table.header.index(label)


def cell_ref(table: t.Table, label: str) -> str:
    letter = get_column_letter(table.anchor[1] + column(table, label))
    return f"{letter}{table.first_data_row}"


def dashboard(wb: Workbook, ws: Worksheet) -> None:
    ws.title = "Dashboard"
    ws.sheet_view.showGridLines = False
    ws.sheet_view.zoomScale = 110
    ws.sheet_properties.tabColor = INK
    title = t.Table("title", (), (), t.TITLE_ANCHOR)
    facts = t.Table("facts", t.FACTS_HEADER, (), t.FACTS_ANCHOR)
    counts = t.Table("status_counts", t.COUNTS_HEADER, (), t.COUNTS_ANCHOR)
    objectives = t.Table("objectives", t.OBJECTIVE_HEADER, (), t.OBJECTIVES_ANCHOR)

    row, col = title.anchor
    ws.cell(row, col).font = Font(name=FONT, size=20, bold=True, color=INK)
    ws.cell(row, col).alignment = Alignment(vertical="center")
    ws.row_dimensions[row].height = 34
    ws.cell(row + 1, col).font = Font(name=FONT, size=11, color=MUTED)
    ws.row_dimensions[row + 1].height = 20
    name(wb, ws, title)

    for block in (facts, counts):
        header(ws, block, wrap=False)
        ws.row_dimensions[block.anchor[0]].height = 22
        name(wb, ws, block)
    r, c = facts.first_data_row, facts.anchor[1]
    ws.cell(r, c).font = Font(name=FONT, size=10, color=MUTED)
    ws.cell(r, c).border = BODY_BORDER
    ws.cell(r, c + 1).font = Font(name=FONT, size=11, bold=True, color=INK)
    ws.cell(r, c + 1).border = BODY_BORDER
    ws.cell(r, c + 1).alignment = Alignment(horizontal="left")
    for offset in range(1, 8):
        ws.row_dimensions[r + offset].height = 18
    ws.row_dimensions[r].height = 18
    # "Period elapsed" and "Overall progress" (the 3rd and 4th facts) get a bar of their own.
    progress_bar(ws, f"{get_column_letter(c + 1)}{r + 2}:{get_column_letter(c + 1)}{r + 3}")

    body(ws, counts.first_data_row, counts.anchor[1], {1: "0", 2: PERCENT}, len(counts.header), center=(0,))
    status_rules(ws, cell_ref(counts, "Key results by status"), ("done", "on_track", "at_risk", "off_track",
                                                                  "no_data"))

    header(ws, objectives)
    body(ws, objectives.first_data_row, objectives.anchor[1],
         {4: PERCENT, 5: PERCENT, 7: SIGNED_POINTS, 10: "0.00"}, len(objectives.header), center=(6, 8, 9, 10))
    ws.row_dimensions[objectives.first_data_row].height = 20
    status_rules(ws, cell_ref(objectives, "Status"))
    progress_bar(ws, cell_ref(objectives, "Progress"))
    change_rules(ws, cell_ref(objectives, "Change since last week"))
    name(wb, ws, objectives)
    widths(ws, [24, 44, 18, 22, 12, 11, 12, 13, 16, 11, 8])
    chart(ws, objectives)
    landscape(ws)


def chart(ws: Worksheet, objectives: t.Table) -> None:
    """Horizontal bars: each objective's progress next to the expected pace."""
    data_row = objectives.first_data_row
    col = objectives.anchor[1]
    bars = BarChart()
    bars.type = "bar"
    bars.grouping = "clustered"
    bars.title = _title("Objective progress against the expected pace")
    bars.style = 2
    bars.gapWidth = 60
    bars.overlap = -10
    for label, color in (("Progress", ACCENT), ("Expected", EXPECTED)):
        index = col + column(objectives, label)
        bars.add_data(Reference(ws, min_col=index, min_row=data_row - 1, max_row=data_row), titles_from_data=True)
        series = bars.series[-1]
        series.graphicalProperties = GraphicalProperties(solidFill=color, ln=LineProperties(noFill=True))
    bars.series[0].dLbls = DataLabelList(showVal=True, numFmt="0%")
    for flag in ("showSerName", "showCatName", "showLegendKey", "showPercent"):
        setattr(bars.series[0].dLbls, flag, False)
    bars.series[0].dLbls.txPr = _text(9, MUTED)
    titles = Reference(ws, min_col=col + column(objectives, "Title"), min_row=data_row, max_row=data_row)
    for series in bars.series:  # text categories: a strRef (set_categories would make a numRef)
        series.cat = AxDataSource(strRef=StrRef(f=str(titles)))
    bars.x_axis.scaling.orientation = "maxMin"  # first objective on top
    bars.x_axis.delete = False
    bars.x_axis.txPr = _text(9, INK)
    bars.x_axis.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill=RULE))
    bars.y_axis.delete = False
    bars.y_axis.scaling.min = 0
    bars.y_axis.scaling.max = 1
    bars.y_axis.majorUnit = 0.25
    bars.y_axis.number_format = "0%"
    bars.y_axis.crosses = "max"  # keeps the % axis at the bottom when categories run top-down
    bars.y_axis.txPr = _text(9, MUTED)
    bars.y_axis.majorGridlines.spPr = GraphicalProperties(ln=LineProperties(solidFill=RULE))
    bars.y_axis.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))
    bars.legend.position = "b"
    bars.legend.txPr = _text(9, MUTED)
    bars.layout = Layout(manualLayout=ManualLayout(x=0.02, y=0.12, w=0.96, h=0.72))
    bars.width = 17.5
    bars.height = 6.6
    anchor_row, anchor_col = t.CHART_ANCHOR
    ws.add_chart(bars, f"{get_column_letter(anchor_col)}{anchor_row}")


def _title(words: str) -> Title:
    props = CharacterProperties(sz=1100, b=True, solidFill=INK)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=words)])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def _text(size: int, color: str) -> RichText:
    props = CharacterProperties(sz=size * 100, solidFill=color)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)
    paragraph.r = []  # openpyxl adds an empty text run by default
    return RichText(p=[paragraph])


def build() -> Workbook:
    wb = Workbook()
    dashboard(wb, wb.active)

    kr = t.Table("key_results", t.KR_HEADER, ())
    ws = table_sheet(
        wb, "Key Results", kr,
        [10, 11, 44, 18, 16, 11, 11, 11, 13, 10, 11, 12, 8, 11, 42, 11, 42, 11, 8, 9],
        {8: PERCENT, 9: PERCENT, 11: SIGNED_POINTS, 12: "0.##", 13: DATE, 17: DATE, 18: "0.00"},
        freeze="D2", center=(10, 15, 18, 19),
    )
    status_rules(ws, cell_ref(kr, "Status"))
    status_rules(ws, cell_ref(kr, "Confidence"), CONFIDENCES)
    progress_bar(ws, cell_ref(kr, "Progress"))
    change_rules(ws, cell_ref(kr, "Change since last week"))

    checkins = t.Table("checkins", t.CHECKIN_HEADER, ())
    ws = table_sheet(
        wb, t.CHECKINS_TAB, checkins, [10, 10, 11, 40, 16, 11, 11, 36, 12, 48, 10, 11], {11: DATE},
        freeze="E2", center=(5, 8), wrap=(3, 7, 9),
    )
    ws.sheet_properties.tabColor = ACCENT
    for label in ("Confidence", "Comment", "Value", "Date"):  # the owner's cells: pale yellow, "type here"
        ws.cell(checkins.first_data_row, checkins.anchor[1] + column(checkins, label)).fill = OWNER_FILLING
    status_rules(ws, cell_ref(checkins, "Status"))
    status_rules(ws, cell_ref(checkins, "Confidence"), CONFIDENCES)

    kpis = t.Table("kpis", t.KPI_HEADER, ())
    ws = table_sheet(
        wb, "KPIs", kpis, [17, 30, 12, 7, 11, 11, 12, 11, 12, 46, 21, 12, 40], {}, freeze="C2", center=(3, 5),
    )
    ws.cell(kpis.first_data_row, kpis.anchor[1] + column(kpis, "Trend")).font = Font(
        name="DejaVu Sans", size=10, color=ACCENT)
    ws.cell(kpis.first_data_row, kpis.anchor[1] + column(kpis, "Recent")).font = Font(
        name=FONT, size=9, color=MUTED)
    status_rules(ws, cell_ref(kpis, "Status"))

    history = t.Table("history", t.HISTORY_HEADER, ())
    ws = table_sheet(
        wb, "History", history, [10, 11, 11, 17, 40, 10, 16, 12, 10, 10, 11, 11, 42],
        {1: DATE, 8: PERCENT, 9: PERCENT}, freeze="A2", center=(1, 10, 11),
    )
    status_rules(ws, cell_ref(history, "Status"))
    status_rules(ws, cell_ref(history, "Confidence"), CONFIDENCES)

    sources = t.Table("sources", t.SOURCE_HEADER, ())
    ws = table_sheet(
        wb, "Sources", sources, [14, 8, 48, 12, 9, 16, 11, 60, 48], {4: "#,##0", 5: DATETIME},
        freeze="B2", center=(6,), wrap=(2, 7, 8),
    )
    status_rules(ws, cell_ref(sources, "Status"), ("ok", "warning", "failed"))

    wb.properties.creator = "sheetsync"
    wb.properties.title = "OKR tracker"
    wb.active = 0
    return wb


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUTPUT
    out.parent.mkdir(parents=True, exist_ok=True)
    build().save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
