"""Where the bot keeps conversation state (the live card, a complaint or a rating being
typed): Redis, shared by every worker, and this process's memory while Redis is away. The
state is only a convenience (the database holds every answer), so losing it degrades, never
fails, an update."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
REDIS_AWAY = (RedisError, OSError, TimeoutError)
T = TypeVar("T")


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
