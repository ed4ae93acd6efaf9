"""Excel as staff expect it: a title row saying what and for where and when, bold headers that
stay in view, columns wide enough for Chinese text, amounts as numbers (so that they can be
summed) shown with two decimals, and a Chinese file name with the date."""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from decimal import Decimal

from flask import send_file
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"


def display_width(value) -> int:
    """Columns a value takes in Excel: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value or ""))


def add_sheet(book: Workbook, name: str, headers: list[str], rows, *, title: str | None = None,
              money: tuple[int, ...] = ()) -> None:
    """A sheet: `title` (one merged line above the headers), `headers` in bold and frozen, then
    `rows`. Columns whose indexes are in `money` hold amounts: numbers, shown as 1,234.50."""
    sheet = book.create_sheet(name)
    if title:
        sheet.append([_text(title)])
        sheet["A1"].data_type = "s"
        sheet.merge_cells(start_row=1, start_column=1, end_row=1,
                          end_column=max(1, len(headers)))
        sheet["A1"].font = Font(bold=True, size=13)
        sheet["A1"].alignment = Alignment(vertical="center")
        sheet.row_dimensions[1].height = 24
    sheet.append(headers)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    widths = [display_width(h) for h in headers]
    for row in rows:
        values = [float(v) if i in money and isinstance(v, (Decimal, str)) and v not in ("",)
                  else _text(v) for i, v in enumerate(row)]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # text that starts with "=" is text, never a formula
                cell.data_type = "s"
        for i, value in enumerate(values[:len(widths)]):
            widths[i] = max(widths[i], display_width(value))
        for i in money:
            if i < len(values):
                sheet.cell(sheet.max_row, i + 1).number_format = MONEY_FORMAT
    for i, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)


def _text(value):
    """Strings without the control characters Excel files cannot hold (a pasted line break)."""
    return ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value


def new_book() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    return book


def saved(book: Workbook) -> io.BytesIO:
    stream = io.BytesIO()
    book.save(stream)
    stream.seek(0)
    return stream


def file_name(what: str, where: str | None = None, day: date | None = None) -> str:
    """专栏1指标-站前区-2026-12-06.xlsx"""
    from portal.core.db import SHANGHAI, utcnow

    day = day or utcnow().astimezone(SHANGHAI).date()
    parts = [what, where, day.isoformat()]
    return "-".join(p for p in parts if p).replace("/", "_") + ".xlsx"


def xlsx_response(stream, name: str):
    return send_file(stream, as_attachment=True, download_name=name, mimetype=XLSX)


def caption(what: str, where: str | None = None) -> str:
    """The title row: what, for where, made when."""
    from portal.core.db import SHANGHAI, utcnow

    made = utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return f"{what}（{where}）　导出时间：{made}" if where else f"{what}　导出时间：{made}"
