"""A light Kazakh stemmer: strips inflectional suffixes so that word forms group together.

No maintained Kazakh stemmer ships on PyPI with its data (the one analyser found, kazstem, is
an alpha GPL package built on an external finite-state toolchain), so this is a small rule set,
enough for grouping complaints by theme, not a morphological analysis.

Kazakh is agglutinative: stem + plural + possessive + case (кезек-тер-іміз-де), and verbs take
tense and person endings (күт-ті-м). The rules strip, repeatedly, the longest ending from the
list below while at least ``MIN_STEM`` letters remain, then undo the voicing of a stem-final
consonant before a vowel ending (кезегі → кезег → кезек). Every form of a word need not reach
the dictionary form; it is enough that the forms of one word reach the same stem.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

MIN_STEM: Final = 3

# Endings by what they mark; each list holds the variants of vowel harmony and assimilation.
_PLURAL: Final = ("лар", "лер", "дар", "дер", "тар", "тер")
_POSSESSIVE: Final = (
    "ымыз", "іміз", "ыңыз", "іңіз", "ларың", "лерің", "сы", "сі", "ым", "ім", "ың", "ің",
)  # fmt: skip
_CASE: Final = (
    # genitive, accusative
    "ның", "нің", "дың", "дің", "тың", "тің", "ны", "ні", "ды", "ді", "ты", "ті", "н",
    # dative, locative, ablative, instrumental
    "ға", "ге", "қа", "ке", "на", "не", "нда", "нде", "да", "де", "та", "те",
    "нан", "нен", "дан", "ден", "тан", "тен", "мен", "бен", "пен", "нен",
    # possessive + case fused, after a vowel
    "сын", "сін", "сына", "сіне", "сында", "сінде", "сынан", "сінен",
    "ын", "ін", "ына", "іне", "ында", "інде", "ынан", "інен",
    # "without", "like", "-ness"
    "сыз", "сіз", "ша", "ше", "лық", "лік", "дық", "дік", "тық", "тік",
)  # fmt: skip
_VERB: Final = (
    # past tense with person
    "дым", "дім", "тым", "тім", "дық", "дік", "тық", "тік", "дың", "дің", "тың", "тің",
    "ды", "ді", "ты", "ті",
    # present and future, with person
    "ймын", "ймін", "йсың", "йсің", "йміз", "ймыз", "йды", "йді", "ады", "еді",
    "амын", "емін", "атын", "етін", "йтын", "йтін",
    # participles, converbs, verbal noun, negation, infinitive
    "ған", "ген", "қан", "кен", "ып", "іп", "п", "у", "уға", "уге",
    "ма", "ме", "ба", "бе", "па", "пе", "майды", "мейді", "мады", "меді",
    "ңыз", "ңіз", "саңыз", "сеңіз",
)  # fmt: skip
_VOWEL_ENDINGS: Final = ("а", "е", "ы", "і")

_ENDINGS: Final = tuple(
    sorted(set(_PLURAL + _POSSESSIVE + _CASE + _VERB + _VOWEL_ENDINGS), key=len, reverse=True)
)
_VOWELS: Final = frozenset("аәеиоөұүуыіэюя")
_VOICELESS: Final = frozenset("кқпстфхцчшщ")
_DEVOICE: Final = {"г": "к", "ғ": "қ", "б": "п"}
_MAX_ROUNDS: Final = 4


def _fits(stem: str, ending: str) -> bool:
    """Whether ``ending`` can follow ``stem`` by Kazakh assimilation rules.

    An ending's first sound depends on the sound before it (сайт-та but кезек-те, сайт-ы but
    бала-сы), so an ending that could not follow the stem is not stripped: that keeps "сайты"
    as сайт + ы rather than сай + ты.
    """
    last, first = stem[-1], ending[0]
    if first in "тқкп":
        return last in _VOICELESS
    if first in "дғгб":
        return last not in _VOICELESS
    if first in "нй" or ending in ("сы", "сі", "сын", "сін", "п", "ңыз", "ңіз"):
        return last in _VOWELS or (first == "н" and last in "мнң")
    if first == "л":
        return last in _VOWELS or last in "руйл"
    if first in _VOWELS and first != "у":
        return last not in _VOWELS
    return True


def _strip_once(word: str) -> str:
    for ending in _ENDINGS:
        # A one-letter ending needs a longer stem: "бала" is not "бал" + "а".
        shortest = MIN_STEM + (1 if len(ending) == 1 else 0)
        if word.endswith(ending) and len(word) - len(ending) >= shortest:
            stem = word[: -len(ending)]
            if any(char in _VOWELS for char in stem) and _fits(stem, ending):
                return stem
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of a lower-case Kazakh word (кезектерде → кезек, құжаттарды → құжат)."""
    current = word
    for _ in range(_MAX_ROUNDS):
        shorter = _strip_once(current)
        if shorter == current:
            break
        current = shorter
    if current != word and current[-1] in _DEVOICE:
        current = current[:-1] + _DEVOICE[current[-1]]
    return current
