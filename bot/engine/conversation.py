"""One conversation about one response: asks the engine, stores each answer at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.engine.definition import SurveyDefinition
from bot.engine.flow import (
    AnswerValue,
    Ask,
    Completed,
    InvalidAnswer,
    RawValue,
    Step,
    ValidAnswer,
    metric_values,
    next_step,
    validate,
)


class AnswerStore(Protocol):
    """Where answers live (the database). Implemented in core; the engine only knows this shape."""

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]: ...

    async def save_answer(self, response_id: int, question: str, value: AnswerValue) -> bool:
        """Store one answer durably; False when that question already had an answer."""
        ...

    async def complete(
        self,
        response_id: int,
        metrics: list[tuple[str, str]],
        complaint_requested: bool,
    ) -> None: ...


class Conversation:
    def __init__(
        self,
        definition: SurveyDefinition,
        store: AnswerStore,
        response_id: int,
        answers: Mapping[str, AnswerValue],
    ) -> None:
        self.definition = definition
        self.store = store
        self.response_id = response_id
        self.answers = dict(answers)

    @classmethod
    async def resume(
        cls, definition: SurveyDefinition, store: AnswerStore, response_id: int
    ) -> Conversation:
        return cls(definition, store, response_id, await store.load_answers(response_id))

    def current(self) -> Step:
        return next_step(self.definition, self.answers)

    async def answer(self, question_name: str, raw: RawValue) -> Step:
        """Take an answer to `question_name`. Answers to anything but the current question
        (a double tap, an old button, a forged callback) change nothing and re-ask."""
        step = self.current()
        if isinstance(step, Completed):
            return step
        if question_name != step.question.name:
            reason = "already_answered" if question_name in self.answers else "not_current"
            return Ask(step.question, step.number, step.total, InvalidAnswer(reason))
        result = validate(step.question, raw)
        if isinstance(result, InvalidAnswer):
            return Ask(step.question, step.number, step.total, result)
        return await self._store(step.question.name, result)

    async def skip(self, question_name: str) -> Step:
        return await self.answer(question_name, None)

    async def _store(self, name: str, result: ValidAnswer) -> Step:
        if not await self.store.save_answer(self.response_id, name, result.value):
            # Someone (the same update delivered twice) got there first: show where we really are.
            self.answers = await self.store.load_answers(self.response_id)
            step = self.current()
            if isinstance(step, Ask):
                return Ask(
                    step.question, step.number, step.total, InvalidAnswer("already_answered")
                )
            return step
        self.answers[name] = result.value
        step = self.current()
        if isinstance(step, Completed):
            await self.store.complete(
                self.response_id,
                metric_values(self.definition, self.answers),
                step.complaint_requested,
            )
        return step
