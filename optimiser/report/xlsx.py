"""The published workbook (openpyxl), formatted as an analyst would.

Sheets (named in the README):

``Localities``
    The locality table after disclosure control (CIN and CPP from 1 to the threshold shown as
    ``c``, with secondary suppression), and the county total row.
``Areas changing``
    Every area that gains or loses access against today's network, grouped by locality.
``Sites``
    Every site: kept, closed, new or not opened; hub or spoke; costs.
``Notes``
    Sources, method, which figures are modelled, disclosure control, licence attribution.

Each table sheet has a styled header row, frozen below the header, number formats (£, %,
thousands), column widths and an auto-filter. Text from input files is always stored as text,
never as a formula (a name starting with ``=`` stays a name). The file is deterministic: fixed
document dates and zip timestamps.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from optimiser.report.disclosure import SUPPRESSED

SHEETS = ("Localities", "Areas changing", "Sites", "Notes")

FORMATS = {
    "count": "#,##0",
    "int": "0",
    "percent": "0.0%",
    "decimal1": "0.0",
    "decimal2": "0.00",
    "money": "£#,##0",
    "text": "@",
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TOTAL_FONT = Font(bold=True)
TOTAL_BORDER = Border(top=Side(style="thin", color="000000"))
_FIXED_TIME = datetime(2000, 1, 1)


def _clean(text: object) -> str:
    """Text as Excel can hold it: control characters (a vertical tab pasted from Word, a NUL)
    become spaces instead of making openpyxl refuse the whole workbook."""
    return ILLEGAL_CHARACTERS_RE.sub(" ", str(text))


def _put(ws: Worksheet, row: int, col: int, value: object, kind: str = "text"):
    """Write one cell: numbers as numbers with their format, text always as text."""
    cell = ws.cell(row=row, column=col)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        cell.value = "n/a" if kind != "text" else ""
        cell.alignment = Alignment(horizontal="right")
        cell.data_type = "s"
        return cell
    if isinstance(value, (bool, np.bool_)):
        cell.value = "yes" if value else "no"
        cell.data_type = "s"
        return cell
    if isinstance(value, (int, float, np.integer, np.floating)) and kind != "text":
        cell.value = float(value) if isinstance(value, (float, np.floating)) else int(value)
        cell.number_format = FORMATS.get(kind, "General")
        return cell
    text = _clean(value)
    if kind != "text":
        try:  # published counts arrive as text ("17"); store them as numbers
            num = float(text.replace(",", ""))
        except ValueError:
            num = None
        if num is not None and text not in (SUPPRESSED, ""):
            cell.value = num
            cell.number_format = FORMATS.get(kind, "General")
            return cell
        cell.alignment = Alignment(horizontal="right")
    cell.value = text
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def write_table(ws: Worksheet, frame: pd.DataFrame, columns: Sequence[tuple[str, str, str]], *,
                total_rows: int = 0, widths: dict[str, float] | None = None) -> None:
    """Write a table: ``columns`` are (column in frame, header label, kind).

    The last ``total_rows`` rows are bold with a rule above.
    """
    for j, (_col, label, _kind) in enumerate(columns, start=1):
        c = ws.cell(row=1, column=j, value=_clean(label))
        c.data_type = "s"
        c.fill = HEADER_FILL
        c.font = HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="center",
                                horizontal="left" if _kind == "text" else "right")
    n = len(frame)
    for i, (_, row) in enumerate(frame.iterrows(), start=2):
        for j, (col, _label, kind) in enumerate(columns, start=1):
            cell = _put(ws, i, j, row[col], kind)
            if total_rows and i > n + 1 - total_rows:
                cell.font = TOTAL_FONT
                cell.border = TOTAL_BORDER
    ws.freeze_panes = "B2" if columns and columns[0][2] == "text" else "A2"
    ws.row_dimensions[1].height = 32
    if n:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n + 1 - total_rows}"
    for j, (col, label, kind) in enumerate(columns, start=1):
        if widths and col in widths:
            width = widths[col]
        elif kind == "text":
            longest = max([len(str(v)) for v in frame[col]] + [len(label) // 2, 8])
            width = min(45, longest + 2)
        else:
            width = max(11, min(18, len(label) // 2 + 4))
        ws.column_dimensions[get_column_letter(j)].width = width


def write_notes(ws: Worksheet, notes: Sequence[tuple[str, str]]) -> None:
    """The Notes sheet: a heading column and a wrapped text column."""
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    for c, label in enumerate(("Topic", "Note"), start=1):
        cell = ws.cell(row=1, column=c, value=_clean(label))
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
    for i, (head, text) in enumerate(notes, start=2):
        a = ws.cell(row=i, column=1, value=_clean(head))
        a.data_type = "s"
        a.font = Font(bold=True)
        a.alignment = Alignment(vertical="top")
        b = ws.cell(row=i, column=2, value=_clean(text))
        b.data_type = "s"
        b.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def deterministic_bytes(wb: Workbook) -> bytes:
    """Save a workbook with fixed dates and zip timestamps (same content, same bytes)."""
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME
    wb.properties.creator = "family-centre-optimiser"
    raw = io.BytesIO()
    wb.save(raw)
    raw.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the clock on save; pin it.
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, data)
    return out.getvalue()


def build_workbook(localities: pd.DataFrame, locality_columns: Sequence[tuple[str, str, str]],
                   areas_changing: pd.DataFrame, area_columns: Sequence[tuple[str, str, str]],
                   sites: pd.DataFrame, site_columns: Sequence[tuple[str, str, str]],
                   notes: Sequence[tuple[str, str]], *, empty_changes: str = "") -> bytes:
    """The four-sheet workbook as bytes.

    ``localities`` is the *published* table (after disclosure control) with the total row last.
    ``empty_changes`` is written under the header of "Areas changing" when no area changes.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[0]
    write_table(ws, localities, locality_columns, total_rows=1)
    changes = wb.create_sheet(SHEETS[1])
    write_table(changes, areas_changing, area_columns)
    if areas_changing.empty and empty_changes:
        cell = changes.cell(row=2, column=1, value=_clean(empty_changes))
        cell.data_type = "s"
        cell.font = Font(italic=True)
    write_table(wb.create_sheet(SHEETS[2]), sites, site_columns)
    write_notes(wb.create_sheet(SHEETS[3]), notes)
    return deterministic_bytes(wb)
