"""Running the bot: long polling for development, a webhook (with secret token) in production."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import JsonPayload, Payload, web
from pydantic import ValidationError

from bot.telegram import json_codec
from bot.telegram.app import announce_commands, json_params

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def polling_context(
    bot: Bot, dispatcher: Dispatcher
) -> Callable[[web.Application], AsyncIterator[None]]:
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

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        """A body that is not an update is refused with 400, logged, never handled: a server
        error would have Telegram deliver it again and again."""
        update = parsed_update(bot, await request.read())
        if isinstance(update, str):
            log.warning("webhook body refused: %s", update)
            return web.json_response({"ok": False, "description": update}, status=400)
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            bot, update, **self.data
        )
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    def _build_response_writer(self, bot: Bot, result: TelegramMethod[Any] | None) -> Payload:
        if not result:
            return JsonPayload({})
        params = json_params(bot.session, bot, result)
        if params is None:
            return super()._build_response_writer(bot, result)
        return JsonPayload(
            {"method": result.__api_method__, **params}, dumps=bot.session.json_dumps
        )


def parsed_update(bot: Bot, body: bytes) -> Update | str:
    """The update in a webhook body, or why it is none (for the log)."""
    try:
        document = json_codec.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON in UTF-8"
    if not isinstance(document, dict):
        return "not a JSON object"
    update_id = document.get("update_id")
    if type(update_id) is not int or not 0 <= update_id < 2**63:
        return "no integer update_id"
    try:
        return Update.model_validate(document, context={"bot": bot})
    except ValidationError as error:
        return f"not an update: {error.error_count()} problems"


WEBHOOK_SECRET_VARIABLE = "QANAGAT_TELEGRAM_WEBHOOK_SECRET"  # noqa: S105 (a name, not a secret)
WEBHOOK_SECRET_MIN_LENGTH = 32
# What Telegram accepts as a secret token: 1-256 of these.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebhookSecretProblem(ValueError):
    """Webhook mode without a usable secret: anyone could post updates as any citizen."""


def check_webhook_secret(secret: str | None) -> str:
    """The secret, if Telegram can sign with it and it is long enough to be unguessable."""
    if not secret or len(secret) < WEBHOOK_SECRET_MIN_LENGTH:
        raise WebhookSecretProblem(
            f"{WEBHOOK_SECRET_VARIABLE} must be set to a random secret of at least "
            f"{WEBHOOK_SECRET_MIN_LENGTH} characters in webhook mode: without it anyone can "
            "send the bot updates as any Telegram user"
        )
    if not _SECRET_TOKEN.fullmatch(secret):
        raise WebhookSecretProblem(
            f"{WEBHOOK_SECRET_VARIABLE} may hold only letters A-Z and a-z, digits, '_' and '-' "
            "(at most 256), as Telegram requires"
        )
    return secret


def mount_webhook(
    app: web.Application, bot: Bot, dispatcher: Dispatcher, public_url: str, secret: str | None
) -> None:
    """Serve Telegram's webhook calls on the app and register the webhook on start-up; no
    usable secret (see check_webhook_secret) raises WebhookSecretProblem instead."""
    secret = check_webhook_secret(secret)
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
