"""What a number rests on, in the reader's language: the research report, the decree, this
project's proposal or an assumption with its reason.

A methodology file writes a source either per language (`{kk: …, ru: …, en: …}`, the shipped
files) or as one English string (the archived versions, kept byte for byte to recompute stored
runs). A plain string is cited in the reader's language (which document, section, table,
figure, recommendation, page; the words "assumption" and "this project's proposal"); the reason
the file gives stays as written. Files of past versions cited the project's own domain notes and
issues; those references are said as the documents they stood for, never shown as such.

    source_words("assumption: equal thirds", "kk")   # "болжам: equal thirds"
    source_words({"kk": "…", "ru": "…", "en": "…"}, "ru")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LANGUAGES = ("kk", "ru", "en")

# The words of a citation, per language.
CITATION_WORDS: Mapping[str, Mapping[str, str]] = {
    "src_research": {
        "kk": "зерттеу есебі, 2020",
        "ru": "отчёт об исследовании, 2020",
        "en": "research report, 2020",
    },
    "src_decree": {
        "kk": "Президенттің № 954 Жарлығы (2010)",
        "ru": "Указ Президента № 954 (2010)",
        "en": "Presidential Decree No 954 (2010)",
    },
    "src_decree_and_research": {
        "kk": "Президенттің № 954 Жарлығы (2010); зерттеу есебі, 2020",
        "ru": "Указ Президента № 954 (2010); отчёт об исследовании, 2020",
        "en": "Presidential Decree No 954 (2010); research report, 2020",
    },
    "src_section": {"kk": "бөлім", "ru": "раздел", "en": "section"},
    "src_table": {"kk": "кесте", "ru": "таблица", "en": "table"},
    "src_figure": {"kk": "сурет", "ru": "рисунок", "en": "figure"},
    "src_recommendation": {"kk": "ұсыным", "ru": "рекомендация", "en": "recommendation"},
    "src_page": {"kk": "б.", "ru": "с.", "en": "p."},
    "src_proposal": {
        "kk": "осы жобаның ұсынысы",
        "ru": "предложение этого проекта",
        "en": "this project's proposal",
    },
    "src_assumption": {"kk": "болжам", "ru": "допущение", "en": "assumption"},
}

# the project's domain notes, by paragraph, as the documents the paragraph condensed
LEGACY_NOTES = re.compile(r"DOMAIN\.md(?:\s*§\s*(\d)?(?:\.\d+)?)?")
LEGACY_PARAGRAPH = {"1": "src_decree_and_research", "2": "src_research", "3": "src_research"}
LEGACY_ISSUE = re.compile(r"\bissue\s+\d+(?:\s+item\s+\d+)?", re.IGNORECASE)

# a citation of the research report: its parts as the reader's language names them
RESEARCH = re.compile(
    r"research report, 2020((?:,\s*(?:section|table|figure|recommendation|p\.|page)\s*[\w.\-–]+)*)",
    re.IGNORECASE,
)
PART = re.compile(r"(section|table|figure|recommendation|p\.|page)\s*([\w.\-–]+)", re.IGNORECASE)
PART_WORD = {
    "section": "src_section",
    "table": "src_table",
    "figure": "src_figure",
    "recommendation": "src_recommendation",
    "p.": "src_page",
    "page": "src_page",
}
DECREE = re.compile(r"\bdecree No\.? ?954\b", re.IGNORECASE)
ASSUMPTION = re.compile(r"\bassumption\b:?", re.IGNORECASE)
PROPOSAL = re.compile(r"\bthis project's proposal\b:?", re.IGNORECASE)


@dataclass(frozen=True)
class Citation:
    """One part of a source (parts are separated by ';'): `words` in the reader's language,
    `note` the file's own words after it (its reason or detail), `kind` what it rests on."""

    kind: str  # research | decree | proposal | assumption | other
    words: str
    note: str


Say = Callable[[str], str]


def citations(source: str, language: str) -> list[Citation]:
    """A plain-string source split into its parts, each cited in `language`."""
    return _citations(source, lambda key: CITATION_WORDS[key][language])


def _citations(source: str, say: Say) -> list[Citation]:
    text = LEGACY_ISSUE.sub("this project's proposal", " ".join(source.split()))
    text = LEGACY_NOTES.sub(_legacy_marker, text)
    found = []
    for part in (piece.strip() for piece in _split(text)):
        if part:
            found.append(_citation(part, say))
    return found


def source_words(source: str | Mapping[str, str], language: str) -> str:
    """A source in the reader's language: the file's own text in that language when it gives
    one; otherwise (a plain string) each citation said in that language, the file's reason kept
    as written."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not isinstance(source, str):
        return source[language]
    return "; ".join(
        f"{c.words} {c.note}".strip() if c.words else c.note for c in citations(source, language)
    )


def english(source: str | Mapping[str, str]) -> str:
    """The English text of a source (the form the citation rules check)."""
    return source if isinstance(source, str) else source["en"]


def in_languages(source: str | Mapping[str, str]) -> dict[str, str]:
    """A source as {language: text} for every reader's language."""
    return {language: source_words(source, language) for language in LANGUAGES}


def _legacy_marker(found: re.Match[str]) -> str:
    """A note's paragraph as a marker the citation step says in words."""
    return "@" + LEGACY_PARAGRAPH.get(found.group(1) or "", "src_research") + "@"


def _split(text: str) -> list[str]:
    """Parts at ';' outside brackets (a reason in brackets may hold one)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += char == "("
        depth -= char == ")" and depth > 0
        if char == ";" and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _citation(part: str, say: Say) -> Citation:
    legacy = re.match(r"@(src_\w+)@\s*", part)
    if legacy:
        return Citation("research", say(legacy.group(1)), _note(part[legacy.end() :], say))
    research = RESEARCH.match(part)
    if research:
        words = [say("src_research")]
        for name, value in PART.findall(research.group(1)):
            words.append(f"{say(PART_WORD[name.lower()])} {value}")
        return Citation("research", ", ".join(words), _note(part[research.end() :], say))
    decree = DECREE.match(part)
    if decree:
        return Citation("decree", say("src_decree"), _note(part[decree.end() :], say))
    for kind, pattern, key in (
        ("proposal", PROPOSAL, "src_proposal"),
        ("assumption", ASSUMPTION, "src_assumption"),
    ):
        found = pattern.match(part)
        if found:
            return Citation(kind, say(key) + ":", _note(part[found.end() :], say))
    return Citation("other", "", _note(part, say))


def _note(rest: str, say: Say) -> str:
    """What follows a citation: the file's words, with any citation inside them said too."""
    rest = rest.strip().lstrip(",:").strip()
    rest = re.sub(r"@(src_\w+)@", lambda m: say(m.group(1)), rest)
    rest = DECREE.sub(lambda _m: say("src_decree"), rest)
    return ASSUMPTION.sub(lambda _m: say("src_assumption") + ":", rest).replace("::", ":")
