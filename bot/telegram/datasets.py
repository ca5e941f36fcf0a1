"""Rating an open data set in the chat: `/data` (pick the agency, type part of a title, pick the
set) or a deep link `/start ds-<external id>` from a data set's page or QR code; then the
feedback survey, one card per question, each answer stored at once in the person's rating of
the day; a problem reported in it is filed for the agency, with its reference number.

Included before the other routers: its `/start ds-…` filter lets every other payload through,
and its text handler takes only the title being searched or a rating's typed answer."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.datasets import DatasetDesk
from bot.engine.definition import Question, QuestionType
from bot.engine.flow import Ask, Completed, Step
from bot.messages import text
from bot.telegram.cards import Card, CardManager
from bot.telegram.filters import ButtonPrefix, TypedText
from bot.telegram.keyboards import Position, RowId, Value, answer_keyboard
from bot.telegram.middlewares import WANTS_RESPONDENT
from bot.telegram.render import refusal
from core.clock import utcnow
from core.dataset_ratings import PAYLOAD_PREFIX, DatasetRefused
from core.identity import AddressBox
from core.language import by_name
from core.models import Channel, Complaint, Dataset, DatasetRating, RatingStatus, Respondent
from core.unit_of_work import UnitOfWork

MIN_TYPED = 2
MAX_TYPED = 200


class DataSteps(StatesGroup):
    """What the chat's typed text is, while an open data set is found or rated."""

    searching = State()  # part of a title; data: agency_id, since (epoch seconds)
    typing = State()  # a rating's text answer; data: rating_id


class DataAgency(CallbackData, prefix="dg"):
    a: RowId  # agency id


class DataPick(CallbackData, prefix="dk"):
    d: RowId  # dataset id


class DataAnswer(CallbackData, prefix="dv"):
    r: RowId  # rating id
    q: Position  # question index in the definition
    v: Value  # raw value ("" = skip)


