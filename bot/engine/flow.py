"""Pure survey decisions: what to ask next, whether an answer is valid. No I/O, no channel."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine import expressions
from bot.engine.definition import Question, QuestionAction, QuestionType, SurveyDefinition

AnswerValue = int | bool | str | list[str] | None
RawValue = str | Sequence[str] | None

YES = ("yes", "true", "1")
NO = ("no", "false", "0")
RANGES = {QuestionType.RATING: (1, 5), QuestionType.NPS: (0, 10)}


@dataclass(frozen=True)
class Ask:
    """Ask this question next. `error` says why the last answer was not taken (a message key)."""

    question: Question
    number: int
    total: int
    error: InvalidAnswer | None = None


@dataclass(frozen=True)
class Completed:
    complaint_requested: bool = False


Step = Ask | Completed


@dataclass(frozen=True)
class ValidAnswer:
    value: AnswerValue


@dataclass(frozen=True)
class InvalidAnswer:
    """Why an answer was refused: `reason` is a message key, `params` fill its placeholders."""

    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)


def is_relevant(
    definition: SurveyDefinition, question: Question, answers: Mapping[str, Any]
) -> bool:
    condition = definition.conditions.get(question.name)
    return condition is None or expressions.evaluate(condition, answers)


def next_step(definition: SurveyDefinition, answers: Mapping[str, AnswerValue]) -> Step:
    """The first relevant question not yet answered, or Completed when there is none. Its
    `total` is `questions_to_ask`: what every channel shows as "3 of 12"."""
    relevant = [q for q in definition.questions if is_relevant(definition, q, answers)]
    for number, question in enumerate(relevant, start=1):
        if question.name not in answers:
            return Ask(question, number, questions_to_ask(definition, answers))
    return Completed(complaint_requested=complaint_requested(definition, answers))


def questions_to_ask(definition: SurveyDefinition, answers: Mapping[str, AnswerValue]) -> int:
    """How many questions this response may still come to ask in all: those asked or relevant
    now, and those whose condition reads a question not answered yet that may itself be asked.
    The progress then says "1 of 12" and may shrink after a good rating, but never grows
    after a low one (counting only what is relevant now would)."""
    possible: set[str] = set()
    for question in definition.questions:
        condition = definition.conditions.get(question.name)
        if (
            condition is None
            or expressions.evaluate(condition, answers)
            or any(
                name not in answers and name in possible
                for name in expressions.references(condition)
            )
        ):
            possible.add(question.name)
    return len(possible)


def complaint_requested(definition: SurveyDefinition, answers: Mapping[str, AnswerValue]) -> bool:
    return any(
        q.action is QuestionAction.REQUEST_COMPLAINT and answers.get(q.name) is True
        for q in definition.questions
    )


# Dropped from typed text: control characters (a bell, an escape sequence, NUL) and lone
# surrogates (not storable). Format characters stay: a zero-width joiner holds a family emoji
# together, a direction mark keeps Arabic or Hebrew words in order.
DROPPED_CATEGORIES = ("Cc", "Cs")


def clean_text(raw: str) -> str:
    """What a person typed, minus control characters (line breaks kept), normalised, trimmed."""
    normalised = unicodedata.normalize("NFC", raw)
    kept = (
        ch
        for ch in normalised
        if ch in "\n\t" or unicodedata.category(ch) not in DROPPED_CATEGORIES
    )
    return "".join(kept).replace("\t", " ").strip()


def _visible(text: str) -> bool:
    """Anything but spaces and invisible format characters (a lone zero-width space)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def validate(question: Question, raw: RawValue) -> ValidAnswer | InvalidAnswer:
    """Turn a channel's raw answer into a stored value, or say why it can't be taken."""
    if raw is None or (
        isinstance(raw, str) and raw == "" and question.type is not QuestionType.TEXT
    ):
        return ValidAnswer(None) if not question.required else InvalidAnswer("answer_required")
    kind = question.type
    if kind in RANGES:
        low, high = RANGES[kind]
        text = raw.strip() if isinstance(raw, str) else ""
        if text.isascii() and text.isdigit() and low <= int(text) <= high:
            return ValidAnswer(int(text))
        return InvalidAnswer("number_out_of_range", {"low": low, "high": high})
    if kind is QuestionType.YES_NO:
        text = raw.strip().lower() if isinstance(raw, str) else ""
        if text in YES:
            return ValidAnswer(True)
        if text in NO:
            return ValidAnswer(False)
        return InvalidAnswer("choose_offered")
    if kind is QuestionType.SELECT_ONE:
        if isinstance(raw, str) and question.choice(raw.strip()) is not None:
            return ValidAnswer(raw.strip())
        return InvalidAnswer("choose_offered")
    if kind is QuestionType.SELECT_MULTIPLE:
        items = [raw] if isinstance(raw, str) else list(raw)
        picked = [c.name for c in question.choices if c.name in {i.strip() for i in items}]
        if len(picked) != len({i.strip() for i in items if i.strip()}):
            return InvalidAnswer("choose_offered")
        if not picked:
            return InvalidAnswer("choose_at_least_one") if question.required else ValidAnswer(None)
        return ValidAnswer(picked)
    if not isinstance(raw, str):
        return InvalidAnswer("text_expected")
    text = clean_text(raw)
    if not _visible(text):
        return InvalidAnswer("answer_required") if question.required else ValidAnswer(None)
    if len(text) > question.text_limit:
        return InvalidAnswer("text_too_long", {"limit": question.text_limit, "length": len(text)})
    return ValidAnswer(text)


def metric_values(
    definition: SurveyDefinition, answers: Mapping[str, AnswerValue]
) -> list[tuple[str, str]]:
    """(metric, value) pairs of a finished response, for rollups: scoring reads metrics, not
    wording. Multiple choices count each choice; free text counts as 'answered'."""
    pairs: list[tuple[str, str]] = []
    for question in definition.questions:
        value = answers.get(question.name)
        if question.metric is None or value is None:
            continue
        if isinstance(value, bool):
            pairs.append((question.metric, "yes" if value else "no"))
        elif isinstance(value, list):
            pairs.extend((question.metric, item) for item in value)
        elif question.type is QuestionType.TEXT:
            pairs.append((question.metric, "answered"))
        else:
            pairs.append((question.metric, str(value)))
    return pairs
