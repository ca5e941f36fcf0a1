"""Text as a spreadsheet cell can hold it. XLSX (XML 1.0) cannot store most control
characters: openpyxl refuses the whole file over one of them, so a single odd value (an
e-mail typed with a control character, say) would break an export for good."""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def xlsx_cell(value: Any) -> Any:
    """`value`, with the characters an XLSX cell cannot hold removed when it is text."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
