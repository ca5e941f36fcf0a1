"""Running the bot: long polling for development, a webhook (with secret token) in production."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import JsonPayload, Payload, web

from bot.telegram.app import announce_commands, json_params

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def polling_context(bot: Bot, dispatcher: Dispatcher) -> web.CleanupContext:  # type: ignore[type-arg]
    """An aiohttp cleanup context that polls Telegram while the app runs."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        await bot.delete_webhook(drop_pending_updates=False)
        with contextlib.suppress(Exception):
            await announce_commands(bot)
        task = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False),
            name="telegram-polling",
        )
        yield
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            await asyncio.wait_for(task, timeout=10)
        await bot.session.close()

    return run


class JsonReplyRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering with the Bot API method as JSON. aiogram writes it
    as multipart form data, which aiohttp sends in many small pieces, a system call each;
    Telegram takes JSON as well, sent in one. (Files, which we never reply with, still go
    as multipart.)"""

    def _build_response_writer(self, bot: Bot, result: TelegramMethod[Any] | None) -> Payload:
        if not result:
            return JsonPayload({})
        params = json_params(bot.session, bot, result)
        if params is None:
            return super()._build_response_writer(bot, result)
        return JsonPayload(
            {"method": result.__api_method__, **params}, dumps=bot.session.json_dumps
        )


def mount_webhook(
    app: web.Application, bot: Bot, dispatcher: Dispatcher, public_url: str, secret: str | None
) -> None:
    """Serve Telegram's webhook calls on the app and register the webhook on start-up."""
    JsonReplyRequestHandler(
        dispatcher=dispatcher, bot=bot, secret_token=secret, handle_in_background=False
    ).register(app, path=WEBHOOK_PATH)

    async def register(_app: web.Application) -> AsyncIterator[None]:
        await bot.set_webhook(
            f"{public_url.rstrip('/')}{WEBHOOK_PATH}",
            secret_token=secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        with contextlib.suppress(Exception):
            await announce_commands(bot)
        yield
        await dispatcher.emit_shutdown(bot=bot)  # polling does it when it stops
        await bot.session.close()

    app.cleanup_ctx.append(register)
