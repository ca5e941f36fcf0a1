"""Filing a complaint in the chat: offered after a low rating, or /complaint about a recent
service. Steps: category (buttons), free text, consent to be answered here; then the reference
number. Every step is stored on the draft complaint at once, so a restart resumes: the FSM
state only spares a database look-up while the bot waits for the text.

`/complaint Q-XXXXXXXX` shows where one of the citizen's own complaints stands."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.messages import text
from bot.telegram.cards import Card, CardManager
from bot.telegram.complaint_notices import AnswerRating
from bot.telegram.filters import ButtonPrefix, TypedText
from bot.telegram.keyboards import Position, RowId, Value
from bot.telegram.middlewares import WANTS_RESPONDENT
from core.complaints import MAX_TEXT, ComplaintProblem, Scrub
from core.models import Complaint, ComplaintCategory, Respondent
from core.unit_of_work import UnitOfWork


class ComplaintFor(CallbackData, prefix="cf"):
    r: RowId  # the response (rated service) the complaint is about


class ComplaintCategoryPick(CallbackData, prefix="cc"):
    c: RowId  # complaint id
    v: Value  # category


class ComplaintConsent(CallbackData, prefix="cy"):
    c: RowId
    v: Position  # 1 yes, 0 no


class ComplaintCancel(CallbackData, prefix="cx"):
    c: RowId


class ComplaintSteps(StatesGroup):
    """What the chat's typed text is, while a complaint is being filed."""

    text = State()  # the complaint's text; data: complaint_id


