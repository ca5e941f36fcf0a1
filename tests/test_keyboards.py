"""Question keyboards: laid out once per question and language, the same buttons as built one
by one, and their callback data unpacks to the response, question and value they stand for."""

from __future__ import annotations

import pytest

from bot.messages import LANGUAGES
from bot.telegram.keyboards import (
    AnswerCallback,
    DoneCallback,
    ToggleCallback,
    build_question_keyboard,
    question_keyboard,
)
from tests.conftest import SURVEYS


@pytest.mark.parametrize("survey_id", sorted(SURVEYS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_laid_out_keyboards_are_the_built_ones(survey_id: str, lang: str) -> None:
    definition = SURVEYS[survey_id]
    for index, question in enumerate(definition.questions):
        for response_id in (1, 987_654_321):
            built = build_question_keyboard(response_id, index, question, lang)
            fast = question_keyboard(response_id, index, question, lang)
            assert (fast is None) == (built is None)
            if fast is None or built is None:
                continue
            assert fast.model_dump() == built.model_dump()
            for row in fast.inline_keyboard:
                for button in row:
                    data = button.callback_data or ""
                    kind = {"a": AnswerCallback, "t": ToggleCallback, "d": DoneCallback}[data[0]]
                    unpacked = kind.unpack(data)
                    assert (unpacked.r, unpacked.q) == (response_id, index)
