"""The public pages' words in kk, ru and en (messages.yaml beside this file), and the reader's
language chosen the way the citizen pages choose it: `?lang=` first, then the language this
browser picked on a citizen page before (its cookie), then the browser's Accept-Language, then
Kazakh."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from core.language import preferred_language
from core.word_catalogue import LANGUAGE_NAMES, LANGUAGES, WordCatalogue

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "WORDS", "problems", "reader_language", "say"]

DEFAULT_LANGUAGE = "kk"
LANG_COOKIE = "qanagat_lang"  # the citizen pages' cookie: one choice for the whole site
WORDS = WordCatalogue(Path(__file__).with_name("messages.yaml"), DEFAULT_LANGUAGE)
say = WORDS.say
problems = WORDS.problems


def region_name(code: str, lang: str) -> str:
    """A region's name; a code we have no name for shows as itself."""
    key = f"region_{code}"
    return say(key, lang) if key in WORDS else code


def reader_language(query: Mapping[str, str], cookies: Mapping[str, str], accept: str) -> str:
    """The language of a public page (see the module's docstring)."""
    asked = query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    return preferred_language(accept) or DEFAULT_LANGUAGE
