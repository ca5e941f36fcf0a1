"""Every figure explained: a reader recomputes the total from the explanation alone, in the
reader's language, with the sources in words a reader can look up."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from scoring import explain, load_methodology, score
from scoring.explain import EXPLAIN_COLUMNS, reason_text, recompute, source_words
from tests.test_scoring_golden import AGENCIES, example_inputs

PROPOSED = load_methodology("proposed-s30")
KZ_2020 = load_methodology("kz-2020")


def _recompute_tree(table: pd.DataFrame, methodology_name: str) -> float:
    """The total from the explanation's own numbers: each formula node's substituted formula
    (then its clamp), each weighted node as the sum of its children's weight used × value."""
    methodology = load_methodology(methodology_name)
    rows = table.set_index("node")
    computed: dict[str, float] = {}
    for key in reversed(list(rows.index)):  # children before parents
        row = rows.loc[key]
        if row["status"] not in ("ok", "provisional"):
            continue
        children = rows.loc[rows["parent"] == key]
        if methodology.nodes[key].weighted:
            valued = children.loc[children["status"].isin(["ok", "provisional"])]
            value = math.fsum(valued["share"] * [computed[c] for c in valued.index])
        else:
            value = recompute(str(row["substituted"]), methodology)
            if row["clamp"]:
                low, high = (float(x) for x in str(row["clamp"]).strip("[]").split(","))
                value = min(high, max(low, value))
        assert value == pytest.approx(row["value"], abs=1e-5), key
        computed[key] = value
    return computed["total"]


@pytest.mark.parametrize("name", ["kz-2020", "proposed-s30"])
@pytest.mark.parametrize("agency", ["ministry_a", "akimat_b"])
def test_the_total_recomputes_from_the_explanation_alone(name: str, agency: str) -> None:
    methodology = load_methodology(name)
    inputs = example_inputs()
    scores = score(methodology, inputs, AGENCIES)
    table = explain(methodology, scores, inputs, agency, "2025", "en")
    assert tuple(table.columns) == EXPLAIN_COLUMNS
    total = table.set_index("node").loc["total", "value"]
    assert _recompute_tree(table, name) == pytest.approx(total, abs=1e-5)


def test_a_provisional_total_recomputes_too_with_its_reasons_in_words() -> None:
    inputs = example_inputs()
    inputs.loc[(inputs["agency"] == "akimat_b") & (inputs["input"] == "responses"), "value"] = 40
    scores = score(PROPOSED, inputs, AGENCIES)
    table = explain(PROPOSED, scores, inputs, "akimat_b", "2025", "ru")
    rows = table.set_index("node")
    assert rows.loc["total", "status"] == "provisional"
    assert _recompute_tree(table, "proposed-s30") == pytest.approx(rows.loc["total", "value"])
    assert rows.loc["satisfaction_level", "reason"] == "недостаточная выборка: 40/100 ответов"
    assert rows.loc["satisfaction", "share"] == 0.5 or rows.loc["service_complaints", "share"] == 1
    assert "Уровень удовлетворённости (P1)" in rows.loc["satisfaction", "reason"]


def test_the_substituted_formula_shows_the_inputs_values() -> None:
    inputs = example_inputs()
    scores = score(PROPOSED, inputs, AGENCIES)
    rows = explain(PROPOSED, scores, inputs, "ministry_a", "2025").set_index("node")
    assert rows.loc["complaint_deadlines", "substituted"] == (
        "100 / 20 * clamp(20 - 1000 * 80 / (0.01 * 2000000), 0, 20)"
    )
    assert rows.loc["complaint_deadlines", "inputs"] == (
        "complaints_late = 80; services_delivered = 2000000"
    )
    assert rows.loc["satisfaction_level", "inputs"] == "satisfied_share = 0.75; responses = 400"
    assert rows.loc["satisfaction_level", "n"] == 400
    assert rows.loc["satisfaction", "weight"] == 0.3


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_sources_are_in_the_readers_words_never_internal_references(language: str) -> None:
    scores = score(PROPOSED, example_inputs(), AGENCIES)
    table = explain(PROPOSED, scores, example_inputs(), "ministry_a", "2025", language)
    words = {"kk": "зерттеу есебі, 2020", "ru": "отчёт об исследовании, 2020", "en": "research"}
    assert table["source"].str.contains(words[language]).any()
    for text in table["source"]:
        assert "DOMAIN" not in text and "§" not in text and "issue" not in text.lower()
    assert source_words("assumption: why", "kk") == "болжам: why"


