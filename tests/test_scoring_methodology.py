"""Methodology files: the shipped ones add up, and a broken one is refused with `file:line: why`."""

from __future__ import annotations

import hashlib
import math

import pytest

from scoring.methodology import (
    METHODOLOGY_DIR,
    MethodologyError,
    available_methodologies,
    load_methodology,
    methodology_by_hash,
    parse_methodology,
)
from scoring.model import KINDS, Methodology
from scoring.schema import SOURCE

SHIPPED = available_methodologies()

TINY = """\
methodology: tiny
version: "1"
title: {kk: Сынақ, ru: Тест, en: Test}
grades:
  source: decree No 954
  bands:
    - key: high
      from: 90
      label: {kk: жоғары, ru: высокая, en: high}
    - key: medium
      from: 70
      below: 90
      label: {kk: орташа, ru: средняя, en: medium}
    - key: low
      from: 50
      below: 70
      label: {kk: төмен, ru: низкая, en: low}
    - key: ineffective
      below: 50
      label: {kk: тиімсіз, ru: неэффективная, en: ineffective}
inputs:
  goal_achievement: {unit: points}
  services_delivered: {unit: count}
  complaints_late: {unit: count}
  automation_score: {unit: points}
  responses: {unit: count}
  satisfied_share: {unit: share, sample: responses}
constants:
  ceiling: {value: 1, source: "assumption: a test ceiling"}
tables:
  steps:
    source: research report, 2020, section 2.2
    steps:
      - {from: 50, points: 100}
    otherwise: 0
tree:
  total:
    label: {kk: Барлығы, ru: Итого, en: Total}
    graded: true
    children:
      goals:
        label: {kk: Мақсаттар, ru: Цели, en: Goals}
        weight: 0.5
        source: decree No 954
        formula: goal_achievement
      interaction:
        label: {kk: Өзара іс-қимыл, ru: Взаимодействие, en: Interaction}
        weight: 0.5
        source: decree No 954
        children:
          satisfaction:
            label: {kk: Қанағаттану, ru: Удовлетворённость, en: Satisfaction}
            weight: 0.5
            source: research report, 2020, section 2.5
            formula: 100 * satisfied_share
          quality:
            label: {kk: Сапа, ru: Качество, en: Quality}
            weight: 1/2
            source: "assumption: equal halves"
            children:
              deadlines:
                label: {kk: Мерзімдер, ru: Сроки, en: Deadlines}
                weight: {central: 0.5, local: 1}
                source: "assumption: equal halves"
                formula: 100 * clamp(1 - 1000 * complaints_late / services_delivered, 0, ceiling)
              automation:
                label: {kk: Автоматтандыру, ru: Автоматизация, en: Automation}
                applies_to: central
                weight: {central: 0.5}
                source: "assumption: equal halves"
                formula: lookup(steps, automation_score)
"""
FILE = "scoring/methodologies/tiny.yaml"


