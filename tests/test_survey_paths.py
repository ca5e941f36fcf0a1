"""Every shipped survey, along every path its skip logic allows, in every language: each question
is askable (text and buttons render), every offered answer is accepted, and the survey ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.engine import expressions
from bot.engine.conversation import Conversation
from bot.engine.definition import (
    LANGUAGES,
    Question,
    QuestionType,
    SurveyDefinition,
    load_survey_dir,
)
from bot.engine.flow import Ask, Completed, RawValue
from bot.telegram.render import card
from tests.engine_fakes import MemoryAnswers

SURVEYS = load_survey_dir(Path(__file__).parent.parent / "survey_definitions")


def offered_answers(question: Question) -> list[RawValue]:
    """Every answer a button or form offers for this question."""
    kind = question.type
    options: list[RawValue]
    if kind is QuestionType.RATING:
        options = [str(v) for v in range(1, 6)]
    elif kind is QuestionType.NPS:
        options = [str(v) for v in range(11)]
    elif kind is QuestionType.YES_NO:
        options = ["yes", "no"]
    elif kind is QuestionType.SELECT_ONE:
        options = [c.name for c in question.choices]
    elif kind is QuestionType.SELECT_MULTIPLE:
        options = [[c.name] for c in question.choices] + [[c.name for c in question.choices]]
    else:
        options = ["Жауап / ответ / answer"]
    return options + ([None] if not question.required else [])


def branching(definition: SurveyDefinition) -> set[str]:
    """Questions whose answers some `relevant` reads: only these can change the path."""
    return {
        name for node in definition.conditions.values() for name in expressions.references(node)
    }


def paths(definition: SurveyDefinition) -> Iterator[list[tuple[str, RawValue]]]:
    from bot.engine.flow import next_step, validate

    readers = branching(definition)

    def walk(answers: dict, script: list[tuple[str, RawValue]]) -> Iterator[list]:
        step = next_step(definition, answers)
        if isinstance(step, Completed):
            yield script
            return
        question = step.question
        options = offered_answers(question)
        for raw in options if question.name in readers else options[:1]:
            result = validate(question, raw)
            assert not hasattr(result, "reason"), (question.name, raw, result)
            yield from walk(
                {**answers, question.name: result.value}, [*script, (question.name, raw)]
            )  # type: ignore[union-attr]

    yield from walk({}, [])


CASES = [
    (survey_id, lang, index, script)
    for survey_id, definition in SURVEYS.items()
    for index, script in enumerate(paths(definition))
    for lang in LANGUAGES
]


def test_there_is_more_than_one_path_through_the_default_survey() -> None:
    distinct = {tuple(name for name, _ in script) for _, _, _, script in CASES}
    assert len(distinct) >= 2


@pytest.mark.parametrize(
    ("survey_id", "lang", "index", "script"),
    CASES,
    ids=[f"{s}-{lang}-path{i}" for s, lang, i, _ in CASES],
)
async def test_every_path_completes_in_every_language(
    survey_id: str, lang: str, index: int, script: list[tuple[str, RawValue]]
) -> None:
    definition = SURVEYS[survey_id]
    store = MemoryAnswers()
    conversation = Conversation(definition, store, 1, {})
    response = SimpleNamespace(id=2**31 - 1, service=SimpleNamespace(name=lambda _lang: "Қызмет"))
    for name, raw in script:
        step = conversation.current()
        assert isinstance(step, Ask) and step.question.name == name
        shown = card(step, definition, response, lang)  # type: ignore[arg-type]
        assert step.question.text(lang) in shown.text.replace("&quot;", '"').replace("&#x27;", "'")
        for row in shown.markup.inline_keyboard if shown.markup else []:
            for button in row:
                assert button.text.strip()
                assert len((button.callback_data or "").encode()) <= 64  # Telegram's limit
        step = await conversation.answer(name, raw)
        assert isinstance(step, Completed) or step.error is None
    assert isinstance(conversation.current(), Completed)
    assert 1 in store.completed
