"""Complaint text analytics on a corpus of Kazakh, Russian and English complaints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.text import (
    Theme,
    detect_language,
    detect_languages,
    normalise,
    pick_quotes,
    shorten,
    stop_words,
    themes,
)
from scoring.text.kazakh import stem

CORPUS = Path(__file__).parent / "fixtures" / "complaints_kk_ru.yaml"


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    rows: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["complaints"]
    frame = pd.DataFrame(rows)
    frame["personal"] = frame["personal"].apply(lambda v: v if isinstance(v, list) else [])
    # a non-trivial index: members are reported by label, not by position
    frame.index = pd.Index([f"c{n:03d}" for n in range(len(frame))], name="complaint")
    return frame


@pytest.fixture(scope="module")
def found(corpus: pd.DataFrame) -> list[Theme]:
    return themes(corpus["text"], max_themes=14, seed=7)


# --- language -------------------------------------------------------------------------------


def test_the_corpus_is_large_enough_and_in_three_languages(corpus: pd.DataFrame) -> None:
    assert 60 <= len(corpus) <= 100
    assert set(corpus["lang"]) == {"kk", "ru", "en"}
    assert corpus["personal"].map(len).astype(bool).sum() >= 8


def test_languages_of_the_corpus_are_detected(corpus: pd.DataFrame) -> None:
    detected = detect_languages(corpus["text"])
    assert (detected.index == corpus.index).all()
    accuracy = (detected == corpus["lang"]).mean()
    assert accuracy >= 0.95, corpus.loc[detected != corpus["lang"], "text"].tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Кезек өте ұзын болды", "kk"),
        ("Мерзімі өтті", "kk"),
        ("Очень долго ждал", "ru"),
        ("The queue was very long", "en"),
        ("Рахмет, бәрі жақсы", "kk"),
    ],
)
def test_short_texts_get_their_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀🙏", "12345 67", "東京都の窓口で待った", "مرحبا بالعالم", "!!!", "a"]
)
def test_no_language_for_emoji_digits_or_another_script(text: str) -> None:
    assert detect_language(text) is None


def test_missing_and_non_text_values_get_no_language() -> None:
    detected = detect_languages(pd.Series(["Очередь", None, 5, "Очередь"], index=[3, 1, 4, 1]))
    assert detected.tolist() == ["ru", None, None, "ru"]
    assert detected.index.tolist() == [3, 1, 4, 1]
    assert detect_languages(pd.Series([], dtype=object)).empty


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_one_of_three_languages_or_none(text: str) -> None:
    assert detect_language(text) in {"kk", "ru", "en", None}
    assert isinstance(normalise(text, detect_language(text)), list)


# --- normalisation --------------------------------------------------------------------------


def test_russian_words_become_lemmas_without_stop_words() -> None:
    assert normalise("Очереди в ЦОНе, прождал три часа и отказали!", "ru") == [
        "очередь",
        "цон",
        "прождать",
        "час",
        "отказать",
    ]


@pytest.mark.parametrize(
    ("forms", "stem_"),
    [
        (["кезек", "кезекте", "кезегі", "кезектерде", "кезексіз"], "кезек"),
        (["құжат", "құжаттар", "құжаттарды", "құжаттардың"], "құжат"),
        (["сайт", "сайты", "сайтта"], "сайт"),
        (["портал", "порталы", "порталында"], "портал"),
        (["қызметкер", "қызметкерге", "қызметкерлердің"], "қызметкер"),
        (["мерзімі", "мерзімінде", "мерзімді", "мерзімін"], stem("мерзім")),
        (["тарту", "тартты"], "тарт"),
    ],
)
def test_kazakh_forms_of_a_word_share_a_stem(forms: list[str], stem_: str) -> None:
    assert {stem(form) for form in forms} == {stem_}


def test_kazakh_text_is_stemmed_without_stop_words() -> None:
    terms = normalise("ХҚКО-да кезек өте ұзын, үш сағат кезекте тұрдым және бір терезе", "kk")
    assert terms.count("кезек") == 2
    assert "хқко" in terms
    assert not {"өте", "үш", "және", "бір", "да"} & set(terms)


def test_english_words_are_stemmed_without_stop_words() -> None:
    assert normalise("The queues were long and I waited for hours", "en") == [
        "queue",
        "long",
        "wait",
        "hour",
    ]


def test_placeholders_digits_and_emoji_are_not_terms() -> None:
    assert normalise("Мой ИИН [IIN], звоните [PHONE] 😡 5000 тг", "ru") == ["иин", "звонить", "тг"]
    assert normalise("😀😀😀", None) == []
    assert normalise("東京 ok Окно", None) == ["ok", "окно"]
    assert normalise("", "kk") == []


def test_every_language_has_stop_words() -> None:
    for lang in ("kk", "ru", "en"):
        assert len(stop_words(lang)) > 50
    # words that carry a complaint's theme are not stop words
    assert not {"очередь", "окно", "деньги", "документ"} & stop_words("ru")
    assert not {"кезек", "терезе", "ақша", "құжат"} & stop_words("kk")


# --- themes ---------------------------------------------------------------------------------


def _theme_of(found: list[Theme], label: str) -> Theme | None:
    for theme in found:
        if label in theme.members:
            return theme
    return None


@pytest.mark.parametrize(
    "topic", ["queue", "documents", "rudeness", "deadline", "refusal", "egov", "bribe"]
)
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_complaints_about_the_same_thing_land_together(
    corpus: pd.DataFrame, found: list[Theme], topic: str, lang: str
) -> None:
    labels = corpus.index[(corpus["theme"] == topic) & (corpus["lang"] == lang)]
    homes = Counter(id(_theme_of(found, label)) for label in labels)
    home_id, together = homes.most_common(1)[0]
    # most of them in one theme ...
    assert together >= 0.75 * len(labels), (topic, lang, homes)
    home = next(theme for theme in found if id(theme) == home_id)
    # ... and that theme is mostly about this
    topics = Counter(corpus.loc[list(home.members), "theme"])
    assert topics[topic] >= 0.6 * home.size, (topic, home.label, topics)


def test_themes_are_labelled_with_their_words(found: list[Theme]) -> None:
    labels = [set(theme.label) for theme in found]
    assert any("очередь" in label for label in labels)
    assert any("кезек" in label for label in labels)
    assert any({"документы", "справку"} & label for label in labels)
    assert all(1 <= len(theme.label) <= 4 for theme in found)


def test_themes_are_sorted_sized_and_disjoint(corpus: pd.DataFrame, found: list[Theme]) -> None:
    assert 7 <= len(found) <= 14
    sizes = [theme.size for theme in found]
    assert sizes == sorted(sizes, reverse=True)
    members = [label for theme in found for label in theme.members]
    assert len(members) == len(set(members))
    assert set(members) <= set(corpus.index)
    for theme in found:
        assert theme.size == len(theme.members) >= 2
        assert sum(theme.languages.values()) == theme.size


def test_each_theme_has_two_or_three_distinct_scrubbed_quotes(
    corpus: pd.DataFrame, found: list[Theme]
) -> None:
    personal = [item for items in corpus["personal"] for item in items]
    for theme in found:
        assert 2 <= len(theme.quotes) <= 3, theme
        assert len({quote.casefold() for quote in theme.quotes}) == len(theme.quotes)
        for quote in theme.quotes:
            assert len(quote) <= 200
            for item in personal:
                assert item not in quote, (item, quote)
    quoted = " ".join(quote for theme in found for quote in theme.quotes)
    assert "[" in quoted  # some quotes did carry personal data, now placeholders


def test_quotes_come_from_the_theme_s_own_texts(corpus: pd.DataFrame, found: list[Theme]) -> None:
    from scoring.privacy import scrub

    for theme in found:
        own = {scrub(text) for text in corpus.loc[list(theme.members), "text"]}
        assert set(theme.quotes) <= own


def test_the_same_seed_gives_the_same_themes(corpus: pd.DataFrame, found: list[Theme]) -> None:
    again = themes(corpus["text"], max_themes=14, seed=7)
    assert again == found


def test_given_languages_are_used(corpus: pd.DataFrame) -> None:
    given_languages = themes(corpus["text"], languages=corpus["lang"], max_themes=14, seed=7)
    assert sum(theme.size for theme in given_languages) >= 0.9 * len(corpus)
    assert {lang for theme in given_languages for lang in theme.languages} <= {"kk", "ru", "en"}


def test_max_themes_bounds_the_number_of_themes(corpus: pd.DataFrame) -> None:
    assert 1 <= len(themes(corpus["text"], max_themes=3, seed=0)) <= 3
    with pytest.raises(ValueError, match="max_themes"):
        themes(corpus["text"], max_themes=0)


@pytest.mark.parametrize(
    "texts",
    [
        pd.Series([], dtype=object),
        pd.Series(["", "   ", None]),
        pd.Series(["😀😀", "🙏🙏🙏", "😡"]),
        pd.Series(["東京都の窓口", "مرحبا بالعالم", "12345"]),
        pd.Series(["и в на", "және мен", "the and of"]),
    ],
)
def test_no_themes_from_texts_without_words(texts: pd.Series) -> None:
    assert themes(texts, max_themes=5, seed=0) == []


def test_a_handful_of_texts_still_gives_themes() -> None:
    texts = pd.Series(
        ["Очередь в ЦОН три часа", "Огромная очередь в ЦОН", "Кезек өте ұзын", "😀", "東京"]
    )
    found = themes(texts, max_themes=5, seed=0, min_size=1)
    assert found
    assert {3, 4}.isdisjoint({label for theme in found for label in theme.members})


def test_many_identical_complaints_make_one_theme() -> None:
    texts = pd.Series(["Огромная очередь в ЦОН, ждал три часа"] * 40)
    found = themes(texts, max_themes=5, seed=0)
    assert len(found) == 1
    assert found[0].size == 40
    assert found[0].quotes == ("Огромная очередь в ЦОН, ждал три часа",)


complaint_like = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        ["Очередь в ЦОН", "Кезек ұзын", "😀", "", "Мой ИИН 850115300120", "the queue", "東京"]
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(complaint_like, max_size=30), st.integers(1, 6), st.integers(0, 3))
def test_themes_of_any_texts_are_well_formed(texts: list[str], most: int, seed: int) -> None:
    series = pd.Series(texts, index=[f"t{n}" for n in range(len(texts))], dtype=object)
    found = themes(series, max_themes=most, seed=seed, min_size=1)
    assert len(found) <= most
    members = [label for theme in found for label in theme.members]
    assert len(members) == len(set(members)) and set(members) <= set(series.index)
    for theme in found:
        assert theme.quotes and all("850115300120" not in quote for quote in theme.quotes)


# --- quotes ---------------------------------------------------------------------------------


def test_quotes_are_scrubbed_shortened_and_not_repeated() -> None:
    long_text = "Очень долго ждал в очереди, " * 20 + "конец"
    quotes = pick_quotes(
        [
            "Позвоните мне 87015553322, очередь огромная",
            "позвоните мне 87015553322,   очередь огромная",
            long_text,
            "Очередь огромная, позвоните мне 87015553322",
            "Третья жалоба про окно",
        ],
        count=3,
    )
    assert quotes[0] == "Позвоните мне [PHONE], очередь огромная"
    assert len(quotes) == 3
    assert quotes[1].endswith("…") and len(quotes[1]) <= 200
    assert quotes[2] == "Третья жалоба про окно"


def test_shorten_cuts_at_a_word_boundary() -> None:
    assert shorten("короткий  текст\nна двух строках") == "короткий текст на двух строках"
    cut = shorten("слово " * 100, limit=50)
    assert len(cut) <= 50
    assert cut.endswith("слово…")
