"""The worked example of docs/methodology.md, number for number: three agencies under both
methodologies, every node hand-computed (the arithmetic is in the comments and in the docs)."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.compute import compare, score
from scoring.methodology import load_methodology

AGENCIES = pd.DataFrame(
    {"agency": ["ministry_a", "akimat_b", "akimat_c"], "kind": ["central", "local", "local"]}
)

# One column per agency, one row per input: the table in docs/methodology.md.
EXAMPLE = {
    #                               ministry_a  akimat_b  akimat_c
    "goal_achievement":            (82,        85,       80),
    "hr_management":               (70,        80,       60),
    "it_use":                      (90,        80,       80),
    "services_delivered":          (2_000_000, 1_000_000, 500_000),
    "service_deadline_violations": (400,       100,      250),
    "unjustified_refusals":        (20,        0,        25),
    "incomplete_package_services": (200,       0,        50),
    "extra_documents_requests":    (1_000,     200,      250),
    "quality_complaints":          (600,       100,      50),
    "automation_score":            (60,        None,     None),
    "automation_in_period":        (None,      70,       50),
    "proactive_services_share":    (0.2,       0.4,      0.1),
    "open_data_planned":           (40,        50,       20),
    "open_data_published":         (30,        50,       20),
    "openness_score":              (80,        90,       70),
    "openness_other_score":        (80,        90,       70),
    "legal_acts_monitoring":       (1,         0.5,      1),
    "legal_acts_recommendations":  (1,         1,        0),
    "legal_acts_proposals_adopted": (0.5,      1,        0.5),
    "legal_acts_users_satisfied":  (0.6,       0.8,      0.4),
    "legal_acts_publications":     (1,         1,        1),
    "legal_acts_public_organisations": (0,     1,        0),
    "complaints_reviewed":         (16_000,    5_000,    2_000),
    "complaints_late":             (80,        10,       40),
    "complaints_court_upheld":     (4,         1,        2),
    "complaints_repeat_justified": (320,       100,      100),
    "internal_control_share":      (0.85,      0.95,     0.70),
    "responses":                   (400,       250,      1_000),
    "satisfied_share":             (0.75,      0.50,     0.95),
    "full_package_once_rate":      (0.90,      0.60,     0.98),
    "dataset_ratings":             (500,       300,      1_200),
    "dataset_verifiable_share":    (0.30,      0.75,     0.75),
    "dataset_problems_due":        (10,        0,        4),
    "dataset_problems_resolved_in_time": (5,   0,        4),
}  # fmt: skip


def example_inputs() -> pd.DataFrame:
    rows = [
        (agency, "2025", name, value)
        for name, values in EXAMPLE.items()
        for agency, value in zip(AGENCIES["agency"], values, strict=True)
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["agency", "period", "input", "value"])


# (value, grade) per node; grade None for nodes that are not graded.
KZ_2020 = {
    "ministry_a": {
        "total": (80.6, "medium"),  # .45·82 + .45·79.333333 + .1·80
        "goals": (82, "medium"),
        "interaction": (79.333333, "medium"),  # (70.75 + 78.75 + 88.5) / 3
        "quality": (70.75, "medium"),  # U = (72.5 + 79.75 + 60) / 3
        "satisfaction": (72.5, None),  # K1 = P1 + P2
        "satisfaction_level": (37.5, None),  # 50·0.75
        "service_complaints": (35, None),  # 50·(1 − 1000·600/2,000,000 / 1)
        "quality_assurance": (79.75, None),  # K2 = 20 + 24.75 + 22.5 + 12.5
        "deadline_compliance": (20, None),  # 25·(1 − 0.2)
        "no_unjustified_refusal": (24.75, None),  # 25·(1 − 0.01)
        "no_incomplete_package": (22.5, None),  # 25·(1 − 0.1)
        "no_extra_documents": (12.5, None),  # 25·(1 − 0.5)
        "automation": (60, None),
        "openness": (78.75, "medium"),  # .25·75 + .75·80
        "open_data": (75, None),  # 100·30/40
        "other_openness": (80, None),
        "complaints": (88.5, "medium"),  # H = 35 + 27.5 + 18 + 8
        "complaint_deadlines": (35, None),  # 40 − 1000·80/16,000
        "court_decisions": (27.5, None),  # 30 − 10000·4/16,000
        "repeat_complaints": (18, None),  # 20 − 100·320/16,000
        "internal_control": (8, None),  # 85 % → 8
        "organisational_development": (80, "medium"),  # .5·70 + .5·90
        "human_resources": (70, None),
        "information_technology": (90, None),
    },
    "akimat_b": {
        "total": (86.4125, "medium"),  # .45·85 + .45·89.25 + .1·80
        "goals": (85, "medium"),
        "interaction": (89.25, "medium"),  # (81.25 + 92.5 + 94) / 3
        "quality": (81.25, "medium"),  # T = (70 + 92.5) / 2
        "satisfaction": (70, None),  # 25 + 45
        "satisfaction_level": (25, None),  # 50·0.5
        "service_complaints": (45, None),  # 50·(1 − 0.1)
        "quality_assurance": (92.5, None),  # 22.5 + 25 + 25 + 20
        "deadline_compliance": (22.5, None),
        "no_unjustified_refusal": (25, None),
        "no_incomplete_package": (25, None),
        "no_extra_documents": (20, None),
        "automation": (None, None),  # not applicable to a local body
        "openness": (92.5, "high"),  # .25·100 + .75·90
        "open_data": (100, None),
        "other_openness": (90, None),
        "complaints": (94, "high"),  # 38 + 28 + 18 + 10
        "complaint_deadlines": (38, None),  # 40 − 1000·10/5,000
        "court_decisions": (28, None),  # 30 − 10000·1/5,000
        "repeat_complaints": (18, None),  # 20 − 100·100/5,000
        "internal_control": (10, None),  # 95 % → 10
        "organisational_development": (80, "medium"),
        "human_resources": (80, None),
        "information_technology": (80, None),
    },
    "akimat_c": {
        "total": (76.05625, "medium"),  # .45·80 + .45·73.458333 + .1·70
        "goals": (80, "medium"),
        "interaction": (73.458333, "medium"),  # (81.875 + 77.5 + 61) / 3
        "quality": (81.875, "medium"),  # (92.5 + 71.25) / 2
        "satisfaction": (92.5, None),  # 47.5 + 45
        "satisfaction_level": (47.5, None),
        "service_complaints": (45, None),  # 50·(1 − 1000·50/500,000)
        "quality_assurance": (71.25, None),  # 12.5 + 23.75 + 22.5 + 12.5
        "deadline_compliance": (12.5, None),
        "no_unjustified_refusal": (23.75, None),
        "no_incomplete_package": (22.5, None),
        "no_extra_documents": (12.5, None),
        "automation": (None, None),
        "openness": (77.5, "medium"),  # .25·100 + .75·70
        "open_data": (100, None),
        "other_openness": (70, None),
        "complaints": (61, "low"),  # 20 + 20 + 15 + 6
        "complaint_deadlines": (20, None),  # 40 − 1000·40/2,000
        "court_decisions": (20, None),  # 30 − 10000·2/2,000
        "repeat_complaints": (15, None),  # 20 − 100·100/2,000
        "internal_control": (6, None),  # 70 % → 6
        "organisational_development": (70, "medium"),
        "human_resources": (60, None),
        "information_technology": (80, None),
    },
}

PROPOSED_S30 = {
    "ministry_a": {
        "total": (77.72695, "medium"),  # .45·82 + .45·72.948778 + .1·80
        "goals": (82, "medium"),
        "interaction": (72.948778, "medium"),  # .3·72.5 + .7/3·(56.95 + 73.14 + 89.333333)
        "satisfaction": (72.5, "medium"),  # S = .5·75 + .5·70
        "satisfaction_level": (75, None),  # P1 = 100·0.75
        "service_complaints": (70, None),  # P2 = 100·(1 − 1000·600/2,000,000 / 1)
        "quality": (56.95, "low"),  # U′ = 60 − 3.05
        "quality_criteria": (60, None),  # .5·80 + .5·40
        "deadline_compliance": (80, None),  # T1 = 100·(1 − 1000·400/2,000,000)
        "automation": (40, None),  # .5·60 + .5·20
        "automation_criterion": (60, None),  # K3
        "automation_incentive": (None, None),  # B: local bodies
        "proactive_services": (20, None),  # 100·0.2
        "service_penalties": (3.05, None),  # 0.05 + 0.5 + 2.5
        "refusal_penalty": (0.05, None),  # 5·(1000·20/2,000,000 / 1)
        "incomplete_package_penalty": (0.5, None),  # 5·0.1
        "extra_documents_penalty": (2.5, None),  # 5·0.5
        "openness": (73.14, "medium"),  # .2·54.5 + .2·71.2 + .6·80
        "open_data": (54.5, None),  # .5·75 + .5·34
        "data_publication": (75, None),  # 100·30/40
        "data_reliability": (34, None),  # 80·0.3 + 20·(1 − (10 − 5)/10)
        "open_legal_acts": (71.2, None),  # 100·(2 + 3 + 2 + 0.9 + 1 + 0)/12.5
        "other_openness": (80, None),
        "complaints": (89.333333, "medium"),  # (20·80 + 30·93.333333 + 20·92 + 20·90)/90
        "complaint_deadlines": (80, None),  # 100/20·(20 − 1000·80/(0.01·2,000,000))
        "court_decisions": (93.333333, None),  # 100/30·(30 − 10000·4/20,000)
        "repeat_complaints": (92, None),  # 100/20·(20 − 100·320/20,000)
        "documents_once": (90, None),  # 100·0.9
        "organisational_development": (80, "medium"),
        "human_resources": (70, None),
        "information_technology": (90, None),
    },
    "akimat_b": {
        "total": (81.865767, "medium"),  # .45·85 + .45·79.146148 + .1·80
        "goals": (85, "medium"),
        "interaction": (79.146148, "medium"),  # .3·70 + .7/3·(71.5 + 89.92 + 87.777778)
        "satisfaction": (70, "medium"),  # .5·50 + .5·90
        "satisfaction_level": (50, None),
        "service_complaints": (90, None),  # 100·(1 − 1000·100/1,000,000)
        "quality": (71.5, "medium"),  # T′ = 72.5 − 1
        "quality_criteria": (72.5, None),  # .5·90 + .5·55
        "deadline_compliance": (90, None),
        "automation": (55, None),  # .5·70 + .5·40
        "automation_criterion": (None, None),  # K3: central bodies
        "automation_incentive": (70, None),  # B for local bodies too
        "proactive_services": (40, None),
        "service_penalties": (1, None),  # 0 + 0 + 1
        "refusal_penalty": (0, None),
        "incomplete_package_penalty": (0, None),
        "extra_documents_penalty": (1, None),  # 5·(1000·200/1,000,000)
        "openness": (89.92, "medium"),  # .2·90 + .2·89.6 + .6·90
        "open_data": (90, None),
        "data_publication": (100, None),
        "data_reliability": (80, None),  # 80·0.75 + 20·(1 − 0/max(0, 1)): none due, full
        "open_legal_acts": (89.6, None),  # 100·(1 + 3 + 4 + 1.2 + 1 + 1)/12.5
        "other_openness": (90, None),
        "complaints": (87.777778, "medium"),  # (20·95 + 30·96.666667 + 20·95 + 20·60)/90
        "complaint_deadlines": (95, None),  # 5·(20 − 1000·10/10,000)
        "court_decisions": (96.666667, None),  # 100/30·(30 − 10000·1/10,000)
        "repeat_complaints": (95, None),  # 5·(20 − 100·100/10,000)
        "documents_once": (60, None),
        "organisational_development": (80, "medium"),
        "human_resources": (80, None),
        "information_technology": (80, None),
    },
    "akimat_c": {
        "total": (75.40705, "medium"),  # .45·80 + .45·72.015667 + .1·70
        "goals": (80, "medium"),
        "interaction": (72.015667, "medium"),  # .3·92.5 + .7/3·(36.75 + 68.96 + 84)
        "satisfaction": (92.5, "high"),  # .5·95 + .5·90
        "satisfaction_level": (95, None),
        "service_complaints": (90, None),  # 100·(1 − 1000·50/500,000)
        "quality": (36.75, "ineffective"),  # 40 − 3.25
        "quality_criteria": (40, None),  # .5·50 + .5·30
        "deadline_compliance": (50, None),  # 100·(1 − 1000·250/500,000)
        "automation": (30, None),  # .5·50 + .5·10
        "automation_criterion": (None, None),
        "automation_incentive": (50, None),
        "proactive_services": (10, None),
        "service_penalties": (3.25, None),  # 0.25 + 0.5 + 2.5
        "refusal_penalty": (0.25, None),  # 5·(1000·25/500,000)
        "incomplete_package_penalty": (0.5, None),
        "extra_documents_penalty": (2.5, None),
        "openness": (68.96, "low"),  # .2·90 + .2·44.8 + .6·70
        "open_data": (90, None),
        "data_publication": (100, None),
        "data_reliability": (80, None),  # 80·0.75 + 20·(1 − (4 − 4)/4)
        "open_legal_acts": (44.8, None),  # 100·(2 + 0 + 2 + 0.6 + 1 + 0)/12.5
        "other_openness": (70, None),
        "complaints": (84, "medium"),  # (20·60 + 30·86.666667 + 20·90 + 20·98)/90
        "complaint_deadlines": (60, None),  # 5·(20 − 1000·40/5,000)
        "court_decisions": (86.666667, None),  # 100/30·(30 − 10000·2/5,000)
        "repeat_complaints": (90, None),  # 5·(20 − 100·100/5,000)
        "documents_once": (98, None),
        "organisational_development": (70, "medium"),
        "human_resources": (60, None),
        "information_technology": (80, None),
    },
}


@pytest.mark.parametrize(
    ("name", "expected"), [("kz-2020", KZ_2020), ("proposed-s30", PROPOSED_S30)]
)
def test_the_worked_example_scores_every_node_as_computed_by_hand(
    name: str, expected: dict[str, dict[str, tuple[float | None, str | None]]]
) -> None:
    methodology = load_methodology(name)
    result = score(methodology, example_inputs(), AGENCIES)
    assert list(result["node"].iloc[: len(methodology.nodes)]) == list(methodology.nodes)
    for agency, nodes in expected.items():
        rows = result.loc[result["agency"] == agency].set_index("node")
        assert set(rows.index) == set(nodes)
        for node, (value, grade) in nodes.items():
            row = rows.loc[node]
            if value is None:
                assert row["status"] == "not_applicable", (agency, node)
                assert pd.isna(row["value"])
                continue
            assert row["status"] == "ok", (agency, node, row["missing_inputs"])
            assert row["value"] == pytest.approx(value, abs=1e-6), (agency, node)
            assert (None if pd.isna(row["grade"]) else row["grade"]) == grade, (agency, node)


def test_survey_based_nodes_carry_their_own_n_and_an_interval_around_the_value() -> None:
    result = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    rows = result.loc[result["agency"] == "ministry_a"].set_index("node")
    for node in ("satisfaction", "satisfaction_level", "documents_once", "complaints"):
        assert rows.loc[node, "n"] == 400  # the survey's responses
        assert rows.loc[node, "ci_low"] <= rows.loc[node, "value"] <= rows.loc[node, "ci_high"]
    assert rows.loc["data_reliability", "n"] == 500  # the data-set ratings: its own sample
    # a node made of both samples has an interval but no single n of its own
    for node in ("total", "interaction"):
        assert pd.isna(rows.loc[node, "n"])
        assert rows.loc[node, "ci_low"] <= rows.loc[node, "value"] <= rows.loc[node, "ci_high"]
    for node in ("goals", "quality", "service_complaints"):
        assert pd.isna(rows.loc[node, "n"]) and pd.isna(rows.loc[node, "ci_low"])


def test_comparing_the_methodologies_ranks_both_and_their_change() -> None:
    kz = score(load_methodology("kz-2020"), example_inputs(), AGENCIES)
    s30 = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    table = compare(kz, s30).set_index("agency")
    assert table.loc["akimat_b", ["rank_a", "rank_b", "rank_change"]].tolist() == [1, 1, 0]
    assert table.loc["ministry_a", ["rank_a", "rank_b", "rank_change"]].tolist() == [2, 2, 0]
    assert table.loc["akimat_c", ["rank_a", "rank_b", "rank_change"]].tolist() == [3, 3, 0]
    assert table.loc["akimat_c", "value_a"] == pytest.approx(76.05625)
    assert table.loc["akimat_c", "value_b"] == pytest.approx(75.40705)
    assert table.loc["akimat_c", ["grade_a", "grade_b"]].tolist() == ["medium", "medium"]


def test_ranks_can_be_kept_within_central_and_within_local_bodies() -> None:
    kz = score(load_methodology("kz-2020"), example_inputs(), AGENCIES)
    s30 = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    table = compare(kz, s30, agencies=AGENCIES).set_index("agency")
    assert table.loc["ministry_a", ["kind", "rank_a", "rank_b"]].tolist() == ["central", 1, 1]
    assert table.loc["akimat_c", ["kind", "rank_a", "rank_b"]].tolist() == ["local", 2, 2]
