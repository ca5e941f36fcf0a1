"""Open-data catalogues (CSV or XLSX) parsed and checked row by row, without the database.

    rows = parse_dataset_file(content, "catalogue.xlsx", known_agencies={"MJ", "ALA"})

One data set a row: `external_id, agency, title_kk, title_ru, url, update_frequency, state`,
optionally `title_en` and `last_updated` (header names are case-insensitive; spaces, hyphens and
common spellings such as "title kk" or "frequency" are accepted). `update_frequency` is daily,
weekly, monthly, quarterly, yearly or irregular (also in the portal's Russian and Kazakh
wording); `state` is planned or published (likewise). `last_updated` is `2025-03-31` or
`31.03.2025`, blank for a set not updated yet. A file with any problem gives no rows:
:class:`DatasetFileError` lists every problem as `file:line: what is wrong`, like an indicator
or appeals file (the reading is shared with :mod:`core.indicator_file`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from core.appeal_file import parse_date
from core.indicator_file import MAX_PROBLEMS, FileProblem, IndicatorFileError, read_rows
from core.models import DatasetState, UpdateFrequency

MAX_EXTERNAL_ID = 128
MAX_TITLE = 500
MAX_URL = 1000

FREQUENCY_SPELLINGS: dict[str, UpdateFrequency] = {
    spelling: frequency
    for frequency, spellings in {
        UpdateFrequency.DAILY: ("day", "ежедневно", "ежедневный", "күн сайын", "күнделікті"),
        UpdateFrequency.WEEKLY: ("week", "еженедельно", "еженедельный", "апта сайын"),
        UpdateFrequency.MONTHLY: ("month", "ежемесячно", "ежемесячный", "ай сайын"),
        UpdateFrequency.QUARTERLY: (
            "quarter",
            "ежеквартально",
            "ежеквартальный",
            "тоқсан сайын",
        ),
        UpdateFrequency.YEARLY: (
            "annually",
            "annual",
            "year",
            "ежегодно",
            "ежегодный",
            "жыл сайын",
        ),
        UpdateFrequency.IRREGULAR: (
            "as needed",
            "on change",
            "нерегулярно",
            "по мере обновления",
            "по мере необходимости",
            "тұрақсыз",
            "қажеттілігіне қарай",
        ),
    }.items()
    for spelling in (frequency.value, *spellings)
}
# A catalogue lists what is planned or out; "withdrawn" is what Qanagat marks, never imported.
STATE_SPELLINGS: dict[str, DatasetState] = {
    spelling: state
    for state, spellings in {
        DatasetState.PLANNED: ("plan", "запланирован", "запланировано", "в плане", "жоспарланған"),
        DatasetState.PUBLISHED: (
            "opened",
            "опубликован",
            "опубликовано",
            "размещен",
            "размещено",
            "жарияланған",
            "жарияланды",
        ),
    }.items()
    for spelling in (state.value, *spellings)
}

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "external_id": ("external id", "id", "dataset id", "identifier"),
    "agency": ("agency", "agency code", "publisher"),
    "title_kk": ("title kk", "name kk", "kk"),
    "title_ru": ("title ru", "name ru", "ru"),
    "title_en": ("title en", "name en", "en"),
    "url": ("url", "link", "address"),
    "update_frequency": ("update frequency", "frequency", "periodicity"),
    "last_updated": ("last updated", "updated", "last update", "updated on"),
    "state": ("state", "status", "planned or published"),
}
REQUIRED = ("external_id", "agency", "title_kk", "title_ru", "url", "update_frequency", "state")
OPTIONAL = ("title_en", "last_updated")
_HEADER = {spelling: column for column, names in COLUMN_NAMES.items() for spelling in names}


@dataclass(frozen=True)
class DatasetRow:
    line: int
    external_id: str
    agency: str
    title_kk: str
    title_ru: str
    title_en: str | None
    url: str
    update_frequency: UpdateFrequency
    last_updated: date | None
    state: DatasetState


class DatasetFileError(IndicatorFileError):
    """A catalogue that cannot be imported; `problems` says where and why."""


def _words(text: str) -> str:
    lowered = text.lower().replace("ё", "е").replace("_", " ").replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", " ", lowered).split())


def frequency_of(text: str) -> UpdateFrequency | None:
    """The frequency a catalogue's spelling stands for ("Ежеквартально" -> quarterly), or None."""
    return FREQUENCY_SPELLINGS.get(_words(text))