# Latin-script words a kk or ru source may carry: the research's names of directions,
# criteria and indicators (S, S1, K3, T1, P2, R4, B, O, U, D, H …), the letters of its
# formulas' legends (k, f, p, a, n, m) and the methodologies' own names.
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
FORMULA_NAME = re.compile(r"[A-Z][0-9]*")
ALLOWED_LATIN = {"k", "f", "p", "a", "n", "m", "proposed-s30", "kz-2020"}


def english_words(text: str) -> list[str]:
    """The Latin-script words of `text` that are neither a formula name nor an allowed code."""
    return [
        word
        for word in LATIN_WORD.findall(text)
        if not FORMULA_NAME.fullmatch(word) and word not in ALLOWED_LATIN
    ]


@pytest.mark.parametrize("name", ["proposed-s30", "kz-2020"])
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_source_a_reader_sees_is_in_the_readers_language(name: str, language: str) -> None:
    methodology = load_methodology(name)
    nodes = methodology.nodes.values()
    assert all(set(node.source_texts[language]) == set(node.sources) for node in nodes)
    shown = {text for node in nodes for text in node.source_texts[language].values()}
    assert shown  # every node with a weight, a number in its formula or a clamp has one
    for text in shown:
        assert english_words(text) == [], text
    # and so does the explanation the score tree, the report card and the command line print
    scores = score(methodology, example_inputs(), AGENCIES)
    for agency in ("ministry_a", "akimat_b"):
        table = explain(methodology, scores, example_inputs(), agency, "2025", language)
        for text in table["source"]:
            assert english_words(text) == [], text


@pytest.mark.parametrize("name", ["proposed-s30", "kz-2020"])
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_input_is_described_in_the_readers_language(name: str, language: str) -> None:
    """The methodology page and the score tree say what each input is."""
    for spec in load_methodology(name).inputs.values():
        text = spec.about_in(language)
        assert text and text != spec.about, spec.name
        assert english_words(text) == [], text


def test_a_source_per_language_is_shown_in_each_and_checked_as_a_citation() -> None:
    node = PROPOSED.nodes["satisfaction"]
    assert node.source_texts["ru"]["weight"].startswith("отчёт об исследовании, 2020, раздел 2.5")
    assert node.source_texts["kk"]["weight"].startswith("зерттеу есебі, 2020, 2.5-бөлім")
    assert node.sources["weight"].startswith("research report, 2020, section 2.5")
    assert english_words("допущение: T1–T4 по 25 баллов, k − 1000·f/p") == []
    assert english_words("допущение: per 1,000 services") == ["per", "services"]


def test_reason_words_name_parts_by_their_labels() -> None:
    labels = {"open_data": "Открытые данные"}
    assert reason_text("left_out:open_data", "ru", labels) == (
        "неприменимые части исключены, остальные перевзвешены: Открытые данные"
    )
    assert reason_text("", "kk") == ""
    with pytest.raises(ValueError, match="language"):
        reason_text("undefined", "de")


def test_an_agency_without_scores_is_a_clear_error() -> None:
    scores = score(KZ_2020, example_inputs(), AGENCIES)
    with pytest.raises(KeyError, match="no scores of nobody for 2025"):
        explain(KZ_2020, scores, None, "nobody", "2025")


def test_a_kind_reason_names_the_kind_in_the_readers_language() -> None:
    assert reason_text("kind:local", "kk") == "бұл түрдегі органдарға қолданылмайды (жергілікті)"
    assert reason_text("kind:central", "ru") == "не применяется к органам этого вида (центральный)"
    assert reason_text("kind:local", "en") == "does not apply to bodies of this kind (local)"
