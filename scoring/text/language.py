"""Which language a complaint is written in: Kazakh, Russian, English, or None.

Lingua (lingua-language-detector: statistical n-gram models for 75 languages shipped inside
the wheel, nothing downloaded) restricted to the three languages decides; its own rules
already know the letters only Kazakh uses. Two supplements keep it honest on this product's
texts:

- a text must have at least two letters, most of them Cyrillic or Latin, else it gets None
  (all emoji, digits, Chinese, Arabic: none of our three languages);
- a text with Kazakh-only letters (ә ғ қ ң ө ұ ү һ і) that the model finds Russian with less
  than ``KAZAKH_LETTERS_OVERRIDE`` confidence is Kazakh: Russian never uses those letters, and
  short mixed texts are where the model hesitates.

Texts shorter than ``SHORT_TEXT_CHARS`` go to Lingua's high-accuracy mode (all n-gram sizes),
longer ones to its low-accuracy mode (trigrams only), which its authors find as good from about
that length on and which costs half as much. Long texts are classified from their first
``SAMPLE_CHARS`` characters, so a 10-page complaint costs what a paragraph does.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Final, Literal

import pandas as pd

if TYPE_CHECKING:
    from lingua import LanguageDetector

Language = Literal["kk", "ru", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("kk", "ru", "en")

KAZAKH_LETTERS: Final = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
KAZAKH_LETTERS_OVERRIDE: Final = 0.9
MIN_LETTERS: Final = 2
SAMPLE_CHARS: Final = 400
SHORT_TEXT_CHARS: Final = 120

_CYRILLIC: Final = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_LATIN: Final = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_LETTER: Final = re.compile(r"[^\W\d_]")
_KAZAKH: Final = re.compile(f"[{''.join(sorted(KAZAKH_LETTERS))}]")


@cache
def _detector(short: bool) -> LanguageDetector:
    from lingua import Language as Lingua
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(
        Lingua.KAZAKH, Lingua.RUSSIAN, Lingua.ENGLISH
    ).with_preloaded_language_models()
    if not short:
        builder = builder.with_low_accuracy_mode()
    return builder.build()


@cache
def _codes() -> dict[object, Language]:
    from lingua import Language as Lingua

    return {Lingua.KAZAKH: "kk", Lingua.RUSSIAN: "ru", Lingua.ENGLISH: "en"}


def _scripts(text: str) -> tuple[int, int, int]:
    """Counts of Cyrillic, Latin and other letters."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    other = len(_LETTER.findall(text)) - cyrillic - latin
    return cyrillic, latin, max(other, 0)


def detect_language(text: str) -> Language | None:
    """ "kk", "ru" or "en" for the language ``text`` is written in, None when it is none of them.

    None for empty text, text with fewer than two letters, text mostly in another script, and
    text the model cannot tell.
    """
    sample = text[:SAMPLE_CHARS]
    cyrillic, latin, other = _scripts(sample)
    if cyrillic + latin < MIN_LETTERS or other > cyrillic + latin:
        return None
    detector = _detector(len(sample) < SHORT_TEXT_CHARS)
    found = detector.detect_language_of(sample)
    code = _codes().get(found) if found is not None else None
    if code == "ru" and _KAZAKH.search(sample) is not None:
        from lingua import Language as Lingua

        if detector.compute_language_confidence(sample, Lingua.RUSSIAN) < KAZAKH_LETTERS_OVERRIDE:
            return "kk"
    return code


def detect_languages(texts: pd.Series) -> pd.Series:
    """:func:`detect_language` of every text, each distinct text classified once.

    Returns a Series with the same index, holding "kk", "ru", "en" or None (missing values
    and non-strings are None).
    """
    if texts.empty:
        return pd.Series([], index=texts.index, dtype=object)
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    found = [detect_language(value) if isinstance(value, str) else None for value in uniques]
    found.append(None)  # what code -1 (a missing value) picks below
    picked = [found[code] for code in codes]
    return pd.Series(picked, index=texts.index, dtype=object)
