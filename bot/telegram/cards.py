"""The card manager: every message the bot sends or turns into another goes through it, so
Telegram's refusals ("message is not modified", "message can't be edited", "message to edit
not found") are handled in one place, as aiogram_dialog's message manager does.

A card is a text with, maybe, its buttons. The survey's live card (the one whose buttons
answer the current question) is remembered in the chat's FSM storage, under a destiny of its
own so it never mixes with the conversation's state; when a new survey card is sent, the
previous one loses its buttons. Losing that memory (a restart without Redis) only leaves an
old card with buttons, which are refused as out of date when pressed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.methods import EditMessageText
from aiogram.types import InlineKeyboardMarkup, MaybeInaccessibleMessageUnion, Message

log = logging.getLogger(__name__)
CARD_DESTINY = "card"  # the FSM slot that remembers the live card (may be lost)
CARD_KEY = "message_id"


@dataclass(frozen=True)
class Card:
    text: str
    markup: InlineKeyboardMarkup | None = None


class EditCard(EditMessageText):
    """editMessageText for a card, on every answer. Telegram answers with the edited message,
    which nobody here reads: it is taken as it comes instead of being built into a Message
    with every button of its keyboard."""

    __returning__ = bool | dict[str, Any]


def not_modified(error: TelegramBadRequest) -> bool:
    """The message already shows this card: nothing left to do."""
    return "message is not modified" in error.message


def gone(error: TelegramBadRequest) -> bool:
    """The message can no longer be edited (too old, deleted, never there)."""
    return any(
        reason in error.message
        for reason in (
            "message can't be edited",
            "message to edit not found",
            "message not found",
            "MESSAGE_ID_INVALID",
        )
    )


class CardManager:
    """Sends, edits and takes the buttons off the bot's messages in one chat. Built per update
    (no I/O until used); `state` is the chat's FSM context, whose storage also keeps the live
    survey card."""

    def __init__(self, bot: Bot, chat_id: int, state: FSMContext) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.state = state
        self.live = FSMContext(state.storage, replace(state.key, destiny=CARD_DESTINY))

    async def send(self, card: Card, *, live: bool = False) -> Message:
        """A new message. `live`: it is the survey's card now, and the survey has the chat:
        the conversation's state (a search or a complaint waiting for text) is cleared, so
        typed text is the survey's; the previous card loses its buttons, and this one is
        remembered if it has any."""
        if live:
            await self.state.set_state(None)
            await self._retire_live_card()
        sent = await self.bot.send_message(self.chat_id, card.text, reply_markup=card.markup)
        if live:
            await self._remember(sent.message_id if card.markup else None)
        return sent

    async def show(
        self,
        message: MaybeInaccessibleMessageUnion | None,
        card: Card,
        *,
        live: bool = False,
        becomes_live: bool = False,
    ) -> None:
        """Turn `message` into `card`; when it can't be edited any more, send the card as a new
        message instead. `live`: the message is the survey's card (a thank-you without buttons
        leaves none); `becomes_live`: it was not before (a language picker) and is now."""
        if not isinstance(message, Message):
            if message is not None:  # too old for Telegram to show us: a fresh card
                await self.send(card, live=live or becomes_live)
            return
        if not await self._edit(message, card):
            await self.send(card, live=live or becomes_live)
        elif becomes_live and card.markup is not None:
            await self._remember(message.message_id)
        elif (live or becomes_live) and card.markup is None:
            await self._remember(None)  # finished: no live card left to retire

    async def forget(self) -> None:
        """Forget the live card (the person asked to be forgotten)."""
        await self.live.clear()

    async def remove_keyboard(self, message: MaybeInaccessibleMessageUnion | None) -> None:
        """Take the buttons off a message, if it still has any and can still be edited."""
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        await self._remove_keyboard(message.message_id)

    async def replace_keyboard(self, message: Message, markup: InlineKeyboardMarkup) -> None:
        """New buttons under the same text (a tick of multiple choice)."""
        try:
            await message.edit_reply_markup(reply_markup=markup)
        except TelegramBadRequest as error:
            self._log_refusal(message.message_id, error)

    async def _edit(self, message: Message, card: Card) -> bool:
        """True when the message shows the card now (edited, or showed it already)."""
        edit = EditCard(
            chat_id=message.chat.id,
            message_id=message.message_id,
            business_connection_id=message.business_connection_id,
            text=card.text,
            reply_markup=card.markup,
        )
        try:
            await edit.as_(self.bot)
        except TelegramBadRequest as error:
            if not_modified(error):
                return True
            log.debug("card %s not edited (%s): sent anew", message.message_id, error.message)
            return False
        return True

    async def _remove_keyboard(self, message_id: int) -> None:
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=message_id, reply_markup=None
            )
        except TelegramBadRequest as error:
            self._log_refusal(message_id, error)

    @staticmethod
    def _log_refusal(message_id: int, error: TelegramBadRequest) -> None:
        """Buttons are a convenience: a refused change of them never fails the update."""
        if not_modified(error) or gone(error):
            log.debug("buttons of %s unchanged (%s)", message_id, error.message)
        else:
            log.warning("buttons of %s not changed: %s", message_id, error.message)

    async def _remember(self, message_id: int | None) -> None:
        # The live card is all this slot holds: set it whole, one round trip (no read first).
        await self.live.set_data({CARD_KEY: message_id} if message_id else {})

    async def _retire_live_card(self) -> None:
        """Take the buttons off the card being replaced, so only the live question has any."""
        previous = (await self.live.get_data()).get(CARD_KEY)
        if isinstance(previous, int):
            await self._remove_keyboard(previous)
