"""Per-update context: de-duplication and one update at a time per person (one round trip),
the FSM context (the state read for typed text only) and the chat's card manager, a database
unit of work, the person (and, for handlers flagged to want them, the respondent and
language), and a polite answer instead of a crash."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.messages import DEFAULT_LANGUAGE, pick_language, text
from bot.telegram.cards import CardManager
from core.batching import LoopTurnBatcher
from core.identity import respondent_key
from core.unit_of_work import UnitOfWork, UnitsOfWork

log = logging.getLogger(__name__)
# What Redis being away looks like to a client: refused, reset, timed out.
REDIS_AWAY = (RedisError, OSError, TimeoutError)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


# Claiming updates and letting go of earlier ones, many of each in one round trip (see
# UpdateClaims). An update's mark is "1" while it is being handled, expiring with the person's
# lock (a dead worker's update is handled again when Telegram delivers it again), and "2" once
# handled, for a day (a redelivery of it is ignored). Releases first, so that a person's
# finished update frees the lock their next one takes in the same call: for each, the person's
# lock if it is still that update's, and the update's mark: "2" if it was handled, deleted if
# it failed. Then each claim: 0 when the update was handled before, -1 when it is being
# handled (a redelivery racing the first) or the person's previous update is, else 1: the
# person's lock taken (the update key is its value) and the update marked in flight.
# KEYS: each claim's update and, if it takes one, its person's lock; then each release's update
# and lock. ARGV: the handled mark's TTL (s), the lock's TTL (ms), the number of claims, per
# claim the number of its keys (1 or 2), then per release whether it failed and held a lock
# ("10", "01").
CLAIMS = """
local claims = tonumber(ARGV[3])
local k = 1
for i = 1, claims do k = k + tonumber(ARGV[3 + i]) end
for i = 4 + claims, #ARGV do
  local update = KEYS[k]
  k = k + 1
  if string.sub(ARGV[i], 2, 2) == '1' then
    if redis.call('GET', KEYS[k]) == update then redis.call('DEL', KEYS[k]) end
    k = k + 1
  end
  if string.sub(ARGV[i], 1, 1) == '1' then
    redis.call('DEL', update)
  else
    redis.call('SET', update, '2', 'EX', ARGV[1])
  end
end
local results = {}
k = 1
for i = 1, claims do
  local update = KEYS[k]
  local lock = ARGV[3 + i] == '2' and KEYS[k + 1]
  k = k + tonumber(ARGV[3 + i])
  local mark = redis.call('GET', update)
  if mark == '2' then
    results[i] = 0
  elseif mark then
    results[i] = -1
  elseif lock and not redis.call('SET', lock, update, 'NX', 'PX', ARGV[2]) then
    results[i] = -1
  else
    redis.call('SET', update, '1', 'PX', ARGV[2])
    results[i] = 1
  end
