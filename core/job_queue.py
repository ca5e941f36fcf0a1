"""Wake-ups of the invitation dispatcher: Redis publish/subscribe between processes, a direct
call within one process.

It carries wake-ups, not work. The work is in the database (the invitation outbox), so a
wake-up lost with Redis, or sent while no worker listens, delays a message until the next
poll and loses nothing. Publish/subscribe fits that: nothing piles up in Redis while the
workers are down, and every worker listening is woken (they share the rows through their
claims). The periodic jobs do not go through Redis at all (qanagat/jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis

log = logging.getLogger(__name__)

WAKE_DELIVERY = b"delivery"
RESUBSCRIBE_MAX_S = 30.0


class JobQueue:
    """Wakes the invitation dispatcher when invitations are enqueued.

    Producers (the process that issues invitations) call `wake_delivery_soon()`; the process
    running the dispatcher subscribes with `on_delivery_wake(listener)` and calls `start()`.
    Without a Redis URL both sides must live in one process.
    """

    def __init__(self, redis_url: str | None, *, channel: str = "qanagat:jobs") -> None:
        self.redis_url = redis_url
        self.channel = channel
        self._redis: Redis | None = None
        self._listeners: list[Callable[[], None]] = []
        self._receiver: asyncio.Task[None] | None = None
        self._kicks: set[asyncio.Task[None]] = set()
        self._started = False
        self.subscribed = asyncio.Event()

    @property
    def in_process(self) -> bool:
        return self.redis_url is None

    def on_delivery_wake(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _on_wake(self) -> None:
        for listener in self._listeners:
            listener()

    async def start(self, *, consume: bool = False) -> None:
        """Connect; with `consume`, also listen for wake-ups from other processes (Redis)."""
        if self.redis_url is not None:
            self._redis = Redis.from_url(self.redis_url)
        self._started = True
        if consume and self._redis is not None:
            self._receiver = asyncio.create_task(
                self._listen(self._redis), name="job-queue-receiver"
            )

    async def _listen(self, redis: Redis) -> None:
        """Subscribe and call the listeners on every message; after a lost connection,
        subscribe again with a growing pause (the dispatcher polls in between)."""
        pause = 1.0
        while True:
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                pause = 1.0
                async for _message in pubsub.listen():
                    self._on_wake()  # any message is a wake-up: it carries nothing else
            except Exception as error:
                self.subscribed.clear()
                log.warning(
                    "wake-up subscription lost (%s); again in %.0f s", type(error).__name__, pause
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, RESUBSCRIBE_MAX_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        tasks = [*self._kicks, *([self._receiver] if self._receiver else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._receiver = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        self._started = False

    async def wake_delivery(self) -> None:
        """Tell the dispatchers there is something to send. Best effort: they poll anyway."""
        if self._redis is None:
            if self.in_process:  # nothing to connect to: the listeners are right here
                self._on_wake()
            return
        try:
            await self._redis.publish(self.channel, WAKE_DELIVERY)
        except Exception as error:  # Redis down: the poll will find the rows
            log.warning("could not wake the dispatcher: %s: %s", type(error).__name__, error)

    def wake_delivery_soon(self) -> None:
        """`wake_delivery` from synchronous code running on the event loop (after a commit)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.wake_delivery())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)
