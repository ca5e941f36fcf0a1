"""Where the bot keeps conversation state (the live card, a complaint or a rating being
typed): Redis, shared by every worker, and this process's memory while Redis is away. The
state is only a convenience (the database holds every answer), so losing it degrades, never
fails, an update.

In Redis the state is keyed by the person's pseudonym (never their Telegram ids in clear),
expires on its own after `STATE_TTL`, and the retention job deletes what is left of people
the database no longer knows (/stop) and state kept under the old, clear-id keys."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseStorage, KeyBuilder, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.identity import respondent_key
from core.models import Respondent

log = logging.getLogger(__name__)
REDIS_AWAY = (RedisError, OSError, TimeoutError)
T = TypeVar("T")
PREFIX = "qanagat:fsm"
LEGACY_PATTERN = "fsm:*"  # aiogram's default keys: chat and user ids in clear, no TTL
# A survey, a complaint or a search in progress is picked up within two days or starts over.
STATE_TTL = timedelta(days=2)


class PseudonymKeys(KeyBuilder):
    """`qanagat:fsm:<pseudonym>[:<chat pseudonym>][:<destiny>]:<part>`: the person's key is
    the respondent's pseudonym (so /stop and the retention job find it), a chat other than
    their own private one (a group) is pseudonymised too."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        parts = [PREFIX, respondent_key(self.secret, "telegram", key.user_id)]
        if key.chat_id != key.user_id:
            parts.append(respondent_key(self.secret, "telegram-chat", key.chat_id)[:20])
        if key.thread_id:
            parts.append(str(key.thread_id))
        if key.destiny != DEFAULT_DESTINY:
            parts.append(key.destiny)
        if part:
            parts.append(part)
        return ":".join(parts)


def conversation_storage(redis: Redis | None, secret: bytes) -> BaseStorage:
    """Redis (pseudonymous keys with a TTL, memory while it is away), or memory alone."""
    if redis is None:
        return MemoryStorage()
    return FallbackStorage(
        RedisStorage(
            redis, key_builder=PseudonymKeys(secret), state_ttl=STATE_TTL, data_ttl=STATE_TTL
        )
    )


async def purge_conversation_state(redis: Redis, session: AsyncSession) -> int:
    """Delete conversation state of pseudonyms with no respondent any more (forgotten by
    /stop, or deleted) and any left under the old clear-id keys; returns how many keys."""
    by_person: dict[str, list[bytes]] = {}
    async for key in redis.scan_iter(match=f"{PREFIX}:*", count=500):
        name = key.decode() if isinstance(key, bytes) else str(key)
        person = name[len(PREFIX) + 1 :].split(":", 1)[0]
        by_person.setdefault(person, []).append(key)
    doomed: list[bytes] = [key async for key in redis.scan_iter(match=LEGACY_PATTERN, count=500)]
    people = list(by_person)
    known: set[str] = set()
    for start in range(0, len(people), 500):
        chunk = people[start : start + 500]
        known.update(await session.scalars(select(Respondent.key).where(Respondent.key.in_(chunk))))
    for person, keys in by_person.items():
        if person not in known:
            doomed.extend(keys)
    for start in range(0, len(doomed), 500):
        await redis.delete(*doomed[start : start + 500])
    return len(doomed)


class FallbackStorage(BaseStorage):
    """`primary` (Redis) while it answers; this process's memory for `rest_s` after it
    fails, then Redis again. What was kept in Redis is not seen meanwhile (a card keeps its
    buttons, a half-typed complaint starts over): nothing an update needs to succeed."""

    def __init__(self, primary: BaseStorage, rest_s: float = 5.0) -> None:
        self.primary = primary
        self.memory = MemoryStorage()
        self.rest_s = rest_s
        self._down_until = 0.0

    async def _call(
        self, primary: Callable[[], Awaitable[T]], memory: Callable[[], Awaitable[T]]
    ) -> T:
        if time.monotonic() >= self._down_until:
            try:
                return await primary()
            except REDIS_AWAY as error:
                if self._down_until == 0.0 or time.monotonic() >= self._down_until:
                    log.warning("conversation state unreachable (%s); kept in memory", error)
                self._down_until = time.monotonic() + self.rest_s
        return await memory()

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        await self._call(
            lambda: self.primary.set_state(key, state), lambda: self.memory.set_state(key, state)
        )

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._call(
            lambda: self.primary.get_state(key), lambda: self.memory.get_state(key)
        )

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._call(
            lambda: self.primary.set_data(key, data), lambda: self.memory.set_data(key, data)
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._call(
            lambda: self.primary.get_data(key), lambda: self.memory.get_data(key)
        )

    async def close(self) -> None:
        await self.primary.close()
        await self.memory.close()
