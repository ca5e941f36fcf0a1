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
    "open_data_planned":           (40,        50,       20),
    "open_data_published":         (30,        50,       20),
    "openness_score":              (80,        90,       70),
    "complaints_reviewed":         (16_000,    5_000,    2_000),
    "complaints_late":             (80,        10,       40),
    "complaints_court_upheld":     (4,         1,        2),
    "complaints_repeat_justified": (320,       100,      100),
    "internal_control_share":      (0.85,      0.95,     0.70),
    "responses":                   (400,       250,      1_000),
    "satisfied_share":             (0.75,      0.50,     0.95),
    "info_satisfied_share":        (0.60,      0.40,     0.90),
    "unjustified_refusal_rate":    (0.02,      0.08,     0.00),
    "extra_documents_rate":        (0.10,      0.30,     0.02),
    "full_package_once_rate":      (0.90,      0.60,     0.98),
    "dataset_ratings":             (500,       300,      1_200),
    "dataset_satisfied_share":     (0.60,      0.80,     0.50),
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
        "total": (78.9635, "medium"),  # 36.9 + .45·75.696667 + 8
        "goals": (82, "medium"),
        "interaction": (75.696667, "medium"),  # .3·70.4 + .7/3·(69.875 + 73.625 + 90.4)
        "satisfaction": (70.4, "medium"),  # 45 + 17.5 + 9 − 1.1
        "satisfied_recipients": (45, None),  # 60·0.75
        "service_complaints": (17.5, None),  # 25·(1 − 0.3)
        "information_feedback": (9, None),  # 6 + 3
        "service_information": (6, None),  # 10·0.6
        "open_data_feedback": (3, None),  # 5·0.6
        "defect_penalties": (1.1, None),  # 0.1 + 0.5 + 0.5
        "refusal_penalty": (0.1, None),  # 5·0.02
        "extra_documents_penalty": (0.5, None),  # 5·0.1
        "incomplete_package_penalty": (0.5, None),  # 5·(1 − 0.9)
        "quality": (69.875, "low"),  # U′ = (79.75 + 60) / 2
        "quality_assurance": (79.75, None),
        "deadline_compliance": (20, None),
        "no_unjustified_refusal": (24.75, None),
        "no_incomplete_package": (22.5, None),
        "no_extra_documents": (12.5, None),
        "automation": (60, None),
        "openness": (73.625, "medium"),  # .25·54.5 + .75·80
        "open_data": (54.5, None),  # .5·75 + .5·34
        "data_publication": (75, None),  # 100·30/40
        "data_reliability": (34, None),  # 80·0.3 + 20·(1 − (10 − 5)/10)
        "other_openness": (80, None),
        "complaints": (90.4, "high"),  # 36 + 28 + 18.4 + 8
        "complaint_deadlines": (36, None),  # 40 − 1000·80/(0.01·2,000,000)
        "court_decisions": (28, None),  # 30 − 10000·4/20,000
        "repeat_complaints": (18.4, None),  # 20 − 100·320/20,000
        "internal_control": (8, None),
        "organisational_development": (80, "medium"),
        "human_resources": (70, None),
        "information_technology": (90, None),
    },
    "akimat_b": {
        "total": (83.2385, "medium"),  # 38.25 + .45·82.196667 + 8
        "goals": (85, "medium"),
        "interaction": (82.196667, "medium"),  # .3·56.6 + .7/3·(92.5 + 90 + 97)
        "satisfaction": (56.6, "low"),  # 30 + 22.5 + 8 − 3.9
        "satisfied_recipients": (30, None),
        "service_complaints": (22.5, None),
        "information_feedback": (8, None),  # 4 + 4
        "service_information": (4, None),  # 10·0.4
        "open_data_feedback": (4, None),  # 5·0.8
        "defect_penalties": (3.9, None),  # 0.4 + 1.5 + 2
        "refusal_penalty": (0.4, None),
        "extra_documents_penalty": (1.5, None),
        "incomplete_package_penalty": (2, None),
        "quality": (92.5, "high"),  # T′ = K2
        "quality_assurance": (92.5, None),
        "deadline_compliance": (22.5, None),
        "no_unjustified_refusal": (25, None),
        "no_incomplete_package": (25, None),
        "no_extra_documents": (20, None),
        "automation": (None, None),
        "openness": (90, "high"),  # .25·90 + .75·90
        "open_data": (90, None),  # .5·100 + .5·80
        "data_publication": (100, None),
        "data_reliability": (80, None),  # 80·0.75 + 20·(1 − 0/max(0, 1)): none due, full
        "other_openness": (90, None),
        "complaints": (97, "high"),  # 39 + 29 + 19 + 10
        "complaint_deadlines": (39, None),  # 40 − 1000·10/10,000
        "court_decisions": (29, None),
        "repeat_complaints": (19, None),
        "internal_control": (10, None),
        "organisational_development": (80, "medium"),
        "human_resources": (80, None),
        "information_technology": (80, None),
    },
    "akimat_c": {
        "total": (79.22425, "medium"),  # 36 + .45·80.498333 + 7
        "goals": (80, "medium"),
        "interaction": (80.498333, "medium"),  # .3·90.8 + .7/3·(71.25 + 75 + 82)
        "satisfaction": (90.8, "high"),  # 57 + 22.5 + 11.5 − 0.2
        "satisfied_recipients": (57, None),
        "service_complaints": (22.5, None),
        "information_feedback": (11.5, None),  # 9 + 2.5
        "service_information": (9, None),  # 10·0.9
        "open_data_feedback": (2.5, None),  # 5·0.5
        "defect_penalties": (0.2, None),  # 0 + 0.1 + 0.1
        "refusal_penalty": (0, None),
        "extra_documents_penalty": (0.1, None),
        "incomplete_package_penalty": (0.1, None),
        "quality": (71.25, "medium"),
        "quality_assurance": (71.25, None),
        "deadline_compliance": (12.5, None),
        "no_unjustified_refusal": (23.75, None),
        "no_incomplete_package": (22.5, None),
        "no_extra_documents": (12.5, None),
        "automation": (None, None),
        "openness": (75, "medium"),  # .25·90 + .75·70
        "open_data": (90, None),  # .5·100 + .5·80
        "data_publication": (100, None),
        "data_reliability": (80, None),  # 80·0.75 + 20·(1 − (4 − 4)/4)
        "other_openness": (70, None),
        "complaints": (82, "medium"),  # 32 + 26 + 18 + 6
        "complaint_deadlines": (32, None),  # 40 − 1000·40/5,000
        "court_decisions": (26, None),  # 30 − 10000·2/5,000
        "repeat_complaints": (18, None),  # 20 − 100·100/5,000
        "internal_control": (6, None),
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


def test_survey_based_nodes_carry_n_and_an_interval_around_the_value() -> None:
    result = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    rows = result.loc[result["agency"] == "ministry_a"].set_index("node")
    for node in ("total", "interaction", "satisfaction", "satisfied_recipients", "refusal_penalty"):
        assert rows.loc[node, "n"] == 400
        assert rows.loc[node, "ci_low"] <= rows.loc[node, "value"] <= rows.loc[node, "ci_high"]
    for node in ("goals", "quality", "complaints", "service_complaints"):
        assert pd.isna(rows.loc[node, "n"]) and pd.isna(rows.loc[node, "ci_low"])


def test_comparing_the_methodologies_swaps_ministry_a_and_akimat_c() -> None:
    kz = score(load_methodology("kz-2020"), example_inputs(), AGENCIES)
    s30 = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    table = compare(kz, s30).set_index("agency")
    assert table.loc["akimat_b", ["rank_a", "rank_b", "rank_change"]].tolist() == [1, 1, 0]
    assert table.loc["ministry_a", ["rank_a", "rank_b", "rank_change"]].tolist() == [2, 3, -1]
    assert table.loc["akimat_c", ["rank_a", "rank_b", "rank_change"]].tolist() == [3, 2, 1]
    assert table.loc["akimat_c", "value_a"] == pytest.approx(76.05625)
    assert table.loc["akimat_c", "value_b"] == pytest.approx(79.22425)
    assert table.loc["akimat_c", ["grade_a", "grade_b"]].tolist() == ["medium", "medium"]


def test_ranks_can_be_kept_within_central_and_within_local_bodies() -> None:
    kz = score(load_methodology("kz-2020"), example_inputs(), AGENCIES)
    s30 = score(load_methodology("proposed-s30"), example_inputs(), AGENCIES)
    table = compare(kz, s30, agencies=AGENCIES).set_index("agency")
    assert table.loc["ministry_a", ["kind", "rank_a", "rank_b"]].tolist() == ["central", 1, 1]
    assert table.loc["akimat_c", ["kind", "rank_a", "rank_b"]].tolist() == ["local", 2, 2]