def agencies_keyboard(agencies: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for agency_id, name in agencies[:100]:  # Telegram takes 100 buttons at most
        builder.button(text=name[:60], callback_data=DataAgency(a=agency_id))
    builder.adjust(1)
    return builder.as_markup()


def datasets_keyboard(datasets: list[Dataset], lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for dataset in datasets:
        builder.button(text=dataset.title(lang)[:60], callback_data=DataPick(d=dataset.id))
    builder.adjust(1)
    return builder.as_markup()


def question_keyboard(
    rating_id: int, index: int, question: Question, lang: str
) -> InlineKeyboardMarkup | None:
    """The buttons of one question of the feedback survey (single-value questions only)."""
    return answer_keyboard(question, lang, lambda value: DataAnswer(r=rating_id, q=index, v=value))


def card(
    step: Step,
    desk: DatasetDesk,
    rating: DatasetRating,
    lang: str,
    filed: Complaint | None = None,
    notice: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message for a step of a rating: the question with its buttons, or the thank-you
    (with the problem report's reference when one was filed)."""
    definition = desk.definition
    dataset = rating.dataset
    lines: list[str] = []
    if notice:
        lines.append(escape(notice))
    if isinstance(step, Completed):
        lines.append(f"✅ {escape(definition.thanks.get(lang) or definition.thanks['ru'])}")
        if filed is not None and filed.deadline is not None:
            deadline = filed.deadline.strftime("%d.%m.%Y")
            lines.append(
                escape(
                    text("dataset_report_filed", lang, reference=filed.reference, deadline=deadline)
                )
            )
        return "\n\n".join(lines), None
    if step.error is not None:
        lines.append(f"⚠️ {escape(refusal(step.error, lang))}")
    question = step.question
    head = f"<i>{escape(dataset.title(lang))}</i>\n<i>{escape(dataset.agency.name(lang))}</i>"
    if step.number == 1 and definition.intro:
        head += f"\n{escape(definition.intro.get(lang) or definition.intro['ru'])}"
    progress = escape(text("progress", lang, number=step.number, total=step.total))
    body = f"{head}\n\n{progress}\n\n<b>{escape(question.text(lang))}</b>"
    hint = question.hint_text(lang)
    if hint:
        body += f"\n<i>{escape(hint)}</i>"
    if question.type is QuestionType.TEXT:
        body += f"\n\n{escape(text('type_answer', lang))}"
    lines.append(body)
    index = definition.index_of(question.name)
    return "\n\n".join(lines), question_keyboard(rating.id, index, question, lang)


async def _awaiting(state: FSMContext, step: Step, rating: DatasetRating) -> None:
    """Remember (may be lost) whether the chat's next text is this rating's answer."""
    if isinstance(step, Ask) and step.question.type is QuestionType.TEXT:
        await state.set_state(DataSteps.typing)
        await state.set_data({"rating_id": rating.id})
    else:
        await state.set_state(None)


async def _show(
    cards: CardManager,
    step: Step,
    desk: DatasetDesk,
    rating: DatasetRating,
    lang: str,
    state: FSMContext,
    *,
    notice: str | None = None,
    filed: Complaint | None = None,
) -> None:
    await cards.send(Card(*card(step, desk, rating, lang, filed, notice)))
    await _awaiting(state, step, rating)


async def open_dataset(
    chat_id: int,
    dataset: Dataset,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk,
    box: AddressBox,
    cards: CardManager,
    state: FSMContext,
) -> None:
    """Start (or resume) today's rating of the set and show its current question."""
    # The way back to this chat, for the answer to a problem report (kept encrypted).
    await store.responses.remember_address(respondent, Channel.TELEGRAM, str(chat_id), box)
    if respondent.language is None:
        await store.responses.set_language(respondent, lang)
    before = await store.dataset_ratings.rating_today(respondent, dataset)
    rating = await datasets.start(store, respondent, dataset, Channel.TELEGRAM, lang)
    notice = None
    if before is RatingStatus.COMPLETED:
        notice = text("dataset_rated_again", lang)
    elif before is RatingStatus.IN_PROGRESS:
        notice = text("resuming", lang)
    conversation = await datasets.conversation(store, respondent, rating, Channel.TELEGRAM)
    if conversation is None:  # completed by another tap meanwhile: nothing left to ask
        await cards.send(Card(escape(text("stale_button", lang))))
        return
    shown = await store.dataset_ratings.rating(rating.id)
    assert shown is not None
    await _show(cards, conversation.current(), datasets, shown, lang, state, notice=notice)


async def resume_rating(
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk,
    cards: CardManager,
    state: FSMContext,
) -> bool:
    """A bare /start with no survey open: the person's unfinished data-set rating, if any,
    carries on at its current question. False when there is none."""
    rating = await store.dataset_ratings.in_progress(respondent)
    if rating is None:
        return False
    conversation = await datasets.conversation(store, respondent, rating, Channel.TELEGRAM)
    if conversation is None:
        return False
    notice = text("resuming", lang)
    await _show(cards, conversation.current(), datasets, rating, lang, state, notice=notice)
    return True


async def on_data(
    message: Message,
    store: UnitOfWork,
    lang: str,
    datasets: DatasetDesk | None,
    state: FSMContext,
) -> None:
    if datasets is None:
        await message.answer(escape(text("dataset_off", lang)))
        return
    agencies = await store.dataset_ratings.agencies()
    if not agencies:
        await message.answer(escape(text("dataset_none_published", lang)))
        return
    await state.set_state(None)
    await message.answer(
        escape(text("dataset_pick_agency", lang)),
        reply_markup=agencies_keyboard(
            [(a.id, a.name(lang)) for a in by_name(agencies, lambda a: a.name(lang), lang)]
        ),
    )


async def on_agency(
    query: CallbackQuery,
    callback_data: DataAgency,
    store: UnitOfWork,
    lang: str,
    cards: CardManager,
    state: FSMContext,
) -> AnswerCallbackQuery:
    agency = await store.dataset_ratings.agency(callback_data.a)
    if agency is None or not isinstance(query.message, Message):
        return query.answer(text("stale_button", lang), show_alert=True)
    await state.set_state(DataSteps.searching)
    await state.set_data({"agency_id": agency.id, "since": int(utcnow().timestamp())})
    await cards.show(
        query.message, Card(escape(text("dataset_type_title", lang, agency=agency.name(lang))))
    )
    return query.answer()


async def on_pick(
    query: CallbackQuery,
    callback_data: DataPick,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk | None,
    box: AddressBox,
    cards: CardManager,
    state: FSMContext,
) -> AnswerCallbackQuery:
    if datasets is None:
        return query.answer(text("dataset_off", lang), show_alert=True)
    found = await store.dataset_ratings.dataset(callback_data.d)
    if isinstance(found, DatasetRefused):
        return query.answer(text(found.reason, lang), show_alert=True)
    await cards.remove_keyboard(query.message)
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await open_dataset(chat_id, found, store, respondent, lang, datasets, box, cards, state)
    return query.answer()


async def on_deep_link(
    message: Message,
    command: CommandObject,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk | None,
    box: AddressBox,
    cards: CardManager,
    state: FSMContext,
) -> None:
    if datasets is None:
        await message.answer(escape(text("dataset_off", lang)))
        return
    found = await store.dataset_ratings.by_payload(command.args or "")
    if isinstance(found, DatasetRefused):
        await message.answer(escape(text(found.reason, lang)))
        return
    await open_dataset(message.chat.id, found, store, respondent, lang, datasets, box, cards, state)


async def on_answer(
    query: CallbackQuery,
    callback_data: DataAnswer,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk | None,
    cards: CardManager,
    state: FSMContext,
) -> AnswerCallbackQuery:
    name = datasets.question_name(callback_data.q) if datasets is not None else None
    ratings = store.dataset_ratings
    rating = await ratings.rating(callback_data.r)
    if datasets is None or name is None or rating is None or rating.respondent_id != respondent.id:
        return query.answer(text("stale_button", lang), show_alert=True)
    if rating.status is RatingStatus.COMPLETED:
        await cards.remove_keyboard(query.message)
        return query.answer(text("completed", lang))
    answered = await datasets.answer(
        store, respondent, rating, Channel.TELEGRAM, name, callback_data.v or None
    )
    if answered is None:
        return query.answer(text("stale_button", lang), show_alert=True)
    shown = Card(*card(answered.step, datasets, rating, lang, answered.filed))
    await cards.show(query.message, shown)
    await _awaiting(state, answered.step, rating)
    return query.answer()


async def on_search(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    state: FSMContext,
) -> None:
    """Part of a title, typed after picking an agency. A service survey opened since (on the
    web, say) takes the text instead: it is more likely that survey's answer."""
    data = await state.get_data()
    agency_id, since = data.get("agency_id"), data.get("since")
    if not isinstance(agency_id, int) or not isinstance(since, int):
        await state.set_state(None)
        raise SkipHandler
    if await _survey_since(store, respondent, datetime.fromtimestamp(since, UTC)):
        raise SkipHandler
    await _search(message, store, lang, agency_id)


async def on_text(
    message: Message,
    store: UnitOfWork,
    respondent: Respondent,
    lang: str,
    datasets: DatasetDesk | None,
    cards: CardManager,
    state: FSMContext,
    raw_state: str | None = None,
) -> None:
    """A rating's typed answer: the chat is in `DataSteps.typing`, or has no state (lost in a
    restart without Redis) and the person's rating in progress is all that waits for text.
    Any other text goes on to the complaint and survey routers."""
    if datasets is None:
        raise SkipHandler
    rating = await _typing_rating(store, respondent, state if raw_state is not None else None)
    if rating is None:
        raise SkipHandler
    conversation = await datasets.conversation(store, respondent, rating, Channel.TELEGRAM)
    step = conversation.current() if conversation is not None else None
    if not isinstance(step, Ask):
        await state.set_state(None)
        raise SkipHandler
    if step.question.type is not QuestionType.TEXT:
        # The rating waits for a button: show its question again, with the buttons.
        notice = text("use_buttons", lang)
        await _show(cards, step, datasets, rating, lang, state, notice=notice)
        return
    answered = await datasets.answer(
        store, respondent, rating, Channel.TELEGRAM, step.question.name, message.text
    )
    if answered is None:
        raise SkipHandler
    await _show(cards, answered.step, datasets, rating, lang, state, filed=answered.filed)


async def _typing_rating(
    store: UnitOfWork, respondent: Respondent, state: FSMContext | None
) -> DatasetRating | None:
    """The rating whose typed answer this text is: the one the state's data names, or (no
    state: lost in a restart without Redis) the person's rating in progress when nothing else
    waits for text."""
    ratings = store.dataset_ratings
    if state is not None:
        rating_id = (await state.get_data()).get("rating_id")
        found = await ratings.rating(rating_id) if isinstance(rating_id, int) else None
        if found is None or found.respondent_id != respondent.id:
            return None
        if await _survey_since(store, respondent, found.updated_at):
            return None  # a service survey was opened after: its typed answer
        return found
    if await store.responses.open_response(respondent) is not None:
        return None  # a service survey in progress: its typed answer
    draft = await store.complaints.latest_draft(respondent)
    if draft is not None and draft.category is not None and draft.text is None:
        return None  # a complaint waits for its text
    return await ratings.in_progress(respondent)


async def _survey_since(store: UnitOfWork, respondent: Respondent, since: datetime) -> bool:
    """A service survey in progress touched after `since`: the text is more likely its answer."""
    response = await store.responses.open_response(respondent)
    return response is not None and response.updated_at > since


async def _search(message: Message, store: UnitOfWork, lang: str, agency_id: int) -> None:
    ratings = store.dataset_ratings
    agency = await ratings.agency(agency_id)
    typed = " ".join((message.text or "").split())[:MAX_TYPED]
    if agency is None:
        await message.answer(escape(text("stale_button", lang)))
        return
    if len(typed) < MIN_TYPED:
        await message.answer(escape(text("dataset_search_short", lang)))
        return
    found = await ratings.search(agency.id, typed)
    if not found:
        await message.answer(
            escape(text("dataset_no_match", lang, agency=agency.name(lang), typed=typed))
        )
        return
    await message.answer(
        escape(text("dataset_matches", lang)),
        reply_markup=datasets_keyboard(by_name(found, lambda d: d.title(lang), lang), lang),
    )


def build_router() -> Router:
    """A fresh router; included first (see the module's docstring)."""
    router = Router(name="datasets")
    router.message.register(
        on_deep_link,
        CommandStart(deep_link=True, magic=F.args.startswith(PAYLOAD_PREFIX)),
        flags=WANTS_RESPONDENT,
    )
    router.message.register(on_data, Command("data"), flags=WANTS_RESPONDENT)
    router.callback_query.filter(ButtonPrefix(DataAgency, DataPick, DataAnswer))
    router.callback_query.register(on_agency, DataAgency.filter(), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_pick, DataPick.filter(), flags=WANTS_RESPONDENT)
    router.callback_query.register(on_answer, DataAnswer.filter(), flags=WANTS_RESPONDENT)
    router.message.register(
        on_search, TypedText(), StateFilter(DataSteps.searching), flags=WANTS_RESPONDENT
    )
    router.message.register(
        on_text, TypedText(), StateFilter(DataSteps.typing, None), flags=WANTS_RESPONDENT
    )
    return router
