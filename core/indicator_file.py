"""Indicator files (CSV or XLSX) parsed and checked row by row, without touching the database.

    rows = parse_indicator_file(content, "indicators-2025.xlsx", rules, known_agencies)

Long format, one value a row: `agency, period, input, value` and an optional `kind` (`central`
or `local`) for agencies the database does not know (on one of their rows at least). A file
with any problem gives no rows:
`IndicatorFileError.problems` lists every problem as `file:line: what is wrong`, so a person
can fix the file in one go. The caller says which inputs exist and their ranges (`rules`: the
inputs the shipped methodologies read) and which agencies exist (code -> kind).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from core.periods import PeriodError, parse_period

REQUIRED_COLUMNS = ("agency", "period", "input", "value")
OPTIONAL_COLUMNS = ("kind",)
KINDS = ("central", "local")
MAX_CODE = 64
MAX_PROBLEMS = 200  # a wholly wrong file would otherwise print thousands of lines


@dataclass(frozen=True)
class InputRule:
    """What values an input accepts: within [low, high], whole numbers only for counts."""

    low: float
    high: float
    whole: bool = False


@dataclass(frozen=True)
class IndicatorRow:
    line: int
    agency: str
    period: str
    input: str
    value: float
    kind: str | None


@dataclass(frozen=True)
class FileProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class IndicatorFileError(ValueError):
    """A file that cannot be imported; `problems` says where and why."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def is_xlsx(filename: str, content: bytes) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or content[:2] == b"PK"


def _csv_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text = content.decode("utf-8-sig")  # Excel writes a BOM in front of UTF-8 CSV
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if cell is None else _cell_text(cell) for cell in row]
    finally:
        book.close()


def _cell_text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2**53:
        return str(int(cell))
    return str(cell)


def read_rows(content: bytes, filename: str) -> list[tuple[int, list[str]]]:
    """Every row of a CSV or XLSX file with its line number, cells stripped (or the file's one
    problem as IndicatorFileError). Shared by the indicator and the appeals imports."""
    try:
        lines = _xlsx_lines(content) if is_xlsx(filename, content) else _csv_lines(content)
        return [(number, [cell.strip() for cell in row]) for number, row in lines]
    except UnicodeDecodeError:
        problem = "the file is not UTF-8 text; save the CSV as UTF-8 or upload an XLSX"
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        problem = f"the file cannot be read as XLSX ({type(error).__name__}); save it again"
    except csv.Error as error:
        problem = f"the file cannot be read as CSV: {error}"
    raise IndicatorFileError([FileProblem(filename, 1, problem)])


def _header(filename: str, number: int, row: list[str]) -> tuple[dict[str, int], list[FileProblem]]:
    names = [cell.lower() for cell in row]
    columns: dict[str, int] = {}
    problems = []
    for position, name in enumerate(names):
        if not name:
            continue
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            problems.append(
                FileProblem(
                    filename,
                    number,
                    f"unknown column {row[position]!r}; the columns are "
                    "agency, period, input, value and optionally kind",
                )
            )
        elif name in columns:
            problems.append(FileProblem(filename, number, f"column {name!r} appears twice"))
        else:
            columns[name] = position
    absent = [name for name in REQUIRED_COLUMNS if name not in columns]
    if absent:
        problems.append(
            FileProblem(
                filename,
                number,
                f"the header lacks {', '.join(absent)}; "
                "the first row must name the columns agency, period, input, value (kind optional)",
            )
        )
    return columns, problems


def _number(text: str) -> float | None:
    try:
        value = float(text.replace("\u00a0", "").replace(" ", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _unit_text(rule: InputRule) -> str:
    if rule.whole:
        return "a whole number of at least 0"
    return f"a number from {rule.low:g} to {rule.high:g}"


def parse_indicator_file(
    content: bytes,
    filename: str,
    rules: Mapping[str, InputRule],
    known_agencies: Mapping[str, str],
) -> list[IndicatorRow]:
    """The rows of an indicator file, or IndicatorFileError with every problem found."""
    lines = [(number, row) for number, row in read_rows(content, filename) if any(row)]
    if not lines:
        raise IndicatorFileError([FileProblem(filename, 1, "the file is empty")])
    header_line, header = lines[0]
    columns, problems = _header(filename, header_line, header)
    if problems:
        raise IndicatorFileError(problems)

    def cell(row: list[str], name: str) -> str:
        position = columns.get(name)
        return row[position] if position is not None and position < len(row) else ""

    rows: list[IndicatorRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    kinds_in_file: dict[str, tuple[str, int]] = {}
    unkinded: dict[str, int] = {}  # agencies unknown to the database, first line without a kind
    for number, row in lines[1:]:

        def problem(message: str, line: int = number) -> None:
            problems.append(FileProblem(filename, line, message))

        agency, period_text, name = cell(row, "agency"), cell(row, "period"), cell(row, "input")
        value_text, kind = cell(row, "value"), cell(row, "kind").lower() or None
        bad = len(problems)
        if not agency:
            problem("agency is empty")
        elif len(agency) > MAX_CODE:
            problem(f"agency code is longer than {MAX_CODE} characters")
        period = None
        try:
            period = parse_period(period_text).name
        except PeriodError as error:
            problem(str(error))
        rule = rules.get(name)
        if rule is None:
            close = difflib.get_close_matches(name, list(rules), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem(f"unknown input {name!r}{hint} (docs/inputs.md lists the inputs)")
        value = _number(value_text)
        if value is None:
            problem(f"value {value_text!r} is not a number")
        elif rule is not None and (
            not rule.low <= value <= rule.high or (rule.whole and not value.is_integer())
        ):
            problem(f"{name} must be {_unit_text(rule)}, not {value_text}")
        if kind is not None and kind not in KINDS:
            problem(f"kind {kind!r} is not central or local")
        elif agency in known_agencies:
            if kind is not None and kind != known_agencies[agency]:
                problem(
                    f"agency {agency!r} is {known_agencies[agency]} in the database, "
                    f"the file says {kind}"
                )
        elif agency and kind is None:
            unkinded.setdefault(agency, number)
        if agency and kind in KINDS:
            earlier = kinds_in_file.setdefault(agency, (kind, number))
            if earlier[0] != kind:
                problem(f"agency {agency!r} is {earlier[0]} on line {earlier[1]}, {kind} here")
        if period is not None and agency and rule is not None:
            key = (agency, period, name)
            if key in seen:
                problem(f"{agency} {period} {name} is given already on line {seen[key]}")
            else:
                seen[key] = number
        if len(problems) == bad and value is not None and period is not None and rule:
            rows.append(IndicatorRow(number, agency, period, name, value, kind))
        if len(problems) >= MAX_PROBLEMS:
            problem("too many problems; fix these and import again")
            break
    for agency, number in unkinded.items():
        if agency not in kinds_in_file:
            problems.append(
                FileProblem(
                    filename,
                    number,
                    f"agency {agency!r} is not in the database: give its kind (central or "
                    "local) in a kind column, on one of its rows at least",
                )
            )
    problems.sort(key=lambda problem: problem.line)
    if not problems and not rows:
        problems.append(FileProblem(filename, header_line, "the file has a header but no rows"))
    if problems:
        raise IndicatorFileError(problems)
    return rows
