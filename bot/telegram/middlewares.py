"""Per-update context: de-duplication, a database unit of work, the respondent and language,
one update at a time per person, and a polite answer instead of a crash."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import DEFAULT_LANGUAGE, pick_language, text
from core.identity import respondent_key
from core.responses import ResponseStore

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class SeenUpdates:
    """Update ids already taken: Redis (shared by all workers) or a bounded in-memory set."""

    def __init__(self, redis: Redis | None, ttl_s: int = 86_400, capacity: int = 100_000) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._local: OrderedDict[str, None] = OrderedDict()

    async def first_time(self, key: str) -> bool:
        if self.redis is not None:
            return bool(await self.redis.set(f"qanagat:update:{key}", 1, nx=True, ex=self.ttl_s))
        if key in self._local:
            return False
        self._local[key] = None
        if len(self._local) > self.capacity:
            self._local.popitem(last=False)
        return True

    async def forget(self, key: str) -> None:
        # A failed update may be delivered again and must then be handled.
        if self.redis is not None:
            await self.redis.delete(f"qanagat:update:{key}")
        else:
            self._local.pop(key, None)


class DeduplicateMiddleware(BaseMiddleware):
    def __init__(self, seen: SeenUpdates) -> None:
        self.seen = seen

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        key = f"{bot.id}:{event.update_id}"
        if not await self.seen.first_time(key):
            log.info("update %s delivered again; ignored", event.update_id)
            return None
        try:
            return await handler(event, data)
        except BaseException:
            await self.seen.forget(key)
            raise


class PersonLocks:
    """One update at a time per person, so a double tap is answered in order."""

    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self._local: dict[int, asyncio.Lock] = {}

    async def run(self, user_id: int, call: Callable[[], Awaitable[Any]]) -> Any:
        if self.redis is not None:
            async with self.redis.lock(f"qanagat:lock:{user_id}", timeout=30, blocking_timeout=10):
                return await call()
        lock = self._local.setdefault(user_id, asyncio.Lock())
        try:
            async with lock:
                return await call()
        finally:
            if not lock.locked() and not lock._waiters:
                self._local.pop(user_id, None)


class PersonLockMiddleware(BaseMiddleware):
    def __init__(self, locks: PersonLocks) -> None:
        self.locks = locks

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        return await self.locks.run(user.id, lambda: handler(event, data))


class DbSessionMiddleware(BaseMiddleware):
    """One database session (unit of work) per update, handed to handlers as `store`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["store"] = ResponseStore(session)
            return await handler(event, data)


class RespondentMiddleware(BaseMiddleware):
    """The person as a pseudonym (HMAC of their Telegram id) and the language to speak."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        store: ResponseStore = data["store"]
        guessed = pick_language(user.language_code)
        respondent = await store.respondent(respondent_key(self.secret, "telegram", user.id))
        data["respondent"] = respondent
        data["lang"] = respondent.language or guessed or DEFAULT_LANGUAGE
        return await handler(event, data)


class ApologyMiddleware(BaseMiddleware):
    """Whatever fails inside, the citizen gets a short apology in their language, not silence,
    and the error goes to the log. Answers already given are stored: they can carry on later."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            log.exception("update failed")
            lang = data.get("lang", DEFAULT_LANGUAGE)
            apology = text("try_again_later", lang)
            try:
                if isinstance(event, CallbackQuery):
                    await event.answer(apology, show_alert=True)
                elif isinstance(event, Message):
                    await event.answer(apology)
            except Exception:
                log.warning("could not send the apology", exc_info=True)
            return None
