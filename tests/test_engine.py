"""The survey engine: next question, validation, skip logic, storing each answer at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.conversation import Conversation
from bot.engine.definition import Question, QuestionType, load_survey_dir, parse_survey
from bot.engine.flow import (
    Ask,
    Completed,
    InvalidAnswer,
    ValidAnswer,
    clean_text,
    next_step,
    validate,
)
from tests.engine_fakes import MemoryAnswers

SURVEYS = load_survey_dir(Path(__file__).parent.parent / "survey_definitions")
POST_SERVICE = SURVEYS["post_service"]


def question(kind: str, **extra: object) -> Question:
    label = {"kk": "с", "ru": "в", "en": "q"}
    return Question.model_validate({"name": "q", "type": kind, "label": label, **extra})


def test_first_question_is_overall_satisfaction() -> None:
    step = next_step(POST_SERVICE, {})
    assert isinstance(step, Ask)
    assert step.question.name == "overall"
    assert step.question.metric == "satisfaction"
    assert step.number == 1


def test_low_rating_asks_what_went_wrong_and_offers_a_complaint() -> None:
    step = next_step(POST_SERVICE, {"overall": 2})
    assert isinstance(step, Ask)
    assert step.question.name == "reasons"
    relevant = [q.name for q in POST_SERVICE.questions if q.name != "comment"]
    answers: dict = {"overall": 2}
    for name in relevant[1:]:
        step = next_step(POST_SERVICE, answers)
        assert isinstance(step, Ask)
        assert step.question.name == name
        answers[name] = {"reasons": ["queue"], "received_via": "egov", "complaint": True}.get(
            name, 4 if step.question.type is QuestionType.RATING else True
        )
    assert next_step(POST_SERVICE, answers).question.name == "comment"  # type: ignore[union-attr]


def test_high_rating_skips_the_complaint_questions() -> None:
    answers: dict = {"overall": 5}
    asked = []
    while isinstance(step := next_step(POST_SERVICE, answers), Ask):
        asked.append(step.question.name)
        answers[step.question.name] = {"received_via": "egov"}.get(
            step.question.name, 5 if step.question.type is QuestionType.RATING else None
        )
    assert "reasons" not in asked
    assert "complaint" not in asked
    assert isinstance(step, Completed)
    assert step.complaint_requested is False


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("rating", "5", ValidAnswer(5)),
        ("rating", " 1 ", ValidAnswer(1)),
        ("rating", "6", InvalidAnswer("number_out_of_range", {"low": 1, "high": 5})),
        ("rating", "0", InvalidAnswer("number_out_of_range", {"low": 1, "high": 5})),
        ("rating", "٣", InvalidAnswer("number_out_of_range", {"low": 1, "high": 5})),
        ("rating", None, InvalidAnswer("answer_required")),
        ("nps", "0", ValidAnswer(0)),
        ("nps", "10", ValidAnswer(10)),
        ("nps", "11", InvalidAnswer("number_out_of_range", {"low": 0, "high": 10})),
        ("yes_no", "yes", ValidAnswer(True)),
        ("yes_no", "no", ValidAnswer(False)),
        ("yes_no", "maybe", InvalidAnswer("choose_offered")),
        ("text", "  hello\x00\x1b world  ", ValidAnswer("hello world")),
        ("text", "\u200b", InvalidAnswer("answer_required")),
    ],
)
def test_validate(kind: str, raw: str | None, expected: object) -> None:
    assert validate(question(kind), raw) == expected


def test_choices_are_checked_against_the_definition() -> None:
    choices = [
        {"name": "a", "label": {"kk": "a", "ru": "a", "en": "a"}},
        {"name": "b", "label": {"kk": "b", "ru": "b", "en": "b"}},
    ]
    one = question("select_one", choices=choices)
    many = question("select_multiple", choices=choices)
    assert validate(one, "a") == ValidAnswer("a")
    assert validate(one, "c") == InvalidAnswer("choose_offered")
    assert validate(many, ["b", "a"]) == ValidAnswer(["a", "b"])  # definition order
    assert validate(many, ["a", "zzz"]) == InvalidAnswer("choose_offered")
    assert validate(many, []) == InvalidAnswer("choose_at_least_one")


def test_text_limit_and_optional_skip() -> None:
    limited = question("text", max_length=10, required=False)
    assert validate(limited, "x" * 11) == InvalidAnswer(
        "text_too_long", {"limit": 10, "length": 11}
    )
    assert validate(limited, None) == ValidAnswer(None)
    assert validate(limited, "   ") == ValidAnswer(None)


@given(st.text())
def test_text_answers_never_keep_control_characters(raw: str) -> None:
    result = validate(question("text", max_length=4000, required=False), raw)
    if isinstance(result, ValidAnswer) and isinstance(result.value, str):
        assert result.value == clean_text(result.value)
        assert not any(ch < " " and ch not in "\n" for ch in result.value)


@given(st.one_of(st.none(), st.text(max_size=20), st.lists(st.text(max_size=10), max_size=5)))
def test_validate_never_raises(raw: object) -> None:
    for q in POST_SERVICE.questions:
        result = validate(q, raw)  # type: ignore[arg-type]
        assert isinstance(result, ValidAnswer | InvalidAnswer)


async def test_each_answer_is_stored_the_moment_it_is_given() -> None:
    store = MemoryAnswers()
    conversation = Conversation(POST_SERVICE, store, 1, {})
    step = await conversation.answer("overall", "4")
    assert store.answers[1] == {"overall": 4}
    assert isinstance(step, Ask)
    assert step.question.name == "deadline_met"


async def test_a_restarted_conversation_resumes_at_the_next_question() -> None:
    store = MemoryAnswers()
    first = Conversation(POST_SERVICE, store, 7, {})
    await first.answer("overall", "5")
    await first.answer("deadline_met", "yes")
    resumed = await Conversation.resume(POST_SERVICE, store, 7)
    step = resumed.current()
    assert isinstance(step, Ask)
    assert step.question.name == "refused"


async def test_answering_an_old_question_again_changes_nothing() -> None:
    store = MemoryAnswers()
    conversation = Conversation(POST_SERVICE, store, 1, {})
    await conversation.answer("overall", "5")
    step = await conversation.answer("overall", "1")
    assert isinstance(step, Ask)
    assert step.error == InvalidAnswer("already_answered")
    assert step.question.name == "deadline_met"
    assert store.answers[1] == {"overall": 5}


async def test_a_question_not_yet_reached_is_refused() -> None:
    conversation = Conversation(POST_SERVICE, MemoryAnswers(), 1, {})
    step = await conversation.answer("comment", "hi")
    assert isinstance(step, Ask)
    assert step.error == InvalidAnswer("not_current")
    assert step.question.name == "overall"


async def test_a_duplicate_delivery_racing_another_worker_shows_where_we_are() -> None:
    store = MemoryAnswers()
    stale = Conversation(POST_SERVICE, store, 1, {})
    other = Conversation(POST_SERVICE, store, 1, {})
    await other.answer("overall", "2")
    step = await stale.answer("overall", "2")
    assert isinstance(step, Ask)
    assert step.question.name == "reasons"
    assert step.error == InvalidAnswer("already_answered")


async def test_completion_reports_metrics_and_the_complaint_request() -> None:
    store = MemoryAnswers()
    conversation = Conversation(POST_SERVICE, store, 3, {})
    script = {
        "overall": "1",
        "reasons": ["waiting_time", "rudeness"],
        "deadline_met": "no",
        "refused": "yes",
        "extra_documents": "yes",
        "full_package": "no",
        "staff": "1",
        "clarity": "2",
        "received_via": "service_centre",
        "info_quality": "3",
        "complaint": "yes",
        "comment": "Кезек өте ұзақ болды",
    }
    step = conversation.current()
    while isinstance(step, Ask):
        step = await conversation.answer(step.question.name, script[step.question.name])
        assert isinstance(step, Completed) or step.error is None
    assert isinstance(step, Completed)
    assert step.complaint_requested is True
    metrics, requested = store.completed[3]
    assert requested is True
    assert ("satisfaction", "1") in metrics
    assert ("problem_reason", "waiting_time") in metrics
    assert ("problem_reason", "rudeness") in metrics
    assert ("unjustified_refusal", "yes") in metrics
    assert ("full_package_once", "no") in metrics
    assert ("comment", "answered") in metrics
    # Finished: further answers change nothing.
    assert isinstance(await conversation.answer("comment", "more"), Completed)


def test_walking_a_survey_counts_progress() -> None:
    answers: dict = {}
    numbers = []
    while isinstance(step := next_step(POST_SERVICE, answers), Ask):
        numbers.append((step.number, step.total))
        answers[step.question.name] = 5 if step.question.type is QuestionType.RATING else None
    assert numbers[0] == (1, 12)  # what a low rating could add is counted from the start
    assert [n for n, _ in numbers] == list(range(1, len(numbers) + 1))


def test_parse_survey_keeps_the_digest_of_its_text() -> None:
    text = (Path(__file__).parent.parent / "survey_definitions" / "post_service.yaml").read_text()
    assert parse_survey(text).digest == POST_SERVICE.digest


def plausible_value(q: Question) -> st.SearchStrategy[object]:
    if q.type is QuestionType.RATING:
        return st.integers(min_value=1, max_value=5)
    if q.type is QuestionType.NPS:
        return st.integers(min_value=0, max_value=10)
    if q.type is QuestionType.YES_NO:
        return st.booleans()
    if q.type is QuestionType.SELECT_ONE:
        return st.sampled_from([c.name for c in q.choices])
    if q.type is QuestionType.SELECT_MULTIPLE:
        return st.lists(st.sampled_from([c.name for c in q.choices]), min_size=1, unique=True)
    return st.one_of(st.none(), st.text(max_size=20))


partial_answers = st.fixed_dictionaries(
    {},
    optional={q.name: plausible_value(q) for q in POST_SERVICE.questions},
)


@given(partial_answers)
def test_skip_logic_asks_the_first_relevant_unanswered_question(answers: dict) -> None:
    from bot.engine.flow import is_relevant

    step = next_step(POST_SERVICE, answers)
    pending = [
        q
        for q in POST_SERVICE.questions
        if q.name not in answers and is_relevant(POST_SERVICE, q, answers)
    ]
    if isinstance(step, Completed):
        assert pending == []
    else:
        assert step.question == pending[0]
        assert 1 <= step.number <= step.total


@given(st.data())
def test_progress_total_never_grows_whatever_is_answered(data: st.DataObject) -> None:
    """ "1 of 12" may become "2 of 10" after a good rating, never "2 of 14" after a low one:
    every channel shows the engine's total."""
    answers: dict = {}
    totals = []
    while isinstance(step := next_step(POST_SERVICE, answers), Ask):
        assert 1 <= step.number <= step.total
        totals.append(step.total)
        answers[step.question.name] = data.draw(plausible_value(step.question))
    assert totals == sorted(totals, reverse=True)
    assert len(totals) <= totals[0]


