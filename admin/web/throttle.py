"""Sign-in throttling: attempts counted per e-mail and per client address in a fixed window.
An attempt is counted *before* it is judged, in one atomic step (one Redis script, or a
section of this process with no await in it), so parallel attempts cannot all slip under the
limit while the password is being checked: at most `limit` attempts per window are evaluated.
A successful sign-in gives its attempt back. In Redis when configured (shared by every
worker), else in this process's memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis


class LoginThrottle(Protocol):
    async def attempt(self, keys: Sequence[str]) -> bool:
        """Count one attempt against every key; True when it may be evaluated."""
        ...

    async def succeeded(self, keys: Sequence[str]) -> None:
        """The attempt signed in: the e-mail's count is cleared, the address gets it back."""
        ...


class MemoryThrottle:
    def __init__(self, limit: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: dict[str, tuple[datetime, int]] = {}

    def _live(self, key: str, now: datetime) -> tuple[datetime, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window:
            return now, 0
        return started, count

    async def attempt(self, keys: Sequence[str]) -> bool:
        # No await between counting and deciding: atomic on the event loop.
        now = self.clock()
        if len(self._windows) > 100_000:  # a flood of made-up e-mails must not grow memory
            self._windows.clear()
        allowed = True
        for key in keys:
            started, count = self._live(key, now)
            self._windows[key] = (started, count + 1)
            allowed = allowed and count + 1 <= self.limit
        return allowed

    async def succeeded(self, keys: Sequence[str]) -> None:
        now = self.clock()
        self._windows.pop(keys[0], None)
        for key in keys[1:]:
            started, count = self._live(key, now)
            if count > 0:
                self._windows[key] = (started, count - 1)


# Every key is incremented (its window starting at the first attempt) and the highest count
# is returned, in one step no other client can interleave with.
_ATTEMPT = """
local highest = 0
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  if count > highest then highest = count end
end
return highest
"""

_SUCCEEDED = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


class RedisThrottle:
    PREFIX = "qanagat:admin:login:"

    def __init__(self, redis: Redis, limit: int, window: timedelta) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window
        self._attempt = redis.register_script(_ATTEMPT)
        self._succeeded = redis.register_script(_SUCCEEDED)

    async def attempt(self, keys: Sequence[str]) -> bool:
        seconds = int(self.window.total_seconds())
        highest = await self._attempt(keys=[self.PREFIX + key for key in keys], args=[seconds])
        return int(highest) <= self.limit

    async def succeeded(self, keys: Sequence[str]) -> None:
        await self._succeeded(keys=[self.PREFIX + key for key in keys])


def throttle_keys(email: str, client: str | None) -> list[str]:
    """The e-mail's key first (cleared on success), then the client address's."""
    return [f"email:{email}", f"client:{client or 'unknown'}"]
