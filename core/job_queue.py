"""The job queue: taskiq over Redis in production, taskiq's in-memory broker in one process.

It carries wake-ups, not work. The work is in the database (the invitation outbox), so a
wake-up lost with Redis, or sent while no worker listens, delays a message until the next
poll and loses nothing. Redis publish/subscribe fits that: nothing piles up in Redis while the
workers are down, and every worker listening is woken (they share the rows through their
claims).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.api import run_receiver_task
from taskiq_redis import PubSubBroker

log = logging.getLogger(__name__)

WAKE_DELIVERY = "qanagat.delivery.wake"


class JobQueue:
    """Wakes the invitation dispatcher when invitations are enqueued.

    Producers (the process that issues invitations) call `wake_delivery_soon()`; the process
    running the dispatcher subscribes with `on_delivery_wake(listener)` and calls `start()`.
    Without a Redis URL both sides must live in one process.
    """

    def __init__(self, redis_url: str | None, *, channel: str = "qanagat:jobs") -> None:
        self.redis_url = redis_url
        self.broker: AsyncBroker = (
            PubSubBroker(redis_url, queue_name=channel)
            if redis_url
            else InMemoryBroker(await_inplace=True)
        )
        self._listeners: list[Callable[[], None]] = []

        async def wake_delivery() -> None:  # a plain function: taskiq renames what it wraps
            await self._on_wake()

        self._wake_task = self.broker.register_task(wake_delivery, task_name=WAKE_DELIVERY)
        self._receiver: asyncio.Task[None] | None = None
        self._kicks: set[asyncio.Task[None]] = set()
        self._started = False

    @property
    def in_process(self) -> bool:
        return self.redis_url is None

    def on_delivery_wake(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def _on_wake(self) -> None:
        for listener in self._listeners:
            listener()

    async def start(self, *, consume: bool = False) -> None:
        """Connect; with `consume`, also listen for wake-ups from other processes (Redis)."""
        await self.broker.startup()
        self._started = True
        if consume and not self.in_process:
            self._receiver = asyncio.create_task(
                run_receiver_task(self.broker, max_async_tasks=10), name="job-queue-receiver"
            )

    async def stop(self) -> None:
        tasks = [*self._kicks, *([self._receiver] if self._receiver else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._started:
            self._started = False
            await self.broker.shutdown()

    async def wake_delivery(self) -> None:
        """Tell the dispatchers there is something to send. Best effort: they poll anyway."""
        if not self._started:
            if self.in_process:  # nothing to connect to: the listeners are right here
                await self._on_wake()
            return
        try:
            await self._wake_task.kiq()
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
