"""/help, /stop (forget me), and a clear word for anything the bot does not understand."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.messages import text
from bot.opening import SurveyDesk
from bot.telegram.cards import CardManager
from bot.telegram.filters import CommandLike
from bot.telegram.middlewares import WANTS_RESPONDENT
from core.models import Respondent
from core.unit_of_work import UnitOfWork


async def on_help(message: Message, lang: str) -> None:
    await message.answer(text("help", lang))


async def on_stop(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    cards: CardManager,
    desk: SurveyDesk,
) -> None:
    desk.live.forget_owner(respondent.key)
    await store.responses.forget(respondent)
    await store.commit()
    await state.clear()
    await cards.forget()
    await message.answer(text("stopped", lang))


async def on_unknown_command(message: Message, lang: str) -> None:
    await message.answer(text("unknown_command", lang))


async def on_other_content(message: Message, lang: str) -> None:
    """Stickers, photos, voice, files, locations…: say what the bot understands."""
    await message.answer(text("unsupported_content", lang))


async def on_unknown_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(text("stale_button", lang), show_alert=True)


def build_router() -> Router:
    """A fresh router (a dispatcher owns its routers; tests and benchmarks build several)."""
    router = Router(name="common")
    router.message.register(on_help, Command("help"), flags=WANTS_RESPONDENT)
    router.message.register(on_stop, Command("stop"), flags=WANTS_RESPONDENT)
    router.message.register(on_unknown_command, CommandLike(), flags=WANTS_RESPONDENT)
    router.message.register(on_other_content, flags=WANTS_RESPONDENT)
    router.callback_query.register(on_unknown_button, flags=WANTS_RESPONDENT)
    return router
