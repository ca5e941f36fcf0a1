"""Answering: button presses, ticks of multiple choice, typed text. Each handler translates the
Telegram event, asks the conversation, and shows the step it returns."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message

from bot.engine.definition import Question, QuestionType
from bot.engine.flow import Ask
from bot.messages import text
from bot.opening import SurveyDesk
from bot.telegram.cards import edit_card, send_card
from bot.telegram.keyboards import (
    AnswerCallback,
    DoneCallback,
    ToggleCallback,
    checked_choices,
    toggled,
)
from core.models import Respondent, Response, ResponseStatus
from core.responses import ResponseStore


@dataclass(frozen=True)
class Pressed:
    """A button of the live question of the presser's own open survey."""

    response: Response
    question: Question


async def pressed(
    store: ResponseStore,
    respondent: Respondent,
    desk: SurveyDesk,
    response_id: int,
    index: int,
    kind: QuestionType | None = None,
) -> Pressed | str:
    """What a button refers to, or why it refers to nothing (a message key): someone else's or
    an unknown survey, a question index or type that does not match, a finished survey."""
    response = await store.response(response_id)
    if response is None or response.respondent_id != respondent.id:
        return "stale_button"
    if response.status is not ResponseStatus.IN_PROGRESS:
        return "completed"
    questions = desk.definition(response.survey_id).questions
    if not 0 <= index < len(questions) or (kind is not None and questions[index].type is not kind):
        return "stale_button"
    return Pressed(response, questions[index])


async def refuse(query: CallbackQuery, lang: str, reason: str) -> AnswerCallbackQuery:
    if reason == "completed" and isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    return query.answer(text(reason, lang), show_alert=reason != "completed")


async def on_answer(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    store: ResponseStore,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    state: FSMContext,
) -> AnswerCallbackQuery:
    found = await pressed(store, respondent, desk, callback_data.r, callback_data.q)
    if isinstance(found, str):
        return await refuse(query, lang, found)
    conversation = await desk.conversation(store, found.response)
    step = await conversation.answer(found.question.name, callback_data.v or None)
    await edit_card(query.message, step, desk, found.response, lang, state)
    # Returned, not awaited: in webhook mode it rides on the webhook's HTTP answer.
    return query.answer()


async def on_toggle(
    query: CallbackQuery,
    callback_data: ToggleCallback,
    store: ResponseStore,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
) -> AnswerCallbackQuery:
    found = await pressed(
        store, respondent, desk, callback_data.r, callback_data.q, QuestionType.SELECT_MULTIPLE
    )
    message = query.message
    if isinstance(found, str):
        return await refuse(query, lang, found)
    if (
        not 0 <= callback_data.c < len(found.question.choices)
        or not isinstance(message, Message)
        or message.reply_markup is None
    ):
        return await refuse(query, lang, "stale_button")
    await message.edit_reply_markup(reply_markup=toggled(message.reply_markup, query.data or ""))
    return query.answer()


async def on_done(
    query: CallbackQuery,
    callback_data: DoneCallback,
    store: ResponseStore,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    state: FSMContext,
) -> AnswerCallbackQuery:
    found = await pressed(
        store, respondent, desk, callback_data.r, callback_data.q, QuestionType.SELECT_MULTIPLE
    )
    if isinstance(found, str):
        return await refuse(query, lang, found)
    choices = found.question.choices
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    picked = checked_choices(markup, callback_data.r, callback_data.q)
    names = [choices[i].name for i in picked if 0 <= i < len(choices)]
    conversation = await desk.conversation(store, found.response)
    step = await conversation.answer(found.question.name, names)
    await edit_card(query.message, step, desk, found.response, lang, state)
    return query.answer()


async def on_text(
    message: Message,
    bot: Bot,
    store: ResponseStore,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    state: FSMContext,
) -> None:
    response = await store.open_response(respondent)
    if response is None:
        await message.answer(text("nothing_in_progress", lang))
        return
    conversation = await desk.conversation(store, response)
    current = conversation.current()
    if isinstance(current, Ask) and current.question.type is QuestionType.TEXT:
        step = await conversation.answer(current.question.name, message.text)
        await send_card(bot, message.chat.id, step, desk, response, lang, state)
        return
    await send_card(
        bot, message.chat.id, current, desk, response, lang, state, notice=text("use_buttons", lang)
    )


def build_router() -> Router:
    """A fresh router (a dispatcher owns its routers; tests and benchmarks build several)."""
    router = Router(name="survey")
    router.callback_query.register(on_answer, AnswerCallback.filter())
    router.callback_query.register(on_toggle, ToggleCallback.filter())
    router.callback_query.register(on_done, DoneCallback.filter())
    router.message.register(on_text, F.text, ~F.text.startswith("/"))
    return router
