"""Personal data scrubbing for citizens' free text, before any of it leaves the citizen side.

    from scoring.privacy import scrub, scrub_report

    scrub("Мой ИИН 850115300120, тел. 8 (701) 555-33-22")
    # 'Мой ИИН [IIN], тел. [PHONE]'

What is replaced, by which placeholder, and why each rule is shaped as it is, is in
docs/complaint-analytics.md. In short: e-mails, Kazakh IBANs, payment cards (Luhn), phone
numbers (+7 / 8 / 7 prefixes, 10-digit local mobiles, 3-2-2 city numbers, any "+" international
number), IINs/BINs (12 digits; the checksum decides only for unusual groupings) and names after
phrases that introduce a person ("меня зовут", "менеджер", "атым", "my name is", …).

Every pattern is linear in the input (no nested quantifiers over overlapping classes), so a long
or hostile text costs time in proportion to its length. Placeholders contain no digits and no
capitalised words, so scrubbing twice changes nothing more than scrubbing once.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Final

IIN: Final = "IIN"
PHONE: Final = "PHONE"
EMAIL: Final = "EMAIL"
CARD: Final = "CARD"
IBAN: Final = "IBAN"
NAME: Final = "NAME"

KINDS: Final = (IIN, PHONE, EMAIL, CARD, IBAN, NAME)


def placeholder(kind: str) -> str:
    """The text that stands in for one removed item of ``kind``, e.g. ``[PHONE]``."""
    return f"[{kind}]"


# --- checksums ------------------------------------------------------------------------------

_IIN_WEIGHTS_1: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_IIN_WEIGHTS_2: Final = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def iin_check_digit(first_eleven: str) -> int | None:
    """The 12th digit of an IIN/BIN whose first 11 digits are given, or None if there is none.

    The Kazakh algorithm: the weighted sum with weights 1..11 modulo 11; if that is 10, again
    with weights 3..11, 1, 2; if that is 10 too, no IIN/BIN is issued with these 11 digits.
    """
    digits = [int(c) for c in first_eleven]
    if len(digits) != 11:
        raise ValueError("an IIN/BIN check digit needs exactly 11 digits")
    remainder = sum(d * w for d, w in zip(digits, _IIN_WEIGHTS_1, strict=True)) % 11
    if remainder == 10:
        remainder = sum(d * w for d, w in zip(digits, _IIN_WEIGHTS_2, strict=True)) % 11
        if remainder == 10:
            return None
    return remainder


def is_valid_iin(number: str) -> bool:
    """True when ``number`` is 12 digits whose last one is the IIN/BIN check digit."""
    if len(number) != 12 or not number.isdecimal():
        return False
    return iin_check_digit(number[:11]) == int(number[11])


def luhn_valid(number: str) -> bool:
    """True when the digit string ``number`` passes the Luhn check used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return bool(number) and total % 10 == 0


# --- patterns -------------------------------------------------------------------------------

# E-mail: the lookbehind lets a match start only where a local part starts, so a long run of
# word characters without "@" is scanned once, not once per position. "]" counts as a word
# character there, so what follows a placeholder ("[PHONE]a@b.kz") is read as it was before.
_EMAIL_RE: Final = re.compile(r"(?<![\w.+\-\]])[\w.+\-]++@[\w\-]++(?:\.[\w\-]++)++")

# Kazakh IBAN: KZ, 2 check digits, 16 letters or digits (bank code and account), written
# together or in groups. Masked whatever the mod-97 check says: a mistyped IBAN is still
# someone's account. No word boundary either side: glued to a word it is still an IBAN.
_IBAN_RE: Final = re.compile(r"[Kk][Zz][ \u00a0\-]?\d\d(?:[ \u00a0\-]?[0-9A-Za-z]){16}")

# A run of digit groups joined by short separators (spaces, dashes, dots, brackets), with an
# optional leading "+". Separators and digits are disjoint classes, so the match is linear.
_SEPARATORS: Final = " \u00a0\u2009\u202f\t\\-\u2010\u2011\u2012\u2013.()"
_DIGIT_RUN_RE: Final = re.compile(rf"(?:\+[ \u00a0(]?)?\d+(?:[{_SEPARATORS}]{{1,3}}\d+)*")
_GROUP_RE: Final = re.compile(r"\d+")

