"""Every catalogue of what readers are told (the citizen channels, the public results, the
admin) has every key in kk, ru and en, and reads them the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.web import words as admin_words
from bot import messages
from core.word_catalogue import WordCatalogue
from results import words as results_words


@pytest.mark.parametrize(
    "catalogue",
    [messages.WORDS, results_words.WORDS, admin_words.WORDS],
    ids=["citizens", "results", "admin"],
)
def test_every_key_has_a_text_in_every_language(catalogue: WordCatalogue) -> None:
    assert catalogue.problems() == []
    assert len(catalogue.entries) > 10


def test_a_catalogue_says_its_problems_falls_back_and_survives_a_bad_template(
    tmp_path: Path,
) -> None:
    file = tmp_path / "words.yaml"
    file.write_text(
        "hello:\n  kk: Сәлем, {name}\n  ru: Привет, {name}\n  en: ''\n"
        "odd:\n  kk: '{0} {missing}'\n  ru: x\n  en: y\n  de: z\n",
        encoding="utf-8",
    )
    words = WordCatalogue(file, "kk")
    assert words.problems() == [
        "words.yaml: 'hello' has no en text",
        "words.yaml: 'odd' has an unknown language 'de'",
    ]
    assert words.say("hello", "ru", name="Айгүл") == "Привет, Айгүл"
    assert words.say("hello", "en", name="Aigul") == "Сәлем, Aigul"  # empty: the default's
    assert words.say("odd", "kk", name="x") == "{0} {missing}"  # does not fit: as written
    assert "hello" in words and "bye" not in words
    with pytest.raises(KeyError):
        words.say("bye", "kk")
    assert WordCatalogue(file, "kk", missing_shows_key=True).say("bye", "kk") == "bye"
