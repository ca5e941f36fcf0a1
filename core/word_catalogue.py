"""A catalogue of what readers are told, in kk, ru and en: a YAML file of key → language →
text. The citizen channels, the public results and the admin each keep their own file; this
reads any of them the same way."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


class WordCatalogue:
    """The texts of one file, read once. A text in a language the file lacks falls back to
    `default_language`; a template that does not fit its parameters is shown as written
    rather than failing the page or the message. `missing_shows_key`: a key the file does
    not have shows as itself (the admin's pages) instead of raising KeyError."""

    def __init__(
        self, path: Path, default_language: str, *, missing_shows_key: bool = False
    ) -> None:
        self.path = path
        self.default_language = default_language
        self.missing_shows_key = missing_shows_key

    @cached_property
    def entries(self) -> Mapping[str, Mapping[str, str]]:
        with self.path.open(encoding="utf-8") as file:
            data = yaml.safe_load(file)
        return {str(key): {str(k): str(v) for k, v in entry.items()} for key, entry in data.items()}

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def problems(self) -> list[str]:
        """Keys missing a language, with an empty text or in an unknown language, as readable
        lines (checked by the tests and at start-up)."""
        found: list[str] = []
        for key, entry in self.entries.items():
            found.extend(
                f"{self.path.name}: '{key}' has no {lang} text"
                for lang in LANGUAGES
                if not entry.get(lang, "").strip()
            )
            found.extend(
                f"{self.path.name}: '{key}' has an unknown language '{extra}'"
                for extra in sorted(set(entry) - set(LANGUAGES))
            )
        return found

    def say(self, key: str, lang: str, **params: Any) -> str:
        """The text of `key` in `lang`, its {placeholders} filled from `params`."""
        entry = self.entries.get(key)
        if entry is None:
            if self.missing_shows_key:
                return key
            raise KeyError(key)
        template = entry.get(lang) or entry[self.default_language]
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):
            return template
