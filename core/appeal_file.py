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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from core.indicator_file import MAX_CODE, IndicatorFileError
from core.register_file import RegisterFile, parse_date, words

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


def outcome_of(text: str) -> str | None:
    """The outcome a register's spelling stands for ("Частично подтверждена" ->
    partially_confirmed), or None."""
    return OUTCOME_SPELLINGS.get(words(text))


def _flag(text: str) -> bool | None:
    word = words(text)
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def parse_appeal_file(
    content: bytes, filename: str, known_agencies: Collection[str]
) -> list[AppealRow]:
    """The appeals of a register export, or AppealFileError with every problem found."""
    register = RegisterFile(
        content, filename, _HEADER, REQUIRED, ("service", "channel"), AppealFileError
    )
    rows: list[AppealRow] = []
    for line in register.lines():
        external_id, agency = register.identity(line, "appeal", MAX_CODE, known_agencies)
        problem = line.problem
        dates: dict[str, date | None] = {}
        for name in ("received", "answered", "deadline"):
            text = line.cell(name)
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
        outcome_text = line.cell("outcome")
        outcome = outcome_of(outcome_text)
        if outcome is None:
            problem(
                f"outcome {outcome_text!r} is not known; write confirmed, partially confirmed, "
                "unconfirmed, explained, forwarded, not considered or withdrawn (or the "
                "register's Russian or Kazakh wording)"
            )
        flags: dict[str, bool | None] = {}
        for name in ("court_upheld", "repeat"):
            flags[name] = _flag(line.cell(name))
            if flags[name] is None:
                problem(f"{name} {line.cell(name)!r} is not yes or no")
        service, channel = line.cell("service") or None, line.cell("channel") or None
        if service and len(service) > MAX_CODE:
            problem(f"service code is longer than {MAX_CODE} characters")
        if channel and len(channel) > MAX_CHANNEL:
            problem(f"channel is longer than {MAX_CHANNEL} characters")
        if line.clean and received is not None and deadline is not None and outcome is not None:
            rows.append(
                AppealRow(
                    line=line.number,
                    external_id=external_id,
                    agency=agency,
                    received=received,
                    answered=answered,
                    deadline=deadline,
                    outcome=outcome,
                    court_upheld=bool(flags["court_upheld"]),
                    repeat=bool(flags["repeat"]),
                    service=service,
                    channel=words(channel) if channel else None,
                )
            )
    return register.result(rows)
