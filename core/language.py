"""The reader's language: which of kk, ru and en a browser asks for, and numbers, dates and
plurals written the way that language writes them (through Babel's CLDR data, which aiogram's
own i18n uses too). Both web sides read the Accept-Language header here, so a browser gets the
same language from the citizen pages and the admin."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_time
from babel.numbers import format_decimal, format_scientific

LANGUAGES = ("kk", "ru", "en")
TIME_ZONE = "Asia/Almaty"
MAX_TAGS = 16
T = TypeVar("T")
# Kazakh's own alphabet order: Unicode puts Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, Һ, І after Я.
KAZAKH_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_KAZAKH_ORDER = {
    letter: index for index, letter in enumerate(KAZAKH_ALPHABET)
}  # an honest header names a few languages; a long one is not read to the end


def preferred_language(header: str, offered: Iterable[str] = LANGUAGES) -> str | None:
    """The first language of `offered` in an Accept-Language header, by q-value then by order
    (`ru-RU;q=0.9, kk` -> kk); None when it names none of them. Never raises."""
    speak = tuple(offered)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:MAX_TAGS]):
        tag, _, params = part.partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
            if not 0 <= weight <= 1:  # also NaN
                continue
        lang = tag.strip().lower().split("-")[0]
        if lang in speak and weight > 0:
            ranked.append((-weight, index, lang))
    return min(ranked)[2] if ranked else None


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGUAGES else "ru")


def plural_form(count: int, lang: str) -> str:
    """CLDR's plural category of `count` in `lang`: one, few, many or other."""
    return str(_locale(lang).plural_form(abs(count)))


def counted(count: int, forms: Mapping[str, str], lang: str) -> str:
    """`forms` (CLDR category -> text with {n}) filled for `count`: 1 строка, 2 строки,
    5 строк; a category the text lacks falls back to `other`."""
    template = forms.get(plural_form(count, lang)) or forms["other"]
    return template.format(n=number(count, lang))


def number(value: float | int, lang: str, digits: int = 1) -> str:
    """12 345,5 in kk and ru, 12,345.5 in en; at most `digits` decimals."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_locale(lang)))


def fixed(value: float | int, lang: str, digits: int = 1) -> str:
    """Exactly `digits` decimals, grouped as the language groups them: 73,0 (kk, ru), 73.0 (en)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_locale(lang)))


def scientific(value: float, lang: str) -> str:
    """A very small or large number with two significant digits: 1,7E-10 (kk, ru), 1.7E-10."""
    return str(format_scientific(value, "0.0E0", locale=_locale(lang)))


def day(value: date, lang: str, width: Literal["long", "medium"] = "long") -> str:
    """A date as the language writes it in full (7 декабря 2026 г.) or, `medium`, shorter
    (7 дек. 2026 г.)."""
    return str(format_date(value, width, locale=_locale(lang)))


def days(first: date, last: date, lang: str) -> str:
    """The days from `first` to `last` as the language writes a span: 23–29 нояб. 2026 г."""
    return str(format_interval(first, last, "yMMMd", locale=_locale(lang)))


def moment(value: datetime, lang: str) -> str:
    """A stored time (naive ones are UTC) as Almaty's clock shows it: 7 дек. 2026 г., 15:05."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(TIME_ZONE))
    locale = _locale(lang)
    when = format_date(local, "medium", locale=locale)
    return f"{when}, {format_time(local, 'short', locale=locale)}"


def name_key(name: str, lang: str) -> tuple[tuple[int, str], ...]:
    """A sort key putting names in the reader's alphabetical order: Kazakh letters where the
    Kazakh alphabet has them, any other character after them, case ignored."""
    folded = name.casefold().replace("ё", "е") if lang != "kk" else name.casefold()
    if lang == "kk":
        return tuple((_KAZAKH_ORDER.get(ch, len(KAZAKH_ALPHABET)), ch) for ch in folded)
    return tuple((0, ch) for ch in folded)


def by_name(items: Iterable[T], name: Callable[[T], str], lang: str) -> list[T]:
    """`items` sorted by their name in `lang`, as a reader of that language expects a list of
    agencies or data sets (the citizen web and the Telegram bot share it)."""
    return sorted(items, key=lambda item: name_key(name(item), lang))
