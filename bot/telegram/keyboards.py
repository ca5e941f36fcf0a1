"""Callback data factories and inline keyboards. A button carries the response and question it
belongs to, so an old or forged button can be recognised and refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from bot.engine.definition import Question, QuestionType
from bot.messages import LANGUAGE_NAMES, LANGUAGES, text
from core.models import PublicService

CHECKED, UNCHECKED = "☑", "☐"

# What a button may carry, bounded: callback data comes from the client, and a number beyond
# a database column (or thousands of digits) is an out-of-date button, not a database error.
RowId = Annotated[int, Field(ge=0, le=2**31 - 1)]
Position = Annotated[int, Field(ge=0, le=999)]
Value = Annotated[str, Field(max_length=64)]
CALLBACK_SEPARATOR = ":"  # aiogram's CallbackData default; each class below keeps it


class AnswerCallback(CallbackData, prefix="a"):
    r: RowId  # response id
    q: Position  # question index in the definition
    v: Value  # raw value ("" = skip)


class ToggleCallback(CallbackData, prefix="t"):
    r: RowId
    q: Position
    c: Position  # choice index


class DoneCallback(CallbackData, prefix="d"):
    r: RowId
    q: Position


class LanguageCallback(CallbackData, prefix="l"):
    lang: Value


class ServiceCallback(CallbackData, prefix="s"):
    """A service offered at an office, sealed by the server for the poster code's day: a
    button made up by the client (another office, service or day) does not open anything."""

    o: RowId  # office id
    s: RowId  # service id
    d: Value  # the poster code's day, YYYYMMDD
    m: Value  # the offer's seal


def stars(count: int) -> str:
    return "★" * count


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for lang in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[lang], callback_data=LanguageCallback(lang=lang))
    builder.adjust(3)
    return builder.as_markup()


def services_keyboard(
    office_id: int,
    services: list[PublicService],
    lang: str,
    stamp: str,
    seal: Callable[[int, int, str], str],
) -> InlineKeyboardMarkup:
    """The office's services, each button sealed (`seal(office, service, stamp)`)."""
    builder = InlineKeyboardBuilder()
    for service in services[:50]:
        builder.button(
            text=service.name(lang)[:60],
            callback_data=ServiceCallback(
                o=office_id, s=service.id, d=stamp, m=seal(office_id, service.id, stamp)
            ),
        )
    builder.adjust(1)
    return builder.as_markup()


# A question's buttons, laid out once per question and language: rows of (label, callback data
# before and after the response id). A card then only puts its response id in: building the
# keyboard with InlineKeyboardBuilder and packing every button costs more than the rest of an
# answer's rendering together.
_Row = tuple[tuple[str, str, str], ...]
_LAYOUTS: dict[tuple[int, int, str], tuple[Question, tuple[_Row, ...]]] = {}


def question_keyboard(
    response_id: int, index: int, question: Question, lang: str
) -> InlineKeyboardMarkup | None:
    rows = _layout(index, question, lang)
    if not rows:
        return None
    # Validated from plain data in one call: pydantic's core builds the buttons several times
    # faster than `model_construct` does one by one in Python (which skips the checks).
    return InlineKeyboardMarkup.model_validate(
        {
            "inline_keyboard": [
                [
                    {"text": label, "callback_data": f"{before}{response_id}{after}"}
                    for label, before, after in row
                ]
                for row in rows
            ]
        }
    )


def _layout(index: int, question: Question, lang: str) -> tuple[_Row, ...]:
    key = (id(question), index, lang)
    cached = _LAYOUTS.get(key)
    if cached is not None and cached[0] is question:
        return cached[1]
    markup = build_question_keyboard(0, index, question, lang)
    rows = tuple(
        tuple((button.text, *_around_response(button.callback_data or "")) for button in row)
        for row in (markup.inline_keyboard if markup is not None else [])
    )
    _LAYOUTS[key] = (question, rows)  # holds the question, so its id is not reused
    return rows


def _around_response(packed: str) -> tuple[str, str]:
    """Callback data packed with response id 0 (the first field), split around that id."""
    prefix, response, rest = packed.split(CALLBACK_SEPARATOR, 2)
    assert response == "0", packed
    return f"{prefix}{CALLBACK_SEPARATOR}", f"{CALLBACK_SEPARATOR}{rest}"


def build_question_keyboard(
    response_id: int, index: int, question: Question, lang: str
) -> InlineKeyboardMarkup | None:
    """The keyboard of a question, built button by button (`question_keyboard` is the same,
    from a layout kept per question and language)."""
    return answer_keyboard(
        question,
        lang,
        lambda value: AnswerCallback(r=response_id, q=index, v=value),
        toggle=lambda number: ToggleCallback(r=response_id, q=index, c=number),
        done=DoneCallback(r=response_id, q=index),
    )


def answer_keyboard(
    question: Question,
    lang: str,
    answer_data: Callable[[str], CallbackData],
    *,
    toggle: Callable[[int], CallbackData] | None = None,
    done: CallbackData | None = None,
) -> InlineKeyboardMarkup | None:
    """A question's buttons, each carrying `answer_data(value)`: stars, NPS, yes/no, choices and
    skip. A several-choice question needs `toggle` and `done` (ticks kept in the message);
    without them it has no buttons. None for a question answered by typing."""
    builder = InlineKeyboardBuilder()

    def answer(label: str, value: str) -> None:
        builder.button(text=label, callback_data=answer_data(value))

    sizes: list[int] = []
    if question.type is QuestionType.RATING:
        for value in range(5, 0, -1):
            answer(stars(value), str(value))
        sizes = [1] * 5
    elif question.type is QuestionType.NPS:
        for value in range(11):
            answer(str(value), str(value))
        sizes = [6, 5]
    elif question.type is QuestionType.YES_NO:
        answer(text("button_yes", lang), "yes")
        answer(text("button_no", lang), "no")
        sizes = [2]
    elif question.type is QuestionType.SELECT_ONE:
        for choice in question.choices:
            answer(choice.text(lang), choice.name)
        sizes = [1] * len(question.choices)
    elif question.type is QuestionType.SELECT_MULTIPLE and toggle and done:
        for number, choice in enumerate(question.choices):
            builder.button(text=f"{UNCHECKED} {choice.text(lang)}", callback_data=toggle(number))
        builder.button(text=text("button_done", lang), callback_data=done)
        sizes = [1] * (len(question.choices) + 1)
    if not question.required:
        answer(text("button_skip", lang), "")
        sizes.append(1)
    if not sizes:
        return None
    builder.adjust(*sizes)
    return builder.as_markup()


def toggled(markup: InlineKeyboardMarkup, choice_data: str) -> InlineKeyboardMarkup:
    """The same keyboard with one choice's tick flipped: the selection lives in the message."""
    rows: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            if button.callback_data == choice_data:
                checked = button.text.startswith(CHECKED)
                label = button.text[2:] if button.text[:1] in (CHECKED, UNCHECKED) else button.text
                button = button.model_copy(
                    update={"text": f"{UNCHECKED if checked else CHECKED} {label}"}
                )
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def checked_choices(markup: InlineKeyboardMarkup | None, response_id: int, index: int) -> list[int]:
    """Indices of the ticked choices of one question's keyboard."""
    if markup is None:
        return []
    picked = []
    for row in markup.inline_keyboard:
        for button in row:
            if not button.callback_data or not button.text.startswith(CHECKED):
                continue
            try:
                data = ToggleCallback.unpack(button.callback_data)
            except (TypeError, ValueError):
                continue
            if data.r == response_id and data.q == index:
                picked.append(data.c)
    return picked
