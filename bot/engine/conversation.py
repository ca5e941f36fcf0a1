"""One conversation about one response: asks the engine, stores each answer at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.engine.definition import SurveyDefinition
from bot.engine.flow import (
    AnswerValue,
    Ask,
    Completed,
    InvalidAnswer,
    RawValue,
    Step,
    metric_values,
    next_step,
    validate,
)


class AnswerStore(Protocol):
    """Where answers live (the database). Implemented in core; the engine only knows this shape."""

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]: ...

    async def save_answer(
        self,
        response_id: int,
        question: str,
        value: AnswerValue,
        known: int | None = None,
        *,
        completing: Completing | None = None,
    ) -> bool:
        """Store one answer durably. False when it was not stored: that question had an answer
        already, or (when `known` is given) the response no longer holds exactly `known`
        answers, so the ones the decision was made on are out of date. `completing`: this is
        the last answer; complete the response in the same transaction (both or neither)."""
        ...

    async def complete(
        self,
        response_id: int,
        metrics: list[tuple[str, str]],
        complaint_requested: bool,
    ) -> None:
        """Complete an open response; nothing when it is completed already."""
        ...


@dataclass(frozen=True)
class Completing:
    """What completing a response needs: its metrics and whether a complaint was asked for."""

    metrics: list[tuple[str, str]]
    complaint_requested: bool


@dataclass(frozen=True)
class _Take:
    """The answer is for the current question and valid: store it."""

    question: str
    value: AnswerValue


class Conversation:
    """`answers` are the response's answers as last seen. `fresh`: just read from the store.
    Remembered answers (a worker's memory between updates) may be behind the store; whatever
    is decided on them is checked when storing (`known`), and decided again on fresh answers
    when the check fails or when they would refuse the answer."""

    def __init__(
        self,
        definition: SurveyDefinition,
        store: AnswerStore,
        response_id: int,
        answers: Mapping[str, AnswerValue],
        *,
        fresh: bool = True,
    ) -> None:
        self.definition = definition
        self.store = store
        self.response_id = response_id
        self.answers = dict(answers)
        self.fresh = fresh

    @classmethod
    async def resume(
        cls, definition: SurveyDefinition, store: AnswerStore, response_id: int
    ) -> Conversation:
        conversation = cls(definition, store, response_id, await store.load_answers(response_id))
        await conversation._settle(conversation.current())
        return conversation

    def current(self) -> Step:
        return next_step(self.definition, self.answers)

    async def answer(self, question_name: str, raw: RawValue) -> Step:
        """Take an answer to `question_name`. Answers to anything but the current question
        (a double tap, an old button, a forged callback) change nothing and re-ask."""
        for _attempt in range(3):
            decided = self._decide(question_name, raw)
            if isinstance(decided, _Take):
                after = {**self.answers, decided.question: decided.value}
                following = next_step(self.definition, after)
                if await self.store.save_answer(
                    self.response_id,
                    decided.question,
                    decided.value,
                    known=len(self.answers),
                    completing=self._completing(following, after),
                ):
                    # The store held exactly our answers and now this one too (and, if it
                    # was the last, the completion): still up to date.
                    self.answers = after
                    return following
            elif self.fresh:
                return await self._settle(decided)
            # Not stored (the same update delivered twice, another worker was first), or
            # refused on answers that may be behind: look at the stored ones and decide again.
            await self.reload()
        step = self.current()
        if isinstance(step, Ask):
            return Ask(step.question, step.number, step.total, InvalidAnswer("already_answered"))
        return await self._settle(step)

    async def skip(self, question_name: str) -> Step:
        return await self.answer(question_name, None)

    async def reload(self) -> None:
        self.answers = await self.store.load_answers(self.response_id)
        self.fresh = True

    def _decide(self, question_name: str, raw: RawValue) -> Step | _Take:
        step = self.current()
        if isinstance(step, Completed):
            return step
        if question_name != step.question.name:
            reason = "already_answered" if question_name in self.answers else "not_current"
            return Ask(step.question, step.number, step.total, InvalidAnswer(reason))
        result = validate(step.question, raw)
        if isinstance(result, InvalidAnswer):
            return Ask(step.question, step.number, step.total, result)
        return _Take(step.question.name, result.value)

    def _completing(self, step: Step, answers: Mapping[str, AnswerValue]) -> Completing | None:
        """How to complete the response if these answers (whose next `step` that is) finish
        it, else None."""
        if not isinstance(step, Completed):
            return None
        return Completing(metric_values(self.definition, answers), step.complaint_requested)

    async def _settle(self, step: Step) -> Step:
        """Every answer is there: make sure the response is completed. Normally it was, with
        its last answer; this completes one whose completion was lost (a version that
        committed the two apart, a crash between them), and changes nothing otherwise."""
        if isinstance(step, Completed):
            await self.store.complete(
                self.response_id,
                metric_values(self.definition, self.answers),
                step.complaint_requested,
            )
        return step
