"""How fast invitations may go: a global pace (Telegram allows a bot about 30 messages/s) and a
minimum interval per chat. Both count in the event loop's clock, within one process."""

from __future__ import annotations

import asyncio
import math
from collections import deque


class Pacer:
    """Hands out send slots: evenly spaced, and never more than `rate` in one second.

    Slots follow a schedule `(1 + slack) / rate` seconds apart rather than the moment the
    previous send really started, so sleeping late does not slow the pace down; after an idle
    spell the schedule restarts from now, so there is no burst. On top of the schedule a
    sliding window over the slots really taken holds any `rate` of them to at least
    `1 + slack/4` seconds apart: when the process is starved of CPU and slots come late, the
    next ones do not bunch up behind them (a slot late by less than 3/4 of the slack costs
    nothing later).

    `slack` is the room left for the jitter between taking a slot and the request reaching
    Telegram. A 429 (`refused`) holds every slot back for its retry_after and says the jitter
    is larger than that room: the slack widens by its base value (up to `max_slack`), and
    narrows back a quarter of it after every `calm_s` seconds without a refusal.
    """

    def __init__(
        self,
        rate_per_s: float,
        slack: float = 0.02,
        *,
        max_slack: float = 0.10,
        calm_s: float = 20.0,
    ) -> None:
        self.rate = rate_per_s
        self.base_slack = slack
        self.slack = slack
        self.max_slack = max(slack, max_slack)
        self.calm_s = calm_s
        self._taken: deque[float] = deque(maxlen=max(1, math.floor(rate_per_s)))
        self._next = 0.0
        self._paused_until = 0.0
        self._calm_since = 0.0

    @property
    def interval(self) -> float:
        return (1.0 + self.slack) / self.rate

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)

    def refused(self, retry_after: float) -> None:
        """Telegram answered 429: wait, and leave more room from now on."""
        self.pause(retry_after)
        now = asyncio.get_running_loop().time()
        if now - self._calm_since > 1.0:  # the 429s of one burst widen the slack once
            self.slack = min(self.max_slack, self.slack + self.base_slack)
        self._calm_since = now

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    def _earliest(self, now: float) -> float:
        at = max(self._next, now, self._paused_until)
        if len(self._taken) == self._taken.maxlen:
            at = max(at, self._taken[0] + 1.0 + 0.25 * self.slack)
        return at

    async def slot(self) -> None:
        """Wait for the next slot (one caller at a time)."""
        loop = asyncio.get_running_loop()
        if self.slack > self.base_slack and loop.time() - self._calm_since > self.calm_s:
            self.slack = max(self.base_slack, self.slack - self.base_slack / 4)
            self._calm_since = loop.time()
        scheduled = self._earliest(loop.time())
        # A loop, not one sleep: a 429 met meanwhile can push the slot further.
        while (now := loop.time()) < (at := self._earliest(now)):  # noqa: ASYNC110
            await asyncio.sleep(at - now)
        # The schedule moves on from the slot planned, not from when we woke (no drift), unless
        # we woke very late: then from now, less the half interval a late wake-up may eat.
        self._next = max(scheduled, now - self.interval / 2) + self.interval
        self._taken.append(now)


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
