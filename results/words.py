"""The public pages' words in kk, ru and en (messages.yaml beside this file), and the reader's
language chosen the way the citizen pages choose it: `?lang=` first, then the language this
browser picked on a citizen page before (its cookie), then the browser's Accept-Language, then
Kazakh."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.language import preferred_language

CATALOGUE = Path(__file__).with_name("messages.yaml")
LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
DEFAULT_LANGUAGE = "kk"
LANG_COOKIE = "qanagat_lang"  # the citizen pages' cookie: one choice for the whole site


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    with CATALOGUE.open(encoding="utf-8") as file:
        data = yaml.safe_load(file)
    return {str(key): {str(k): str(v) for k, v in entry.items()} for key, entry in data.items()}


def problems() -> list[str]:
    """Keys missing a language or with an empty text, as readable lines."""
    return [
        f"{CATALOGUE.name}: '{key}' has no {lang} text"
        for key, entry in catalogue().items()
        for lang in LANGUAGES
        if not entry.get(lang, "").strip()
    ]


def say(key: str, lang: str, **params: Any) -> str:
    """The text of `key` in `lang`; a template that does not fit its parameters says itself."""
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    try:
        return template.format(**params) if params else template
    except (KeyError, IndexError, ValueError):
        return template


def region_name(code: str, lang: str) -> str:
    """A region's name; a code we have no name for shows as itself."""
    key = f"region_{code}"
    return say(key, lang) if key in catalogue() else code


def reader_language(query: Mapping[str, str], cookies: Mapping[str, str], accept: str) -> str:
    """The language of a public page (see the module's docstring)."""
    asked = query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    return preferred_language(accept) or DEFAULT_LANGUAGE
