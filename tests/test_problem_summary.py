"""Problem reports about open data sets in the agency's complaint summary: counted by kind and
by data set, open and overdue, under their own heading; a summary without them is unchanged."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.complaint_summary import (
    PROBLEM_COLUMNS,
    PROBLEM_KINDS,
    ComplaintSummary,
    load_summary_rules,
    problem_reports,
    summarise,
)
from scoring.summary_render import MAX_CHARS, render_summary
from tests.complaint_frames import NOW, PERIOD_START, complaints

RULES = load_summary_rules()
PERIOD_END = PERIOD_START + timedelta(weeks=1)


def problems(rows: list[tuple[str, str, str, int, int | None]]) -> pd.DataFrame:
    """(kind, data set, status, deadline in days after receipt, answered after days)."""
    return pd.DataFrame.from_records(
        [
            {
                "complaint_id": f"Q-{number:08d}",
                "agency": "ALA",
                "received_at": PERIOD_START,
                "problem": kind,
                "dataset": dataset,
                "status": status,
                "deadline": (PERIOD_START + timedelta(days=deadline)).date(),
                "answered_at": None
                if answered is None
                else PERIOD_START + timedelta(days=answered),
            }
            for number, (kind, dataset, status, deadline, answered) in enumerate(rows)
        ],
        columns=list(PROBLEM_COLUMNS),
    )


# NOW is 7.5 days after PERIOD_START: a deadline 3 days after receipt has passed, 20 has not.
REPORTS = problems(
    [
        ("missing_fields", "Школы", "received", 3, None),  # open, overdue
        ("missing_fields", "Школы", "in_review", 20, None),  # open, in time
        ("broken_link", "Автобусы", "answered", 3, 5),  # answered late
        ("outdated", "Школы", "closed", 20, 2),  # answered in time
    ]
)


def _summary(current: pd.DataFrame, reports: pd.DataFrame | None) -> ComplaintSummary:
    return summarise(
        current,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        previous=current.iloc[0:0],
        history=None,
        now=NOW,
        config=RULES,
        agency="ALA",
        problems=reports,
    )


def test_reports_are_counted_by_kind_and_data_set_open_and_overdue() -> None:
    counted = problem_reports(REPORTS, NOW)
    assert counted.total == 4
    assert [(c.name, c.count) for c in counted.by_kind] == [
        ("missing_fields", 2),
        ("broken_link", 1),
        ("outdated", 1),
    ]
    assert [(c.name, c.count) for c in counted.by_dataset] == [("Школы", 3), ("Автобусы", 1)]
    assert (counted.open, counted.open_overdue, counted.answered_late) == (2, 1, 1)


def test_the_summary_shows_them_under_their_own_heading_in_each_language() -> None:
    current = complaints({"office-1": 3}, received=PERIOD_START)
    summary = _summary(current, REPORTS)
    ru = render_summary(summary, "ru")
    assert "Жалоб: 3" in ru  # the complaints are counted as before, reports apart
    assert (
        "Сообщения о проблемах с открытыми данными: 4 (открыты: 2, после срока: 1, "
        "ответ с опозданием: 1)"
    ) in ru
    assert "• Не хватает полей: 2" in ru and "• Школы: 3" in ru
    assert ru.index("По отделениям:") < ru.index("Сообщения о проблемах")
    kk = render_summary(summary, "kk")
    en = render_summary(summary, "en")
    assert "Ашық деректер жиындары туралы хабарламалар: 4" in kk and "Өрістер жетіспейді" in kk
    assert "Open-data problem reports: 4 (2 open, 1 past the deadline, 1 answered late)" in en
    assert "{" not in kk + ru + en
    assert summary.as_dict()["problems"]["open_overdue"] == 1


def test_an_agency_with_reports_but_no_complaints_still_hears_of_them() -> None:
    empty = complaints({}, received=PERIOD_START)
    lines = render_summary(_summary(empty, REPORTS), "en").splitlines()
    assert lines[1] == "No complaints this period. Previous period: 0."
    assert "Open-data problem reports: 4" in lines[3]
    # nothing at all: the short message stays two lines
    none = render_summary(_summary(empty, REPORTS.iloc[0:0]), "en")
    assert len(none.splitlines()) == 2
    assert none.splitlines()[-1] == "No complaints this period. Previous period: 0."


def test_without_a_problems_frame_the_summary_is_as_before() -> None:
    current = complaints({"office-1": 3}, received=PERIOD_START)
    with_none = summarise(
        current,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        previous=current.iloc[0:0],
        history=None,
        now=NOW,
        config=RULES,
    )
    assert with_none.problems is None
    assert "открытыми данными" not in render_summary(with_none, "ru")


def test_a_frame_without_the_columns_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="lacks the columns problem"):
        problem_reports(REPORTS.drop(columns=["problem"]), NOW)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*PROBLEM_KINDS, "", "unheard_of"]),
            st.text(max_size=300),
            st.sampled_from(["received", "in_review", "answered", "closed", ""]),
            st.integers(-30, 30),
            st.one_of(st.none(), st.integers(0, 40)),
        ),
        max_size=60,
    )
)
def test_any_reports_add_up_and_fit_one_message(
    rows: list[tuple[str, str, str, int, int | None]],
) -> None:
    frame = problems(rows)
    counted = problem_reports(frame, NOW)
    assert sum(c.count for c in counted.by_kind) == counted.total == len(rows)
    assert sum(c.count for c in counted.by_dataset) == len(rows)
    assert counted.open_overdue <= counted.open <= counted.total
    empty = complaints({}, received=PERIOD_START)
    summary = _summary(empty, frame)
    for text in (render_summary(summary, lang) for lang in ("kk", "ru", "en")):
        assert len(text) <= MAX_CHARS
