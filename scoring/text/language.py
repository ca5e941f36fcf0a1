"""Which language a complaint is written in: Kazakh, Russian, English, or None.

py3langid (the langid.py naive Bayes model over byte n-grams, shipped inside the package,
nothing downloaded) restricted to the three languages decides. Two supplements keep it honest
on this product's texts:

- a text must have at least two letters, most of them Cyrillic or Latin, else it gets None
  (all emoji, digits, Chinese, Arabic: none of our three languages); a text without Cyrillic
  letters is English or Kazakh in the Latin alphabet, one without Latin letters Kazakh or
  Russian;
- a text with Kazakh-only letters (ә ғ қ ң ө ұ ү һ і) that the model finds Russian with less
  than ``KAZAKH_LETTERS_OVERRIDE`` confidence is Kazakh: Russian never uses those letters, and
  short texts are where the model hesitates.

Long texts are classified from their first ``SAMPLE_CHARS`` characters, so a 10-page
complaint costs what a paragraph does.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, Literal, cast

import pandas as pd
from py3langid.langid import MODEL_FILE, LanguageIdentifier

Language = Literal["kk", "ru", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("kk", "ru", "en")

KAZAKH_LETTERS: Final = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
KAZAKH_LETTERS_OVERRIDE: Final = 0.9
MIN_LETTERS: Final = 2
SAMPLE_CHARS: Final = 200

_CYRILLIC: Final = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_LATIN: Final = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_LETTER: Final = re.compile(r"[^\W\d_]")
_KAZAKH: Final = re.compile(f"[{''.join(sorted(KAZAKH_LETTERS))}]")


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def _scripts(text: str) -> tuple[int, int, int]:
    """Counts of Cyrillic, Latin and other letters."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    other = len(_LETTER.findall(text)) - cyrillic - latin
    return cyrillic, latin, max(other, 0)


def detect_language(text: str) -> Language | None:
    """ "kk", "ru" or "en" for the language ``text`` is written in, None when it is none of them.

    None for empty text, text with fewer than two letters and text mostly in another script.
    """
    sample = text[:SAMPLE_CHARS]
    cyrillic, latin, other = _scripts(sample)
    if cyrillic + latin < MIN_LETTERS or other > cyrillic + latin:
        return None
    identifier = _identifier()
    if cyrillic and latin:
        best, confidence = identifier.classify(sample)
    else:
        allowed = ("kk", "ru") if cyrillic else ("en", "kk")
        best, confidence = max(
            ((lang, score) for lang, score in identifier.rank(sample) if lang in allowed),
            key=lambda pair: pair[1],
        )
    if best == "ru" and confidence < KAZAKH_LETTERS_OVERRIDE and _KAZAKH.search(sample):
        return "kk"
    return cast(Language, best) if best in LANGUAGES else None


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
