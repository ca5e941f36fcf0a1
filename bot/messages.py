"""The citizen channels' wording in kk, ru and en, loaded from messages.yaml."""

from __future__ import annotations

from pathlib import Path

from core.word_catalogue import LANGUAGE_NAMES, LANGUAGES, WordCatalogue

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "WORDS", "pick_language", "text"]

DEFAULT_LANGUAGE = "kk"
WORDS = WordCatalogue(Path(__file__).parent / "messages.yaml", DEFAULT_LANGUAGE)
# A message in `lang` (kk when the language is unknown), with placeholders filled.
text = WORDS.say


def pick_language(candidate: str | None) -> str | None:
    """Map a client language code (`ru-RU`, `kk`, `en-US`) to one we speak, or None."""
    if not candidate:
        return None
    code = candidate.strip().lower()[:2]
    return code if code in LANGUAGES else None
