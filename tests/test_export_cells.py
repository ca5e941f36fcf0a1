"""What a spreadsheet user gets from an export: numbers as numbers, dates as dates on Almaty's
clock with the zone named in the header, yes and no as words in the reader's language."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from admin.web.tables import Column, Table, as_csv, as_xlsx


def _table() -> Table:
    return Table(
        "complaints",
        "table_complaints",
        [
            Column("received", "complaint_received", "datetime"),
            Column("deadline", "complaint_deadline", "date"),
            Column("rating", "complaint_rating", "int"),
            Column("share", "col_share_of_all", "share"),
            Column("overdue", "complaint_overdue_column"),
        ],
        [
            {
                "received": datetime(2026, 12, 7, 20, 30, 15, tzinfo=UTC),  # 8 Dec in Almaty
                "deadline": date(2026, 12, 29),
                "rating": 4,
                "share": 0.6143,
                "overdue": False,
            }
        ],
    )


def test_an_xlsx_export_has_typed_cells_in_almaty_time() -> None:
    sheet = load_workbook(io.BytesIO(as_xlsx(_table(), "ru"))).active
    assert sheet is not None
    header, row = list(sheet.iter_rows(values_only=True))
    assert header[0] == "Поступила (время Алматы)"
    assert row[0] == datetime(2026, 12, 8, 1, 30, 15)  # a date-time cell, UTC+5
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert row[1] == datetime(2026, 12, 29, 0, 0) and sheet["B2"].number_format == "yyyy-mm-dd"
    assert row[2] == 4 and row[3] == 0.6143  # numbers, not texts
    assert row[4] == "нет"


def test_a_csv_export_writes_iso_dates_and_words_in_the_readers_language() -> None:
    lines = list(csv.reader(io.StringIO(as_csv(_table(), "kk").decode("utf-8-sig"))))
    assert lines[0][0].endswith("(Алматы уақыты)")
    assert lines[1][:3] == ["2026-12-08 01:30:15", "2026-12-29", "4"]
    assert lines[1][4] == "жоқ"
