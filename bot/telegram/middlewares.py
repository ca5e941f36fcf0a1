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


# Claiming an update, in one round trip, after letting go of what earlier updates held (see
# UpdateClaims). Releases first, so that a person's finished update frees the lock their next
# one takes here: for each, the person's lock if it is still that update's, and the update's
# mark too if it failed (Telegram's next delivery of it is then handled). Then the claim,
# unless ARGV[3] is 0: refuse the update when it was taken before (Telegram delivers again
# what it thinks was lost), else take the person's lock (ARGV[3] is 2; the update key is the
# lock's value) and mark the update taken. -1: the person's previous update is still being
# handled. KEYS: the claimed update and its lock, then each release's update and lock; ARGV[4]
# on: per release, whether it failed and whether it held a lock ("10", "01", ...).
CLAIM = """
local k = tonumber(ARGV[3]) + 1
for i = 4, #ARGV do
  local update = KEYS[k]
  k = k + 1
  if string.sub(ARGV[i], 2, 2) == '1' then
    if redis.call('GET', KEYS[k]) == update then redis.call('DEL', KEYS[k]) end
    k = k + 1
  end
  if string.sub(ARGV[i], 1, 1) == '1' then redis.call('DEL', update) end
end
if ARGV[3] == '0' then return 1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[3] == '2' and not redis.call('SET', KEYS[2], KEYS[1], 'NX', 'PX', ARGV[2]) then
  return -1
end
redis.call('SET', KEYS[1], 1, 'EX', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class _Release:
    keys: tuple[str, ...]  # the update's mark, and the person's lock if it was taken
    failed: bool


class UpdateClaims:
    """Each update handled once, and one update at a time per person (so a double tap is
    answered in order): Redis, shared by all workers, or memory for a single process.

    With Redis, an update costs one round trip: letting go of its lock (and, if it failed, of
    its mark) waits to ride along with the next claim this process sends, or `release_after_s`
    at most when none comes. The next update of the same person claimed here is sent after
    that release, in the same script; another worker's waits the little longer."""

    def __init__(
        self,
        redis: Redis | None,
        seen_ttl_s: int = 86_400,
        lock_ttl_ms: int = 30_000,
        wait_s: float = 10.0,
        capacity: int = 100_000,
        release_after_s: float = 0.02,
    ) -> None:
        self.redis = redis
        self.seen_ttl_s = seen_ttl_s
        self.lock_ttl_ms = lock_ttl_ms
        self.wait_s = wait_s
        self.capacity = capacity
        self.release_after_s = release_after_s
        self._claim = redis.register_script(CLAIM) if redis is not None else None
        self._releases: list[_Release] = []
        self._release_timer: asyncio.TimerHandle | None = None
        self._retry_after_s = 0.0  # while Redis refuses releases, try again less often
        self._flushes: set[asyncio.Task[None]] = set()
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
                self._release_later(_Release(tuple(held), failed))

    async def close(self) -> None:
        """Let go of what is still held, before the Redis connection closes."""
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        if self._releases:
            await self._flush_releases()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)

    async def _take(self, keys: list[str]) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause = 0.005
        while True:
            claimed = await self._send(keys, self._take_releases())
            if claimed >= 0:
                return claimed
            if loop.time() > deadline:
                # Stuck for long (a crashed worker's lock): go on without it; the database
                # still refuses a second answer.
                log.warning("person lock %s still held after %ss; going on", keys[1], self.wait_s)
                taken = await self._send(keys[:1], self._take_releases())
                return 2 if taken == 1 else 0
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _send(self, claim: list[str], releases: list[_Release]) -> int:
        """One script call: the releases, then the claim of `claim` (update, lock) if any."""
        assert self._claim is not None
        keys = list(claim)
        args: list[str | int] = [self.seen_ttl_s, self.lock_ttl_ms, len(claim)]
        for release in releases:
            keys.extend(release.keys)
            args.append(f"{int(release.failed)}{int(len(release.keys) > 1)}")
        try:
            claimed = int(await self._claim(keys=keys, args=args))
        except BaseException:
            # Not known to be let go: they go with the next call. Letting go twice is harmless.
            self._releases[:0] = releases
            del self._releases[: -self.capacity]  # locks expire on their own meanwhile
            self._release_soon()
            raise
        self._retry_after_s = 0.0
        return claimed

    def _release_later(self, release: _Release) -> None:
        self._releases.append(release)
        self._release_soon()

    def _release_soon(self) -> None:
        if self._release_timer is None and self._releases:
            loop = asyncio.get_running_loop()
            delay = self._retry_after_s or self.release_after_s
            self._release_timer = loop.call_later(delay, self._flush)

    def _take_releases(self) -> list[_Release]:
        releases, self._releases = self._releases, []
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        return releases

    def _flush(self) -> None:
        # No claim came along in time: send the releases on their own.
        self._release_timer = None
        task = asyncio.get_running_loop().create_task(self._flush_releases())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush_releases(self) -> None:
        releases = self._take_releases()
        if not releases:
            return
        try:
            await self._send([], releases)
        except Exception:
            self._retry_after_s = min(max(2 * self._retry_after_s, 0.5), 10.0)
            if self._release_timer is not None:  # set by _send for the usual delay
                self._release_timer.cancel()
                self._release_timer = None
            self._release_soon()
            log.warning(
                "could not let go of %d update claims; again in %ss",
                len(releases),
                self._retry_after_s,
                exc_info=True,
            )

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