def line(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing `needle`."""
    found = [i + 1 for i, row in enumerate(text.splitlines()) if needle in row]
    return found[occurrence - 1]


def problems(text: str) -> list[str]:
    with pytest.raises(MethodologyError) as error:
        parse_methodology(text, FILE)
    return [str(problem) for problem in error.value.problems]


def test_the_tiny_methodology_is_valid() -> None:
    methodology = parse_methodology(TINY, FILE)
    assert methodology.name == "tiny" and methodology.version == "1"
    assert methodology.hash == hashlib.sha256(TINY.encode()).hexdigest()
    assert list(methodology.nodes)[:3] == ["total", "goals", "interaction"]
    assert methodology.nodes["quality"].weights == {"central": 0.5, "local": 0.5}
    assert methodology.nodes["automation"].applies_to == {"central"}


# --- the shipped files -------------------------------------------------------------------------


def test_both_methodologies_are_shipped() -> None:
    assert {"kz-2020", "proposed-s30"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_file_names_itself_and_hashes_its_bytes(name: str) -> None:
    methodology = load_methodology(name)
    path = METHODOLOGY_DIR / f"{name}.yaml"
    assert methodology.name == name
    assert methodology.file == f"scoring/methodologies/{name}.yaml"
    assert methodology.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_methodology(path).hash == methodology.hash


@pytest.mark.parametrize("name", SHIPPED)
def test_weights_within_every_parent_sum_to_one_for_each_kind(name: str) -> None:
    methodology = load_methodology(name)
    for node in methodology.nodes.values():
        if not node.weighted or not node.children:
            continue
        for kind in KINDS:
            if kind not in node.applies_to:
                continue
            weights = [methodology.nodes[child].weights.get(kind, 0.0) for child in node.children]
            assert math.fsum(weights) == pytest.approx(1, abs=1e-9), (node.key, kind)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_in_a_shipped_file_has_a_source(name: str) -> None:
    methodology = load_methodology(name)
    for node in methodology.nodes.values():
        if node.weights:
            assert SOURCE.search(node.sources["weight"]), node.key
        if node.clamp is not None:
            assert SOURCE.search(node.sources["clamp"]), node.key
        if node.formula_text and any(ch.isdigit() for ch in node.formula_text):
            assert SOURCE.search(node.sources["formula"]), node.key


@pytest.mark.parametrize("name", SHIPPED)
def test_the_tree_is_total_blocks_and_one_grade_scale(name: str) -> None:
    methodology = load_methodology(name)
    assert methodology.root == "total"
    assert methodology.nodes["total"].children == (
        "goals",
        "interaction",
        "organisational_development",
    )
    weights = {key: methodology.nodes[key].weights["central"] for key in ("goals", "interaction")}
    assert weights == {"goals": 0.45, "interaction": 0.45}
    assert methodology.nodes["organisational_development"].weights["local"] == 0.1
    bands = [(band.key, band.lower, band.upper) for band in methodology.grades]
    assert bands == [
        ("ineffective", -math.inf, 50),
        ("low", 50, 70),
        ("medium", 70, 90),
        ("high", 90, math.inf),
    ]
    assert methodology.band("high").label == {"kk": "жоғары", "ru": "высокая", "en": "high"}
    k3 = "automation" if name == "kz-2020" else "automation_criterion"
    assert methodology.nodes[k3].applies_to == {"central"}


def test_kz_2020_keeps_satisfaction_inside_quality_and_complaints_unclamped() -> None:
    methodology = load_methodology("kz-2020")
    nodes = methodology.nodes
    assert nodes["satisfaction"].parent == "quality"
    assert [nodes[key].weights["central"] for key in ("quality", "openness", "complaints")] == [
        pytest.approx(1 / 3)
    ] * 3
    for key in ("complaints", *nodes["complaints"].children):
        assert nodes[key].clamp is None
    assert nodes["complaint_deadlines"].formula_text == (
        "40 - 1000 * complaints_late / complaints_reviewed"
    )


def test_proposed_s30_gives_satisfaction_0_3_of_interaction_so_0_135_of_the_total() -> None:
    methodology = load_methodology("proposed-s30")
    nodes = methodology.nodes
    assert nodes["satisfaction"].parent == "interaction"
    assert nodes["satisfaction"].weights == {"central": 0.3, "local": 0.3}
    for key in ("quality", "openness", "complaints"):
        assert nodes[key].weights["local"] == pytest.approx(0.7 / 3)
    assert nodes["satisfaction"].weights["central"] * nodes["interaction"].weights[
        "central"
    ] == pytest.approx(0.135)
    assert nodes["satisfaction"].children == ("satisfaction_level", "service_complaints")
    assert "satisfaction" not in nodes["quality"].children
    assert "complaints_reviewed" not in methodology.inputs  # normalised by services instead


def _weight_of_s_in_total(methodology: Methodology) -> float:
    weight, key = 1.0, "satisfaction"
    while methodology.nodes[key].parent is not None:
        weight *= methodology.nodes[key].weights["central"]
        key = methodology.nodes[key].parent or ""
    return weight


def test_the_weight_of_s_in_the_whole_evaluation_is_never_0_3() -> None:
    assert _weight_of_s_in_total(load_methodology("proposed-s30")) == pytest.approx(0.135)


def test_an_unknown_name_suggests_the_shipped_ones() -> None:
    with pytest.raises(FileNotFoundError, match="did you mean 'proposed-s30'"):
        load_methodology("proposed-s3")


# --- one test per kind of error ----------------------------------------------------------------


def test_weights_that_do_not_sum_to_one_are_refused() -> None:
    text = TINY.replace(
        "            weight: 0.5\n            source: research report, 2020, section 2.5",
        "            weight: 0.45\n            source: research report, 2020, section 2.5",
    )
    assert problems(text) == [
        f"{FILE}:{line(text, 'interaction:')}: weights under 'interaction' sum to 0.95, expected 1"
    ]


def test_weights_are_checked_for_each_kind_of_agency() -> None:
    text = TINY.replace("weight: {central: 0.5}", "weight: {central: 0.4}")
    assert problems(text) == [
        f"{FILE}:{line(text, 'quality:')}: weights under 'quality' sum to 0.9 for central bodies, "
        f"expected 1"
    ]


def test_an_unknown_input_in_a_formula_is_refused_with_a_suggestion() -> None:
    text = TINY.replace("formula: 100 * satisfied_share", "formula: 100 * satisfied_shar")
    assert problems(text) == [
        f"{FILE}:{line(text, '* satisfied_shar')}: formula of 'satisfaction' reads unknown name "
        f"'satisfied_shar' at column 7; did you mean 'satisfied_share'?"
    ]


def test_a_formula_syntax_error_names_the_column() -> None:
    text = TINY.replace("formula: 100 * satisfied_share", "formula: 100 * (satisfied_share")
    assert problems(text) == [
        f"{FILE}:{line(text, '(satisfied_share')}: formula of 'satisfaction': expected ')', "
        f"found the end at column 23"
    ]


def test_nodes_that_read_each_other_in_a_cycle_are_refused() -> None:
    text = TINY.replace("formula: 100 * satisfied_share", "formula: 100 * satisfied_share + total")
    assert problems(text) == [
        f"{FILE}:{line(text, '+ total')}: nodes read each other in a cycle: "
        f"total → interaction → satisfaction → total; a node cannot depend on itself"
    ]


def test_grade_bands_that_leave_a_gap_are_refused() -> None:
    text = TINY.replace("from: 70\n      below: 90", "from: 70\n      below: 85")
    assert problems(text) == [
        f"{FILE}:{line(text, 'key: high')}: grade bands leave a gap from 85 to 90: 'medium' ends "
        f"below 85 but 'high' starts at 90; make them meet"
    ]


def test_grade_bands_that_overlap_are_refused() -> None:
    text = TINY.replace("from: 70\n      below: 90", "from: 70\n      below: 95")
    assert problems(text) == [
        f"{FILE}:{line(text, 'key: high')}: grade bands 'medium' and 'high' overlap: 'medium' "
        f"runs below 95 but 'high' starts at 90; make 'medium' end below 90"
    ]


def test_grade_bands_must_grade_every_score() -> None:
    text = TINY.replace("    - key: ineffective\n", "    - key: ineffective\n      from: 0\n")
    assert problems(text) == [
        f"{FILE}:{line(text, 'from: 0')}: the lowest grade band 'ineffective' starts at 0, so "
        f"lower scores get no grade; remove its 'from'"
    ]


def test_a_number_without_a_source_is_refused() -> None:
    text = TINY.replace(
        "        weight: 0.5\n        source: decree No 954\n", "        weight: 0.5\n", 1
    )
    assert problems(text) == [
        f"{FILE}:{line(text, 'weight: 0.5')}: 'weight' of 'goals' has no source; add "
        f"'source: research report, 2020, section N' or 'source: assumption: why'"
    ]


def test_a_source_must_cite_the_research_the_decree_or_say_assumption() -> None:
    text = TINY.replace(
        "source: research report, 2020, section 2.5", "source: the ministry said so"
    )
    assert problems(text) == [
        f"{FILE}:{line(text, 'the ministry')}: node 'satisfaction': 'source' must cite the "
        f"research ('research report, 2020, section 2.5'), the decree ('decree No 954'), say "
        f"'this project's proposal: why' or 'assumption: why'"
    ]


@pytest.mark.parametrize("internal", ["DOMAIN.md section 3", "issue 4 item 3", "see draft.yaml"])
def test_a_source_readers_cannot_look_up_is_refused(internal: str) -> None:
    text = TINY.replace(
        "source: research report, 2020, section 2.5", f'source: "assumption, {internal}"'
    )
    assert len(problems(text)) == 1
    assert "which readers cannot look up" in problems(text)[0]


def test_a_node_read_by_a_broader_node_must_apply_as_broadly() -> None:
    text = TINY.replace("formula: goal_achievement", "formula: goal_achievement + 0 * automation")
    assert problems(text) == [
        f"{FILE}:{line(text, '0 * automation')}: formula of 'goals' reads 'automation', which "
        f"applies only to central bodies, but 'goals' applies to central and local bodies; "
        f"narrow 'applies_to' or read another node"
    ]


def test_a_weight_for_a_kind_the_node_does_not_apply_to_is_refused() -> None:
    text = TINY.replace("weight: {central: 0.5}", "weight: {central: 0.5, local: 0.5}")
    assert f"{FILE}:{line(text, 'local: 0.5}')}: weight of 'automation' is given for local " in (
        "\n".join(problems(text))
    )


def test_a_misspelt_field_is_refused_with_the_right_spelling() -> None:
    text = TINY.replace(
        "        weight: 0.5\n        source: decree No 954\n        formula: goal",
        ("        wieght: 0.5\n        source: decree No 954\n        formula: goal"),
    )
    assert problems(text) == [
        f"{FILE}:{line(text, 'wieght')}: node 'goals': unknown field 'wieght'; did you mean "
        f"'weight'?"
    ]


def test_a_label_needs_all_three_languages() -> None:
    text = TINY.replace("{kk: Мақсаттар, ru: Цели, en: Goals}", "{ru: Цели, en: Goals}")
    assert problems(text) == [
        f"{FILE}:{line(text, 'ru: Цели')}: node 'goals': 'label' has no 'kk' text"
    ]


def test_an_input_nobody_reads_is_refused() -> None:
    text = TINY.replace(
        "  responses: {unit: count}\n", "  responses: {unit: count}\n  spare: {unit: count}\n"
    )
    assert problems(text) == [
        f"{FILE}:{line(text, 'spare')}: input 'spare' is declared but nothing reads it; "
        f"remove it or use it in a formula"
    ]


def test_a_yaml_syntax_error_names_the_line() -> None:
    text = TINY.replace('version: "1"', "version: [1")
    assert problems(text)[0].startswith(f"{FILE}:")
    assert "YAML syntax" in problems(text)[0]


def test_a_repeated_key_names_its_line() -> None:
    text = TINY.replace('version: "1"\n', 'version: "1"\nversion: "2"\n')
    repeated = line(text, "version", 2)
    assert problems(text) == [f"{FILE}:{repeated}: duplicate key 'version'"]


def test_yaml_1_2_reads_no_as_text_and_fractions_as_formulas() -> None:
    methodology = parse_methodology(TINY.replace('version: "1"', "version: no"), FILE)
    assert methodology.version == "no"
    assert parse_methodology(TINY, FILE).nodes["quality"].weights["central"] == 0.5


def test_every_archived_version_is_found_by_its_hash_and_loads() -> None:
    archive = METHODOLOGY_DIR / "archive"
    files = sorted(archive.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        name = path.stem.rsplit("-", 1)[0]
        assert path.stem.endswith(digest[:12]), path.name
        found = methodology_by_hash(name, digest)
        assert found is not None and found.hash == digest and found.name == name
    shipped = load_methodology("proposed-s30")
    assert methodology_by_hash("proposed-s30", shipped.hash) is not None


def test_an_input_marked_not_scored_may_not_be_read_by_a_formula() -> None:
    text = TINY.replace(
        "  goal_achievement: {unit: points}",
        "  goal_achievement: {unit: points, scored: false}",
    )
    found = problems(text)
    assert len(found) == 1 and "is marked 'scored: false' but a formula reads it" in found[0]
    shown = load_methodology("proposed-s30").inputs["unjustified_refusal_rate"]
    assert not shown.scored  # S2: citizens' reports beside the official count, never counted
