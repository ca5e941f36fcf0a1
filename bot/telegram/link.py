"""/link: a citizen asks for a short code to give a service centre or eGov once, so that later
invitations to rate a service reach them here. The code resolves to their pseudonym only."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.messages import text
from bot.telegram.middlewares import WANTS_RESPONDENT
from core.identity import AddressBox
from core.models import Channel, Respondent
from core.unit_of_work import UnitOfWork


async def on_link(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    box: AddressBox,
    link_secret: bytes,
) -> None:
    # The dispatcher needs the chat to write to: kept encrypted, apart from the answers.
    await store.responses.remember_address(respondent, Channel.TELEGRAM, str(message.chat.id), box)
    if respondent.language is None:
        # Invitations sent later speak the language this reply speaks, not a default.
        await store.responses.set_language(respondent, lang)
    code = await store.chat_link_code(link_secret, respondent.id)
    await store.commit()  # the code works before it is shown
    await message.answer(text("link_code", lang, code=code))


def build_router() -> Router:
    router = Router(name="link")
    router.message.register(on_link, Command("link"), flags=WANTS_RESPONDENT)
    return router