# The longest item a digit run can hold: a 19-digit card. Bounding candidates by it keeps the
# search over a run's groups linear even for a run of thousands of groups.
_MAX_ITEM_DIGITS: Final = 19
# How many digits each kind has: a city phone 7, phones 10-15, an IIN 12, a card 13-19.
_ITEM_DIGIT_COUNTS: Final = frozenset({7, *range(10, _MAX_ITEM_DIGITS + 1)})

# Words that introduce a person's name, case-insensitive, in Russian, Kazakh and English.
# Russian and Kazakh job titles take case endings ("менеджером", "операторға"), hence \w{0,4}.
_NAME_INTRO: Final = (
    r"меня\s+зовут|моё\s+имя|мое\s+имя|моя\s+фамилия|фамилия|ф\.?\s?и\.?\s?о\.?"
    r"|менеджер\w{0,4}|сотрудни(?:к|ца)\w{0,3}|оператор\w{0,4}|специалист\w{0,4}"
    r"|инспектор\w{0,4}|консультант\w{0,4}|начальник\w{0,3}"
    r"|менің\s+атым|атым|есімім|тегім|маман\w{0,4}|қызметкер\w{0,4}"
    r"|my\s+name\s+is|officer|manager|operator|clerk|specialist|employee|inspector"
    r"|mr\.?|mrs\.?|ms\.?"
)
_UPPER: Final = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
_LOWER: Final = "a-zа-яёәғқңөұүһі"
_NAME_WORD: Final = (
    rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)?"  # Иванов, Нұрланқызы, Жан-Поль
    rf"|[{_UPPER}]\.(?:[ \u00a0]?[{_UPPER}]\.)?"  # initials: И. or И.И.
)
# A word that itself introduces a name is not taken for one ("сотрудник Меня зовут Иванов").
_NOT_INTRO: Final = rf"(?!(?i:{_NAME_INTRO})(?!\w))"
_NAME_RE: Final = re.compile(
    rf"(?<!\w)(?P<intro>(?i:{_NAME_INTRO}))(?P<gap>(?:[ \u00a0]*+[:,—–\-])?[ \u00a0]++)"
    rf"(?P<name>{_NOT_INTRO}(?:{_NAME_WORD})(?:[ \u00a0]+{_NOT_INTRO}(?:{_NAME_WORD})){{0,2}})"
)


# --- digit runs -----------------------------------------------------------------------------


def _card_shaped(lengths: list[int]) -> bool:
    """Cards are written together or in groups of four (Amex: 4-6-5)."""
    if len(lengths) == 1:
        return True
    if lengths in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


_IIN_SHAPES: Final = ([12], [6, 6], [4, 4, 4])


def _separators(run: str, groups: list[re.Match[str]]) -> list[str]:
    """What stands between consecutive digit groups of ``run``."""
    return [run[a.end() : b.start()] for a, b in itertools.pairwise(groups)]


def _classify(
    digits: str, lengths: list[int], plus: bool, run: str, groups: list[re.Match[str]]
) -> str | None:
    """The kind of personal number the digit ``groups`` of ``run`` spell, or None."""
    count = len(digits)
    if plus:
        # +7 is Kazakhstan and Russia: 10 digits follow; other countries have up to 15 in all.
        if digits[0] == "7":
            return PHONE if count == 11 else None
        return PHONE if 10 <= count <= 15 else None
    if 13 <= count <= 19 and _card_shaped(lengths) and luhn_valid(digits):
        return CARD
    if count == 16 and lengths == [4, 4, 4, 4]:
        return CARD  # written as a card, a mistyped one: still a card
    if count == 12:
        # The checksum only decides for unusual groupings: 12 digits together or in the
        # usual groups are masked even when it fails, since that is most likely a typo.
        if lengths in _IIN_SHAPES:
            return IIN
        if is_valid_iin(digits) and not any("." in s for s in _separators(run, groups)):
            return IIN  # any other grouping, but not a date and a time "12.05.2023 10.30"
        return None
    if count == 11 and digits[0] in "78" and digits[1] in "79":
        return PHONE  # 8 7xx / 7 7xx (Kazakhstan), 8 9xx (Russia)
    if count == 10 and digits[0] == "7":
        return PHONE  # 7xx xxx xx xx without the prefix
    if lengths == [3, 2, 2] and all("-" in s for s in _separators(run, groups)):
        return PHONE  # city number 234-56-78
    return None


