"""Appeals-register exports (CSV or XLSX) parsed and checked row by row, without the database.

    rows = parse_appeal_file(content, "register-2025.xlsx", known_agencies={"MJ", "AST"})

One appeal a row: `external_id, agency, received, answered, deadline, outcome, court_upheld,
repeat` and optionally `service` and `channel` (header names are case-insensitive; spaces,
hyphens and common spellings such as "date received" are accepted). Dates are `2025-03-31`
or `31.03.2025`; `answered` is blank for an appeal not answered yet. Outcomes are the
categories of the repealed risk-criteria order (confirmed / partially confirmed / unconfirmed)
and the register's other results, in English, Russian or Kazakh (``OUTCOME_SPELLINGS``).
A file with any problem gives no rows: :class:`AppealFileError` lists every problem as
`file:line: what is wrong`, like an indicator file (the reading is shared with
:mod:`core.indicator_file`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from core.indicator_file import MAX_CODE, MAX_PROBLEMS, FileProblem, IndicatorFileError, read_rows

CONFIRMED = "confirmed"
PARTIALLY_CONFIRMED = "partially_confirmed"
UNCONFIRMED = "unconfirmed"
EXPLAINED = "explained"
FORWARDED = "forwarded"
NOT_CONSIDERED = "not_considered"
WITHDRAWN = "withdrawn"
OUTCOMES = (
    CONFIRMED,
    PARTIALLY_CONFIRMED,
    UNCONFIRMED,
    EXPLAINED,
    FORWARDED,
    NOT_CONSIDERED,
    WITHDRAWN,
)
# Found justified, wholly or in part: what R3's "justified" and S's quality complaints count.
JUSTIFIED = frozenset({CONFIRMED, PARTIALLY_CONFIRMED})

OUTCOME_SPELLINGS: dict[str, str] = {
    spelling: outcome
    for outcome, spellings in {
        CONFIRMED: (
            "confirmed",
            "justified",
            "upheld",
            "satisfied",
            "подтверждена",
            "подтверждено",
            "подтвердилась",
            "обоснованная",
            "обоснована",
            "обосновано",
            "удовлетворена",
            "удовлетворено",
            "расталды",
            "негізді",
            "қанағаттандырылды",
        ),
        PARTIALLY_CONFIRMED: (
            "partially confirmed",
            "partly confirmed",
            "partially justified",
            "partially satisfied",
            "частично подтверждена",
            "частично подтверждено",
            "частично обоснована",
            "частично обосновано",
            "частично удовлетворена",
            "частично удовлетворено",
            "ішінара расталды",
            "ішінара негізді",
            "ішінара қанағаттандырылды",
        ),
        UNCONFIRMED: (
            "unconfirmed",
            "not confirmed",
            "unjustified",
            "rejected",
            "не подтверждена",
            "не подтверждено",
            "не подтвердилась",
            "необоснованная",
            "необоснована",
            "необоснованно",
            "отказано",
            "отказано в удовлетворении",
            "расталмады",
            "негізсіз",
            "қанағаттандырылмады",
        ),
        EXPLAINED: ("explained", "разъяснено", "дано разъяснение", "түсіндірілді"),
        FORWARDED: (
            "forwarded",
            "направлено по компетенции",
            "перенаправлено",
            "құзыреті бойынша жіберілді",
        ),
        NOT_CONSIDERED: (
            "not considered",
            "left without consideration",
            "оставлено без рассмотрения",
            "қараусыз қалдырылды",
        ),
        WITHDRAWN: ("withdrawn", "отозвано", "отозвана", "кері қайтарылды", "кері алынды"),
    }.items()
    for spelling in (outcome.replace("_", " "), *spellings)
}

# Blank (and "-") is no: registers leave the cell empty when nothing happened.
YES = frozenset({"yes", "y", "true", "1", "да", "д", "иә", "ия", "иа"})
NO = frozenset({"no", "n", "false", "0", "нет", "н", "жоқ", ""})

# Column -> the header spellings accepted for it (after lower-casing, spaces for _ and -).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "external_id": ("external id", "id", "register id", "number"),
    "agency": ("agency", "agency code"),
    "received": ("received", "date received", "received at", "received on"),
    "answered": ("answered", "date answered", "answered at", "answered on"),
    "deadline": ("deadline", "due", "due date"),
    "outcome": ("outcome", "result"),
    "court_upheld": ("court upheld", "upheld by court", "court"),
    "repeat": ("repeat", "repeated"),
    "service": ("service", "service code"),
    "channel": ("channel",),
}
REQUIRED = (
    "external_id",
    "agency",
    "received",
    "answered",
    "deadline",
    "outcome",
    "court_upheld",
    "repeat",
)
MAX_CHANNEL = 64
_HEADER = {spelling: column for column, names in COLUMN_NAMES.items() for spelling in names}
_DATE_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@dataclass(frozen=True)
class AppealRow:
    line: int
    external_id: str
    agency: str
    received: date
    answered: date | None
    deadline: date
    outcome: str
    court_upheld: bool
    repeat: bool
    service: str | None
    channel: str | None


class AppealFileError(IndicatorFileError):
    """An appeals file that cannot be imported; `problems` says where and why."""


def _words(text: str) -> str:
    lowered = text.lower().replace("ё", "е").replace("_", " ").replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", lowered).split())


def outcome_of(text: str) -> str | None:
    """The outcome a register's spelling stands for ("Частично подтверждена" ->
    partially_confirmed), or None."""
    return OUTCOME_SPELLINGS.get(_words(text))


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


def _flag(text: str) -> bool | None:
    word = _words(text)
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def _header(filename: str, number: int, row: list[str]) -> tuple[dict[str, int], list[FileProblem]]:
    columns: dict[str, int] = {}
    problems: list[FileProblem] = []
    for position, cell in enumerate(row):
        if not cell:
            continue
        column = _HEADER.get(_words(cell))
        if column is None:
            problems.append(
                FileProblem(
                    filename,
                    number,
                    f"unknown column {cell!r}; the columns are {', '.join(REQUIRED)} "
                    "and optionally service, channel",
                )
            )
        elif column in columns:
            problems.append(FileProblem(filename, number, f"column {column!r} appears twice"))
        else:
            columns[column] = position
    absent = [name for name in REQUIRED if name not in columns]
    if absent:
        problems.append(FileProblem(filename, number, f"the header lacks {', '.join(absent)}"))
    return columns, problems


def parse_appeal_file(
    content: bytes, filename: str, known_agencies: Collection[str]
) -> list[AppealRow]:
    """The appeals of a register export, or AppealFileError with every problem found."""
    try:
        lines = [(number, row) for number, row in read_rows(content, filename) if any(row)]
    except IndicatorFileError as error:
        raise AppealFileError(error.problems) from None
    if not lines:
        raise AppealFileError([FileProblem(filename, 1, "the file is empty")])
    header_line, header = lines[0]
    columns, problems = _header(filename, header_line, header)
    if problems:
        raise AppealFileError(problems)

    def cell(row: list[str], name: str) -> str:
        position = columns.get(name)
        return row[position] if position is not None and position < len(row) else ""

    rows: list[AppealRow] = []
    seen: dict[str, int] = {}
    for number, row in lines[1:]:
        bad = len(problems)

        def problem(message: str, line: int = number) -> None:
            problems.append(FileProblem(filename, line, message))

        external_id, agency = cell(row, "external_id"), cell(row, "agency")
        if not external_id:
            problem("external_id is empty")
        elif len(external_id) > MAX_CODE:
            problem(f"external_id is longer than {MAX_CODE} characters")
        elif external_id in seen:
            problem(f"appeal {external_id!r} is given already on line {seen[external_id]}")
        else:
            seen[external_id] = number
        if not agency:
            problem("agency is empty")
        elif agency not in known_agencies:
            close = difflib.get_close_matches(agency, list(known_agencies), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem(f"agency {agency!r} is not known{hint}")
        dates: dict[str, date | None] = {}
        for name in ("received", "answered", "deadline"):
            text = cell(row, name)
            dates[name] = parse_date(text) if text else None
            if text and dates[name] is None:
                problem(f"{name} {text!r} is not a date (write 2025-03-31 or 31.03.2025)")
            elif not text and name != "answered":
                problem(f"{name} is empty")
        received, answered, deadline = dates["received"], dates["answered"], dates["deadline"]
        if received and answered and answered < received:
            problem(f"answered {answered} is before received {received}")
        if received and deadline and deadline < received:
            problem(f"deadline {deadline} is before received {received}")
        outcome_text = cell(row, "outcome")
        outcome = outcome_of(outcome_text)
        if outcome is None:
            problem(
                f"outcome {outcome_text!r} is not known; write confirmed, partially confirmed, "
                "unconfirmed, explained, forwarded, not considered or withdrawn (or the "
                "register's Russian or Kazakh wording)"
            )
        flags: dict[str, bool | None] = {}
        for name in ("court_upheld", "repeat"):
            flags[name] = _flag(cell(row, name))
            if flags[name] is None:
                problem(f"{name} {cell(row, name)!r} is not yes or no")
        service, channel = cell(row, "service") or None, cell(row, "channel") or None
        if service and len(service) > MAX_CODE:
            problem(f"service code is longer than {MAX_CODE} characters")
        if channel and len(channel) > MAX_CHANNEL:
            problem(f"channel is longer than {MAX_CHANNEL} characters")
        if (
            len(problems) == bad
            and received is not None
            and deadline is not None
            and outcome is not None
        ):
            rows.append(
                AppealRow(
                    line=number,
                    external_id=external_id,
                    agency=agency,
                    received=received,
                    answered=answered,
                    deadline=deadline,
                    outcome=outcome,
                    court_upheld=bool(flags["court_upheld"]),
                    repeat=bool(flags["repeat"]),
                    service=service,
                    channel=_words(channel) if channel else None,
                )
            )
        if len(problems) >= MAX_PROBLEMS:
            problem("too many problems; fix these and import again")
            break
    problems.sort(key=lambda item: item.line)
    if not problems and not rows:
        problems.append(FileProblem(filename, header_line, "the file has a header but no rows"))
    if problems:
        raise AppealFileError(problems)
    return rows
