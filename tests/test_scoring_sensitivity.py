"""Sensitivity of ranks to the assumptions: ranges drawn within the file's plausible values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring import load_methodology, score, sensitivity
from scoring.compute import prepare, weight_arrays
from scoring.methodology import METHODOLOGY_DIR, parse_methodology
from scoring.sensitivity import _drawn_parameters, assumptions, sensitivity_columns
from tests.test_scoring_golden import AGENCIES, example_inputs

PROPOSED = load_methodology("proposed-s30")
KZ_2020 = load_methodology("kz-2020")


def test_proposed_s30_declares_its_assumptions_ranges() -> None:
    names = {item.name for item in assumptions(PROPOSED)}
    assert {
        "weight:quality",
        "weight:openness",
        "weight:complaints",  # the split of the remaining 0.7
        "weight:satisfaction_level",
        "weight:service_complaints",  # P1 : P2 inside S
        "penalty_points",
        "penalty_ceiling_per_1000",  # penalty scales
        "reference_complaints_per_service",  # the complaint denominator
        "quality_complaints_ceiling_per_1000",
    } <= names


def test_drawn_weights_keep_their_parents_share() -> None:
    data = prepare(PROPOSED, example_inputs(), AGENCIES)
    found = assumptions(PROPOSED)
    rng = np.random.default_rng(3)
    drawn = rng.uniform([a.low for a in found], [a.high for a in found], size=(50, len(found)))
    kinds = np.tile(data.kinds, 50)
    params = _drawn_parameters(PROPOSED, kinds, drawn, [a.name for a in found], data.size)
    rest = params.weights["quality"] + params.weights["openness"] + params.weights["complaints"]
    assert rest == pytest.approx(np.full(len(kinds), 0.7))
    s = params.weights["satisfaction_level"] + params.weights["service_complaints"]
    assert s == pytest.approx(np.ones(len(kinds)))
    assert not np.allclose(params.weights["quality"], 0.7 / 3)  # they do move
    own = weight_arrays(PROPOSED, data.kinds)
    assert own["satisfaction"] == pytest.approx(np.full(data.size, 0.3))


def test_without_ranges_nothing_moves_and_ranks_are_those_of_the_scores() -> None:
    text = (METHODOLOGY_DIR / "kz-2020.yaml").read_text(encoding="utf-8")
    fixed = parse_methodology(
        "".join(line for line in text.splitlines(True) if "range:" not in line)
    )
    assert assumptions(fixed) == []
    table = sensitivity(fixed, example_inputs(), AGENCIES, draws=20, seed=1)
    assert list(table.columns) == sensitivity_columns(fixed)
    rows = table.set_index("agency")
    assert (rows["value_p05"] == rows["value"]).all() and (rows["value_p95"] == rows["value"]).all()
    assert rows.loc["ministry_a", ["rank", "rank_p05", "rank_p95"]].tolist() == [1, 1, 1]
    assert rows.loc["akimat_b", "rank"] == 1 and rows.loc["akimat_c", "rank"] == 2  # local apart
    assert rows.loc["akimat_c", "p_medium"] == 1
    assert (rows["driver"] == "").all()


def test_ranges_move_totals_and_the_chances_of_each_grade_add_up() -> None:
    table = sensitivity(PROPOSED, example_inputs(), AGENCIES, draws=300, seed=2)
    rows = table.set_index("agency")
    scores = score(PROPOSED, example_inputs(), AGENCIES)
    totals = scores.loc[scores["node"] == "total"].set_index("agency")["value"]
    for agency in rows.index:
        assert rows.loc[agency, "value"] == pytest.approx(totals[agency])
        assert rows.loc[agency, "value_p05"] <= rows.loc[agency, "value_p95"]
        assert rows.loc[agency, "rank_p05"] <= rows.loc[agency, "rank_p95"]
        chances = rows.loc[agency, ["p_high", "p_medium", "p_low", "p_ineffective"]]
        assert chances.sum() == pytest.approx(1)
    assert rows.loc["ministry_a", "value_p05"] < rows.loc["ministry_a", "value_p95"]
    assert (rows["draws"] == 300).all()


def test_the_assumption_that_moves_a_rank_is_named() -> None:
    # akimat_d: more late services, happier citizens; how much lateness costs (the ceiling of
    # late services per 1,000, an assumption) decides which of the two local bodies leads
    inputs = example_inputs()
    inputs = inputs.loc[inputs["agency"] != "akimat_c"]
    twin = inputs.loc[inputs["agency"] == "akimat_b"].assign(agency="akimat_d")
    twin.loc[twin["input"] == "service_deadline_violations", "value"] = 600  # worse quality
    twin.loc[twin["input"] == "satisfied_share", "value"] = 0.7  # better S
    agencies = pd.concat([AGENCIES, pd.DataFrame({"agency": ["akimat_d"], "kind": ["local"]})])
    table = sensitivity(PROPOSED, pd.concat([inputs, twin]), agencies, draws=400, seed=5)
    rows = table.set_index("agency")
    assert rows.loc["akimat_d", "rank_p05"] == 1 and rows.loc["akimat_d", "rank_p95"] == 2
    assert rows.loc["akimat_d", "driver"] == "defects_ceiling_per_1000"
    assert rows.loc["akimat_d", "driver_effect"] < 0  # a higher ceiling: a better (lower) rank
    assert 0 < rows.loc["akimat_d", "p_medium"] < 1 or rows.loc["akimat_d", "p_high"] == 0


def test_the_same_seed_gives_the_same_table() -> None:
    first = sensitivity(PROPOSED, example_inputs(), AGENCIES, draws=50, seed=9)
    second = sensitivity(PROPOSED, example_inputs(), AGENCIES, draws=50, seed=9)
    pd.testing.assert_frame_equal(first, second)
    with pytest.raises(ValueError, match="draws"):
        sensitivity(PROPOSED, example_inputs(), AGENCIES, draws=0)


def test_kz_2020_declares_ranges_for_its_lost_weights_and_ceilings() -> None:
    names = {item.name for item in assumptions(KZ_2020)}
    assert names == {
        "weight:quality",
        "weight:openness",
        "weight:complaints",
        "defects_ceiling_per_1000",
        "quality_complaints_ceiling_per_1000",
    }
    table = sensitivity(KZ_2020, example_inputs(), AGENCIES, draws=200, seed=3)
    assert (table["value_p05"] <= table["value_p95"]).all()
    assert (table["value_p05"] < table["value_p95"]).any()
