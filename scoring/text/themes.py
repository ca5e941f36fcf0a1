"""Themes of a set of complaints: groups of texts about the same thing, with words and quotes.

    from scoring.text import themes
    for theme in themes(complaints["text"], max_themes=8, seed=0):
        print(theme.size, ", ".join(theme.label), theme.quotes)

How: every text is scrubbed of personal data, its language detected (unless given), its words
reduced to terms (:mod:`scoring.text.normalise`); the terms are weighted by TF-IDF and the
matrix is factorised by NMF (scikit-learn) into at most ``max_themes`` themes. Each text
belongs to the theme it loads most on; a theme's label is its heaviest terms, written as the
word most often seen for each; its quotes are the member texts closest to the members'
centroid (:mod:`scoring.text.quotes`). The same texts and seed give the same themes.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from scoring.privacy import scrub
from scoring.text.language import Language, detect_languages
from scoring.text.normalise import terms_with_words
from scoring.text.quotes import MAX_QUOTE_CHARS, pick_quotes

LABEL_TERMS: Final = 4
MAX_FEATURES: Final = 20_000
# A term in more than this share of the texts says nothing about any theme.
MAX_DOCUMENT_SHARE: Final = 0.5


@dataclass(frozen=True)
class Theme:
    """One theme: what it is about, how many texts, which ones, and what they say."""

    label: tuple[str, ...]
    size: int
    members: tuple[Hashable, ...]
    quotes: tuple[str, ...]
    languages: Mapping[str, int] = field(default_factory=dict)


def _analyse(
    texts: pd.Series, languages: pd.Series
) -> tuple[list[list[str]], Counter[tuple[str, str]]]:
    """Terms of every text (distinct text-language pairs analysed once), and term-word counts."""
    cache: dict[tuple[str, Language | None], list[tuple[str, str]]] = {}
    documents: list[list[str]] = []
    words: Counter[tuple[str, str]] = Counter()
    for text, lang in zip(texts, languages, strict=True):
        key = (text, lang)
        pairs = cache.get(key)
        if pairs is None:
            pairs = cache[key] = terms_with_words(text, lang)
        documents.append([term for term, _ in pairs])
        words.update(pairs)
    return documents, words


def _readable(words: Counter[tuple[str, str]]) -> dict[str, str]:
    """For each term, the word it was most often written as (ties: the shorter, then a–z)."""
    best: dict[str, tuple[int, str]] = {}
    for (term, word), count in words.items():
        current = best.get(term)
        if current is None or (-count, len(word), word) < (
            -current[0],
            len(current[1]),
            current[1],
        ):
            best[term] = (count, word)
    return {term: word for term, (_, word) in best.items()}


def themes(
    texts: pd.Series,
    *,
    languages: pd.Series | None = None,
    max_themes: int = 8,
    seed: int = 0,
    min_size: int = 2,
    quotes_per_theme: int = 3,
    quote_chars: int = MAX_QUOTE_CHARS,
) -> list[Theme]:
    """The themes of ``texts``, largest first.

    ``texts``: free texts of complaints (non-strings and empty texts are ignored); members of
    a theme are given by this Series' index labels. ``languages``: "kk"/"ru"/"en"/None per
    text, same index; detected when not given. At most ``max_themes`` themes, each with at
    least ``min_size`` texts; texts with no theme-bearing word (all emoji, all stop words)
    belong to none. Deterministic for a given ``seed``.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    if max_themes < 1:
        raise ValueError("max_themes must be at least 1")
    present = texts[texts.map(lambda value: isinstance(value, str) and value.strip() != "")]
    if present.empty:
        return []
    codes, uniques = pd.factorize(present)
    scrubbed_uniques = np.array([scrub(text) for text in uniques], dtype=object)
    scrubbed = pd.Series(scrubbed_uniques[codes], index=present.index)
    if languages is None:
        langs = detect_languages(scrubbed)
    else:
        langs = languages.reindex(present.index).where(lambda s: s.isin(["kk", "ru", "en"]))
        langs = langs.astype(object).where(langs.notna(), None)
    documents, words = _analyse(scrubbed, langs)

    has_terms = np.array([bool(doc) for doc in documents])
    if not has_terms.any():
        return []
    kept = [doc for doc, keep in zip(documents, has_terms, strict=True) if keep]
    kept_positions = np.flatnonzero(has_terms)
    kept_index = present.index[kept_positions]
    scrubbed_values = scrubbed.to_numpy()
    lang_values = langs.to_numpy()
    strict = len(kept) >= 20
    try:
        vectoriser, matrix = _weigh(kept, strict=strict)
    except ValueError:  # every term too rare or too common (e.g. all texts alike)
        if not strict:
            return []
        vectoriser, matrix = _weigh(kept, strict=False)
    vocabulary = vectoriser.get_feature_names_out()
    components = min(max_themes, matrix.shape[0], matrix.shape[1])
    model = NMF(n_components=components, init="nndsvda", random_state=seed, max_iter=400)
    # A degenerate matrix (one repeated text) makes NMF's loss a tiny negative number under a
    # square root, and a hard one may stop short of convergence: neither changes the themes.
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        weights = model.fit_transform(matrix)
    assignment = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    readable = _readable(words)

    found: list[Theme] = []
    for component in range(components):
        rows = np.flatnonzero(assignment == component)
        if len(rows) < min_size:
            continue
        members = matrix[rows]
        centroid = np.asarray(members.mean(axis=0)).ravel()
        closeness = members @ centroid
        order = rows[np.argsort(-closeness, kind="stable")]
        heaviest = np.argsort(-model.components_[component], kind="stable")[:LABEL_TERMS]
        label = tuple(readable.get(str(vocabulary[i]), str(vocabulary[i])) for i in heaviest)
        member_labels = kept_index[rows]
        quotes = pick_quotes(
            (str(text) for text in scrubbed_values[kept_positions[order]]),
            count=quotes_per_theme,
            limit=quote_chars,
        )
        language_counts = Counter(
            str(lang) if lang is not None else "unknown"
            for lang in lang_values[kept_positions[rows]]
        )
        found.append(
            Theme(
                label=label,
                size=len(rows),
                members=tuple(member_labels),
                quotes=tuple(quotes),
                languages=dict(sorted(language_counts.items())),
            )
        )
    found.sort(key=lambda theme: (-theme.size, theme.label))
    return found


def _identity(document: list[str]) -> list[str]:
    return document


def _weigh(documents: list[list[str]], *, strict: bool) -> tuple[Any, Any]:
    """TF-IDF of the documents' terms; ``strict`` drops terms in one text or in most of them."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(
        analyzer=_identity,
        min_df=2 if strict else 1,
        max_df=MAX_DOCUMENT_SHARE if strict else 1.0,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    return vectoriser, vectoriser.fit_transform(documents)
