"""Scoring: the complaint formulas, the satisfaction direction S, and honesty about evidence
(not applicable, missing inputs, small samples, kinds of agency), on hand-computed numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.compute import SCORE_COLUMNS, STATUSES, ScoringInputError, score
from scoring.evidence import wilson_interval
from scoring.methodology import load_methodology
from scoring.model import Methodology
from tests.test_scoring_golden import AGENCIES, example_inputs

KZ_2020 = load_methodology("kz-2020")
PROPOSED = load_methodology("proposed-s30")
CENTRAL = pd.DataFrame({"agency": ["ministry"], "kind": ["central"]})
LOCAL = pd.DataFrame({"agency": ["akimat"], "kind": ["local"]})


def long(
    values: Mapping[str, object], agency: str = "ministry", period: str = "2025"
) -> pd.DataFrame:
    rows = [(agency, period, name, value) for name, value in values.items()]
    return pd.DataFrame(rows, columns=["agency", "period", "input", "value"])


def node_rows(result: pd.DataFrame, agency: str = "ministry") -> pd.DataFrame:
    return result.loc[result["agency"] == agency].set_index("node")


def value(methodology: Methodology, inputs: Mapping[str, object], node: str) -> float:
    row = node_rows(score(methodology, long(inputs), CENTRAL)).loc[node]
    return float(row["value"])


# --- R1-R4: the complaints direction -----------------------------------------------------------

WORKED = {"complaints_late": 120, "complaints_reviewed": 50}  # the report's table 2.9: f/p = 2.4


def test_r1_reproduces_the_reports_minus_2360_unclamped_in_kz_2020() -> None:
    assert value(KZ_2020, WORKED, "complaint_deadlines") == -2360  # 40 − 1000·120/50


def test_r1_is_20_points_clamped_at_zero_in_proposed_s30() -> None:
    # 0.01 × 5,000 services = 50 expected complaints: 20 − 1000·120/50 → 0 of 20 points
    inputs = {"complaints_late": 120, "services_delivered": 5_000}
    assert value(PROPOSED, inputs, "complaint_deadlines") == 0
    # 1 late of 10,000 expected: 20 − 0.1 = 19.9 of 20 points, 99.5 on the node's 0-100 scale
    inputs = {"complaints_late": 1, "services_delivered": 1_000_000}
    assert value(PROPOSED, inputs, "complaint_deadlines") == pytest.approx(99.5)


def test_r2_and_r3_reconstructed_from_their_legends_in_kz_2020() -> None:
    inputs = {
        "complaints_court_upheld": 1,
        "complaints_repeat_justified": 5,
        "complaints_reviewed": 50,
    }
    assert value(KZ_2020, inputs, "court_decisions") == -170  # 30 − 10000·1/50
    assert value(KZ_2020, inputs, "repeat_complaints") == 10  # 20 − 100·5/50


@pytest.mark.parametrize(
    ("share", "points"),
    [(1.0, 10), (0.9, 10), (0.899, 8), (0.8, 8), (0.75, 6), (0.6, 4), (0.5, 1), (0.499, 0), (0, 0)],
)
def test_r4_follows_the_table_in_kz_2020(share: float, points: float) -> None:
    assert value(KZ_2020, {"internal_control_share": share}, "internal_control") == points


def test_r4_is_removed_from_proposed_s30_and_h_keeps_its_100_points() -> None:
    assert "internal_control" not in PROPOSED.nodes  # S9
    assert "internal_control_share" not in PROPOSED.inputs
    kz = {**WORKED, "complaints_court_upheld": 1, "complaints_repeat_justified": 5}
    kz["internal_control_share"] = 0.85
    assert value(KZ_2020, kz, "complaints") == -2360 - 170 + 10 + 8
    # H′ = (20·R1 + 30·R2 + 20·R3 + 20·S10) / 90 on 0-100 scales: all four perfect → 100
    proposed = {
        "complaints_late": 0,
        "complaints_court_upheld": 0,
        "complaints_repeat_justified": 0,
        "services_delivered": 5_000,
        "responses": 200,
        "full_package_once_rate": 1,
    }
    assert value(PROPOSED, proposed, "complaints") == 100
    half = {**proposed, "full_package_once_rate": 0.5}  # S10 at 50: 100 − 20/90·50
    assert value(PROPOSED, half, "complaints") == pytest.approx(100 - 20 / 90 * 50)


def test_more_complaints_reviewed_raise_kz_2020_but_never_proposed_s30() -> None:
    few = {"complaints_late": 100, "complaints_reviewed": 10_000, "services_delivered": 1_000_000}
    many = {**few, "complaints_reviewed": 20_000}
    assert value(KZ_2020, many, "complaint_deadlines") > value(KZ_2020, few, "complaint_deadlines")
    assert value(PROPOSED, many, "complaint_deadlines") == value(
        PROPOSED, few, "complaint_deadlines"
    )


# --- S: the satisfaction direction of proposed-s30 ---------------------------------------------

SURVEY = {
    "responses": 400,
    "satisfied_share": 0.8,
    "full_package_once_rate": 0.9,
    "quality_complaints": 500,
    "services_delivered": 1_000_000,
}


def test_s_is_p1_and_p2_in_halves() -> None:
    # S1: S = K1 = P1 + P2 lifted out of quality; .5·100·0.8 + .5·100·(1 − 0.5/1)
    assert value(PROPOSED, SURVEY, "satisfaction_level") == pytest.approx(80)
    assert value(PROPOSED, SURVEY, "service_complaints") == pytest.approx(50)
    assert value(PROPOSED, SURVEY, "satisfaction") == pytest.approx(65)


def test_s_has_no_complaint_points_at_the_ceiling_or_above() -> None:
    at_ceiling = {**SURVEY, "quality_complaints": 1_000}  # 1 per 1,000 services
    above = {**SURVEY, "quality_complaints": 5_000}
    assert value(PROPOSED, at_ceiling, "service_complaints") == 0
    assert value(PROPOSED, above, "service_complaints") == 0


def test_t2_to_t4_are_penalties_of_at_most_5_points_each() -> None:
    worst = {
        "services_delivered": 1_000,
        "unjustified_refusals": 50,
        "incomplete_package_services": 50,
        "extra_documents_requests": 50,
    }
    assert value(PROPOSED, worst, "service_penalties") == 15  # S2: 15 points in all
    some = {**worst, "unjustified_refusals": 0, "extra_documents_requests": 0}
    some["incomplete_package_services"] = 1  # 1 per 1,000 services: the full 5 points
    assert value(PROPOSED, some, "service_penalties") == 5


def test_a_share_node_carries_the_wilson_interval_of_its_share() -> None:
    inputs = {**SURVEY, "responses": 100, "satisfied_share": 0.7}
    row = node_rows(score(PROPOSED, long(inputs), CENTRAL)).loc["satisfaction_level"]
    low, high = wilson_interval(pd.Series([70]), pd.Series([100]))
    assert row["n"] == 100
    assert row["ci_low"] == pytest.approx(100 * low.iloc[0], abs=1e-6)  # 100 · 0.6041
    assert row["ci_high"] == pytest.approx(100 * high.iloc[0], abs=1e-6)  # 100 · 0.7810


# --- evidence: not applicable, provisional, insufficient, missing ------------------------------


def test_below_the_minimum_sample_the_share_is_insufficient_and_its_parents_provisional() -> None:
    inputs = example_inputs()
    inputs.loc[(inputs["agency"] == "ministry_a") & (inputs["input"] == "responses"), "value"] = 40
    rows = node_rows(score(PROPOSED, inputs, AGENCIES), "ministry_a")
    for node in ("satisfaction_level", "documents_once"):
        assert rows.loc[node, "status"] == "insufficient_sample"
        assert pd.isna(rows.loc[node, "value"]) and rows.loc[node, "n"] == 40
        assert rows.loc[node, "reason"] == "sample:40/100"
    # S is computed from P2 alone, re-weighted to keep its 0-100 scale
    assert rows.loc["satisfaction", "status"] == "provisional"
    assert rows.loc["satisfaction", "value"] == rows.loc["service_complaints", "value"] == 70
    assert rows.loc["satisfaction", "reason"] == "without:satisfaction_level"
    for node in ("interaction", "total"):
        assert rows.loc[node, "status"] == "provisional"
        assert rows.loc[node, "grade"] in ("high", "medium", "low", "ineffective")
    assert rows.loc["total", "reason"] == "provisional:interaction"
    for node in ("goals", "quality", "service_complaints", "openness"):
        assert rows.loc[node, "status"] == "ok"
    lenient = node_rows(score(PROPOSED, inputs, AGENCIES, min_sample=40), "ministry_a")
    assert lenient.loc["total", "status"] == "ok"


def test_a_body_with_40_responses_gets_a_provisional_total_under_both() -> None:
    inputs = example_inputs()
    inputs.loc[(inputs["agency"] == "akimat_b") & (inputs["input"] == "responses"), "value"] = 40
    for methodology in (KZ_2020, PROPOSED):
        rows = node_rows(score(methodology, inputs, AGENCIES), "akimat_b")
        assert rows.loc["total", "status"] == "provisional", methodology.name
        assert 0 <= rows.loc["total", "value"] <= 100


def test_no_data_sets_planned_and_no_ratings_still_give_a_total_under_both() -> None:
    inputs = example_inputs()
    mine = inputs["agency"] == "ministry_a"
    unrated = inputs.loc[~(mine & inputs["input"].str.startswith("dataset_"))].copy()
    planned = (unrated["agency"] == "ministry_a") & unrated["input"].isin(
        ["open_data_planned", "open_data_published"]
    )
    unrated.loc[planned, "value"] = 0
    for methodology in (KZ_2020, PROPOSED):
        rows = node_rows(score(methodology, unrated, AGENCIES), "ministry_a")
        assert rows.loc["total", "status"] == "ok", methodology.name
        assert rows.loc["open_data", "status"] == "not_applicable"
        assert rows.loc["openness", "status"] == "ok"
        assert rows.loc["openness", "reason"] == "left_out:open_data"
    rows = node_rows(score(PROPOSED, unrated, AGENCIES), "ministry_a")
    assert rows.loc["data_publication", "reason"] == "zero:open_data_planned"
    # open data left out: its fifth goes to the other criteria in proportion (.2 and .6 of .8)
    expected = (0.2 * rows.loc["open_legal_acts", "value"] + 0.6 * 80) / 0.8
    assert rows.loc["openness", "value"] == pytest.approx(expected)


def test_a_missing_input_is_named_and_its_parents_are_provisional() -> None:
    inputs = example_inputs()
    gone = (inputs["agency"] == "akimat_b") & inputs["input"].isin(
        ["complaints_late", "complaints_court_upheld"]
    )
    rows = node_rows(score(KZ_2020, inputs.loc[~gone], AGENCIES), "akimat_b")
    assert rows.loc["complaint_deadlines", "missing_inputs"] == "complaints_late"
    assert rows.loc["complaint_deadlines", "reason"] == "inputs_missing:complaints_late"
    assert rows.loc["complaints", "status"] == "missing"  # H is a formula: it needs all of R1-R4
    assert rows.loc["complaints", "reason"] == "reads:complaint_deadlines,court_decisions"
    assert rows.loc["interaction", "status"] == "provisional"
    assert rows.loc["interaction", "reason"] == "without:complaints"
    assert rows.loc["interaction", "value"] == pytest.approx((81.25 + 92.5) / 2)
    assert rows.loc["total", "status"] == "provisional"
    assert rows.loc["repeat_complaints", "status"] == "ok"


def test_an_input_out_of_its_range_or_not_a_number_counts_as_missing() -> None:
    for bad in (-5, 1.5, "n/a", math.inf, None, 10.5):
        inputs = {"internal_control_share": 0.9, "responses": bad, "satisfied_share": 0.8}
        rows = node_rows(score(PROPOSED, long(inputs), CENTRAL))
        assert rows.loc["satisfaction_level", "status"] == "missing", bad
        assert rows.loc["satisfaction_level", "missing_inputs"] == "responses", bad
        rows = node_rows(score(KZ_2020, long(inputs), CENTRAL))
        assert rows.loc["internal_control", "status"] == "ok"


def test_public_monitorings_official_p1_is_not_held_to_the_minimum_sample() -> None:
    official = {"satisfied_share": 0.7}  # imported without a sample: an official figure
    rows = node_rows(score(KZ_2020, long(official), CENTRAL))
    assert rows.loc["satisfaction_level", "status"] == "ok"
    assert rows.loc["satisfaction_level", "value"] == 35
    assert pd.isna(rows.loc["satisfaction_level", "n"])
    # proposed-s30's P1 is this product's survey: without its sample it is missing
    rows = node_rows(score(PROPOSED, long(official), CENTRAL))
    assert rows.loc["satisfaction_level", "missing_inputs"] == "responses"
    surveyed = node_rows(score(KZ_2020, long({**official, "responses": 40}), CENTRAL))
    assert surveyed.loc["satisfaction_level", "status"] == "insufficient_sample"


def test_the_same_input_given_twice_with_different_values_is_missing() -> None:
    inputs = pd.concat([long({"goal_achievement": 80}), long({"goal_achievement": 60})])
    assert node_rows(score(KZ_2020, inputs, CENTRAL)).loc["goals", "status"] == "missing"
    same = pd.concat([long({"goal_achievement": 80}), long({"goal_achievement": 80})])
    assert node_rows(score(KZ_2020, same, CENTRAL)).loc["goals", "value"] == 80


def test_no_services_delivered_leaves_the_service_directions_out() -> None:
    inputs = {"services_delivered": 0, "openness_other_score": 70, "goal_achievement": 80}
    rows = node_rows(score(PROPOSED, long(inputs), CENTRAL))
    for node in ("quality", "complaints", "service_complaints"):
        assert rows.loc[node, "status"] == "not_applicable"
        assert rows.loc[node, "reason"] == "zero:services_delivered"
    assert rows.loc["interaction", "reason"].startswith("left_out:quality,complaints")


def test_automation_is_k3_for_central_and_b_for_local_bodies_with_proactive_services() -> None:
    inputs = {"automation_score": 60, "automation_in_period": 20, "proactive_services_share": 0.5}
    central = node_rows(score(PROPOSED, long(inputs), CENTRAL))
    local = node_rows(score(PROPOSED, long(inputs, agency="akimat"), LOCAL), "akimat")
    assert central.loc["automation", "value"] == pytest.approx((60 + 50) / 2)
    assert central.loc["automation_incentive", "status"] == "not_applicable"
    assert local.loc["automation", "value"] == pytest.approx((20 + 50) / 2)  # S3, S4
    assert local.loc["automation_criterion", "reason"] == "kind:local"


def test_kz_2020_local_quality_is_k1_and_k2_in_halves_central_adds_k3_in_thirds() -> None:
    inputs = example_inputs()
    rows = node_rows(score(KZ_2020, inputs, AGENCIES), "akimat_b")
    assert rows.loc["quality", "value"] == pytest.approx((70 + 92.5) / 2)
    rows = node_rows(score(KZ_2020, inputs, AGENCIES), "ministry_a")
    assert rows.loc["quality", "value"] == pytest.approx((72.5 + 79.75 + 60) / 3)


def test_an_agency_of_unknown_kind_is_missing_its_kind() -> None:
    agencies = pd.DataFrame({"agency": ["ministry"], "kind": ["regional"]})
    rows = node_rows(score(KZ_2020, long({"goal_achievement": 80}), agencies))
    assert set(rows["status"]) == {"missing"}
    assert set(rows["missing_inputs"]) == {"kind"}
    assert set(rows["reason"]) == {"kind_unknown"}


def test_an_agency_without_inputs_in_a_period_is_missing_everything() -> None:
    agencies = pd.concat([CENTRAL, LOCAL])
    result = score(KZ_2020, long({"goal_achievement": 80}), agencies)
    rows = node_rows(result, "akimat")
    assert rows.loc["goals", "status"] == "missing"
    assert rows.loc["goals", "missing_inputs"] == "goal_achievement"
    assert rows.loc["total", "status"] == "missing"
    assert rows.loc["automation", "status"] == "not_applicable"


def test_the_output_has_the_contract_columns_and_types() -> None:
    result = score(PROPOSED, example_inputs(), AGENCIES)
    assert tuple(result.columns) == SCORE_COLUMNS
    assert SCORE_COLUMNS[-1] == "reason"
    assert str(result["n"].dtype) == "Int64"
    assert set(result["status"]) <= set(STATUSES)
    assert list(result["agency"].unique()) == ["akimat_b", "akimat_c", "ministry_a"]
    assert len(result) == 3 * len(PROPOSED.nodes)


def test_empty_inputs_give_an_empty_result_and_missing_columns_are_refused() -> None:
    empty = pd.DataFrame(columns=["agency", "period", "input", "value"])
    assert score(PROPOSED, empty, AGENCIES).empty
    with pytest.raises(ScoringInputError, match="missing: value"):
        score(PROPOSED, empty.drop(columns=["value"]), AGENCIES)


def test_the_same_inputs_in_another_order_give_the_same_output_to_the_last_digit() -> None:
    inputs = example_inputs()
    first = score(PROPOSED, inputs, AGENCIES)
    shuffled = inputs.sample(frac=1, random_state=7).reset_index(drop=True)
    shuffled["period"] = 2025  # the same period read as a number from XLSX
    second = score(PROPOSED, shuffled, AGENCIES.iloc[::-1])
    pd.testing.assert_frame_equal(first, second)


# --- properties --------------------------------------------------------------------------------

shares = st.floats(min_value=0, max_value=1)
counts = st.integers(min_value=0, max_value=10_000_000)
points = st.floats(min_value=0, max_value=100)
POINTS = ("goal_achievement", "hr_management", "it_use", "automation_score")
POINTS += ("automation_in_period", "openness_other_score", "openness_score")
SHARES = (
    "proactive_services_share",
    "legal_acts_monitoring",
    "legal_acts_recommendations",
    "legal_acts_proposals_adopted",
    "legal_acts_users_satisfied",
    "legal_acts_publications",
    "legal_acts_public_organisations",
    "satisfied_share",
    "full_package_once_rate",
    "dataset_verifiable_share",
    "internal_control_share",
)
# counts where more is worse (violations, complaints), each a fraction of what could happen
BAD_COUNTS = (
    "service_deadline_violations",
    "unjustified_refusals",
    "incomplete_package_services",
    "extra_documents_requests",
    "quality_complaints",
    "complaints_late",
    "complaints_court_upheld",
    "complaints_repeat_justified",
)
all_inputs = st.fixed_dictionaries(
    {
        **{name: points for name in POINTS},
        **{name: shares for name in SHARES},
        **{name: st.integers(0, 5_000) for name in BAD_COUNTS},
        "services_delivered": st.integers(min_value=10_000, max_value=10_000_000),
        "complaints_reviewed": st.integers(min_value=20_000, max_value=100_000),
        "open_data_planned": st.integers(min_value=1, max_value=5_000),
        "open_data_published": st.integers(min_value=0, max_value=5_000),
        "responses": st.integers(min_value=100, max_value=100_000),
        "dataset_ratings": st.integers(min_value=100, max_value=100_000),
        "dataset_problems_due": st.integers(min_value=0, max_value=50),
        "dataset_problems_resolved_in_time": st.integers(min_value=0, max_value=50),
    }
)


def totals(
    methodology: Methodology, rows: list[dict[str, float]], kinds: list[str], node: str = "total"
) -> np.ndarray:
    frames = [long(row, agency=f"a{i:03d}") for i, row in enumerate(rows)]
    agencies = pd.DataFrame({"agency": [f"a{i:03d}" for i in range(len(rows))], "kind": kinds})
    result = score(methodology, pd.concat(frames), agencies)
    return result.loc[result["node"] == node, "value"].to_numpy(dtype="float64")


def _worse(inputs: dict[str, float], name: str, amount: float) -> dict[str, float]:
    """`inputs` with `name` made worse by `amount` (0..1 of its room to get worse)."""
    changed = dict(inputs)
    if name in POINTS or name in SHARES:
        changed[name] = inputs[name] * (1 - amount)
    elif name in BAD_COUNTS:
        changed[name] = inputs[name] + round(amount * 5_000)
    elif name == "open_data_published" or name == "dataset_problems_resolved_in_time":
        changed[name] = round(inputs[name] * (1 - amount))
    elif name == "services_delivered":  # the same defects over fewer services
        changed[name] = max(10_000, round(inputs[name] * (1 - amount)))
    return changed


WORSENED = sorted(
    (*POINTS, *SHARES, *BAD_COUNTS, "open_data_published", "dataset_problems_resolved_in_time")
)


@settings(max_examples=40, deadline=None)
@given(
    all_inputs,
    st.sampled_from(["central", "local"]),
    st.sampled_from([*WORSENED, "services_delivered"]),
    st.floats(min_value=0, max_value=1),
)
def test_worsening_any_single_input_never_raises_a_proposed_s30_total(
    inputs: dict[str, float], kind: str, name: str, amount: float
) -> None:
    before, after = totals(PROPOSED, [inputs, _worse(inputs, name, amount)], [kind, kind])
    assert after <= before + 1e-9, (name, before, after)


PERFECT = {
    **dict.fromkeys(POINTS, 100),
    **dict.fromkeys(SHARES, 1),
    **dict.fromkeys(BAD_COUNTS, 0),
    "services_delivered": 1_000_000,
    "complaints_reviewed": 50_000,
    "open_data_planned": 10,
    "open_data_published": 10,
    "responses": 500,
    "dataset_ratings": 200,
    "dataset_problems_due": 3,
    "dataset_problems_resolved_in_time": 3,
}


@pytest.mark.parametrize("methodology", [KZ_2020, PROPOSED], ids=lambda m: m.name)
@pytest.mark.parametrize("kind", ["central", "local"])
def test_a_perfect_body_scores_100_for_both_kinds_and_both_methodologies(
    methodology: Methodology, kind: str
) -> None:
    result = score(
        methodology, long(PERFECT), pd.DataFrame({"agency": ["ministry"], "kind": [kind]})
    )
    rows = node_rows(result)
    assert rows.loc["total", "status"] == "ok"
    assert rows.loc["total", "value"] == 100
    assert rows.loc["total", "grade"] == "high"


@settings(max_examples=30, deadline=None)
@given(all_inputs, st.sampled_from(["central", "local"]), shares, shares)
def test_a_change_of_s_moves_the_proposed_total_by_0_135_of_it(
    inputs: dict[str, float], kind: str, a: float, b: float
) -> None:
    first, second = {**inputs, "satisfied_share": a}, {**inputs, "satisfied_share": b}
    total_1, total_2 = totals(PROPOSED, [first, second], [kind, kind])
    s_1, s_2 = totals(PROPOSED, [first, second], [kind, kind], node="satisfaction")
    assert total_2 - total_1 == pytest.approx(0.135 * (s_2 - s_1), abs=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(all_inputs, st.sampled_from(["central", "local"])), min_size=1, max_size=8)
)
def test_a_total_under_proposed_s30_is_always_within_0_and_100(
    cases: list[tuple[dict[str, float], str]],
) -> None:
    frames = [long(inputs, agency=f"a{i:03d}") for i, (inputs, _) in enumerate(cases)]
    agencies = pd.DataFrame(
        {"agency": [f"a{i:03d}" for i in range(len(cases))], "kind": [k for _, k in cases]}
    )
    result = score(PROPOSED, pd.concat(frames), agencies)
    graded = result.loc[
        result["node"].isin(["total", "interaction", "satisfaction", "complaints", "openness"])
    ]
    assert (graded["status"] == "ok").all()
    assert graded["value"].between(0, 100).all()
    assert graded["ci_low"].dropna().between(0, 100).all()
    assert graded["ci_high"].dropna().between(0, 100).all()


junk = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(max_size=5),
)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(PROPOSED.inputs)), junk, max_size=25))
def test_nothing_crashes_on_odd_input_and_nothing_is_computed_from_it(
    inputs: dict[str, object],
) -> None:
    for methodology in (PROPOSED, KZ_2020):
        result = score(methodology, long(inputs), CENTRAL)
        assert set(result["status"]) <= set(STATUSES)
        valued = result["status"].isin(["ok", "provisional"])
        assert result.loc[valued, "value"].notna().all()
        assert result.loc[~valued, "value"].isna().all()
        assert not np.isinf(result["value"].to_numpy(dtype="float64", na_value=np.nan)).any()


@pytest.mark.parametrize("responses", [9.3e18, 1e300, float("inf")])
def test_a_sample_size_too_large_for_a_count_is_no_sample_size(responses: float) -> None:
    for methodology in (PROPOSED, KZ_2020):
        result = score(methodology, long({"responses": responses, "satisfied_share": 0.5}), CENTRAL)
        assert result["n"].isna().all()
