"""What a number rests on, in the reader's language.

A methodology file writes a source either per language (`{kk: …, ru: …, en: …}`, the shipped
files) or as one English string (the archived versions, kept byte for byte to recompute stored
runs). A plain string is shown with its citation words translated and its detail as written.

    texts = in_languages("assumption: equal thirds")   # {"kk": "болжам: equal thirds", …}
    source_words({"kk": "…", "ru": "…", "en": "…"}, "ru")
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("kk", "ru", "en")

# The citation words of a plain-string source, per language.
SOURCE_WORDS: Mapping[str, Mapping[str, str]] = {
    "research report, 2020, section": {
        "kk": "зерттеу есебі, 2020, бөлім",
        "ru": "отчёт об исследовании, 2020, раздел",
        "en": "research report, 2020, section",
    },
    "research report, 2020, table": {
        "kk": "зерттеу есебі, 2020, кесте",
        "ru": "отчёт об исследовании, 2020, таблица",
        "en": "research report, 2020, table",
    },
    "assumption:": {"kk": "болжам:", "ru": "допущение:", "en": "assumption:"},
    "this project's proposal:": {
        "kk": "осы жобаның ұсынысы:",
        "ru": "предложение этого проекта:",
        "en": "this project's proposal:",
    },
    "decree No 954": {
        "kk": "№ 954 Жарлық",
        "ru": "Указ № 954",
        "en": "decree No 954",
    },
}


def source_words(source: str | Mapping[str, str], language: str) -> str:
    """A source in the reader's language: the file's own text in that language when it gives
    one; otherwise (a plain string) the citation's words translated, the detail as written."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not isinstance(source, str):
        return source[language]
    text = source
    for english, words in SOURCE_WORDS.items():
        text = text.replace(english, words[language])
    return text


def english(source: str | Mapping[str, str]) -> str:
    """The English text of a source (the form the citation rules check)."""
    return source if isinstance(source, str) else source["en"]


def in_languages(source: str | Mapping[str, str]) -> dict[str, str]:
    """A source as {language: text} for every reader's language."""
    return {language: source_words(source, language) for language in LANGUAGES}
