"""The fake Bot API server runs a real aiogram bot in polling and in webhook mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fake_telegram import FakeTelegram

TOKEN = "100000:TEST-token"
SECRET = "s3cret-Token_1"


def make_router() -> Router:
    """A tiny bot: /start offers stars, a press edits the message."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> SendMessage:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="★★★★★", callback_data="rate:5"),
                    InlineKeyboardButton(text="★", callback_data="rate:1"),
                ]
            ]
        )
        # Returning the method exercises "reply in webhook response" in webhook mode.
        return message.answer(f"Welcome! payload={command.args}", reply_markup=keyboard)

    @router.callback_query(F.data.startswith("rate:"))
    async def rate(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        stars = (query.data or "").removeprefix("rate:")
        await query.message.edit_text(f"You chose {stars}")
        await query.answer("Thanks!")

    @router.callback_query()
    async def unknown(query: CallbackQuery) -> AnswerCallbackQuery:
        return query.answer(f"Unknown button {query.data}", show_alert=True)

    @router.message(F.photo)
    async def photo(message: Message) -> None:
        assert message.photo
        await message.answer(f"photo {message.photo[-1].width}x{message.photo[-1].height}")

    @router.message(F.sticker)
    async def sticker(message: Message) -> None:
        assert message.sticker
        await message.answer(f"sticker {message.sticker.emoji}")

    @router.message(F.voice)
    async def voice(message: Message) -> None:
        assert message.voice
        await message.answer(f"voice {message.voice.duration}s")

    return router


def make_bot(fake: FakeTelegram) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = make_bot(fake)
    yield client
    await client.session.close()


@asynccontextmanager
async def polling_bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    dp = Dispatcher()
    dp.include_router(make_router())
    client = make_bot(fake)
    task = asyncio.create_task(dp.start_polling(client, polling_timeout=5, handle_signals=False))
    try:
        yield client
    finally:
        await dp.stop_polling()
        await task


@asynccontextmanager
async def webhook_bot(fake: FakeTelegram, secret: str = SECRET) -> AsyncIterator[Bot]:
    dp = Dispatcher()
    dp.include_router(make_router())
    client = make_bot(fake)
    app = web.Application()
    handler = SimpleRequestHandler(dp, client, handle_in_background=False, secret_token=SECRET)
    handler.register(app, path="/tg/webhook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await client.set_webhook(f"http://127.0.0.1:{port}/tg/webhook", secret_token=secret)
    try:
        yield client
    finally:
        await runner.cleanup()  # also closes the bot session


async def test_polling_conversation(fake: FakeTelegram) -> None:
    async with polling_bot(fake):
        aigerim = fake.user(42)
        await aigerim.send("/start abc")
        welcome = await aigerim.wait_for_message(containing="Welcome")
        assert welcome.text == "Welcome! payload=abc"
        assert aigerim.buttons() == ["★★★★★", "★"]

        await aigerim.press("★★★★★")
        edited = await aigerim.wait_for_message(containing="You chose")
        assert edited is welcome
        assert edited.text == "You chose 5"
        assert edited.reply_markup is None  # editMessageText without markup drops the keyboard
        assert (await aigerim.wait_callback_answer())["text"] == "Thanks!"

        assert aigerim.history == ["Welcome! payload=abc", "You chose 5"]
        assert [m.message_id for m in aigerim.messages] == [2]
        assert aigerim.last_message is welcome

    sends = fake.calls_to("sendMessage")
    assert len(sends) == 1
    assert sends[0].params["chat_id"] == 42
    assert sends[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rate:5"
    assert fake.calls_to("getMe")


async def test_polling_media_and_forged_callback(fake: FakeTelegram) -> None:
    async with polling_bot(fake):
        citizen = fake.user(7, first_name="Dana", language_code="ru")
        await citizen.send_photo(caption="receipt")
        assert (await citizen.wait_reply()).text == "photo 1280x960"
        await citizen.send_sticker("🔥")
        assert (await citizen.wait_reply()).text == "sticker 🔥"
        await citizen.send_voice(duration=4)
        assert (await citizen.wait_reply()).text == "voice 4s"

        await citizen.press_data("evil:payload", message_id=999)
        answer = await citizen.wait_callback_answer()
        assert answer == {"text": "Unknown button evil:payload", "show_alert": True}


async def test_press_missing_button_lists_available(fake: FakeTelegram) -> None:
    async with polling_bot(fake):
        user = fake.user(5)
        await user.send("/start")
        await user.wait_for_message()
        with pytest.raises(AssertionError, match=r"available buttons: \['★★★★★', '★'\]"):
            await user.press("★★★")


async def test_wait_timeout_explains(fake: FakeTelegram) -> None:
    user = fake.user(9)
    await user.send("hello")
    with pytest.raises(AssertionError, match=r"(?s)timed out.*user: 'hello'"):
        await user.wait_for_message(timeout=0.1)


async def test_webhook_conversation(fake: FakeTelegram) -> None:
    async with webhook_bot(fake) as client:
        assert fake.webhook_url is not None
        assert fake.webhook_secret == SECRET
        with pytest.raises(TelegramConflictError):
            await client.get_updates()

        citizen = fake.user(1001)
        await citizen.send("/start qr-77")
        welcome = await citizen.wait_for_message(containing="payload=qr-77")
        await citizen.press("★")
        assert (await citizen.wait_for_message()).text == "You chose 1"
        assert welcome.reply_markup is None

        await fake.wait_idle()
        info = await client.get_webhook_info()
        assert info.url == fake.webhook_url
        assert info.pending_update_count == 0

    (send,) = fake.calls_to("sendMessage")
    assert send.via == "webhook"  # aiogram answered inside the webhook response (multipart)
    assert send.ok
    assert fake.calls_to("editMessageText")[0].via == "http"
    assert not fake.webhook_errors


async def test_webhook_wrong_secret_is_recorded(fake: FakeTelegram) -> None:
    async with webhook_bot(fake, secret="other"):
        await fake.user(3).send("/start")
        await fake.wait_for(lambda: fake.webhook_errors, what="a webhook error")
        assert "HTTP 401" in fake.webhook_errors[0]


async def _serve(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


async def test_webhook_json_reply_and_sequential_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    active: dict[int, int] = {}
    peak_per_chat = 0
    peak_total = 0
    seen: dict[int, list[str]] = {}

    async def hook(request: web.Request) -> web.Response:
        nonlocal peak_per_chat, peak_total
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "abc"
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        active[chat_id] = active.get(chat_id, 0) + 1
        peak_per_chat = max(peak_per_chat, active[chat_id])
        peak_total = max(peak_total, sum(active.values()))
        await asyncio.sleep(0.03)
        active[chat_id] -= 1
        seen.setdefault(chat_id, []).append(update["message"]["text"])
        return web.json_response(
            {
                "method": "sendMessage",
                "chat_id": chat_id,
                "text": "echo " + update["message"]["text"],
            }
        )

    runner, url = await _serve(hook)
    try:
        assert await bot.set_webhook(url, secret_token="abc")
        a, b = fake.user(1), fake.user(2)
        for i in range(3):
            await a.send(f"a{i}")
            await b.send(f"b{i}")
        await fake.wait_idle()
        assert seen == {1: ["a0", "a1", "a2"], 2: ["b0", "b1", "b2"]}
        assert peak_per_chat == 1
        assert peak_total == 2
        assert a.history == ["echo a0", "echo a1", "echo a2"]
        assert all(c.via == "webhook" for c in fake.calls_to("sendMessage"))
    finally:
        await runner.cleanup()


async def test_get_updates_offset_timeout_and_duplicates(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == []
    user = fake.user(11)
    await user.send("/start")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["/start"]
    assert first[0].message and first[0].message.entities
    assert first[0].message.entities[0].type == "bot_command"
    assert first[0].message.from_user and first[0].message.from_user.language_code == "kk"
    again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == [first[0].update_id]
    assert await bot.get_updates(offset=first[0].update_id + 1, timeout=0) == []

    # Long poll wakes up as soon as an update arrives.
    waiter = asyncio.create_task(bot.get_updates(offset=first[0].update_id + 1, timeout=5))
    await asyncio.sleep(0.05)
    raw = await fake.send_update(
        {"message": {"message_id": 50, "date": 0, "chat": {"id": 11, "type": "private"}}}
    )
    got = await asyncio.wait_for(waiter, 2)
    assert [u.update_id for u in got] == [raw["update_id"]]

    # The very same update injected twice is delivered twice.
    await fake.send_update(raw)
    dup = await bot.get_updates(offset=raw["update_id"] + 1, timeout=0)
    assert [u.update_id for u in dup] == [raw["update_id"]]

    # limit, and deleteWebhook(drop_pending_updates) forgets pending updates.
    for i in range(3):
        await user.send(f"m{i}")
    assert len(await bot.get_updates(limit=2, timeout=0)) == 2
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []


async def test_fault_injection(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(1, "hi")
    assert retry.value.retry_after == 3
    assert (await bot.send_message(1, "hi")).message_id == 1

    fake.blocked_chats.add(2)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(2, "hi")

    fake.rate_limit_per_s = 2
    await bot.send_message(3, "one")
    await bot.send_message(3, "two")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(3, "three")
    fake.rate_limit_per_s = None

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(3, "1 < 2 <b>x", parse_mode="HTML")
    html = await bot.send_message(3, "<b>Rahmet</b> &amp; bye", parse_mode="HTML")
    assert fake.chat(3).messages[html.message_id].plain_text == "Rahmet & bye"

    long_data = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(3, "kb", reply_markup=long_data)

    sent = await bot.send_message(3, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("same", chat_id=3, message_id=sent.message_id)
    assert await bot.delete_message(3, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(3, sent.message_id)
    failed = [c for c in fake.calls if c.ok is False]
    assert {c.error_code for c in failed} == {400, 403, 429}


async def test_misc_methods(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (100000, "QanagatTestBot", True)

    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    assert await bot.set_my_commands(commands, language_code="kk")
    got = await bot.get_my_commands(language_code="kk")
    assert [(c.command, c.description) for c in got] == [("start", "Start"), ("help", "Help")]
    assert await bot.get_my_commands() == []
    assert await bot.set_chat_menu_button(chat_id=5, menu_button=MenuButtonCommands())
    assert fake.menu_buttons[5] == {"type": "commands"}
    assert await bot.send_chat_action(5, "typing")
    assert fake.chat(5).actions == ["typing"]
    assert await bot.set_my_description("Rate a public service")
    assert fake.calls_to("setMyDescription")[0].params == {"description": "Rate a public service"}

    user = fake.user(6)
    await user.send_photo()
    (update,) = await bot.get_updates(timeout=0)
    assert update.message and update.message.photo
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_path
    data = await bot.download_file(file.file_path)
    assert data is not None
    assert data.read().startswith(b"\xff\xd8")
