"""Sign-in throttling: failures counted per e-mail and per client address in a fixed window;
at the limit, sign-in is refused until the window ends. In Redis when configured (shared by
every worker), else in this process's memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis


class LoginThrottle(Protocol):
    async def blocked(self, keys: Iterable[str]) -> bool: ...
    async def failed(self, keys: Iterable[str]) -> None: ...
    async def forget(self, key: str) -> None: ...


class MemoryThrottle:
    def __init__(self, limit: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, tuple[datetime, int]] = {}

    def _count(self, key: str) -> int:
        started, count = self._windows.get(key, (self.clock(), 0))
        if self.clock() - started >= self.window:
            self._windows.pop(key, None)
            return 0
        return count

    async def blocked(self, keys: Iterable[str]) -> bool:
        return any(self._count(key) >= self.limit for key in keys)

    async def failed(self, keys: Iterable[str]) -> None:
        for key in keys:
            count = self._count(key)
            started = self._windows.get(key, (self.clock(), 0))[0] if count else self.clock()
            self._windows[key] = (started, count + 1)
        if len(self._windows) > 100_000:  # a flood of made-up e-mails must not grow memory
            self._windows.clear()

    async def forget(self, key: str) -> None:
        self._windows.pop(key, None)


class RedisThrottle:
    PREFIX = "qanagat:admin:login:"

    def __init__(self, redis: Redis, limit: int, window: timedelta) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window

    async def blocked(self, keys: Iterable[str]) -> bool:
        values = await self.redis.mget([self.PREFIX + key for key in keys])
        return any(int(value or 0) >= self.limit for value in values)

    async def failed(self, keys: Iterable[str]) -> None:
        seconds = int(self.window.total_seconds())
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(self.PREFIX + key)
                pipe.expire(self.PREFIX + key, seconds, nx=True)  # the window starts at failure 1
            await pipe.execute()

    async def forget(self, key: str) -> None:
        await self.redis.delete(self.PREFIX + key)


def throttle_keys(email: str, client: str | None) -> list[str]:
    return [f"email:{email}", f"client:{client or 'unknown'}"]
