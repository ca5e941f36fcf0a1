"""Counting requests per key in fixed windows: how many a network sent to a public page this
minute, how many problem reports a network filed about a data set today. In Redis when
configured (every worker shares the count), else in this process's memory. Counting and
deciding are one atomic step, so parallel requests cannot all slip under a limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        """Count one hit on `key`; True while the window holds at most `limit` hits."""
        ...


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, capacity: int = 100_000):
        self.clock = clock
        self.capacity = capacity
        self._windows: dict[str, tuple[float, int]] = {}

    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        # No await inside: atomic on the event loop.
        now = self.clock()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window_s:
            started, count = now, 0
        if len(self._windows) >= self.capacity and key not in self._windows:
            # Made-up keys must not grow memory: forget ended windows, or all if none ended.
            live = {k: v for k, v in self._windows.items() if now - v[0] < window_s}
            self._windows = live if len(live) < self.capacity // 2 else {}
        self._windows[key] = (started, count + 1)
        return count + 1 <= limit


_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisRateLimiter:
    PREFIX = "qanagat:rate:"

    def __init__(self, redis: Redis) -> None:
        self._hit = redis.register_script(_HIT)

    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        count = await self._hit(keys=[self.PREFIX + key], args=[window_s])
        return int(count) <= limit


def rate_limiter(redis: Redis | None) -> RateLimiter:
    return RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
