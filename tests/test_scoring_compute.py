"""Scoring: the published complaint formulas, the satisfaction direction S, and honesty about
evidence (missing inputs, small samples, kinds of agency), on hand-computed numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.compute import SCORE_COLUMNS, ScoringInputError, score
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


def test_r1_is_clamped_at_zero_in_proposed_s30() -> None:
    # 0.01 × 5,000 services = 50 expected complaints: the same f/p = 2.4, so 40 − 2400 → 0
    inputs = {"complaints_late": 120, "services_delivered": 5_000}
    assert value(PROPOSED, inputs, "complaint_deadlines") == 0


def test_r2_and_r3_as_published() -> None:
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
def test_r4_follows_the_published_table(share: float, points: float) -> None:
    for methodology in (KZ_2020, PROPOSED):
        assert value(methodology, {"internal_control_share": share}, "internal_control") == points


def test_h_adds_r1_to_r4_unclamped_in_kz_2020_and_clamped_in_proposed_s30() -> None:
    kz = {**WORKED, "complaints_court_upheld": 1, "complaints_repeat_justified": 5}
    kz["internal_control_share"] = 0.85
    assert value(KZ_2020, kz, "complaints") == -2360 - 170 + 10 + 8
    proposed = {
        "complaints_late": 120,
        "complaints_court_upheld": 1,
        "complaints_repeat_justified": 5,
        "services_delivered": 5_000,
        "internal_control_share": 0.85,
    }
    assert value(PROPOSED, proposed, "complaints") == 0 + 0 + 10 + 8


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
    "info_satisfied_share": 0.6,
    "unjustified_refusal_rate": 0.02,
    "extra_documents_rate": 0.1,
    "full_package_once_rate": 0.9,
    "quality_complaints": 500,
    "services_delivered": 1_000_000,
    "dataset_ratings": 400,
    "dataset_satisfied_share": 0.6,
}


def test_s_is_60_satisfied_25_complaints_15_information_minus_penalties() -> None:
    # 60·0.8 + 25·(1 − 0.5/1) + (10·0.6 + 5·0.6) − 5·(0.02 + 0.1 + (1 − 0.9))
    # = 48 + 12.5 + 9 − 1.1: the 15 information points are the service's 10 and open data's 5
    assert value(PROPOSED, SURVEY, "satisfaction") == pytest.approx(68.4)
    assert value(PROPOSED, SURVEY, "open_data_feedback") == pytest.approx(3)
    assert value(PROPOSED, SURVEY, "service_complaints") == pytest.approx(12.5)
    assert value(PROPOSED, SURVEY, "defect_penalties") == pytest.approx(1.1)


def test_s_has_no_complaint_points_at_the_ceiling_or_above() -> None:
    at_ceiling = {**SURVEY, "quality_complaints": 1_000}  # 1 per 1,000 services
    above = {**SURVEY, "quality_complaints": 5_000}
    assert value(PROPOSED, at_ceiling, "service_complaints") == 0
    assert value(PROPOSED, above, "service_complaints") == 0


def test_s_is_clamped_to_0_100() -> None:
    worst = {
        **SURVEY,
        "satisfied_share": 0,
        "info_satisfied_share": 0,
        "unjustified_refusal_rate": 1,
        "extra_documents_rate": 1,
        "full_package_once_rate": 0,
        "quality_complaints": 10_000,
        "dataset_satisfied_share": 0,
    }
    assert value(PROPOSED, worst, "defect_penalties") == 15  # at most 5 each, 15 in all
    assert value(PROPOSED, worst, "satisfaction") == 0  # −15 clamped
    best = {**worst, "satisfied_share": 1, "info_satisfied_share": 1, "quality_complaints": 0}
    best["dataset_satisfied_share"] = 1
    best.update(unjustified_refusal_rate=0, extra_documents_rate=0, full_package_once_rate=1)
    assert value(PROPOSED, best, "satisfaction") == 100


def test_a_share_node_carries_the_wilson_interval_of_its_share() -> None:
    inputs = {**SURVEY, "responses": 100, "satisfied_share": 0.7}
    row = node_rows(score(PROPOSED, long(inputs), CENTRAL)).loc["satisfied_recipients"]
    low, high = wilson_interval(pd.Series([70]), pd.Series([100]))
    assert row["n"] == 100
    assert row["ci_low"] == pytest.approx(60 * low.iloc[0], abs=1e-6)  # 60 · 0.6041
    assert row["ci_high"] == pytest.approx(60 * high.iloc[0], abs=1e-6)  # 60 · 0.7810


# --- evidence: samples, missing inputs, kinds --------------------------------------------------


def test_below_the_minimum_sample_survey_nodes_and_their_parents_have_no_value() -> None:
    inputs = example_inputs()
    inputs.loc[(inputs["agency"] == "ministry_a") & (inputs["input"] == "responses"), "value"] = 99
    rows = node_rows(score(PROPOSED, inputs, AGENCIES), "ministry_a")
    for node in ("satisfaction", "satisfied_recipients", "interaction", "total"):
        assert rows.loc[node, "status"] == "insufficient_sample"
        assert pd.isna(rows.loc[node, "value"]) and pd.isna(rows.loc[node, "grade"])
        assert rows.loc[node, "n"] == 99
    for node in ("goals", "quality", "complaints", "service_complaints"):
        assert rows.loc[node, "status"] == "ok"
    lenient = node_rows(score(PROPOSED, inputs, AGENCIES, min_sample=50), "ministry_a")
    assert lenient.loc["total", "status"] == "ok"


def test_a_missing_input_makes_its_node_and_the_nodes_above_it_missing() -> None:
    inputs = example_inputs()
    gone = (inputs["agency"] == "akimat_b") & inputs["input"].isin(
        ["complaints_late", "complaints_court_upheld"]
    )
    rows = node_rows(score(KZ_2020, inputs.loc[~gone], AGENCIES), "akimat_b")
    assert rows.loc["complaint_deadlines", "missing_inputs"] == "complaints_late"
    for node in ("complaints", "interaction", "total"):
        assert rows.loc[node, "status"] == "missing"
        assert pd.isna(rows.loc[node, "value"])
        assert rows.loc[node, "missing_inputs"] == "complaints_court_upheld,complaints_late"
    assert rows.loc["repeat_complaints", "status"] == "ok"
    assert rows.loc["openness", "status"] == "ok"
    assert rows.loc["openness", "missing_inputs"] == ""


def test_an_input_out_of_its_range_or_not_a_number_counts_as_missing() -> None:
    for bad in (-5, 1.5, "n/a", math.inf, None, 10.5):
        inputs = {"internal_control_share": 0.9, "responses": bad}
        inputs |= {k: v for k, v in SURVEY.items() if k != "responses"}
        rows = node_rows(score(PROPOSED, long(inputs), CENTRAL))
        assert rows.loc["satisfied_recipients", "status"] == "missing", bad
        assert rows.loc["satisfied_recipients", "missing_inputs"] == "responses", bad
        assert rows.loc["internal_control", "status"] == "ok"


def test_the_same_input_given_twice_with_different_values_is_missing() -> None:
    inputs = pd.concat([long({"goal_achievement": 80}), long({"goal_achievement": 60})])
    assert node_rows(score(KZ_2020, inputs, CENTRAL)).loc["goals", "status"] == "missing"
    same = pd.concat([long({"goal_achievement": 80}), long({"goal_achievement": 80})])
    assert node_rows(score(KZ_2020, same, CENTRAL)).loc["goals", "value"] == 80


def test_a_division_by_zero_is_missing_without_a_missing_input() -> None:
    inputs = {"open_data_planned": 0, "open_data_published": 0, "openness_score": 70}
    rows = node_rows(score(KZ_2020, long(inputs), CENTRAL))
    assert rows.loc["open_data", "status"] == "missing"
    assert rows.loc["open_data", "missing_inputs"] == ""
    assert rows.loc["openness", "status"] == "missing"


def test_automation_counts_for_central_bodies_only() -> None:
    inputs = {
        k: v for k, v in zip(example_inputs()["input"], example_inputs()["value"], strict=False)
    }
    del inputs["automation_score"]
    base = {name: v for name, v in inputs.items()}
    central = node_rows(score(PROPOSED, long(base), CENTRAL))
    local = node_rows(score(PROPOSED, long(base, agency="akimat"), LOCAL), "akimat")
    # a central body needs K3: without automation_score its quality is missing ...
    assert central.loc["automation", "status"] == "missing"
    assert central.loc["quality", "missing_inputs"] == "automation_score"
    # ... a local body never reads it: T′ = K2
    assert local.loc["automation", "status"] == "not_applicable"
    assert local.loc["quality", "status"] == "ok"
    assert local.loc["quality", "value"] == local.loc["quality_assurance", "value"]
    with_k3 = node_rows(score(PROPOSED, long({**base, "automation_score": 40}), CENTRAL))
    expected = (with_k3.loc["quality_assurance", "value"] + 40) / 2  # U′ = (K2 + K3) / 2
    assert with_k3.loc["quality", "value"] == pytest.approx(expected)


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


def test_an_agency_without_inputs_in_a_period_is_missing_everything() -> None:
    agencies = pd.concat([CENTRAL, LOCAL])
    result = score(KZ_2020, long({"goal_achievement": 80}), agencies)
    rows = node_rows(result, "akimat")
    assert rows.loc["goals", "status"] == "missing"
    assert rows.loc["goals", "missing_inputs"] == "goal_achievement"
    assert rows.loc["automation", "status"] == "not_applicable"


def test_the_output_has_the_contract_columns_and_types() -> None:
    result = score(PROPOSED, example_inputs(), AGENCIES)
    assert tuple(result.columns) == SCORE_COLUMNS
    assert str(result["n"].dtype) == "Int64"
    assert set(result["status"]) <= {"ok", "insufficient_sample", "missing", "not_applicable"}
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
survey_inputs = st.fixed_dictionaries(
    {
        "responses": st.integers(min_value=100, max_value=100_000),
        "satisfied_share": shares,
        "info_satisfied_share": shares,
        "unjustified_refusal_rate": shares,
        "extra_documents_rate": shares,
        "full_package_once_rate": shares,
        "quality_complaints": st.integers(min_value=0, max_value=50_000),
        "services_delivered": st.integers(min_value=1, max_value=10_000_000),
        "dataset_ratings": st.integers(min_value=100, max_value=100_000),
        "dataset_satisfied_share": shares,
    }
)


def s_values(rows: list[dict[str, float]]) -> np.ndarray:
    frames = [long(row, agency=f"a{i:03d}") for i, row in enumerate(rows)]
    agencies = pd.DataFrame({"agency": [f"a{i:03d}" for i in range(len(rows))], "kind": "local"})
    result = score(PROPOSED, pd.concat(frames), agencies)
    return result.loc[result["node"] == "satisfaction", "value"].to_numpy()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(survey_inputs, shares, shares), min_size=1, max_size=8))
def test_more_satisfied_answers_never_lower_s(
    cases: list[tuple[dict[str, float], float, float]],
) -> None:
    lower = [{**inputs, "satisfied_share": min(a, b)} for inputs, a, b in cases]
    higher = [{**inputs, "satisfied_share": max(a, b)} for inputs, a, b in cases]
    assert (s_values(higher) >= s_values(lower)).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(survey_inputs, st.integers(0, 50_000)), min_size=1, max_size=8))
def test_more_quality_complaints_per_1000_never_raise_s(
    cases: list[tuple[dict[str, float], int]],
) -> None:
    fewer = [inputs for inputs, _ in cases]
    more = [
        {**inputs, "quality_complaints": inputs["quality_complaints"] + extra}
        for inputs, extra in cases
    ]
    assert (s_values(more) <= s_values(fewer)).all()


counts = st.integers(min_value=0, max_value=10_000_000)
points = st.floats(min_value=0, max_value=100)
all_inputs = st.fixed_dictionaries(
    {
        **{name: points for name in ("goal_achievement", "hr_management", "it_use")},
        **{name: points for name in ("automation_score", "openness_score")},
        **{
            name: counts
            for name in (
                "service_deadline_violations",
                "unjustified_refusals",
                "incomplete_package_services",
                "extra_documents_requests",
                "quality_complaints",
                "open_data_published",
                "complaints_late",
                "complaints_court_upheld",
                "complaints_repeat_justified",
                "dataset_problems_due",
                "dataset_problems_resolved_in_time",  # even more than were due: clamped
            )
        },
        "services_delivered": st.integers(min_value=1, max_value=10_000_000),
        "open_data_planned": st.integers(min_value=1, max_value=5_000),
        "internal_control_share": shares,
        "responses": st.integers(min_value=100, max_value=100_000),
        "satisfied_share": shares,
        "info_satisfied_share": shares,
        "unjustified_refusal_rate": shares,
        "extra_documents_rate": shares,
        "full_package_once_rate": shares,
        "dataset_ratings": st.integers(min_value=100, max_value=100_000),
        "dataset_satisfied_share": shares,
        "dataset_verifiable_share": shares,
    }
)


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
        assert set(result["status"]) <= {"ok", "insufficient_sample", "missing", "not_applicable"}
        ok = result["status"] == "ok"
        assert result.loc[ok, "value"].notna().all()
        assert result.loc[~ok, "value"].isna().all()
        assert not np.isinf(result["value"].to_numpy(dtype="float64", na_value=np.nan)).any()


@pytest.mark.parametrize("responses", [9.3e18, 1e300, float("inf")])
def test_a_sample_size_too_large_for_a_count_is_no_sample_size(responses: float) -> None:
    for methodology in (PROPOSED, KZ_2020):
        result = score(methodology, long({"responses": responses, "satisfied_share": 0.5}), CENTRAL)
        assert result["n"].isna().all()
