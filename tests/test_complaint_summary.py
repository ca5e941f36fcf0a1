"""Agency complaint summaries on the kk/ru fixture corpus: counts, deadlines, themes, quotes,
over-representation and its persistence, the rendered message."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.complaint_summary import (
    CATEGORIES,
    COLUMNS,
    ComplaintSummary,
    load_summary_rules,
    summarise,
)
from scoring.summary_render import MAX_CHARS, render_summary
from tests.complaint_frames import (
    NOW,
    PERIOD_START,
    complaints,
    personal_strings,
    weekly_history,
)

RULES = load_summary_rules()
PERIOD_END = PERIOD_START + timedelta(weeks=1)
UNIFORM = {"office-1": 10, "office-2": 10, "office-3": 10, "office-4": 10}
# this week office-1 has 40 of 76 complaints, against a quarter in the six weeks before
SKEWED = {"office-1": 40, "office-2": 12, "office-3": 12, "office-4": 12}


def _summary(
    current: pd.DataFrame,
    *,
    previous: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    **overrides: object,
) -> ComplaintSummary:
    if previous is None:
        previous = current.iloc[0:0]
    return summarise(
        current,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        previous=previous,
        history=history,
        now=NOW,
        config=RULES,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return weekly_history([UNIFORM] * 6, first=PERIOD_START - timedelta(weeks=6))


@pytest.fixture(scope="module")
def corpus_summary(history: pd.DataFrame) -> ComplaintSummary:
    current = complaints(SKEWED, received=PERIOD_START + timedelta(days=1))
    previous = history[history["period"] == history["period"].max()]
    return _summary(current, previous=previous, history=history)


def test_volume_and_change_against_the_previous_period(corpus_summary: ComplaintSummary) -> None:
    assert corpus_summary.total == 76
    assert corpus_summary.previous_total == 40
    assert corpus_summary.change == 36
    assert corpus_summary.change_share == pytest.approx(0.9)
    assert corpus_summary.agency == "MJ"


def test_counts_by_category_service_and_office(corpus_summary: ComplaintSummary) -> None:
    offices = {count.name: count.count for count in corpus_summary.by_office}
    assert offices == SKEWED
    assert corpus_summary.by_office[0].name == "office-1"  # largest first
    categories = {count.name: count.count for count in corpus_summary.by_category}
    # the corpus' topics: 16 queues, 14 documents, 11 rudeness, 11 deadlines, 9 refusals, …
    assert categories["waiting_time"] == 16
    assert categories["extra_documents"] == 14
    assert categories["corruption"] == 6
    assert sum(categories.values()) == 76
    assert sum(count.count for count in corpus_summary.by_service) == 76


def test_themes_are_found_in_both_languages(corpus_summary: ComplaintSummary) -> None:
    labels = [" ".join(theme.label) for theme in corpus_summary.themes]
    assert 2 <= len(corpus_summary.themes) <= RULES.themes.max_themes
    assert any("очеред" in label for label in labels), labels
    assert any("кезек" in label for label in labels), labels
    for theme in corpus_summary.themes:
        assert 2 <= len(theme.quotes) <= RULES.themes.quotes_per_theme


def test_quotes_carry_no_personal_data(history: pd.DataFrame) -> None:
    # every complaint of the corpus with personal data, and more raw data added to the texts
    current = complaints(SKEWED, received=PERIOD_START + timedelta(days=1))
    current["text"] = current["text"] + " тел. 8 701 555 33 22, ИИН 850115300120"
    summary = _summary(current, history=history)
    quotes = [quote for theme in summary.themes for quote in theme.quotes]
    assert quotes
    for quote in quotes:
        for secret in [*personal_strings(), "555 33 22", "850115300120"]:
            assert secret not in quote
        assert not re.search(r"\d{6,}", quote.replace(" ", ""))


def test_an_over_represented_office_is_flagged_and_a_uniform_one_is_not(
    corpus_summary: ComplaintSummary,
) -> None:
    flagged = {(item.dimension, item.name): item for item in corpus_summary.over_represented}
    assert ("office", "office-1") in flagged
    item = flagged["office", "office-1"]
    assert item.count == 40
    assert item.share == pytest.approx(40 / 76)
    assert item.baseline_share == pytest.approx((60 + 0.5) / (240 + 0.5 * 4))
    assert item.q_value <= RULES.over_representation.alpha
    assert item.periods_in_row == 1 and not item.persistent
    assert ("office", "office-2") not in flagged
    # services are spread evenly in every week: none stands out
    assert not any(dimension == "service" for dimension, _ in flagged)


def test_no_office_is_flagged_when_this_week_looks_like_the_baseline(
    history: pd.DataFrame,
) -> None:
    current = complaints({name: 19 for name in UNIFORM}, received=PERIOD_START)
    assert _summary(current, history=history).over_represented == ()


def test_an_office_flagged_several_periods_in_a_row_is_persistent() -> None:
    elevated = {"office-1": 40, "office-2": 10, "office-3": 10, "office-4": 10}
    weeks = [UNIFORM] * 8 + [elevated, elevated]
    history = weekly_history(weeks, first=PERIOD_START - timedelta(weeks=len(weeks)))
    current = complaints(
        {"office-1": 60, "office-2": 10, "office-3": 10, "office-4": 10}, received=PERIOD_START
    )
    summary = _summary(current, history=history)
    (item,) = [item for item in summary.over_represented if item.name == "office-1"]
    assert item.periods_in_row == 3
    assert item.persistent
    assert summary.persistent == (item,)
    # the same week after ordinary weeks is flagged, but not persistent
    calm = weekly_history([UNIFORM] * 10, first=PERIOD_START - timedelta(weeks=10))
    (once,) = [i for i in _summary(current, history=calm).over_represented if i.name == "office-1"]
    assert once.periods_in_row == 1 and not once.persistent


def test_without_history_the_previous_period_is_the_baseline() -> None:
    previous = complaints(UNIFORM, received=PERIOD_START - timedelta(days=6))
    current = complaints(SKEWED, received=PERIOD_START)
    summary = _summary(current, previous=previous)
    assert [item.name for item in summary.over_represented] == ["office-1"]


def test_deadline_breaches_and_complaints_about_to_breach() -> None:
    frame = complaints({"office-1": 10}, received=PERIOD_START)
    day = timedelta(days=1)
    # now is Monday 30 November, 12:00
    frame.loc[0, ["answered_at", "deadline"]] = [NOW - day, NOW - 2 * day]  # answered late
    frame.loc[1, ["answered_at", "deadline"]] = [NOW - 3 * day, NOW - 2 * day]  # in time
    frame.loc[2:3, "status"] = "in_review"  # open past the deadline
    frame.loc[2:3, "deadline"] = NOW - day
    frame.loc[2:3, "answered_at"] = pd.NaT
    frame.loc[4, ["status", "answered_at", "deadline"]] = ["received", pd.NaT, NOW + 2 * day]
    frame.loc[5, ["status", "answered_at", "deadline"]] = ["received", pd.NaT, NOW + 3 * day]
    # Friday to the next Tuesday: 6 working days, not about to breach
    frame.loc[6, ["status", "answered_at", "deadline"]] = ["received", pd.NaT, NOW + 8 * day]
    summary = _summary(frame)
    assert summary.deadlines.answered_late == 1
    assert summary.deadlines.open_overdue == 2
    assert summary.deadlines.breached == 3
    assert summary.deadlines.due_soon == 2  # Wednesday and Thursday: 2 and 3 working days
    # a holiday calendar from core/ decides instead when given
    with_holidays = _summary(frame, working_days=lambda now, deadlines: deadlines.notna() * 9)
    assert with_holidays.deadlines.due_soon == 0


def test_average_rating_of_answers_with_its_n() -> None:
    frame = complaints({"office-1": 5}, received=PERIOD_START)
    frame["answer_rating"] = [5, 4, None, 2, 9]  # 9 is no rating
    rating = _summary(frame).rating
    assert rating.n == 3
    assert rating.mean == pytest.approx(11 / 3)


def test_an_agency_without_complaints_gets_a_short_message() -> None:
    empty = complaints({}, received=PERIOD_START)
    previous = complaints({"office-1": 3}, received=PERIOD_START - timedelta(days=3))
    summary = _summary(empty, previous=previous, agency="MJ")
    assert summary.is_empty
    kk = render_summary(summary, "kk")
    ru = render_summary(summary, "ru")
    assert kk.splitlines() == [
        "Шағымдар шолуы: MJ, 2026-11-23 – 2026-11-29",
        "Осы кезеңде шағым түскен жоқ. Алдыңғы кезеңде: 3.",
    ]
    assert "жалоб не поступило" in ru and len(ru.splitlines()) == 2
    assert "{" not in render_summary(summary, "en")


def test_the_message_names_everything_in_the_agency_language(
    corpus_summary: ComplaintSummary,
) -> None:
    ru = render_summary(corpus_summary, "ru")
    kk = render_summary(corpus_summary, "kk")
    assert len(ru) <= MAX_CHARS and len(kk) <= MAX_CHARS
    assert "Жалоб: 76 (в предыдущем периоде 40, +36, +90%)" in ru
    assert "Отделение «office-1»: 40 (53% при обычных 25%)" in ru
    assert "Время ожидания: 16" in ru
    assert "Күту уақыты: 16" in kk
    quote = corpus_summary.themes[0].quotes[0]
    assert f"«{quote}»" in ru
    assert "{" not in ru and "{" not in kk


def test_the_message_lists_the_rules_number_of_names_and_sums_the_rest() -> None:
    rules = dataclasses.replace(RULES, list_top=2)
    frame = complaints(SKEWED, received=PERIOD_START)
    summary = summarise(
        frame,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        previous=frame.iloc[0:0],
        history=None,
        now=NOW,
        config=rules,
    )
    lines = render_summary(summary, "ru").splitlines()
    offices = lines[lines.index("По отделениям:") + 1 :]
    assert offices == ["• office-1: 40", "• office-2: 12", "  … ещё 2 (24)"]


def test_a_long_summary_is_shortened_to_fit_one_message() -> None:
    frame = complaints({f"office-{i:03}": 3 for i in range(600)}, received=PERIOD_START)
    frame["service"] = [f"service with a long name number {i}" for i in range(len(frame))]
    summary = _summary(frame)
    long_quotes = dataclasses.replace(
        summary,
        themes=tuple(dataclasses.replace(t, quotes=("я" * 199,) * 3) for t in summary.themes) * 10,
    )
    for lang in ("kk", "ru", "en"):
        text = render_summary(long_quotes, lang)  # type: ignore[arg-type]
        assert len(text) <= MAX_CHARS
    tiny = render_summary(long_quotes, "ru", limit=300)
    assert len(tiny) <= 300
    assert tiny.endswith("сокращено; полная сводка — в админке.")


def test_the_admin_gets_plain_data(corpus_summary: ComplaintSummary) -> None:
    data = corpus_summary.as_dict()
    assert data["total"] == 76 and data["change"] == 36
    assert data["deadlines"]["breached"] == 0
    assert data["period_start"] == "2026-11-23"
    assert data["over_represented"][0]["name"] == "office-1"
    assert isinstance(data["themes"][0]["quotes"], list)


def test_the_rules_file_is_versioned_and_checked(tmp_path: object) -> None:
    assert RULES.version
    assert 2 <= RULES.themes.quotes_per_theme <= 3


# --- property: any frame of the right columns ------------------------------------------------

_moments = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2026, 10, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)
    ),
)
_rows = st.fixed_dictionaries(
    {
        "complaint_id": st.integers(0, 10**6),
        "agency": st.sampled_from(["MJ", None]),
        "received_at": _moments,
        "category": st.one_of(st.none(), st.sampled_from(CATEGORIES), st.text(max_size=5)),
        "service": st.one_of(st.none(), st.sampled_from(["a", "b", " ", ""])),
        "office": st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3", "nan"])),
        "status": st.one_of(
            st.none(), st.sampled_from(["received", "in_review", "answered", "closed", "?"])
        ),
        "deadline": _moments,
        "answered_at": _moments,
        "text": st.one_of(
            st.none(),
            st.text(max_size=40),
            st.sampled_from(["очередь в ЦОНе", "кезек ұзын", "грубый оператор", "😡😡"]),
        ),
        "language": st.sampled_from(["kk", "ru", "en", None, "xx"]),
        "answer_rating": st.one_of(st.none(), st.integers(-2, 8), st.floats(allow_nan=True)),
    }
)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    current=st.lists(_rows, max_size=25),
    previous=st.lists(_rows, max_size=10),
    past=st.lists(st.tuples(st.sampled_from(["w1", "w2", "w3"]), _rows), max_size=25),
    lang=st.sampled_from(["kk", "ru", "en"]),
)
def test_summarise_never_fails_and_counts_add_up(
    current: list[dict[str, object]],
    previous: list[dict[str, object]],
    past: list[tuple[str, dict[str, object]]],
    lang: str,
) -> None:
    history = _frame([row for _, row in past])
    history["period"] = [period for period, _ in past]
    rules = dataclasses.replace(RULES, themes=dataclasses.replace(RULES.themes, min_texts=3))
    summary = summarise(
        _frame(current),
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        previous=_frame(previous),
        history=history if past else None,
        now=NOW,
        config=rules,
    )
    total = len(current)
    assert summary.total == total and summary.previous_total == len(previous)
    for counts in (summary.by_category, summary.by_service, summary.by_office):
        assert sum(count.count for count in counts) == total
    deadlines = summary.deadlines
    assert deadlines.breached + deadlines.due_soon <= total
    assert 0 <= summary.rating.n <= total
    assert sum(theme.size for theme in summary.themes) <= total
    for item in summary.over_represented:
        assert item.count >= RULES.over_representation.min_count
        assert 0 <= item.q_value <= RULES.over_representation.alpha
    text = render_summary(summary, lang)  # type: ignore[arg-type]
    assert 0 < len(text) <= MAX_CHARS
