"""Tables of the admin pages, and their exports. A page builds its tables once; the same handler
renders them as HTML or, with `?export=NAME&format=csv|xlsx`, sends one as a file, so an export
is authorised exactly as its page and shows exactly what the page shows."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from admin.audit import Action
from admin.web import words
from admin.web.keys import audit, config_of, lang_of
from admin.web.render import SECURITY_HEADERS, message_page
from core.cell_text import xlsx_cell
from core.language import TIME_ZONE

ALMATY = ZoneInfo(TIME_ZONE)
CELL_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # message key
    kind: str = "text"  # text | int | share | interval | datetime | date | points
    # | points_interval | int_range (low, high whole numbers: a rank range)
    # | grade (value: (score, label), sorts by the score) | change (signed rank change)
    sortable: bool = False


@dataclass
class Table:
    name: str
    title: str  # message key
    columns: list[Column]
    rows: list[dict[str, Any]]
    links: dict[str, str] = field(default_factory=dict)  # column key -> row key with its URL
    sort: str | None = None
    descending: bool = False

    def sorted_by(self, key: str | None, descending: bool) -> Table:
        column = next((c for c in self.columns if c.key == key and c.sortable), None)
        if column is None:
            return self
        present = [r for r in self.rows if _sort_value(r.get(column.key)) is not None]
        absent = [r for r in self.rows if _sort_value(r.get(column.key)) is None]
        present.sort(key=lambda r: _sort_value(r.get(column.key)), reverse=descending)
        self.rows, self.sort, self.descending = present + absent, key, descending
        return self


def _sort_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return value[0]
    if isinstance(value, str):
        return value.casefold()
    return value


def _cells(column: Column, value: Any, lang: str) -> list[Any]:
    """One cell as the export writes it (an interval is two cells): numbers stay numbers,
    times are Almaty's clock (the header says so) as the spreadsheet's own dates, a yes or no
    is a word in the reader's language."""
    if isinstance(value, bool):
        return [words.say("word_yes" if value else "word_no", lang)]
    if column.kind == "interval":
        return [None, None] if value is None else [round(value[0], 4), round(value[1], 4)]
    if column.kind in ("points_interval", "int_range"):
        return [None, None] if value is None else [value[0], value[1]]
    if column.kind == "grade":
        return [None if value is None else value[1]]
    if column.kind == "share":
        return [None if value is None else round(value, 4)]
    if column.kind == "datetime" and isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        # spreadsheets keep no time zone: Almaty's wall clock, named in the header
        return [aware.astimezone(ALMATY).replace(tzinfo=None, microsecond=0)]
    return [value]


def _text(value: Any) -> Any:
    """A CSV cell: dates and times in ISO order, which every spreadsheet reads as dates."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _headers(column: Column, lang: str) -> list[str]:
    label = words.say(column.label, lang)
    if column.kind == "datetime":
        label = f"{label} ({words.say('time_zone_almaty', lang)})"
    if column.kind == "int_range":
        return [
            f"{label}: {words.say('range_low', lang)}",
            f"{label}: {words.say('range_high', lang)}",
        ]
    if column.kind in ("interval", "points_interval"):
        return [
            f"{label}: {words.say('interval_low', lang)}",
            f"{label}: {words.say('interval_high', lang)}",
        ]
    return [label]


def as_csv(table: Table, lang: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Cyrillic and Kazakh letters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([h for c in table.columns for h in _headers(c, lang)])
    for row in table.rows:
        writer.writerow(
            [
                _csv_safe(_text(cell))
                for c in table.columns
                for cell in _cells(c, row.get(c.key), lang)
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def as_xlsx(table: Table, lang: str) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = re.sub(r"[\[\]\*\?/\\:]", " ", words.say(table.title, lang))[:31] or table.name
    headers = [h for c in table.columns for h in _headers(c, lang)]
    sheet.append([xlsx_cell(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    percent_columns: list[int] = []
    formats: dict[int, str] = {}
    index = 1
    for column in table.columns:
        width = 2 if column.kind in ("interval", "points_interval", "int_range") else 1
        if column.kind in ("share", "interval"):
            percent_columns.extend(range(index, index + width))
        if column.kind in CELL_FORMATS:
            formats[index] = CELL_FORMATS[column.kind]
        index += width
    for row in table.rows:
        sheet.append(
            [xlsx_cell(cell) for c in table.columns for cell in _cells(c, row.get(c.key), lang)]
        )
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            # a text starting with "=" (a citizen's complaint, say) stays text, never a formula
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    for column_index, number_format in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column_index, max_col=column_index):
            cell.number_format = number_format
    for column_index in percent_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column_index, max_col=column_index):
            cell.number_format = "0.0%"
    for position, header in enumerate(headers, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = min(60, max(12, len(header) + 2))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def page_or_export(
    request: web.Request,
    tables: list[Table],
    render: Callable[[], web.StreamResponse],
) -> web.StreamResponse:
    """The page, or one of its tables as a file when the query asks for an export (audited)."""
    name = request.query.get("export")
    if name is None:
        return render()
    table = next((t for t in tables if t.name == name), None)
    fmt = request.query.get("format", "csv")
    if table is None or fmt not in FORMATS:
        return message_page(request, "export_unknown", 404)
    lang = lang_of(request)
    body = as_csv(table, lang) if fmt == "csv" else as_xlsx(table, lang)
    config = config_of(request)
    query = {k: v for k, v in request.query.items() if k not in ("export", "format")}
    async with config.session_factory() as db:
        details = {"page": request.path, "table": table.name, "format": fmt}
        audit(request, db, Action.EXPORT, details | {"rows": len(table.rows), "query": query})
        await db.commit()
    stamp = config.clock().strftime("%Y%m%d")
    filename = f"qanagat-{table.name}-{stamp}.{fmt}"
    response = web.Response(
        body=body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
    response.headers.update(
        {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}
    )
    return response


def export_links(request: web.Request, table: Table) -> dict[str, str]:
    links = {}
    for fmt in FORMATS:
        links[fmt] = str(request.rel_url.update_query(export=table.name, format=fmt))
    return links
