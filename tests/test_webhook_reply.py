"""Talking to the Bot API in JSON: the method a handler returns rides on the webhook's answer as
one JSON object, and calls go with a JSON body, with aiogram's rule that None and empty values
are left out (False and 0 are values)."""

from __future__ import annotations

import json

from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery, EditMessageText
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import JsonPayload

from bot.telegram.app import JsonBodySession
from bot.telegram.runner import JsonReplyRequestHandler


def test_a_webhook_reply_is_one_json_object() -> None:
    bot = Bot("100000:TEST-TOKEN")
    handler = JsonReplyRequestHandler(dispatcher=Dispatcher(), bot=bot)
    method = AnswerCallbackQuery(callback_query_id="42", text="Кнопка устарела", show_alert=False)
    method.url = ""
    payload = handler._build_response_writer(bot, method)
    assert isinstance(payload, JsonPayload)
    assert json.loads(payload._value) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "42",
        "text": "Кнопка устарела",
        "show_alert": False,
    }
    assert json.loads(handler._build_response_writer(bot, None)._value) == {}


def test_a_bot_api_call_has_a_json_body() -> None:
    bot = Bot("100000:TEST-TOKEN", session=JsonBodySession())
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="★★★★★", callback_data="a:7:0:5")]]
    )
    method = EditMessageText(chat_id=5, message_id=9, text="<b>Вопрос</b>", reply_markup=keyboard)
    body = bot.session.build_form_data(bot, method)
    assert isinstance(body, JsonPayload)
    assert json.loads(body._value) == {
        "chat_id": 5,
        "message_id": 9,
        "text": "<b>Вопрос</b>",
        "reply_markup": {
            "inline_keyboard": [[{"text": "★★★★★", "callback_data": "a:7:0:5"}]],
        },
    }
