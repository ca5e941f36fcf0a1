"""/start with an invitation token or an office code, the office's service choice, languages."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.datasets import DatasetDesk
from bot.messages import text
from bot.opening import OfficeChoice, Refused, ServiceOffer, SurveyDesk
from bot.telegram.cards import edit_card, send_card
from bot.telegram.datasets import resume_rating
from bot.telegram.filters import ButtonPrefix
from bot.telegram.keyboards import (
    LanguageCallback,
    ServiceCallback,
    language_keyboard,
    services_keyboard,
)
from core.identity import AddressBox
from core.models import Channel, Respondent, Response
from core.unit_of_work import UnitOfWork


async def start_with_payload(
    message: Message,
    command: CommandObject,
    bot: Bot,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    box: AddressBox,
    state: FSMContext,
) -> None:
    payload = (command.args or "").strip()
    opened = await desk.open_payload(store, respondent, payload, Channel.TELEGRAM, lang)
    if isinstance(opened, Refused):
        await message.answer(text(opened.reason, lang))
        return
    if isinstance(opened, OfficeChoice):
        if not opened.services:
            await message.answer(text("office_unknown", lang))
            return
        await message.answer(
            text("choose_service", lang, office=opened.office.name(lang)),
            reply_markup=services_keyboard(
                opened.office.id, opened.services, lang, opened.day, desk.seal_offer
            ),
        )
        return
    await begin(message.chat.id, opened, bot, store, respondent, lang, desk, box, state)


async def start_without_payload(
    message: Message,
    bot: Bot,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    datasets: DatasetDesk,
    state: FSMContext,
) -> None:
    response = await store.responses.open_response(respondent)
    if response is None:
        chat_id = message.chat.id
        if not await resume_rating(chat_id, bot, store, respondent, lang, datasets, state):
            await message.answer(text("welcome", lang))
        return
    conversation = await desk.resume(store, response, respondent)
    await send_card(
        bot,
        message.chat.id,
        conversation.current(),
        desk,
        response,
        lang,
        state,
        notice=text("resuming", lang),
    )


async def begin(
    chat_id: int,
    response: Response,
    bot: Bot,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    box: AddressBox,
    state: FSMContext,
) -> None:
    """A survey is open: keep the way back to this chat, ask the language once, then ask."""
    await store.responses.remember_address(respondent, Channel.TELEGRAM, str(chat_id), box)
    await store.commit()
    if respondent.language is None:
        await bot.send_message(
            chat_id, text("choose_language", lang), reply_markup=language_keyboard()
        )
        return
    conversation = await desk.resume(store, response, respondent)
    await send_card(bot, chat_id, conversation.current(), desk, response, lang, state)


async def on_service(
    query: CallbackQuery,
    callback_data: ServiceCallback,
    bot: Bot,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    box: AddressBox,
    state: FSMContext,
) -> None:
    offer = ServiceOffer(callback_data.o, callback_data.s, callback_data.d, callback_data.m)
    opened = await desk.start_offered_walk_in(store, respondent, offer, Channel.TELEGRAM, lang)
    if isinstance(opened, Refused):
        await query.answer(text(opened.reason, lang), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id, reply_markup=None
        )
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await begin(chat_id, opened, bot, store, respondent, lang, desk, box, state)


async def choose_language(message: Message) -> None:
    await message.answer(text("choose_language", "kk"), reply_markup=language_keyboard())


async def on_language(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    store: UnitOfWork,
    respondent: Respondent,
    desk: SurveyDesk,
    state: FSMContext,
) -> None:
    lang = callback_data.lang
    desk.live.forget_owner(respondent.key)
    await store.responses.set_language(respondent, lang)
    await store.commit()
    await query.answer(text("language_set", lang))
    response = await store.responses.open_response(respondent)
    if response is None:
        if query.message is not None:
            await query.message.edit_text(text("language_set", lang))  # type: ignore[union-attr]
        return
    conversation = await desk.resume(store, response, respondent)
    await edit_card(
        query.message, conversation.current(), desk, response, lang, state, becomes_card=True
    )


def build_router() -> Router:
    """A fresh router (a dispatcher owns its routers; tests and benchmarks build several)."""
    router = Router(name="start")
    # Its buttons by prefix first: survey answers, which pass through here, skip at once.
    router.callback_query.filter(ButtonPrefix(ServiceCallback, LanguageCallback))
    router.message.register(start_with_payload, CommandStart(deep_link=True))
    router.message.register(start_without_payload, CommandStart())
    router.callback_query.register(on_service, ServiceCallback.filter())
    router.message.register(choose_language, Command("lang"))
    router.callback_query.register(
        on_language, LanguageCallback.filter(F.lang.in_({"kk", "ru", "en"}))
    )
    return router