def offer_keyboard(response_id: int, lang: str) -> InlineKeyboardMarkup:
    """The button under the survey's thank-you after a low rating."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text("complaint_file_button", lang), callback_data=ComplaintFor(r=response_id)
    )
    return builder.as_markup()


def category_keyboard(complaint: Complaint, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in ComplaintCategory:
        builder.button(
            text=text(f"complaint_category_{category.value}", lang),
            callback_data=ComplaintCategoryPick(c=complaint.id, v=category.value),
        )
    builder.button(
        text=text("complaint_cancel", lang), callback_data=ComplaintCancel(c=complaint.id)
    )
    builder.adjust(1)
    return builder.as_markup()


def consent_keyboard(complaint: Complaint, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text("complaint_consent_yes", lang),
        callback_data=ComplaintConsent(c=complaint.id, v=1),
    )
    builder.button(
        text=text("complaint_consent_no", lang), callback_data=ComplaintConsent(c=complaint.id, v=0)
    )
    builder.adjust(2)
    return builder.as_markup()


async def ask_next(message: Message, complaint: Complaint, lang: str, state: FSMContext) -> None:
    """Show the step the draft is at (also what resuming shows)."""
    service = escape(complaint.service.name(lang) if complaint.service is not None else "")
    if complaint.category is None:
        await state.set_state(None)
        await message.answer(
            f"<i>{service}</i>\n\n{escape(text('complaint_ask_category', lang))}",
            reply_markup=category_keyboard(complaint, lang),
        )
    elif complaint.text is None:
        await state.set_state(ComplaintSteps.text)
        await state.set_data({"complaint_id": complaint.id})
        await message.answer(
            f"<i>{service}</i>\n\n{escape(text('complaint_ask_text', lang, limit=MAX_TEXT))}"
        )
    else:
        await state.set_state(None)
        await message.answer(
            escape(text("complaint_ask_consent", lang)),
            reply_markup=consent_keyboard(complaint, lang),
        )


async def on_file(
    query: CallbackQuery,
    callback_data: ComplaintFor,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    cards: CardManager,
) -> AnswerCallbackQuery:
    desk = store.complaints
    try:
        complaint = await desk.start(respondent, callback_data.r, lang)
        complaint = await desk.draft(respondent, complaint.id)
    except ComplaintProblem as problem:
        return query.answer(text(problem.reason, lang), show_alert=True)
    return await _next_step(query, store, cards, complaint, lang, state)


async def _next_step(
    query: CallbackQuery,
    store: UnitOfWork,
    cards: CardManager,
    complaint: Complaint,
    lang: str,
    state: FSMContext,
) -> AnswerCallbackQuery:
    """A button of the draft taken: keep it, take the buttons off and ask what comes next."""
    await store.commit()
    await cards.remove_keyboard(query.message)
    if isinstance(query.message, Message):
        await ask_next(query.message, complaint, lang, state)
    return query.answer()


async def on_complaint_command(
    message: Message,
    command: CommandObject,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
) -> None:
    desk = store.complaints
    if command.args:
        try:
            filed = await desk.own(respondent, command.args)
        except ComplaintProblem as problem:
            await message.answer(escape(text(problem.reason, lang)))
            return
        status = text(f"complaint_status_{filed.status.value}", lang)
        await message.answer(
            escape(text("complaint_where", lang, reference=filed.reference, status=status))
        )
        return
    draft = await desk.latest_draft(respondent)
    if draft is not None:
        await message.answer(escape(text("complaint_resume", lang)))
        await ask_next(message, draft, lang, state)
        return
    recent = await desk.recent_services(respondent)
    if not recent:
        await message.answer(escape(text("complaint_no_recent_service", lang)))
        return
    builder = InlineKeyboardBuilder()
    for response in recent:
        day = response.completed_at.strftime("%d.%m") if response.completed_at else ""
        builder.button(
            text=f"{day} · {response.service.name(lang)}"[:60],
            callback_data=ComplaintFor(r=response.id),
        )
    builder.adjust(1)
    await message.answer(
        escape(text("complaint_pick_service", lang)), reply_markup=builder.as_markup()
    )


async def on_category(
    query: CallbackQuery,
    callback_data: ComplaintCategoryPick,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    cards: CardManager,
) -> AnswerCallbackQuery:
    desk = store.complaints
    try:
        complaint = await desk.draft(respondent, callback_data.c)
        if complaint.category is not None:
            raise ComplaintProblem("stale_button")
        await desk.choose_category(complaint, callback_data.v)
    except ComplaintProblem as problem:
        return query.answer(text(problem.reason, lang), show_alert=True)
    return await _next_step(query, store, cards, complaint, lang, state)


async def on_text(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    complaint_scrub: Scrub,
    raw_state: str | None = None,
) -> None:
    """The complaint's text (the chat is in `ComplaintSteps.text`), or, with no state at all
    (lost in a restart without Redis), the text a draft waits for when no survey is open.
    Otherwise the text goes on to the survey (which handles typed answers)."""
    desk = store.complaints
    if raw_state is None and await store.responses.open_response(respondent) is not None:
        raise SkipHandler  # a survey in progress: its typed answer
    draft = await desk.latest_draft(respondent)
    if draft is None or draft.category is None or draft.text is not None:
        await state.set_state(None)
        raise SkipHandler
    try:
        await desk.give_text(draft, message.text, complaint_scrub)
    except ComplaintProblem as problem:
        await message.answer(
            "⚠️ " + escape(text(problem.reason, lang, limit=MAX_TEXT)),
        )
        return
    await store.commit()
    await ask_next(message, draft, lang, state)


async def on_consent(
    query: CallbackQuery,
    callback_data: ComplaintConsent,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    cards: CardManager,
) -> AnswerCallbackQuery:
    desk = store.complaints
    try:
        complaint = await desk.draft(respondent, callback_data.c)
        await desk.submit(complaint, consent=callback_data.v == 1)
    except ComplaintProblem as problem:
        return query.answer(text(problem.reason, lang), show_alert=True)
    await store.commit()
    await state.set_state(None)
    await cards.remove_keyboard(query.message)
    if isinstance(query.message, Message):
        key = "complaint_filed" if complaint.consent_to_answer else "complaint_filed_no_answer"
        assert complaint.deadline is not None
        await query.message.answer(
            escape(
                text(
                    key,
                    lang,
                    reference=complaint.reference,
                    deadline=complaint.deadline.strftime("%d.%m.%Y"),
                )
            )
        )
    return query.answer()


async def on_cancel(
    query: CallbackQuery,
    callback_data: ComplaintCancel,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
    cards: CardManager,
) -> AnswerCallbackQuery:
    desk = store.complaints
    try:
        await desk.cancel(await desk.draft(respondent, callback_data.c))
    except ComplaintProblem as problem:
        return query.answer(text(problem.reason, lang), show_alert=True)
    await store.commit()
    await state.set_state(None)
    await cards.show(query.message, Card(escape(text("complaint_cancelled", lang))))
    return query.answer()


async def on_rate(
    query: CallbackQuery,
    callback_data: AnswerRating,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    cards: CardManager,
) -> AnswerCallbackQuery:
    """The citizen's rating of the agency's answer, stored once."""
    try:
        await store.rate_complaint_answer(respondent, callback_data.c, callback_data.v)
    except ComplaintProblem as problem:
        if problem.reason == "complaint_already_rated":
            await cards.remove_keyboard(query.message)  # an old keyboard: take it off
        return query.answer(text(problem.reason, lang), show_alert=True)
    await store.commit()
    await cards.remove_keyboard(query.message)
    if isinstance(query.message, Message):
        await query.message.answer(escape(text("complaint_rating_thanks", lang)))
    return query.answer()


def build_router() -> Router:
    """A fresh router; included before the survey's, whose typed answers it lets through."""
    router = Router(name="complaints")
    # One cheap look at a button's prefix, so survey answers pass this router at once (it
    # comes first) instead of failing each complaint button's filter in turn.
    router.callback_query.filter(
        ButtonPrefix(
            ComplaintFor, ComplaintCategoryPick, ComplaintConsent, ComplaintCancel, AnswerRating
        )
    )
    router.message.register(on_complaint_command, Command("complaint"), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_file, ComplaintFor.filter(), flags=WANTS_RESPONDENT)
    router.callback_query.register(
        on_category, ComplaintCategoryPick.filter(), flags=WANTS_RESPONDENT
    )
    router.callback_query.register(on_consent, ComplaintConsent.filter(), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_cancel, ComplaintCancel.filter(), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_rate, AnswerRating.filter(), flags=WANTS_RESPONDENT)
    # Typed text in the complaint's text step, or with no state (lost) when a draft waits.
    router.message.register(
        on_text,
        TypedText(),
        StateFilter(ComplaintSteps.text, None),
        flags=WANTS_RESPONDENT,
    )
    return router
