"""The card manager against the fake Bot API: a survey card replaces the live one, and
Telegram's refusals (not modified, can't be edited, not found) are handled in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.cards import Card, CardManager
from tests.fake_telegram import FakeTelegram

TOKEN = "100000:TEST-token"
CHAT = 7401


def buttons(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=t) for t in labels]]
    )


@pytest.fixture
async def chat() -> AsyncIterator[tuple[FakeTelegram, Bot, CardManager]]:
    async with FakeTelegram() as fake:
        fake.user(CHAT)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
        key = StorageKey(bot_id=bot.id, chat_id=CHAT, user_id=CHAT)
        state = FSMContext(MemoryStorage(), key)
        try:
            yield fake, bot, CardManager(bot, CHAT, state)
        finally:
            await bot.session.close()


async def test_a_new_live_card_takes_the_buttons_off_the_previous_one(
    chat: tuple[FakeTelegram, Bot, CardManager],
) -> None:
    fake, _bot, cards = chat
    await cards.send(Card("Question 1", buttons("1", "2")), live=True)
    await cards.send(Card("A note, not the card"))
    await cards.send(Card("Question 2", buttons("3")), live=True)
    assert [(m.plain_text, m.buttons()) for m in fake.messages(CHAT)] == [
        ("Question 1", []),
        ("A note, not the card", []),
        ("Question 2", ["3"]),
    ]


async def test_showing_what_a_message_shows_already_is_no_error_and_sends_nothing(
    chat: tuple[FakeTelegram, Bot, CardManager],
) -> None:
    fake, _bot, cards = chat
    sent = await cards.send(Card("Question 1", buttons("1")), live=True)
    await cards.show(sent, Card("Question 1", buttons("1")), live=True)
    await cards.show(sent, Card("Question 2", buttons("2")), live=True)
    assert [(m.plain_text, m.buttons()) for m in fake.messages(CHAT)] == [
        ("Question 2", ["2"]),
    ]


async def test_a_card_that_can_no_longer_be_edited_is_sent_anew(
    chat: tuple[FakeTelegram, Bot, CardManager],
) -> None:
    fake, bot, cards = chat
    sent = await cards.send(Card("Question 1", buttons("1")), live=True)
    await bot.delete_message(CHAT, sent.message_id)  # deleted by the person meanwhile
    await cards.show(sent, Card("Question 2", buttons("2")), live=True)
    await cards.remove_keyboard(sent)  # gone: nothing to take off, no error
    await cards.send(Card("Question 3", buttons("3")), live=True)
    assert [(m.plain_text, m.buttons()) for m in fake.messages(CHAT)] == [
        ("Question 2", []),
        ("Question 3", ["3"]),
    ]


async def test_a_finished_card_leaves_no_live_card_to_retire(
    chat: tuple[FakeTelegram, Bot, CardManager],
) -> None:
    fake, _bot, cards = chat
    sent = await cards.send(Card("Question 1", buttons("1")), live=True)
    await cards.show(sent, Card("Thank you"), live=True)
    await cards.send(Card("Another survey", buttons("5")), live=True)
    edits = fake.calls_to("editMessageReplyMarkup")
    assert edits == []  # the thank-you had no buttons to take off
    assert [m.buttons() for m in fake.messages(CHAT)] == [[], ["5"]]
