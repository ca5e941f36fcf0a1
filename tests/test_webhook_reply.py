"""The webhook's answer: the Bot API method a handler returns, sent back as one JSON object."""

from __future__ import annotations

import json

from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery
from aiohttp import JsonPayload

from bot.telegram.runner import JsonReplyRequestHandler


def test_a_webhook_reply_is_one_json_object() -> None:
    """The method a handler returns rides on the webhook's answer as JSON (one write), with
    aiogram's own rule that empty values are left out."""
    bot = Bot("100000:TEST-TOKEN")
    handler = JsonReplyRequestHandler(dispatcher=Dispatcher(), bot=bot)
    method = AnswerCallbackQuery(callback_query_id="42", text="Кнопка устарела", show_alert=False)
    payload = handler._build_response_writer(bot, method)
    assert isinstance(payload, JsonPayload)
    assert json.loads(payload._value) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "42",
        "text": "Кнопка устарела",
    }
    assert json.loads(handler._build_response_writer(bot, None)._value) == {}
