"""How fast invitations may go: a global pace (Telegram allows a bot about 30 messages/s) and a
minimum interval per chat. Both count in the event loop's clock, within one process."""

from __future__ import annotations

import asyncio


class Pacer:
    """Hands out send slots at least `(1 + slack) / rate` seconds apart.

    Slots follow a schedule rather than the moment the previous send really started, so
    sleeping late does not slow the pace down; and after an idle spell the schedule restarts
    from now, so there is never a burst. Any window of one second therefore holds at most
    `rate` slots, with `slack / rate` seconds to spare for the jitter between a slot and the
    request reaching Telegram. `pause` (a 429's retry_after) holds every slot back.
    """

    def __init__(self, rate_per_s: float, slack: float = 0.03) -> None:
        self.interval = (1.0 + slack) / rate_per_s
        self._next = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    async def slot(self) -> None:
        """Wait for the next slot (one caller at a time)."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            at = max(self._next, now, self._paused_until)
            if at <= now:
                self._next = at + self.interval
                return
            await asyncio.sleep(at - now)
            if loop.time() >= self._paused_until:
                # The slot that was waited for, not a fresh one from now: no drift.
                self._next = max(at, self._next) + self.interval
                return


class ChatSpacing:
    """At most one message per `interval` seconds into one chat."""

    def __init__(self, interval_s: float) -> None:
        self.interval = interval_s
        self._last: dict[int, float] = {}

    def wait_for(self, chat_id: int) -> float:
        """Seconds until `chat_id` may receive again (0 when it may now)."""
        last = self._last.get(chat_id)
        if last is None:
            return 0.0
        return max(0.0, last + self.interval - asyncio.get_running_loop().time())

    def record(self, chat_id: int) -> None:
        now = asyncio.get_running_loop().time()
        self._last[chat_id] = now
        if len(self._last) > 10_000:  # forget chats whose interval is long over
            self._last = {c: t for c, t in self._last.items() if now - t < self.interval}
