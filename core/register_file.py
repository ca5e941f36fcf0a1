"""What every register export Qanagat imports shares (the appeals register, the open-data
catalogue): the file read as CSV or XLSX (core.indicator_file), a header of named columns in any
common spelling, one record a line with an external id unique in the file and a known agency,
every problem collected as `file:line: what is wrong`, and nothing returned unless all is well.

    register = RegisterFile(content, filename, HEADER, REQUIRED, OPTIONAL, AppealFileError)
    for line in register.lines():
        external_id, agency = register.identity(line, "appeal", MAX_CODE, known_agencies)
        ...  # line.cell("received"), line.problem("..."), and if line.clean: keep the row
    return register.result(rows)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from core.indicator_file import MAX_PROBLEMS, FileProblem, IndicatorFileError, read_rows

Row = TypeVar("Row")
_DATE_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def words(text: str) -> str:
    """A cell as its words: lower case, ё as е, underscores, hyphens and punctuation as spaces,
    so that "Date-received", "date_received" and "Дата получения:" match their spelling."""
    lowered = text.lower().replace("ё", "е").replace("_", " ").replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", lowered).split())


def parse_date(text: str) -> date | None:
    """`2025-03-31`, `31.03.2025`, or an XLSX date cell (`2025-03-31 00:00:00`); else None."""
    text = text.strip()
    dotted = _DATE_DOTTED.match(text)
    try:
        if dotted:
            return date(int(dotted[3]), int(dotted[2]), int(dotted[1]))
        if len(text) >= 10 and re.match(r"^\d{4}-\d{2}-\d{2}", text):
            if len(text) > 10 and text[10] not in " T":
                return None
            return date.fromisoformat(text[:10])
    except ValueError:
        return None
    return None


@dataclass
class RegisterLine:
    """One record of the file: its line number and cells, and the problems found on it."""

    register: RegisterFile
    number: int
    cells: list[str]
    _problems_before: int = field(default=0)

    def cell(self, name: str) -> str:
        position = self.register.columns.get(name)
        return self.cells[position] if position is not None and position < len(self.cells) else ""

    def problem(self, message: str) -> None:
        self.register.problems.append(FileProblem(self.register.filename, self.number, message))

    @property
    def clean(self) -> bool:
        """No problem was found on this line (so far)."""
        return len(self.register.problems) == self._problems_before


class RegisterFile:
    """A register export read and its header checked; raises `error` (with every problem) for a
    file that cannot be read, is empty, or has a bad header."""

    def __init__(
        self,
        content: bytes,
        filename: str,
        header: Mapping[str, str],
        required: Sequence[str],
        optional: Sequence[str],
        error: type[IndicatorFileError],
    ) -> None:
        self.filename = filename
        self.problems: list[FileProblem] = []
        self._error = error
        self._seen: dict[str, int] = {}
        try:
            lines = [(number, row) for number, row in read_rows(content, filename) if any(row)]
        except IndicatorFileError as failure:
            raise error(failure.problems) from None
        if not lines:
            raise error([FileProblem(filename, 1, "the file is empty")])
        (self.header_line, cells), self._records = lines[0], lines[1:]
        self.columns: dict[str, int] = {}
        for position, cell in enumerate(cells):
            if not cell:
                continue
            column = header.get(words(cell))
            if column is None:
                self._problem(
                    self.header_line,
                    f"unknown column {cell!r}; the columns are {', '.join(required)} "
                    f"and optionally {', '.join(optional)}",
                )
            elif column in self.columns:
                self._problem(self.header_line, f"column {column!r} appears twice")
            else:
                self.columns[column] = position
        absent = [name for name in required if name not in self.columns]
        if absent:
            self._problem(self.header_line, f"the header lacks {', '.join(absent)}")
        if self.problems:
            raise error(self.problems)

    def _problem(self, line: int, message: str) -> None:
        self.problems.append(FileProblem(self.filename, line, message))

    def lines(self) -> Iterator[RegisterLine]:
        """The records after the header; stops once MAX_PROBLEMS problems are found."""
        for number, cells in self._records:
            yield RegisterLine(self, number, cells, len(self.problems))
            if len(self.problems) >= MAX_PROBLEMS:
                self._problem(number, "too many problems; fix these and import again")
                return

    def identity(
        self, line: RegisterLine, kind: str, max_length: int, known_agencies: Collection[str]
    ) -> tuple[str, str]:
        """The line's external id (non-empty, at most `max_length`, once in the file) and agency
        (a known code; a near miss is suggested), with a problem for each that is wrong."""
        external_id, agency = line.cell("external_id"), line.cell("agency")
        if not external_id:
            line.problem("external_id is empty")
        elif len(external_id) > max_length:
            line.problem(f"external_id is longer than {max_length} characters")
        elif external_id in self._seen:
            line.problem(
                f"{kind} {external_id!r} is given already on line {self._seen[external_id]}"
            )
        else:
            self._seen[external_id] = line.number
        if not agency:
            line.problem("agency is empty")
        elif agency not in known_agencies:
            close = difflib.get_close_matches(agency, list(known_agencies), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            line.problem(f"agency {agency!r} is not known{hint}")
        return external_id, agency

    def result(self, rows: list[Row]) -> list[Row]:
        """`rows` if the file had no problem and at least one record; else raises the error."""
        self.problems.sort(key=lambda item: item.line)
        if not self.problems and not rows:
            self._problem(self.header_line, "the file has a header but no rows")
        if self.problems:
            raise self._error(self.problems)
        return rows
