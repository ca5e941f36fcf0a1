"""Answering: button presses, ticks of multiple choice, typed text. Each handler translates the
Telegram event, asks the conversation, and shows the step it returns."""

from __future__ import annotations

from aiogram import Router
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message

from bot.engine.definition import QuestionType
from bot.engine.flow import Ask, Completed, RawValue
from bot.messages import text
from bot.opening import Pressed, Refused, SurveyDesk
from bot.telegram.cards import CardManager
from bot.telegram.filters import ButtonPrefix, TypedText
from bot.telegram.keyboards import (
    AnswerCallback,
    DoneCallback,
    ToggleCallback,
    checked_choices,
    toggled,
)
from bot.telegram.middlewares import WANTS_RESPONDENT, Person
from bot.telegram.render import card, send_step
from bot.telegram.results import office_rating_line
from core.models import Respondent
from core.public_results import OfficeRatings
from core.unit_of_work import UnitOfWork


async def refuse(
    query: CallbackQuery, cards: CardManager, lang: str, reason: str
) -> AnswerCallbackQuery:
    if reason == "completed":
        await cards.remove_keyboard(query.message)  # a finished survey's card keeps no buttons
    return query.answer(text(reason, lang), show_alert=reason != "completed")


async def on_answer(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    store: UnitOfWork,
    person: Person,
    desk: SurveyDesk,
    cards: CardManager,
    office_ratings: OfficeRatings | None = None,
) -> AnswerCallbackQuery:
    found = await desk.press(store, person.key, callback_data.r, callback_data.q)
    return await _answer(
        query, found, callback_data.v or None, store, person, desk, cards, office_ratings
    )


async def on_toggle(
    query: CallbackQuery,
    callback_data: ToggleCallback,
    store: UnitOfWork,
    person: Person,
    desk: SurveyDesk,
    cards: CardManager,
) -> AnswerCallbackQuery:
    # Read afresh: a tick stores nothing, so no later statement would check a remembered one.
    found = await desk.press(
        store,
        person.key,
        callback_data.r,
        callback_data.q,
        QuestionType.SELECT_MULTIPLE,
        fresh=True,
    )
    message = query.message
    if isinstance(found, Refused):
        return await refuse(query, cards, person.language, found.reason)
    lang = _speak(person, found)
    if (
        not 0 <= callback_data.c < len(found.question.choices)
        or not isinstance(message, Message)
        or message.reply_markup is None
    ):
        return await refuse(query, cards, lang, "stale_button")
    await cards.replace_keyboard(message, toggled(message.reply_markup, query.data or ""))
    return query.answer()


async def on_done(
    query: CallbackQuery,
    callback_data: DoneCallback,
    store: UnitOfWork,
    person: Person,
    desk: SurveyDesk,
    cards: CardManager,
    office_ratings: OfficeRatings | None = None,
) -> AnswerCallbackQuery:
    found = await desk.press(
        store, person.key, callback_data.r, callback_data.q, QuestionType.SELECT_MULTIPLE
    )
    names: list[str] = []
    if isinstance(found, Pressed):
        choices = found.question.choices
        markup = query.message.reply_markup if isinstance(query.message, Message) else None
        picked = checked_choices(markup, callback_data.r, callback_data.q)
        names = [choices[i].name for i in picked if 0 <= i < len(choices)]
    return await _answer(query, found, names, store, person, desk, cards, office_ratings)


async def _answer(
    query: CallbackQuery,
    found: Pressed | Refused,
    raw: RawValue,
    store: UnitOfWork,
    person: Person,
    desk: SurveyDesk,
    cards: CardManager,
    office_ratings: OfficeRatings | None = None,
) -> AnswerCallbackQuery:
    if isinstance(found, Refused):
        return await refuse(query, cards, person.language, found.reason)
    step = await desk.answer(store, found, raw)
    lang = _speak(person, found)
    if isinstance(step, Refused):
        return await refuse(query, cards, lang, step.reason)
    rating = None
    if isinstance(step, Completed):
        rating = await office_rating_line(office_ratings, found.live.office_id, lang)
    shown = card(step, desk.definition(found.live.survey_id), found.live, lang, rating=rating)
    await cards.show(query.message, shown, live=True)
    # Returned, not awaited: in webhook mode it rides on the webhook's HTTP answer.
    return query.answer()


def _speak(person: Person, pressed: Pressed) -> str:
    """The owner's chosen language, as the database last told it."""
    person.language = pressed.live.language or person.language
    return person.language


async def on_text(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    cards: CardManager,
    office_ratings: OfficeRatings | None = None,
) -> None:
    """Typed text nothing else waits for: the answer to the survey's text question, or a word
    that the survey waits for a button, or that no survey is open. The database says which,
    so a lost conversation state still lands here."""
    response = await store.responses.open_response(respondent)
    if response is None:
        await message.answer(text("nothing_in_progress", lang))
        return
    conversation = await desk.conversation(store, response)
    current = conversation.current()
    if isinstance(current, Ask) and current.question.type is QuestionType.TEXT:
        desk.live.drop(response.id)  # what this worker remembers of it is behind now
        step = await conversation.answer(current.question.name, message.text)
        rating = None
        if isinstance(step, Completed):
            rating = await office_rating_line(office_ratings, response.service_point_id, lang)
        await send_step(cards, step, desk, response, lang, rating=rating)
        return
    await send_step(cards, current, desk, response, lang, text("use_buttons", lang))


def build_buttons_router() -> Router:
    """The survey's buttons, in a router of their own that the dispatcher asks first: nearly
    every update is one of them, and buttons of different routers never share a prefix, so
    the order of routers matters only for messages."""
    router = Router(name="survey_buttons")
    router.callback_query.filter(ButtonPrefix(AnswerCallback, ToggleCallback, DoneCallback))
    router.callback_query.register(on_answer, AnswerCallback.filter())
    router.callback_query.register(on_toggle, ToggleCallback.filter())
    router.callback_query.register(on_done, DoneCallback.filter())
    return router


def build_router() -> Router:
    """Typed answers: text that no state routed elsewhere (see the dispatcher)."""
    router = Router(name="survey")
    router.message.register(on_text, TypedText(), flags=WANTS_RESPONDENT)
    return router
