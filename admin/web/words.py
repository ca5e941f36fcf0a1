"""The admin's words in kk, ru and en (admin/web/messages.yaml): one catalogue, every key in
every language, checked by a test and at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core import language
from core.word_catalogue import LANGUAGE_NAMES, LANGUAGES, WordCatalogue

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "WORDS", "problems", "say"]

DEFAULT_LANGUAGE = "ru"
# A missing key shows itself rather than failing a page.
WORDS = WordCatalogue(
    Path(__file__).parent / "messages.yaml", DEFAULT_LANGUAGE, missing_shows_key=True
)
say = WORDS.say
problems = WORDS.problems


def say_count(key: str, count: int, lang: str, **params: Any) -> str:
    """`key`'s text for `count` in the plural form the language needs (`{key}_one`, `_few`,
    `_many`, `_other`, as CLDR names them: 1 строка, 2 строки, 5 строк), with {n} the count
    written the language's way."""
    form = f"{key}_{language.plural_form(count, lang)}"
    chosen = form if form in WORDS else f"{key}_other"
    return say(chosen, lang, n=language.number(count, lang, 0), **params)


def known_language(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


def region_name(code: str, lang: str) -> str:
    """A region's name; a code we have no name for shows as itself."""
    key = f"region_{code}"
    return say(key, lang) if key in WORDS else code


# A flag's detail as the anti-gaming rules store it (core/integrity/flags.py), read back in the
# reader's language; an analyst's own note, or a detail of any other form, shows as written.
_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_FLAG_DETAILS = (
    ("flag_detail_fast", re.compile(rf"completed {_NUMBER} s after it was opened")),
    (
        "flag_detail_respondent",
        re.compile(rf"{_NUMBER} completed by one respondent within {_NUMBER} min"),
    ),
    (
        "flag_detail_network",
        re.compile(rf"{_NUMBER} completed from one network address within {_NUMBER} min"),
    ),
    ("flag_detail_office", re.compile(rf"{_NUMBER} top scores at one office within {_NUMBER} min")),
)


def flag_detail(detail: str, lang: str) -> str:
    """A stored flag detail ("completed 2 s after it was opened") in `lang`."""
    for key, pattern in _FLAG_DETAILS:
        match = pattern.fullmatch(detail)
        if match is not None:
            numbers = [language.number(float(group), lang) for group in match.groups()]
            return say(key, lang, **dict(zip(("count", "minutes"), numbers, strict=False)))
    return detail
