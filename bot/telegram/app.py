"""The Telegram channel assembled: routers, middlewares, storage, and what handlers receive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommand
from aiohttp import JsonPayload
from redis.asyncio import Redis

from bot.datasets import DatasetDesk
from bot.opening import SurveyDesk
from bot.telegram import (
    common,
    complaints,
    datasets,
    json_codec,
    link,
    results,
    staff_chats,
    start,
    survey,
)
from bot.telegram.cards import EditCard
from bot.telegram.filters import PrivateChat
from bot.telegram.fsm_storage import conversation_storage
from bot.telegram.middlewares import (
    ApologyMiddleware,
    ClaimMiddleware,
    ConversationState,
    DbSessionMiddleware,
    PersonMiddleware,
    RespondentMiddleware,
    UpdateBoundary,
    UpdateClaims,
)
from core.identity import AddressBox
from core.public_results import OfficeRatings
from core.settings import Settings
from core.unit_of_work import UnitsOfWork

COMMANDS = {
    "kk": [
        ("help", "Анықтама"),
        ("lang", "Тілді ауыстыру"),
        ("link", "Шақыруларды осында алу"),
        ("complaint", "Шағым беру"),
        ("data", "Ашық деректерді бағалау"),
        ("results", "Қызмет сапасының нәтижелері"),
        ("stop", "Тоқтату және мені ұмыту"),
    ],
    "ru": [
        ("help", "Справка"),
        ("lang", "Сменить язык"),
        ("link", "Получать приглашения здесь"),
        ("complaint", "Подать жалобу"),
        ("data", "Оценить открытые данные"),
        ("results", "Результаты качества услуг"),
        ("stop", "Прервать и забыть меня"),
    ],
    "en": [
        ("help", "Help"),
        ("lang", "Change language"),
        ("link", "Get invitations here"),
        ("complaint", "File a complaint"),
        ("data", "Rate open data"),
        ("results", "Public service results"),
        ("stop", "Stop and forget me"),
    ],
}


# aiogram parses each Bot API answer as `Response[<return type>]`. pydantic keeps such generic
# classes only weakly, so after a garbage collection the next call rebuilds the class (several
# milliseconds). Holding the ones our hot path uses keeps them built.
_BUILT_RESPONSE_TYPES = [
    cast(Any, Response)[method.__returning__]
    for method in (
        AnswerCallbackQuery,
        EditCard,
        EditMessageReplyMarkup,
        EditMessageText,
        SendMessage,
    )
]


def json_params(
    session: BaseSession, bot: Bot, method: TelegramMethod[Any]
) -> dict[str, Any] | None:
    """A Bot API method's parameters as one JSON object, or None when it sends files. aiogram
    leaves out None and empty values; so does this (the None ones while dumping, at every
    depth: a keyboard's buttons have a dozen fields each, mostly None)."""
    files: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False, exclude_none=True).items():
        prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is not None and prepared != "":
            params[key] = prepared
    return None if files else params


class JsonBodySession(AiohttpSession):
    """Bot API calls with a JSON body. aiogram sends form fields, each value JSON-encoded on
    its own and the whole form URL-encoded again, on every call (a card and its keyboard on
    every answer); Telegram takes the same parameters as one JSON object. Files still go as
    multipart form data."""

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> Any:
        params = json_params(self, bot, method)
        if params is None:
            return super().build_form_data(bot, method)
        return JsonPayload(params, dumps=self.json_dumps)


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram_token is not None
    session = JsonBodySession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url),
        json_loads=json_codec.loads,
        json_dumps=json_codec.dumps,
    )
    return Bot(
        settings.telegram_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(
    settings: Settings,
    units: UnitsOfWork,
    desk: SurveyDesk,
    redis: Redis | None = None,
    *,
    complaint_scrub: Callable[[str], str],
    dataset_desk: DatasetDesk | None = None,
    office_ratings: OfficeRatings | None = None,
) -> Dispatcher:
    """Redis holds only what may be lost (FSM cache, de-duplication, locks); without it, memory.
    aiogram's FSM runs as `ConversationState`, inside the claim, instead of the dispatcher's
    own middleware (outermost, before the person's lock, reading the state of every update):
    typed text is routed by state, a button by its data."""
    storage = conversation_storage(redis, settings.secret_bytes())
    dispatcher = Dispatcher(
        storage=storage,
        disable_fsm=True,
        desk=desk,
        box=AddressBox(settings.secret_bytes()),
        link_secret=settings.secret_bytes(),
        complaint_scrub=complaint_scrub,
        datasets=dataset_desk,  # None: the survey folder has no data-set survey
        office_ratings=office_ratings,  # the public results, when composed in
    )
    claims = UpdateClaims(redis)
    dispatcher.update.outer_middleware(UpdateBoundary())
    dispatcher.update.outer_middleware(ClaimMiddleware(claims))
    dispatcher.shutdown.register(claims.close)  # let go of the last claims while Redis is up
    dispatcher.update.outer_middleware(ConversationState(storage))
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(ApologyMiddleware())
        observer.outer_middleware(DbSessionMiddleware(units))
        observer.outer_middleware(PersonMiddleware(settings.secret_bytes()))
        observer.middleware(RespondentMiddleware())
    # Complaints before the survey: a complaint's typed text must reach its draft before the
    # survey router, which answers any text outside a survey with "no survey open". Data sets
    # first: their /start filter takes only `ds-` payloads, their text handler only a title
    # being searched or a rating's typed answer, and the complaints router would otherwise
    # clear the search's FSM state.
    citizens = [
        datasets.build_router(),
        start.build_router(),
        link.build_router(),
        complaints.build_router(),
        results.build_router(),
        survey.build_router(),
        common.build_router(),
    ]
    # Citizens talk to the bot in private; in a staff group it answers only staff commands,
    # not every message and unknown command of the group's members.
    for router in citizens:
        router.message.filter(PrivateChat())
    # Staff chats' commands: ahead of common's catch-all, which answers "unknown command".
    survey_and_catch_all = citizens[-2:]
    dispatcher.include_routers(
        survey.build_buttons_router(),
        *citizens[:-2],
        staff_chats.build_router(),
        *survey_and_catch_all,
    )
    return dispatcher


async def announce_commands(bot: Bot) -> None:
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(command=name, description=about) for name, about in commands],
            language_code=lang,
        )
