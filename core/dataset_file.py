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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from core.indicator_file import IndicatorFileError
from core.models import DatasetState, UpdateFrequency
from core.register_file import RegisterFile, parse_date, words

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


def frequency_of(text: str) -> UpdateFrequency | None:
    """The frequency a catalogue's spelling stands for ("Ежеквартально" -> quarterly), or None."""
    return FREQUENCY_SPELLINGS.get(words(text))


def state_of(text: str) -> DatasetState | None:
    """planned or published from a catalogue's spelling ("Опубликован" -> published), or None."""
    return STATE_SPELLINGS.get(words(text))


def is_web_address(text: str) -> bool:
    """An http(s) address with a host and no spaces: what a citizen's browser can open."""
    if any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def parse_dataset_file(
    content: bytes, filename: str, known_agencies: Collection[str]
) -> list[DatasetRow]:
    """The data sets of a catalogue, or DatasetFileError with every problem found."""
    register = RegisterFile(content, filename, _HEADER, REQUIRED, OPTIONAL, DatasetFileError)
    rows: list[DatasetRow] = []
    for line in register.lines():
        external_id, agency = register.identity(line, "data set", MAX_EXTERNAL_ID, known_agencies)
        problem = line.problem
        titles: dict[str, str] = {}
        for name in ("title_kk", "title_ru", "title_en"):
            titles[name] = " ".join(line.cell(name).split())
            if not titles[name] and name != "title_en":
                problem(f"{name} is empty")
            elif len(titles[name]) > MAX_TITLE:
                problem(f"{name} is longer than {MAX_TITLE} characters")
        url = line.cell("url")
        if not url:
            problem("url is empty")
        elif len(url) > MAX_URL:
            problem(f"url is longer than {MAX_URL} characters")
        elif not is_web_address(url):
            problem(f"url {url!r} is not a web address (write https://...)")
        frequency_text = line.cell("update_frequency")
        frequency = frequency_of(frequency_text)
        if frequency is None:
            problem(
                f"update_frequency {frequency_text!r} is not known; write daily, weekly, "
                "monthly, quarterly, yearly or irregular (or the portal's Russian or Kazakh "
                "wording)"
            )
        updated_text = line.cell("last_updated")
        last_updated = parse_date(updated_text) if updated_text else None
        if updated_text and last_updated is None:
            problem(f"last_updated {updated_text!r} is not a date (write 2025-03-31 or 31.03.2025)")
        state_text = line.cell("state")
        state = state_of(state_text)
        if state is None:
            problem(f"state {state_text!r} is not known; write planned or published")
        if line.clean and frequency is not None and state is not None:
            rows.append(
                DatasetRow(
                    line=line.number,
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
    return register.result(rows)