@given(st.integers(min_value=1, max_value=5))
def test_only_low_ratings_open_the_complaint_branch(overall: int) -> None:
    step = next_step(POST_SERVICE, {"overall": overall})
    assert isinstance(step, Ask)
    assert (step.question.name == "reasons") is (overall <= 2)


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one emoji, joined


def test_typed_text_keeps_joined_emoji_and_direction_marks_and_drops_control_characters() -> None:
    typed = f"Рақмет {FAMILY}\u200f ok\u200e\x07\x00\x1b[31m\nnext\tline\u00ad"
    assert clean_text(typed) == f"Рақмет {FAMILY}\u200f ok\u200e[31m\nnext line\u00ad"
    assert clean_text("\u0627\u0644\u200c\u0633\u0644\u0627\u0645") == (
        "\u0627\u0644\u200c\u0633\u0644\u0627\u0645"  # a zero-width non-joiner, kept
    )
    assert clean_text("\ud800lone surrogate") == "lone surrogate"  # not storable text


@given(st.text(max_size=200))
def test_cleaning_drops_only_control_characters(raw: str) -> None:
    import unicodedata

    cleaned = clean_text(raw)
    kept = [
        ch
        for ch in unicodedata.normalize("NFC", raw)
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ]
    assert cleaned == "".join(kept).replace("\t", " ").strip()