end
return results
"""

# Work still in flight keeps its update's mark and its person's lock alive a little longer.
# KEYS: the update's mark and, if held, the person's lock. ARGV: the lock's TTL (ms).
RENEW = """
if redis.call('GET', KEYS[1]) == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if KEYS[2] and redis.call('GET', KEYS[2]) == KEYS[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return 1
"""


@dataclass(frozen=True)
class _Release:
    keys: tuple[str, ...]  # the update's mark, and the person's lock if it was taken
    failed: bool


class _Renewal:
    """While an update is handled, its mark and lock are renewed every third of their TTL:
    they outlive the work in flight by at most that TTL, so a dead worker's hold on a person
    ends within it, and its update is handled again when Telegram delivers it again. Most
    updates end before the first renewal is due, and cost no more than a timer."""

    def __init__(self, claims: UpdateClaims, held: tuple[str, ...]) -> None:
        self.claims = claims
        self.held = held
        self.loop = asyncio.get_running_loop()
        self.every_s = claims.lock_ttl_ms / 3000
        self.timer = self.loop.call_later(self.every_s, self._due)

    def _due(self) -> None:
        task = self.loop.create_task(self.claims.renew(self.held))
        self.claims._calls.add(task)
        task.add_done_callback(self.claims._calls.discard)
        self.timer = self.loop.call_later(self.every_s, self._due)

    def cancel(self) -> None:
        self.timer.cancel()


class UpdateClaims:
    """Each update handled once, and one update at a time per person (so a double tap is
    answered in order): Redis, shared by all workers, or memory for a single process.

    With Redis, the claims of the updates that arrive together (in one turn of the event loop)
    go in one script call, and letting go of an update (its lock freed, its mark turned into
    "handled", or deleted if it failed) rides along with the next call, or goes on its own
    after `release_after_s` when none comes. A person's next update claimed here comes after
    their release in the same call; another worker's waits the little longer. Under load, an
    update costs well under one round trip. A claim lives only as long as its work: the lock
    and the in-flight mark expire `lock_ttl_ms` after their last renewal, so after a kill -9
    Telegram's next delivery of the update is handled, and the person is free again soon."""

    def __init__(
        self,
        redis: Redis | None,
        seen_ttl_s: int = 86_400,
        lock_ttl_ms: int = 3_000,
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
        self._script = redis.register_script(CLAIMS) if redis is not None else None
        self._renew_script = redis.register_script(RENEW) if redis is not None else None
        # Each claim is the update's mark, and the person's lock if one is to be taken.
        self._claims: LoopTurnBatcher[tuple[str, ...], int] = LoopTurnBatcher(
            self._call_with_releases, unclaimed=self._let_go_unclaimed
        )
        self._releases: list[_Release] = []
        self._release_timer: asyncio.TimerHandle | None = None
        self._retry_after_s = 0.0  # while Redis refuses releases, try again less often
        self._calls: set[asyncio.Task[None]] = set()
        # Updates handled (None) or in flight (set when they end), in this process.
        self._seen: OrderedDict[str, asyncio.Event | None] = OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}
        self._redis_down_until = 0.0
        self.redis_rest_s = 5.0

    def _redis_resting(self) -> bool:
        return self._redis_down_until > 0 and time.monotonic() < self._redis_down_until

    def _rest_redis(self, error: BaseException) -> None:
        if not self._redis_resting():
            log.warning(
                "Redis unreachable (%s); claiming updates in this process for %ss",
                error,
                self.redis_rest_s,
            )
        self._redis_down_until = time.monotonic() + self.redis_rest_s

    async def run(
        self, update_key: str, person: int | None, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """`call()` unless the update was taken before (then None), holding the person.
        Redis away (refusing, timing out): this process's memory claims instead, for a few
        seconds before Redis is tried again; across processes the database's unique keys
        still refuse a second answer, so nothing is stored twice, only more slowly."""
        if self.redis is None or self._redis_resting():
            return await self._run_in_memory(update_key, person, call)
        keys = [f"qanagat:update:{update_key}"]
        if person is not None:
            keys.append(f"qanagat:lock:{person}")
        try:
            claimed = await self._take(keys)
        except REDIS_AWAY as error:
            self._rest_redis(error)
            return await self._run_in_memory(update_key, person, call)
        if claimed == 0:
            log.info("update %s handled before; ignored", update_key)
            return None
        held = tuple(keys if claimed == 1 else keys[:1])  # after waiting too long: no lock
        renewal = _Renewal(self, held)
        failed = True
        try:
            result = await call()
            failed = False
            return result
        finally:
            renewal.cancel()
            self._release(_Release(held, failed))

    async def renew(self, held: tuple[str, ...]) -> None:
        """Keep an update's mark and its person's lock alive for another lock TTL."""
        assert self._renew_script is not None
        try:
            await self._renew_script(keys=list(held), args=[self.lock_ttl_ms])
        except REDIS_AWAY:
            log.warning("could not renew the claim of %s", held[0], exc_info=True)

    async def close(self) -> None:
        """Let go of what is still held, before the Redis connection closes."""
        await self._claims.close()
        self._send_releases()  # now, not when a claim or the timer would have sent them
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)

    async def _take(self, keys: list[str]) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        pause = 0.005
        while True:
            claimed = await self._claim(keys)
            if claimed >= 0:
                return claimed
            if loop.time() > deadline:
                # Stuck for long (a crashed worker's lock): go on without it; the database
                # still refuses a second answer.
                log.warning("person lock %s still held after %ss; going on", keys[1], self.wait_s)
                taken = await self._claim(keys[:1])
                return 2 if taken == 1 else 0
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _claim(self, keys: list[str]) -> int:
        return await self._claims.submit(tuple(keys))

    def _release(self, release: _Release) -> None:
        self._releases.append(release)
        del self._releases[: -self.capacity]  # if Redis stays away: locks expire on their own
        self._schedule()

    def _schedule(self) -> None:
        """Releases ride with the claims of this turn of the loop, if any are waiting; alone,
        they wait for a claim to ride with `release_after_s` at most."""
        if self._releases and self._release_timer is None and not self._claims.due:
            delay = self._retry_after_s or self.release_after_s
            self._release_timer = asyncio.get_running_loop().call_later(delay, self._send_releases)

    def _take_releases(self) -> list[_Release]:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        releases, self._releases = self._releases, []
        return releases

    async def _call_with_releases(self, claims: list[tuple[str, ...]]) -> list[int]:
        """One script call: the claims of this turn of the loop, and every waiting release."""
        return await self._call(claims, self._take_releases())

    def _send_releases(self) -> None:
        releases = self._take_releases()
        if not releases:
            return
        task = asyncio.get_running_loop().create_task(self._release_alone(releases))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _release_alone(self, releases: list[_Release]) -> None:
        with suppress(Exception):  # logged, and tried again, by _call
            await self._call([], releases)

    def _let_go_unclaimed(self, keys: tuple[str, ...], result: int) -> None:
        if result == 1:  # its update gave up waiting (cancelled): let go of what it was given
            self._release(_Release(keys, failed=True))

    async def _call(self, claims: list[tuple[str, ...]], releases: list[_Release]) -> list[int]:
        assert self._script is not None
        keys = [key for claim in claims for key in claim]
        args: list[str | int] = [self.seen_ttl_s, self.lock_ttl_ms, len(claims)]
        args += [len(claim) for claim in claims]
        for release in releases:
            keys.extend(release.keys)
            args.append(f"{int(release.failed)}{int(len(release.keys) > 1)}")
        try:
            results = await self._script(keys=keys, args=args)
        except Exception:
            # Not known to be let go: they go with the next call (letting go twice is harmless).
            self._releases[:0] = releases
            if not claims:
                self._retry_after_s = min(max(2 * self._retry_after_s, 0.5), 10.0)
                log.warning(
                    "could not let go of %d update claims; again in %ss",
                    len(releases),
                    self._retry_after_s,
                    exc_info=True,
                )
            self._schedule()
            raise  # each claim of this call gets the error
        self._retry_after_s = 0.0
        return [int(result) for result in results]

    async def _run_in_memory(
        self, update_key: str, person: int | None, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        while update_key in self._seen:
            in_flight = self._seen[update_key]
            if in_flight is None:
                log.info("update %s handled before; ignored", update_key)
                return None
            await in_flight.wait()  # a redelivery racing the first: see how it ends
        ended = self._seen[update_key] = asyncio.Event()
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        try:
            if person is None:
                result = await call()
            else:
                lock = self._locks.setdefault(person, asyncio.Lock())
                try:
                    async with lock:
                        result = await call()
                finally:
                    if not lock.locked() and not lock._waiters:
                        self._locks.pop(person, None)
        except BaseException:
            self._seen.pop(update_key, None)  # a failed update may be delivered again
            raise
        else:
            if update_key in self._seen:
                self._seen[update_key] = None
            return result
        finally:
            ended.set()


class UpdateBoundary(BaseMiddleware):
    """The outermost middleware: whatever an update raises ends here, logged, and the webhook
    answers 200. An error page would only make Telegram deliver the same update again and
    again; a citizen's own failures are answered by ApologyMiddleware further in."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            update_id = event.update_id if isinstance(event, Update) else None
            log.exception("update %s failed", update_id)
            return None


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


class ConversationState(FSMContextMiddleware):
    """aiogram's FSM context middleware, placed inside the claim, so a person's state is read
    after their previous update has written it, and reading the state only for messages:
    typed text is routed by state (state filters on the text handlers), while a button
    carries its own context in its data and never needs it. Every handler in a chat also gets
    the chat's card manager (`cards`)."""

    def __init__(self, storage: BaseStorage) -> None:
        super().__init__(storage, DisabledEventIsolation())  # the claim is the person's lock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot: Bot = data["bot"]
        context = self.resolve_event_context(bot, data)
        data["fsm_storage"] = self.storage
        if context is not None:
            data["state"] = context
            data["cards"] = CardManager(bot, context.key.chat_id, context)
            if isinstance(event, Update) and event.message is not None:
                data["raw_state"] = await context.get_state()
        return await handler(event, data)


class DbSessionMiddleware(BaseMiddleware):
    """One unit of work per update, handed to handlers as `store`. The survey service commits
    at its durable points; what else the handler wrote (a new respondent, a language, the
    chat's address) is committed once when it returns, and rolled back if it fails."""

    def __init__(self, units: UnitsOfWork) -> None:
        self.units = units

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.units() as uow:
            data["store"] = uow
            result = await handler(event, data)
            await uow.commit()
            return result


@dataclass
class Person:
    """Who is writing, as a pseudonym (HMAC of their Telegram id), and the language to speak:
    the one their Telegram uses until their chosen one has been read. `telegram_language`:
    the one their Telegram uses, if we speak it (a new citizen is not asked then)."""

    key: str
    language: str
    telegram_language: str | None = None


class PersonMiddleware(BaseMiddleware):
    """`person` for every handler, without the database."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        told = pick_language(user.language_code)
        guessed = told or DEFAULT_LANGUAGE
        data["person"] = Person(respondent_key(self.secret, "telegram", user.id), guessed, told)
        data["lang"] = guessed
        return await handler(event, data)


# The flag a handler is registered with when it needs `respondent` and the chosen `lang`.
WANTS_RESPONDENT: dict[str, Any] = {"respondent": True}


class RespondentMiddleware(BaseMiddleware):
    """`respondent` and `lang` (the chosen language), read from the database only for the
    handlers registered with `flags=WANTS_RESPONDENT`. Inner: it runs once the handler is
    chosen. Answering a question needs neither: the statement that stores the answer checks
    the owner and tells the language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if get_flag(data, "respondent"):
            person: Person = data["person"]
            store: UnitOfWork = data["store"]
            respondent = await store.responses.respondent(person.key)
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