def state_of(text: str) -> DatasetState | None:
    """planned or published from a catalogue's spelling ("Опубликован" -> published), or None."""
    return STATE_SPELLINGS.get(_words(text))


def is_web_address(text: str) -> bool:
    """An http(s) address with a host and no spaces: what a citizen's browser can open."""
    if any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


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
                    f"and optionally {', '.join(OPTIONAL)}",
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


def parse_dataset_file(
    content: bytes, filename: str, known_agencies: Collection[str]
) -> list[DatasetRow]:
    """The data sets of a catalogue, or DatasetFileError with every problem found."""
    try:
        lines = [(number, row) for number, row in read_rows(content, filename) if any(row)]
    except IndicatorFileError as error:
        raise DatasetFileError(error.problems) from None
    if not lines:
        raise DatasetFileError([FileProblem(filename, 1, "the file is empty")])
    header_line, header = lines[0]
    columns, problems = _header(filename, header_line, header)
    if problems:
        raise DatasetFileError(problems)

    def cell(row: list[str], name: str) -> str:
        position = columns.get(name)
        return row[position] if position is not None and position < len(row) else ""

    rows: list[DatasetRow] = []
    seen: dict[str, int] = {}
    for number, row in lines[1:]:
        bad = len(problems)

        def problem(message: str, line: int = number) -> None:
            problems.append(FileProblem(filename, line, message))

        external_id, agency = cell(row, "external_id"), cell(row, "agency")
        if not external_id:
            problem("external_id is empty")
        elif len(external_id) > MAX_EXTERNAL_ID:
            problem(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
        elif external_id in seen:
            problem(f"data set {external_id!r} is given already on line {seen[external_id]}")
        else:
            seen[external_id] = number
        if not agency:
            problem("agency is empty")
        elif agency not in known_agencies:
            close = difflib.get_close_matches(agency, list(known_agencies), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem(f"agency {agency!r} is not known{hint}")
        titles: dict[str, str] = {}
        for name in ("title_kk", "title_ru", "title_en"):
            titles[name] = " ".join(cell(row, name).split())
            if not titles[name] and name != "title_en":
                problem(f"{name} is empty")
            elif len(titles[name]) > MAX_TITLE:
                problem(f"{name} is longer than {MAX_TITLE} characters")
        url = cell(row, "url")
        if not url:
            problem("url is empty")
        elif len(url) > MAX_URL:
            problem(f"url is longer than {MAX_URL} characters")
        elif not is_web_address(url):
            problem(f"url {url!r} is not a web address (write https://...)")
        frequency_text = cell(row, "update_frequency")
        frequency = frequency_of(frequency_text)
        if frequency is None:
            problem(
                f"update_frequency {frequency_text!r} is not known; write daily, weekly, "
                "monthly, quarterly, yearly or irregular (or the portal's Russian or Kazakh "
                "wording)"
            )
        updated_text = cell(row, "last_updated")
        last_updated = parse_date(updated_text) if updated_text else None
        if updated_text and last_updated is None:
            problem(f"last_updated {updated_text!r} is not a date (write 2025-03-31 or 31.03.2025)")
        state_text = cell(row, "state")
        state = state_of(state_text)
        if state is None:
            problem(f"state {state_text!r} is not known; write planned or published")
        if len(problems) == bad and frequency is not None and state is not None:
            rows.append(
                DatasetRow(
                    line=number,
                    external_id=external_id,
                    agency=agency,
                    title_kk=titles["title_kk"],
                    title_ru=titles["title_ru"],
                    title_en=titles["title_en"] or None,
                    url=url,
                    update_frequency=frequency,
                    last_updated=last_updated,
                    state=state,
                )
            )
        if len(problems) >= MAX_PROBLEMS:
            problem("too many problems; fix these and import again")
            break
    problems.sort(key=lambda item: item.line)
    if not problems and not rows:
        problems.append(FileProblem(filename, header_line, "the file has a header but no rows"))
    if problems:
        raise DatasetFileError(problems)
    return rows
