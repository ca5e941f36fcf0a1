"""/start with an invitation token or an office code, the office's service choice, languages."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.datasets import DatasetDesk
from bot.messages import text
from bot.opening import OfficeChoice, Refused, ServiceOffer, SurveyDesk
from bot.telegram.cards import Card, CardManager
from bot.telegram.datasets import resume_rating
from bot.telegram.filters import ButtonPrefix
from bot.telegram.keyboards import (
    LanguageCallback,
    ServiceCallback,
    language_keyboard,
    services_keyboard,
)
from bot.telegram.middlewares import WANTS_RESPONDENT, Person
from bot.telegram.render import card, send_step
from core import invitations
from core.identity import AddressBox
from core.models import Channel, Respondent, Response
from core.unit_of_work import UnitOfWork


async def start_with_payload(
    message: Message,
    command: CommandObject,
    store: UnitOfWork,
    respondent: Respondent,
    person: Person,
    lang: str,
    desk: SurveyDesk,
    box: AddressBox,
    cards: CardManager,
) -> None:
    payload = (command.args or "").strip()
    opened: Response | OfficeChoice | Refused
    if invitations.is_office_payload(payload):
        # A walk-in: who already rated this office today is told so before picking a service.
        code = payload.removeprefix(invitations.OFFICE_PREFIX)
        opened = await desk.open_office(store, code, respondent)
    else:
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
    await begin(message.chat.id, opened, store, respondent, person, desk, box, cards)


async def start_without_payload(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    desk: SurveyDesk,
    datasets: DatasetDesk,
    cards: CardManager,
    state: FSMContext,
) -> None:
    response = await store.responses.open_response(respondent)
    if response is None:
        if not await resume_rating(store, respondent, lang, datasets, cards, state):
            await message.answer(text("welcome", lang))
        return
    conversation = await desk.resume(store, response, respondent)
    notice = text("resuming", lang)
    await send_step(cards, conversation.current(), desk, response, lang, notice)


async def begin(
    chat_id: int,
    response: Response,
    store: UnitOfWork,
    respondent: Respondent,
    person: Person,
    desk: SurveyDesk,
    box: AddressBox,
    cards: CardManager,
) -> None:
    """A survey is open: keep the way back to this chat, settle the language (the one the
    person's Telegram speaks, if we do; else asked once), then ask."""
    await store.responses.remember_address(respondent, Channel.TELEGRAM, str(chat_id), box)
    lang = person.language
    if respondent.language is None:
        if person.telegram_language is None:
            await cards.send(language_card(lang))
            return
        desk.live.forget_owner(respondent.key)
        await store.responses.set_language(respondent, person.telegram_language)
        lang = person.language = person.telegram_language
    await store.commit()  # the address and language, before the reply
    conversation = await desk.resume(store, response, respondent)
    await send_step(cards, conversation.current(), desk, response, lang)


def language_card(lang: str) -> Card:
    return Card(text("choose_language", lang), language_keyboard())


async def on_service(
    query: CallbackQuery,
    callback_data: ServiceCallback,
    store: UnitOfWork,
    respondent: Respondent,
    person: Person,
    lang: str,
    desk: SurveyDesk,
    box: AddressBox,
    cards: CardManager,
) -> None:
    offer = ServiceOffer(callback_data.o, callback_data.s, callback_data.d, callback_data.m)
    opened = await desk.start_offered_walk_in(store, respondent, offer, Channel.TELEGRAM, lang)
    if isinstance(opened, Refused):
        await query.answer(text(opened.reason, lang), show_alert=True)
        return
    await query.answer()
    await cards.remove_keyboard(query.message)
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await begin(chat_id, opened, store, respondent, person, desk, box, cards)


async def choose_language(message: Message, cards: CardManager) -> None:
    await cards.send(language_card("kk"))


async def on_language(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    store: UnitOfWork,
    respondent: Respondent,
    desk: SurveyDesk,
    cards: CardManager,
) -> None:
    lang = callback_data.lang
    desk.live.forget_owner(respondent.key)
    await store.responses.set_language(respondent, lang)
    await store.commit()
    await query.answer(text("language_set", lang))
    response = await store.responses.open_response(respondent)
    if response is None:
        await cards.show(query.message, Card(text("language_set", lang)))
        return
    conversation = await desk.resume(store, response, respondent)
    shown = card(conversation.current(), desk.definition(response.survey_id), response, lang)
    await cards.show(query.message, shown, becomes_live=True)


def build_router() -> Router:
    """A fresh router (a dispatcher owns its routers; tests and benchmarks build several)."""
    router = Router(name="start")
    # Its buttons by prefix first: survey answers, which pass through here, skip at once.
    router.callback_query.filter(ButtonPrefix(ServiceCallback, LanguageCallback))
    router.message.register(
        start_with_payload, CommandStart(deep_link=True), flags=WANTS_RESPONDENT
    )
    router.message.register(start_without_payload, CommandStart(), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_service, ServiceCallback.filter(), flags=WANTS_RESPONDENT)
    router.message.register(choose_language, Command("lang"))
    router.callback_query.register(
        on_language,
        LanguageCallback.filter(F.lang.in_({"kk", "ru", "en"})),
        flags=WANTS_RESPONDENT,
    )
    return router
