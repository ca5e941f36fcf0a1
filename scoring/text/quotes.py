"""Representative quotes: a theme's own texts that are closest to its centre, safe to show.

Extractive only: a quote is a complaint's text, scrubbed of personal data, shortened at a word
boundary, and never twice the same (after case and spacing are ignored, or when it says
nearly the same words as a quote already taken).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from scoring.privacy import scrub

MAX_QUOTE_CHARS: Final = 200
SAME_WORDS: Final = 0.8  # Jaccard similarity of word sets above which two quotes repeat
_SPACES: Final = re.compile(r"\s+")
_WORDS: Final = re.compile(r"[^\W_]+")


def shorten(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """``text`` on one line, cut at the last word boundary before ``limit`` characters, with "…"."""
    line = _SPACES.sub(" ", text).strip()
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + "…"


def pick_quotes(
    candidates: Iterable[str], *, count: int = 3, limit: int = MAX_QUOTE_CHARS
) -> list[str]:
    """Up to ``count`` quotes from ``candidates`` (best first): scrubbed, shortened, distinct."""
    quotes: list[str] = []
    seen: list[frozenset[str]] = []
    for text in candidates:
        quote = shorten(scrub(text), limit)
        if not quote:
            continue
        words = frozenset(_WORDS.findall(quote.casefold()))
        if any(_similar(words, other) for other in seen):
            continue
        quotes.append(quote)
        seen.append(words)
        if len(quotes) == count:
            break
    return quotes


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a and not b:
        return True
    return len(a & b) / len(a | b) >= SAME_WORDS
