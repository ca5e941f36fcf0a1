"""The Telegram channel assembled: routers, middlewares, storage, and what handlers receive."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    SendMessage,
)
from aiogram.types import BotCommand
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.opening import SurveyDesk
from bot.telegram import common, complaints, link, start, survey
from bot.telegram.middlewares import (
    ApologyMiddleware,
    DbSessionMiddleware,
    DeduplicateMiddleware,
    PersonLockMiddleware,
    PersonLocks,
    RespondentMiddleware,
    SeenUpdates,
)
from core.identity import AddressBox
from core.settings import Settings

COMMANDS = {
    "kk": [
        ("help", "Анықтама"),
        ("lang", "Тілді ауыстыру"),
        ("link", "Шақыруларды осында алу"),
        ("complaint", "Шағым беру"),
        ("stop", "Тоқтату және мені ұмыту"),
    ],
    "ru": [
        ("help", "Справка"),
        ("lang", "Сменить язык"),
        ("link", "Получать приглашения здесь"),
        ("complaint", "Подать жалобу"),
        ("stop", "Прервать и забыть меня"),
    ],
    "en": [
        ("help", "Help"),
        ("lang", "Change language"),
        ("link", "Get invitations here"),
        ("complaint", "File a complaint"),
        ("stop", "Stop and forget me"),
    ],
}


# aiogram parses each Bot API answer as `Response[<return type>]`. pydantic keeps such generic
# classes only weakly, so after a garbage collection the next call rebuilds the class (several
# milliseconds). Holding the ones our hot path uses keeps them built.
_BUILT_RESPONSE_TYPES = [
    Response[method.__returning__]
    for method in (
        AnswerCallbackQuery,
        EditMessageReplyMarkup,
        EditMessageText,
        SendMessage,
    )
]


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        settings.telegram_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
    redis: Redis | None = None,
    *,
    complaint_scrub: Callable[[str], str],
) -> Dispatcher:
    """Redis holds only what may be lost (FSM cache, de-duplication, locks); without it, memory."""
    storage: BaseStorage = RedisStorage(redis) if redis is not None else MemoryStorage()
    dispatcher = Dispatcher(
        storage=storage,
        desk=desk,
        box=AddressBox(settings.secret_bytes()),
        link_secret=settings.secret_bytes(),
        complaint_scrub=complaint_scrub,
    )
    dispatcher.update.outer_middleware(DeduplicateMiddleware(SeenUpdates(redis)))
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(ApologyMiddleware())
        observer.outer_middleware(PersonLockMiddleware(PersonLocks(redis)))
        observer.outer_middleware(DbSessionMiddleware(session_factory))
        observer.outer_middleware(RespondentMiddleware(settings.secret_bytes()))
    dispatcher.include_routers(
        start.build_router(),
        link.build_router(),
        complaints.build_router(),
        survey.build_router(),
        common.build_router(),
    )
    return dispatcher


async def announce_commands(bot: Bot) -> None:
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(command=name, description=about) for name, about in commands],
            language_code=lang,
        )
