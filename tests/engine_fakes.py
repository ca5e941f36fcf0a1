"""An in-memory AnswerStore: the engine tested without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.engine.conversation import Completing


@dataclass
class MemoryAnswers:
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    completed: dict[int, tuple[list[tuple[str, str]], bool]] = field(default_factory=dict)

    async def load_answers(self, response_id: int) -> dict[str, Any]:
        return dict(self.answers.get(response_id, {}))

    async def save_answer(
        self,
        response_id: int,
        question: str,
        value: Any,
        known: int | None = None,
        *,
        completing: Completing | None = None,
    ) -> bool:
        stored = self.answers.setdefault(response_id, {})
        if question in stored or (known is not None and len(stored) != known):
            return False
        stored[question] = value
        if completing is not None:
            await self.complete(response_id, completing.metrics, completing.complaint_requested)
        return True

    async def complete(
        self, response_id: int, metrics: list[tuple[str, str]], complaint_requested: bool
    ) -> None:
        self.completed.setdefault(response_id, (metrics, complaint_requested))
