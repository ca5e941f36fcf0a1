"""Answering: button presses, ticks of multiple choice, typed text. Each handler translates the
Telegram event, asks the conversation, and shows the step it returns."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

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


async def _own_open_response(
    store: ResponseStore, respondent: Respondent, response_id: int
) -> Response | None:
    response = await store.response(response_id)
    if response is None or response.respondent_id != respondent.id:
        return None
    return response


def _question_at(desk: SurveyDesk, response: Response, index: int) -> Question | None:
    questions = desk.definition(response.survey_id).questions
    return questions[index] if 0 <= index < len(questions) else None


async def _refuse_button(
    query: CallbackQuery, lang: str, response: Response | None
) -> AnswerCallbackQuery:
    key = "completed" if response is not None else "stale_button"
    if (
        response is not None
        and query.message is not None
        and not isinstance(query.message, InaccessibleMessage)
    ):
        await query.message.edit_reply_markup(reply_markup=None)
    return query.answer(text(key, lang), show_alert=response is None)


async def on_answer(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    store: ResponseStore,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    state: FSMContext,
) -> AnswerCallbackQuery:
    response = await _own_open_response(store, respondent, callback_data.r)
    question = _question_at(desk, response, callback_data.q) if response else None
    if response is None or question is None or response.status is not ResponseStatus.IN_PROGRESS:
        return await _refuse_button(query, lang, response if question else None)
    conversation = await desk.conversation(store, response)
    step = await conversation.answer(question.name, callback_data.v or None)
    await edit_card(query.message, step, desk, response, lang, state)
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
    response = await _own_open_response(store, respondent, callback_data.r)
    question = _question_at(desk, response, callback_data.q) if response else None
    message = query.message
    if (
        response is None
        or question is None
        or response.status is not ResponseStatus.IN_PROGRESS
        or question.type is not QuestionType.SELECT_MULTIPLE
        or not 0 <= callback_data.c < len(question.choices)
        or message is None
        or isinstance(message, InaccessibleMessage)
        or message.reply_markup is None
    ):
        return await _refuse_button(query, lang, response if question else None)
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
    response = await _own_open_response(store, respondent, callback_data.r)
    question = _question_at(desk, response, callback_data.q) if response else None
    if (
        response is None
        or question is None
        or response.status is not ResponseStatus.IN_PROGRESS
        or question.type is not QuestionType.SELECT_MULTIPLE
    ):
        return await _refuse_button(query, lang, response if question else None)
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    picked = checked_choices(markup, callback_data.r, callback_data.q)
    names = [question.choices[i].name for i in picked if 0 <= i < len(question.choices)]
    conversation = await desk.conversation(store, response)
    step = await conversation.answer(question.name, names)
    await edit_card(query.message, step, desk, response, lang, state)
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
