"""Words of a complaint reduced to comparable terms: tokens, lemmas or stems, no stop words.

- Russian: pymorphy3 with its OpenCorpora dictionary (pymorphy3-dicts-ru) gives the lemma
  (очереди → очередь, отказали → отказать).
- Kazakh: the suffix rules of :mod:`scoring.text.kazakh` (кезектерде → кезек).
- English: the Snowball English stemmer (queues → queue).
- Stop words: the ``stop-words`` package for Russian, scikit-learn's English list (the
  packaged English lists of ``stop-words`` and ``stopwordsiso`` hold 1,300 words, "long" and
  "work" among them), our own list for Kazakh (``stopwords_kk.yaml``: no package has one).

Every word form is analysed once per process (a cache), so 100,000 complaints cost about as
much as their distinct words.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Final

import yaml

from scoring.text import kazakh
from scoring.text.language import Language

if TYPE_CHECKING:
    import pymorphy3
    import snowballstemmer

# Letters only: digits, punctuation, emoji and placeholders' brackets split words; a hyphen
# splits too, so "ХҚКО-да" gives the office's abbreviation and a case ending.
_WORD: Final = re.compile(r"[^\W\d_]+")
_PLACEHOLDER: Final = re.compile(r"\[(?:IIN|PHONE|EMAIL|CARD|IBAN|NAME)\]")
# An abbreviation with a Russian case ending: ЦОНе, ЦОНа → цон.
_ABBREVIATION: Final = re.compile(r"(?<![^\W\d_])([A-ZА-ЯЁ]{2,})[a-zа-яё]{1,3}(?![^\W\d_])")
_OUR_SCRIPTS: Final = re.compile(r"[a-z\u00c0-\u024f\u0400-\u052f]+")
MIN_TERM_LENGTH: Final = 2


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@cache
def _english() -> snowballstemmer.BaseStemmer:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@cache
def stop_words(lang: Language) -> frozenset[str]:
    """The stop words of ``lang``, lower case, "ё" written "е"."""
    if lang == "kk":
        source = resources.files("scoring.text").joinpath("stopwords_kk.yaml")
        words = yaml.safe_load(source.read_text(encoding="utf-8"))
    elif lang == "ru":
        from stop_words import get_stop_words

        words = get_stop_words("russian")
    else:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        words = ENGLISH_STOP_WORDS
    return frozenset(str(word).lower().replace("ё", "е") for word in words)


@lru_cache(maxsize=200_000)
def _russian(word: str) -> str:
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


@lru_cache(maxsize=200_000)
def _english_stem(word: str) -> str:
    return str(_english().stemWord(word))


def _term(word: str, lang: Language | None) -> str | None:
    """The comparable form of one lower-case word, or None for a stop word."""
    if lang is None:
        # Language unknown: words of our scripts as they are; other scripts are no theme.
        return word if _OUR_SCRIPTS.fullmatch(word) else None
    if word in stop_words(lang):
        return None
    if lang == "ru":
        lemma = _russian(word)
        return None if lemma in stop_words("ru") else lemma
    if lang == "kk":
        return kazakh.stem(word)
    return _english_stem(word)


def tokenise(text: str) -> list[str]:
    """The words of ``text``, lower case, "ё" written "е"; placeholders and digits dropped."""
    text = _PLACEHOLDER.sub(" ", text)
    text = _ABBREVIATION.sub(r"\1", text)
    return _WORD.findall(text.lower().replace("ё", "е"))


_MISSING: Final = ""
# Terms by language and word; bounded so that a stream of unique garbage cannot grow it.
_TERMS: dict[Language | None, dict[str, str | None]] = {}
_MAX_CACHED_WORDS: Final = 500_000


def terms_with_words(text: str, lang: Language | None) -> list[tuple[str, str]]:
    """Each term of ``text`` (see :func:`normalise`) with the word it came from."""
    known = _TERMS.setdefault(lang, {})
    pairs = []
    for word in tokenise(text):
        term = known.get(word, _MISSING)
        if term == _MISSING:
            if len(known) >= _MAX_CACHED_WORDS:
                known.clear()
            term = _term(word, lang) if len(word) >= MIN_TERM_LENGTH else None
            if term is not None and len(term) < MIN_TERM_LENGTH:
                term = None
            known[word] = term
        if term is not None:
            pairs.append((term, word))
    return pairs


def normalise(text: str, lang: Language | None) -> list[str]:
    """The terms of ``text`` in language ``lang``: lemmas (ru) or stems (kk, en), no stop words.

    With ``lang`` None (language unknown) Cyrillic and Latin words are only lower-cased, words
    in other scripts dropped. Words shorter than two letters are dropped.
    """
    return [term for term, _ in terms_with_words(text, lang)]
