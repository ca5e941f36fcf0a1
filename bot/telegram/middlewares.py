"""Per-update context: de-duplication and one update at a time per person (one round trip),
the FSM context without a read, a database unit of work, the person (and, for handlers that
want them, the respondent and language), and a polite answer instead of a crash."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY, EventContext
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import DEFAULT_LANGUAGE, pick_language, text
from core.identity import respondent_key
from core.responses import ResponseStore

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


# Claiming an update, in one round trip: refuse it when it was taken before (Telegram delivers
# again what it thinks was lost), else take the person's lock (the update key is the lock's
# value) and mark the update taken. -1: the person's previous update is still being handled.
CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if KEYS[2] and not redis.call('SET', KEYS[2], KEYS[1], 'NX', 'PX', ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], 1, 'EX', ARGV[1])
return 1
"""
# Letting go: the person's lock if it is still ours; the update too if it failed (so that
# Telegram's next delivery of it is handled).
RELEASE = """
if KEYS[2] and redis.call('GET', KEYS[2]) == KEYS[1] then redis.call('DEL', KEYS[2]) end
if ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end
return 1
"""


class UpdateClaims:
    """Each update handled once, and one update at a time per person (so a double tap is
    answered in order): Redis, shared by all workers, or memory for a single process."""

    def __init__(
        self,
        redis: Redis | None,
        seen_ttl_s: int = 86_400,
        lock_ttl_ms: int = 30_000,
        wait_s: float = 10.0,
        capacity: int = 100_000,
    ) -> None:
        self.redis = redis
        self.seen_ttl_s = seen_ttl_s
        self.lock_ttl_ms = lock_ttl_ms
        self.wait_s = wait_s
        self.capacity = capacity
        self._claim = redis.register_script(CLAIM) if redis is not None else None
        self._release = redis.register_script(RELEASE) if redis is not None else None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}

    async def run(
        self, update_key: str, person: int | None, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """`call()` unless the update was taken before (then None), holding the person."""
        if self.redis is None:
            return await self._run_in_memory(update_key, person, call)
        keys = [f"qanagat:update:{update_key}"]
        if person is not None:
            keys.append(f"qanagat:lock:{person}")
        claimed = await self._take(keys)
        if claimed == 0:
            log.info("update %s delivered again; ignored", update_key)
            return None
        failed = True
        try:
            result = await call()
            failed = False
            return result
        finally:
            held = keys if claimed == 1 else keys[:1]  # after waiting too long: no lock
            if failed or len(held) > 1:
                assert self._release is not None
                await self._release(keys=held, args=["1" if failed else "0"])

    async def _take(self, keys: list[str]) -> int:
        assert self._claim is not None
        args = [self.seen_ttl_s, self.lock_ttl_ms]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause = 0.005
        while True:
            claimed = int(await self._claim(keys=keys, args=args))
            if claimed >= 0:
                return claimed
            if loop.time() > deadline:
                # Stuck for long (a crashed worker's lock): go on without it; the database
                # still refuses a second answer.
                log.warning("person lock %s still held after %ss; going on", keys[1], self.wait_s)
                taken = int(await self._claim(keys=keys[:1], args=args))
                return 2 if taken == 1 else 0
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _run_in_memory(
        self, update_key: str, person: int | None, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        if update_key in self._seen:
            log.info("update %s delivered again; ignored", update_key)
            return None
        self._seen[update_key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        try:
            if person is None:
                return await call()
            lock = self._locks.setdefault(person, asyncio.Lock())
            try:
                async with lock:
                    return await call()
            finally:
                if not lock.locked() and not lock._waiters:
                    self._locks.pop(person, None)
        except BaseException:
            self._seen.pop(update_key, None)  # a failed update may be delivered again
            raise


class ClaimMiddleware(BaseMiddleware):
    def __init__(self, claims: UpdateClaims) -> None:
        self.claims = claims

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        user: User | None = data.get("event_from_user")
        return await self.claims.run(
            f"{bot.id}:{event.update_id}",
            user.id if user is not None else None,
            lambda: handler(event, data),
        )


class CardStateMiddleware(BaseMiddleware):
    """The FSM context (where the live card's message id is kept) as `state`, read only when
    a handler asks for it: aiogram's own FSM middleware reads the state on every update."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context: EventContext | None = data.get(EVENT_CONTEXT_KEY)
        if context is not None and context.user_id is not None:
            bot: Bot = data["bot"]
            # The key aiogram's FSM middleware would use (its default, user in chat).
            key = StorageKey(
                bot_id=bot.id,
                chat_id=context.chat_id if context.chat_id is not None else context.user_id,
                user_id=context.user_id,
                business_connection_id=context.business_connection_id,
            )
            data["state"] = FSMContext(storage=self.storage, key=key)
        return await handler(event, data)


class DbSessionMiddleware(BaseMiddleware):
    """One database session (unit of work) per update, handed to handlers as `store`."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["store"] = ResponseStore(session)
            return await handler(event, data)


@dataclass
class Person:
    """Who is writing, as a pseudonym (HMAC of their Telegram id), and the language to speak:
    the one their Telegram uses until their chosen one has been read."""

    key: str
    language: str


class PersonMiddleware(BaseMiddleware):
    """`person` for every handler, without the database."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        guessed = pick_language(user.language_code) or DEFAULT_LANGUAGE
        data["person"] = Person(respondent_key(self.secret, "telegram", user.id), guessed)
        data["lang"] = guessed
        return await handler(event, data)


class RespondentMiddleware(BaseMiddleware):
    """`respondent` and `lang` (the chosen language), read from the database only for the
    handlers that take them. Inner: it runs once the handler is chosen. Answering a question
    needs neither: the statement that stores the answer checks the owner and tells the
    language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        wanted = data["handler"].params
        if "respondent" in wanted or "lang" in wanted:
            person: Person = data["person"]
            store: ResponseStore = data["store"]
            respondent = await store.respondent(person.key)
            person.language = respondent.language or person.language
            data["respondent"] = respondent
            data["lang"] = person.language
        return await handler(event, data)


class ApologyMiddleware(BaseMiddleware):
    """Whatever fails inside, the citizen gets a short apology in their language, not silence,
    and the error goes to the log. Answers already given are stored: they can carry on later."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            log.exception("update failed")
            person: Person | None = data.get("person")
            lang = person.language if person is not None else DEFAULT_LANGUAGE
            apology = text("try_again_later", lang)
            try:
                if isinstance(event, CallbackQuery):
                    await event.answer(apology, show_alert=True)
                elif isinstance(event, Message):
                    await event.answer(apology)
            except Exception:
                log.warning("could not send the apology", exc_info=True)
            return None
