"""Showing survey steps: send a new card or turn the current card into the next step."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.methods import EditMessageText
from aiogram.types import InaccessibleMessage, MaybeInaccessibleMessageUnion, Message

from bot.engine.flow import Step
from bot.opening import SurveyDesk
from bot.telegram.render import Card, card
from core.models import Response
from core.responses import LiveResponse

log = logging.getLogger(__name__)
CARD_KEY = "card_message_id"  # the FSM remembers which message is the live card (may be lost)


class EditCard(EditMessageText):
    """editMessageText for a card, on every answer. Telegram answers with the edited message,
    which nobody here reads: it is taken as it comes instead of being built into a Message
    with every button of its keyboard."""

    __returning__ = bool | dict[str, Any]


async def _remember_card(state: FSMContext, message_id: int | None) -> None:
    # The card is all the FSM data holds: set it whole, one round trip (no read first).
    await state.set_data({CARD_KEY: message_id} if message_id else {})


async def send_card(
    bot: Bot,
    chat_id: int,
    step: Step,
    desk: SurveyDesk,
    response: Response | LiveResponse,
    lang: str,
    state: FSMContext,
    notice: str | None = None,
) -> None:
    await _retire_previous_card(bot, chat_id, state)
    shown = card(step, desk.definition(response.survey_id), response, lang, notice)
    sent = await bot.send_message(chat_id, shown.text, reply_markup=shown.markup)
    await _remember_card(state, sent.message_id if shown.markup else None)


async def edit_card(
    message: MaybeInaccessibleMessageUnion | None,
    step: Step,
    desk: SurveyDesk,
    response: Response | LiveResponse,
    lang: str,
    state: FSMContext,
    notice: str | None = None,
    becomes_card: bool = False,
) -> None:
    """Turn `message` into the step. `becomes_card`: the message was not the live card before
    (a language picker), so remember it as the card from now on."""
    shown = card(step, desk.definition(response.survey_id), response, lang, notice)
    if message is None or isinstance(message, InaccessibleMessage):
        return
    if not await _edit(message, shown):
        # Too old to edit, or deleted: send the step as a fresh card instead.
        sent = await message.answer(shown.text, reply_markup=shown.markup)
        await _remember_card(state, sent.message_id if shown.markup else None)
    elif becomes_card and shown.markup:
        await _remember_card(state, message.message_id)
    elif shown.markup is None:
        await _remember_card(state, None)  # finished: no live card left to retire


async def _edit(message: Message, shown: Card) -> bool:
    edit = EditCard(
        chat_id=message.chat.id,
        message_id=message.message_id,
        business_connection_id=message.business_connection_id,
        text=shown.text,
        reply_markup=shown.markup,
    )
    try:
        await edit.as_(message.bot)
    except TelegramBadRequest as error:
        return "not modified" in str(error)
    return True


async def _retire_previous_card(bot: Bot, chat_id: int, state: FSMContext) -> None:
    """Take the buttons off the card being replaced, so only the live question has any."""
    previous = (await state.get_data()).get(CARD_KEY)
    if not previous:
        return
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=previous, reply_markup=None)
    except TelegramBadRequest:
        log.debug("previous card %s could not be edited", previous)
