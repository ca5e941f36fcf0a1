"""Indicator files (CSV or XLSX) parsed and checked row by row, without touching the database.

    rows = parse_indicator_file(content, "indicators-2025.xlsx", rules, known_agencies)

Long format, one value a row: `agency, period, input, value` and an optional `kind` (`central`
or `local`) for agencies the database does not know (on one of their rows at least). A file
with any problem gives no rows:
`IndicatorFileError.problems` lists every problem as `file:line: what is wrong`, so a person
can fix the file in one go. The caller says which inputs exist and their ranges (`rules`: the
inputs the shipped methodologies read) and which agencies exist (code -> kind).

Each problem of an indicator file also carries a `key` (one of PROBLEM_TEXTS) and its
`params`, so a page can say it in the reader's language; `message` is the English text the
command line prints.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from core.periods import PeriodError, parse_period

REQUIRED_COLUMNS = ("agency", "period", "input", "value")
OPTIONAL_COLUMNS = ("kind",)
KINDS = ("central", "local")
MAX_CODE = 64
MAX_PROBLEMS = 200  # a wholly wrong file would otherwise print thousands of lines

# What can be wrong with an indicator file, in English (the command line's words). The admin
# has the same keys in kk, ru and en (`import_problem_KEY` in admin/web/messages.yaml).
PROBLEM_TEXTS = {
    "not_utf8": "the file is not UTF-8 text; save the CSV as UTF-8 or upload an XLSX",
    "not_xlsx": "the file cannot be read as XLSX ({error}); save it again",
    "not_csv": "the file cannot be read as CSV: {error}",
    "empty_file": "the file is empty",
    "unknown_column": (
        "unknown column '{column}'; "
        "the columns are agency, period, input, value and optionally kind"
    ),
    "column_twice": "column '{column}' appears twice",
    "header_lacks": (
        "the header lacks {columns}; "
        "the first row must name the columns agency, period, input, value (kind optional)"
    ),
    "agency_empty": "agency is empty",
    "agency_too_long": "agency code is longer than {max} characters",
    "period_invalid": (
        "'{period}' is not a period: write a year (2025), a quarter (2025-Q1) or a month (2025-03)"
    ),
    "input_unknown": "unknown input '{input}' (docs/inputs.md lists the inputs)",
    "input_unknown_close": (
        "unknown input '{input}'; did you mean '{close}'? (docs/inputs.md lists the inputs)"
    ),
    "value_not_number": (
        "value '{value}' is not a number: write it as 50.5 or 50,5, without thousands separators"
    ),
    "value_not_whole": "{input} must be a whole number of at least 0, not {value}",
    "value_out_of_range": "{input} must be a number from {low} to {high}, not {value}",
    "kind_unknown": "kind '{kind}' is not central or local",
    "kind_differs_from_database": (
        "agency '{agency}' is {known} in the database, the file says {kind}"
    ),
    "kind_differs_in_file": "agency '{agency}' is {earlier} on line {line}, {kind} here",
    "given_twice": "{agency} {period} {input} is given already on line {line}",
    "too_many_problems": "too many problems; fix these and import again",
    "agency_needs_kind": (
        "agency '{agency}' is not in the database: give its kind (central or local) in a kind "
        "column, on one of its rows at least"
    ),
    "no_rows": "the file has a header but no rows",
    # values each possible alone, impossible together (same agency and period)
    "late_above_reviewed": (
        "{agency} {period}: {input} is {value}, above {limit} {limit_value} on line {limit_line}: "
        "reviewed late cannot exceed reviewed (f ≤ p)"
    ),
    "upheld_above_reviewed": (
        "{agency} {period}: {input} is {value}, above {limit} {limit_value} on line {limit_line}: "
        "upheld by a court cannot exceed reviewed"
    ),
    "repeated_above_reviewed": (
        "{agency} {period}: {input} is {value}, above {limit} {limit_value} on line {limit_line}: "
        "repeated justified complaints cannot exceed reviewed"
    ),
    "resolved_above_due": (
        "{agency} {period}: {input} is {value}, above {limit} {limit_value} on line {limit_line}: "
        "resolved in time cannot exceed those due"
    ),
    "published_not_planned": (
        "{agency} {period}: open_data_published is {value} but open_data_planned is 0 on line "
        "{limit_line}: published data sets must have been planned (the score divides by the plan)"
    ),
}


# Inputs that cannot exceed another of the same agency and period: (input, limit, problem key).
AT_MOST = (
    ("complaints_late", "complaints_reviewed", "late_above_reviewed"),
    ("complaints_court_upheld", "complaints_reviewed", "upheld_above_reviewed"),
    ("complaints_repeat_justified", "complaints_reviewed", "repeated_above_reviewed"),
    ("dataset_problems_resolved_in_time", "dataset_problems_due", "resolved_above_due"),
)


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
    # Which problem it is (a key of PROBLEM_TEXTS) and what fills its text; "" for problems
    # of other files (appeals) that are said in English only.
    key: str = ""
    params: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    @classmethod
    def of(cls, file: str, line: int, key: str, /, **params: object) -> FileProblem:
        """A problem of PROBLEM_TEXTS, its English message filled in."""
        texts = {name: str(value) for name, value in params.items()}
        return cls(file, line, PROBLEM_TEXTS[key].format(**texts), key, texts)


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
        problem = FileProblem.of(filename, 1, "not_utf8")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        problem = FileProblem.of(filename, 1, "not_xlsx", error=type(error).__name__)
    except csv.Error as error:
        problem = FileProblem.of(filename, 1, "not_csv", error=error)
    raise IndicatorFileError([problem])


def _header(filename: str, number: int, row: list[str]) -> tuple[dict[str, int], list[FileProblem]]:
    names = [cell.lower() for cell in row]
    columns: dict[str, int] = {}
    problems = []
    for position, name in enumerate(names):
        if not name:
            continue
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            problems.append(
                FileProblem.of(filename, number, "unknown_column", column=row[position])
            )
        elif name in columns:
            problems.append(FileProblem.of(filename, number, "column_twice", column=name))
        else:
            columns[name] = position
    absent = [name for name in REQUIRED_COLUMNS if name not in columns]
    if absent:
        problems.append(FileProblem.of(filename, number, "header_lacks", columns=", ".join(absent)))
    return columns, problems


# 1,234: a thousands separator to an English spreadsheet, a decimal comma to a Russian one.
_AMBIGUOUS_COMMA = re.compile(r"[-+]?\d{1,3},\d{3}")


def _number(text: str) -> float | None:
    """A number as spreadsheets write it: 50.5, or 50,5 with the decimal comma Kazakh and
    Russian ones use; spaces between digit groups are ignored. 1,234 could be either, so it
    is not guessed."""
    compact = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if compact.count(",") == 1 and "." not in compact:
        if _AMBIGUOUS_COMMA.fullmatch(compact):
            return None
        compact = compact.replace(",", ".")
    try:
        value = float(compact)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def impossible_values(rows: list[IndicatorRow], filename: str) -> list[FileProblem]:
    """Values each possible alone but impossible together, per agency and period: more
    complaints late, upheld or repeated than reviewed, more resolved than due, data sets
    published where none were planned (the methodologies divide by the plan). Each names the
    agency, the input and both lines, and carries its key, so a page says it in its reader's
    language."""
    given = {(row.agency, row.period, row.input): row for row in rows}
    problems = []
    for row in rows:
        for name, limit, key in AT_MOST:
            other = given.get((row.agency, row.period, limit))
            if row.input == name and other is not None and row.value > other.value:
                problems.append(
                    FileProblem.of(
                        filename,
                        row.line,
                        key,
                        agency=row.agency,
                        period=row.period,
                        input=name,
                        value=f"{row.value:g}",
                        limit=limit,
                        limit_value=f"{other.value:g}",
                        limit_line=other.line,
                    )
                )
        planned = given.get((row.agency, row.period, "open_data_planned"))
        if (
            row.input == "open_data_published"
            and row.value > 0
            and planned is not None
            and planned.value == 0
        ):
            problems.append(
                FileProblem.of(
                    filename,
                    row.line,
                    "published_not_planned",
                    agency=row.agency,
                    period=row.period,
                    value=f"{row.value:g}",
                    limit_line=planned.line,
                )
            )
    return problems


def parse_indicator_file(
    content: bytes,
    filename: str,
    rules: Mapping[str, InputRule],
    known_agencies: Mapping[str, str],
) -> list[IndicatorRow]:
    """The rows of an indicator file, or IndicatorFileError with every problem found."""
    lines = [(number, row) for number, row in read_rows(content, filename) if any(row)]
    if not lines:
        raise IndicatorFileError([FileProblem.of(filename, 1, "empty_file")])
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

        def problem(key: str, at: int = number, **params: object) -> None:
            problems.append(FileProblem.of(filename, at, key, **params))

        agency, period_text, name = cell(row, "agency"), cell(row, "period"), cell(row, "input")
        value_text, kind = cell(row, "value"), cell(row, "kind").lower() or None
        bad = len(problems)
        if not agency:
            problem("agency_empty")
        elif len(agency) > MAX_CODE:
            problem("agency_too_long", max=MAX_CODE)
        period = None
        try:
            period = parse_period(period_text).name
        except PeriodError:
            problem("period_invalid", period=period_text.strip())
        rule = rules.get(name)
        if rule is None:
            close = difflib.get_close_matches(name, list(rules), n=1)
            if close:
                problem("input_unknown_close", input=name, close=close[0])
            else:
                problem("input_unknown", input=name)
        value = _number(value_text)
        if value is None:
            problem("value_not_number", value=value_text)
        elif rule is not None and (
            not rule.low <= value <= rule.high or (rule.whole and not value.is_integer())
        ):
            if rule.whole:
                problem("value_not_whole", input=name, value=value_text)
            else:
                problem(
                    "value_out_of_range",
                    input=name,
                    low=f"{rule.low:g}",
                    high=f"{rule.high:g}",
                    value=value_text,
                )
        if kind is not None and kind not in KINDS:
            problem("kind_unknown", kind=kind)
        elif agency in known_agencies:
            if kind is not None and kind != known_agencies[agency]:
                problem(
                    "kind_differs_from_database",
                    agency=agency,
                    known=known_agencies[agency],
                    kind=kind,
                )
        elif agency and kind is None:
            unkinded.setdefault(agency, number)
        if agency and kind in KINDS:
            earlier = kinds_in_file.setdefault(agency, (kind, number))
            if earlier[0] != kind:
                problem(
                    "kind_differs_in_file",
                    agency=agency,
                    earlier=earlier[0],
                    line=earlier[1],
                    kind=kind,
                )
        if period is not None and agency and rule is not None:
            key = (agency, period, name)
            if key in seen:
                problem("given_twice", agency=agency, period=period, input=name, line=seen[key])
            else:
                seen[key] = number
        if len(problems) == bad and value is not None and period is not None and rule:
            rows.append(IndicatorRow(number, agency, period, name, value, kind))
        if len(problems) >= MAX_PROBLEMS:
            problem("too_many_problems")
            break
    for agency, number in unkinded.items():
        if agency not in kinds_in_file:
            problems.append(FileProblem.of(filename, number, "agency_needs_kind", agency=agency))
    problems.extend(impossible_values(rows, filename))
    problems.sort(key=lambda problem: problem.line)
    if not problems and not rows:
        problems.append(FileProblem.of(filename, header_line, "no_rows"))
    if problems:
        raise IndicatorFileError(problems)
    return rows