def _scrub_digit_run(run: str, found: Counter[str]) -> str:
    """Replace, within one run of digit groups, every item that spells a personal number.

    Items start and end on group boundaries. Of all the ways to cut the run into items, the
    one that masks the most digits wins, so "2023 87015553322" keeps the year and masks the
    phone, and a phone written just before an IIN does not swallow half of it.
    """
    plus = run.startswith("+")
    groups = list(_GROUP_RE.finditer(run))
    if len(groups) == 1 and not plus and len(groups[0].group()) < 7:
        return run  # the common case: a short number
    # Other scripts' digits (Arabic-Indic, full-width) count as the digits they stand for.
    values = [
        g.group() if g.group().isascii() else "".join(str(int(c)) for c in g.group())
        for g in groups
    ]
    count = len(groups)
    # best[i]: the most digits maskable in groups i.., and the first item of that choice.
    best: list[tuple[int, tuple[int, str] | None]] = [(0, None)] * (count + 1)
    for start in range(count - 1, -1, -1):
        choice: tuple[int, tuple[int, str] | None] = (best[start + 1][0], None)
        digits = ""
        lengths: list[int] = []
        for end in range(start, count):
            digits += values[end]
            if len(digits) > _MAX_ITEM_DIGITS:
                break
            lengths.append(len(values[end]))
            if len(digits) not in _ITEM_DIGIT_COUNTS:
                continue
            kind = _classify(digits, lengths, plus and start == 0, run, groups[start : end + 1])
            if kind is not None and len(digits) + best[end + 1][0] > choice[0]:
                choice = (len(digits) + best[end + 1][0], (end, kind))
        best[start] = choice
    pieces: list[str] = []
    cursor = 0
    start = 0
    while start < count:
        item = best[start][1]
        if item is None:
            start += 1
            continue
        end, kind = item
        item_start = 0 if plus and start == 0 else groups[start].start()
        pieces.append(run[cursor:item_start])
        pieces.append(placeholder(kind))
        found[kind] += 1
        cursor = groups[end].end()
        start = end + 1
    pieces.append(run[cursor:])
    return "".join(pieces)


# --- the public functions -------------------------------------------------------------------


def scrub_report(text: str) -> tuple[str, Counter[str]]:
    """Scrub ``text`` (see :func:`scrub`) and count what was removed, by kind.

    The counter's keys are the kinds in :data:`KINDS` (``"IIN"``, ``"PHONE"``, …); kinds not
    found are absent.
    """
    found: Counter[str] = Counter()

    def replace_email(match: re.Match[str]) -> str:
        found[EMAIL] += 1
        return placeholder(EMAIL)

    def replace_iban(match: re.Match[str]) -> str:
        found[IBAN] += 1
        return placeholder(IBAN)

    def replace_name(match: re.Match[str]) -> str:
        found[NAME] += 1
        return match.group("intro") + match.group("gap") + placeholder(NAME)

    scrubbed = _EMAIL_RE.sub(replace_email, text)
    scrubbed = _IBAN_RE.sub(replace_iban, scrubbed)
    scrubbed = _DIGIT_RUN_RE.sub(lambda m: _scrub_digit_run(m.group(), found), scrubbed)
    scrubbed = _NAME_RE.sub(replace_name, scrubbed)
    return scrubbed, found


def scrub(text: str) -> str:
    """``text`` with personal data replaced by typed placeholders.

    Removes e-mails (``[EMAIL]``), Kazakh IBANs (``[IBAN]``), payment card numbers
    (``[CARD]``), phone numbers (``[PHONE]``), IINs/BINs (``[IIN]``) and names introduced by
    phrases such as "меня зовут", "менеджер", "менің атым", "my name is" (``[NAME]``; the
    introducing phrase stays, so the sentence still reads). Everything else is kept as it was:
    dates, amounts ("5 000 тг"), office numbers ("ЦОН №3"), short numbers. Idempotent.
    """
    return scrub_report(text)[0]
