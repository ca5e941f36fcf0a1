"""/subscribe CODE and /unsubscribe: an agency's staff subscribe a chat (a group or a private
chat) to the agency's complaint summaries and deadline alerts with a one-time code from the
admin, and end it. Staff are not respondents: nothing here creates or reads one, and the
replies speak the language of the sender's Telegram."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.messages import text
from bot.telegram.middlewares import Person
from core import staff_chats
from core.clock import utcnow
from core.identity import AddressBox
from core.unit_of_work import UnitOfWork


async def on_subscribe(
    message: Message,
    command: CommandObject,
    store: UnitOfWork,
    person: Person,
    box: AddressBox,
    link_secret: bytes,
) -> None:
    lang = person.language
    code = (command.args or "").strip()
    if not code or len(code) > 64:
        await message.answer(text("staff_subscribe_usage", lang))
        return
    chat = message.chat
    title = (chat.title or chat.full_name) if chat.type != "private" else None
    outcome = await store.subscribe_staff_chat(
        link_secret,
        box,
        code=code,
        chat_id=chat.id,
        title=title,
        now=utcnow(),
    )
    if isinstance(outcome, staff_chats.Refusal):
        await message.answer(text(outcome.value, lang))
        return
    await store.commit()  # subscribed before it says so
    periods = [
        text(f"staff_period_{kind}", lang)
        for kind, wanted in (("weekly", outcome.chat.weekly), ("monthly", outcome.chat.monthly))
        if wanted
    ]
    reply = text(
        "staff_subscribed", lang, agency=outcome.agency.name(lang), periods=", ".join(periods)
    )
    await message.answer(escape(reply, quote=False))


async def on_unsubscribe(
    message: Message, store: UnitOfWork, person: Person, link_secret: bytes
) -> None:
    agencies = await store.unsubscribe_staff_chat(link_secret, message.chat.id)
    await store.commit()
    if not agencies:
        await message.answer(text("staff_not_subscribed", person.language))
        return
    reply = text("staff_unsubscribed", person.language, agencies=", ".join(agencies))
    await message.answer(escape(reply, quote=False))


def build_router() -> Router:
    """A fresh router; included before the survey's and common's (whose catch-all answers any
    other command with "unknown command")."""
    router = Router(name="staff_chats")
    router.message.register(on_subscribe, Command("subscribe"))
    router.message.register(on_unsubscribe, Command("unsubscribe"))
    return router
