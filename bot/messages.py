"""The citizen channels' wording in kk, ru and en, loaded from messages.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


@cache
def catalogue() -> dict[str, dict[str, str]]:
    with (Path(__file__).parent / "messages.yaml").open(encoding="utf-8") as stream:
        data: dict[str, dict[str, str]] = yaml.safe_load(stream)
    return data


def text(key: str, lang: str, **params: Any) -> str:
    """A message in `lang` (kk when the language is unknown), with placeholders filled."""
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return template.format(**params) if params else template


def pick_language(candidate: str | None) -> str | None:
    """Map a client language code (`ru-RU`, `kk`, `en-US`) to one we speak, or None."""
    if not candidate:
        return None
    code = candidate.strip().lower()[:2]
    return code if code in LANGUAGES else None
